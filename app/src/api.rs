//! Server functions shared by several pages, and their wire types.
//!
//! Server functions stay thin: read the state, call a port, map the result to a wire type or an
//! [`AppError`]. Their bodies only exist in the server build.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What every page's chrome needs: the product name, who is signed in, and whether the demo
/// phone exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub product_name: String,
    /// Whether the configured logo is served (at `/brand/logo`).
    pub logo: bool,
    pub demo_phone: bool,
    pub user: Option<SignedInUser>,
}

/// The signed-in person as the header and the start page show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub display_name: String,
    pub is_admin: bool,
    /// `password`, `password_and_sms` or `password_and_remembered_browser`.
    pub method: String,
    /// Unix seconds of the sign-in.
    pub signed_in_at: i64,
}

#[server(endpoint = "site_info")]
pub async fn load_site_info() -> Result<SiteInfo, AppError> {
    let state = crate::auth::state();
    let session = crate::auth::session().await?;
    let user = crate::auth::current_user(&session).await?.map(|u| SignedInUser {
        display_name: u.display_name,
        is_admin: u.is_admin,
        method: u.method.as_str().to_owned(),
        signed_in_at: u.signed_in_at,
    });
    Ok(SiteInfo {
        product_name: state.site.product_name.clone(),
        logo: state.site.logo,
        demo_phone: state.site.demo_phone,
        user,
    })
}

/// The health of each dependency, as the status page shows administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub database_ok: bool,
    pub directory_ok: bool,
    /// Unix milliseconds when the server ran the checks.
    pub checked_at_ms: i64,
}

/// Administrators only, like the page (403 `admin.forbidden` for anyone else); machines ask
/// `/readyz`.
#[server(endpoint = "check_system_status")]
pub async fn check_system_status() -> Result<SystemStatus, AppError> {
    crate::pages::admin::server::operator("system status").await?;
    let state = expect_context::<crate::state::AppState>();
    let (database, directory) = tokio::join!(state.database.probe(), state.directory.probe());
    Ok(SystemStatus {
        database_ok: database.is_ok(),
        directory_ok: directory.is_ok(),
        checked_at_ms: domain::now_ms(),
    })
}

/// One text on the demo phone, or one call as its transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoTextView {
    pub to: String,
    /// `text` or `call` (then `body` is what the call said).
    pub kind: String,
    pub body: String,
    /// Unix seconds.
    pub sent_at: i64,
}

/// The demo phone's texts and calls, newest first. Refused (not found) unless the demo SMS provider is in
/// use, so a production deployment never serves codes to a web page.
#[server(endpoint = "demo_texts")]
pub async fn load_demo_texts() -> Result<Vec<DemoTextView>, AppError> {
    let state = expect_context::<crate::state::AppState>();
    let Some(outbox) = state.demo_outbox.as_ref() else {
        return Err(AppError::not_found());
    };
    let texts = outbox.recent(100).await.map_err(|_| AppError::unavailable())?;
    Ok(texts
        .into_iter()
        .map(|t| DemoTextView {
            to: t.to,
            kind: t.kind.as_str().to_owned(),
            body: t.body,
            sent_at: t.sent_at,
        })
        .collect())
}

/// Remembers the language picked with the switcher (a year, in a cookie), then — as every form
/// post without JavaScript does — goes back to the page it came from, now in that language.
#[server(endpoint = "set_language")]
pub async fn set_language(lang: String) -> Result<(), AppError> {
    use tower_sessions::cookie::{Cookie, SameSite, time::Duration};
    let lang = crate::i18n::Lang::from_tag(&lang)
        .ok_or_else(|| AppError::new(crate::error::BAD_REQUEST))?;
    let secure = crate::auth::state().session_policy.secure_cookies;
    crate::auth::set_cookie(
        &Cookie::build((crate::i18n::LANG_COOKIE, lang.code()))
            .path("/")
            .max_age(Duration::days(365))
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .build(),
    );
    Ok(())
}
