//! The session layer: which cookie carries the session, how it is protected, and when an idle
//! session ends. Sessions are stored in the database (`db::SqlSessionStore`).

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::db::{Db, SqlSessionStore};

/// The session cookie: `HttpOnly`, `SameSite=Lax`, `Secure` and `__Host-` over https; ends after
/// `security.session_idle_timeout_secs` without a request.
pub fn session_layer(config: &Config, db: &Db) -> SessionManagerLayer<SqlSessionStore> {
    let https = config.is_https();
    // `__Host-` makes the browser refuse the cookie unless it is Secure, host-only and for
    // path `/`: nobody on a sibling subdomain can plant or read it.
    let name = if https { "__Host-latchkey" } else { "latchkey" };
    let idle = time::Duration::seconds(
        i64::try_from(config.security.session_idle_timeout_secs).unwrap_or(i64::MAX),
    );
    SessionManagerLayer::new(db.session_store())
        .with_name(name)
        .with_http_only(true)
        .with_secure(https)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}
