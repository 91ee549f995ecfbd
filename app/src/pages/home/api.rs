//! The start page's wire types and its one server function: the signed-in person's security
//! checkup, read through the security service (`SecurityService::checkup`) and the provider's
//! app sessions, as the security page reads them.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::pages::security::RecoveryItem;

/// The security checkup, as the start page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckupView {
    pub two_factor_on: bool,
    /// Phones in the directory.
    pub phones: u32,
    /// Of those, the ones that receive sign-in codes (the others wait to be verified).
    pub usable_phones: u32,
    /// Authenticator apps; `None` when they are not offered (`policy.methods`).
    pub authenticators: Option<u32>,
    /// `None` when recovery codes are not offered.
    pub recovery: Option<RecoveryItem>,
    pub browsers: u32,
    /// Apps signed in to through Latchkey; `None` when no app is configured.
    pub apps: Option<u32>,
    pub last_sign_in: Option<LastSignInItem>,
    /// The one suggestion, by its stable name (`turn_on_two_factor`, `get_recovery_codes`, …).
    pub suggestion: Option<String>,
}

/// The newest sign-in the activity log recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSignInItem {
    /// Unix seconds.
    pub at: i64,
    /// `password`, `password_and_sms`, … (as the session's `method`).
    pub method: String,
    /// "Chrome on Linux".
    pub browser: String,
    pub ip: String,
}

/// The signed-in person's checkup; `None` when nobody is signed in.
#[server(endpoint = "home_checkup")]
pub async fn load_checkup() -> Result<Option<CheckupView>, AppError> {
    use crate::pages::security::{recovery_server, server::app_items};
    // Before the first wait: a render that ends while this still runs takes the context away.
    let state = crate::auth::state();
    let session = crate::auth::session().await?;
    let Some(user) = crate::auth::current_user(&session).await? else {
        return Ok(None);
    };
    let now = crate::auth::now_secs();
    let security = async {
        state.security.checkup(&user, now).await.map_err(|e| {
            tracing::warn!(error = %e, "the security checkup could not be read");
            AppError::unavailable()
        })
    };
    let (c, apps) = tokio::try_join!(security, app_items(&state, &user.user_id, now))?;
    Ok(Some(CheckupView {
        two_factor_on: c.two_factor_on,
        phones: c.phones,
        usable_phones: c.usable_phones,
        authenticators: c.methods.totp.then_some(c.apps),
        recovery: c.methods.recovery_codes.then(|| recovery_server::item(c.recovery)),
        browsers: c.browsers,
        apps: apps.map(|a| u32::try_from(a.len()).unwrap_or(u32::MAX)),
        last_sign_in: c.last_sign_in.map(|l| LastSignInItem {
            at: l.at,
            method: l.method,
            browser: l.browser,
            ip: l.ip,
        }),
        suggestion: c.suggestion.map(|s| s.as_str().to_owned()),
    }))
}
