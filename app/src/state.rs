//! What every server function and route receives: the domain's services, built once at
//! start-up by the server, and the site's settings. leptos_axum provides it as context.
//! Server-only.

use std::sync::Arc;

use domain::client_ip;
use domain::{DemoOutbox, Probe, admin, security, sessions, sign_in};
use leptos::config::LeptosOptions;

/// Site-wide facts a page may show (never secrets).
#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub product_name: String,
    /// True only when the demo SMS provider is configured: gates the demo phone page.
    pub demo_phone: bool,
    /// `#rrggbb`, checked for contrast when the configuration loaded.
    pub accent_color: String,
    /// Whether a logo is served at [`LOGO_PATH`].
    pub logo: bool,
}

/// Where the configured logo is served.
pub const LOGO_PATH: &str = crate::components::layout::LOGO_PATH;

/// Everything server functions need. One `Arc`: every extractor, server function and context
/// look-up clones it, dozens of times a request, and a clone of the fields one by one cost
/// about a thousand instructions (docs/performance.md, "Issue 19, seventh pass").
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;
    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct AppStateParts {
    pub leptos_options: LeptosOptions,
    pub site: Arc<SiteSettings>,
    pub database: Arc<dyn Probe>,
    pub directory: Arc<dyn Probe>,
    /// Present only with the demo SMS provider.
    pub demo_outbox: Option<Arc<dyn DemoOutbox>>,
    pub sign_in: Arc<sign_in::SignInService>,
    pub security: Arc<security::SecurityService>,
    pub admin: Arc<admin::AdminService>,
    /// The OpenID Connect provider: apps that sign people in through Latchkey.
    pub oidc: Arc<domain::oidc::provider::OidcProvider>,
    /// Forward authentication: apps behind nginx or Caddy that have no sign-in of their own.
    pub forward_auth: Arc<domain::forward_auth::service::ForwardAuth>,
    /// Whether a signed-in session may go on (generations, password changes).
    pub sessions: Arc<sessions::SessionGuard>,
    pub session_policy: SessionPolicy,
}

/// How long sessions and remembered browsers last, and how their cookies are named.
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    /// A session ends this many seconds after sign-in, however active.
    pub absolute_timeout_secs: i64,
    /// The remember-this-browser cookie's name (`__Host-` prefixed over https).
    pub remember_cookie: String,
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    pub trusted_proxies: Arc<[client_ip::IpRange]>,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("site", &self.site).finish_non_exhaustive()
    }
}
