//! The domain: what Latchkey does, independent of axum, SQL and LDAP. Server-only.
//!
//! Adapters in the `server` crate implement the ports; pages reach them through [`AppState`],
//! which leptos_axum provides as context to every server function and route.

/// A store or the directory not answering becomes the error type's `Unavailable` (the adapter
/// has logged why, where it converted its own error).
macro_rules! unavailable_from {
    ($error:ty) => {
        impl From<$crate::domain::ports::Unavailable> for $error {
            fn from(_: $crate::domain::ports::Unavailable) -> Self {
                <$error>::Unavailable
            }
        }

        impl From<$crate::domain::directory::DirectoryError> for $error {
            fn from(_: $crate::domain::directory::DirectoryError) -> Self {
                <$error>::Unavailable
            }
        }
    };
}

pub mod admin;
pub mod audit;
pub mod client_ip;
pub mod codes;
pub mod directory;
pub mod phone;
pub mod ports;
pub mod security;
pub mod sessions;
pub mod sign_in;
pub mod sms;
pub mod texting;
pub mod verified;

use std::sync::Arc;

use leptos::config::LeptosOptions;

pub use ports::{DemoOutbox, DemoText, Probe, Unavailable};

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

/// Everything server functions need, cheap to clone (all behind `Arc`).
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub site: Arc<SiteSettings>,
    pub database: Arc<dyn Probe>,
    pub directory: Arc<dyn Probe>,
    /// Present only with the demo SMS provider.
    pub demo_outbox: Option<Arc<dyn DemoOutbox>>,
    pub sign_in: Arc<sign_in::SignInService>,
    pub security: Arc<security::SecurityService>,
    pub admin: Arc<admin::AdminService>,
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

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
