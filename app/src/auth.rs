//! Server-side helpers shared by server functions: the session, who is signed in, and who is
//! asking. Server-only.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use leptos::prelude::*;
use tower_sessions::Session;

use crate::domain::sign_in::{Authenticated, Client, Notice};
use crate::domain::{AppState, now_ms};
use crate::error::AppError;

/// The signed-in person.
pub const SESSION_AUTH_KEY: &str = "latchkey.auth";
/// The sign-in flow in progress.
pub const SESSION_FLOW_KEY: &str = "latchkey.flow";
/// A message for the next page view (no-JavaScript form posts come back by redirect).
pub const SESSION_NOTICE_KEY: &str = "latchkey.notice";
/// The login typed on a refused password form, to fill the form in again (taken once).
pub const SESSION_LOGIN_KEY: &str = "latchkey.login";

pub fn state() -> AppState {
    expect_context::<AppState>()
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "session layer missing from the request");
        AppError::internal()
    })
}

/// A session read or write failed: the session store is the database.
pub fn session_error(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store failed");
    AppError::unavailable()
}

pub fn now_secs() -> i64 {
    now_ms() / 1000
}

/// Who is asking: address, browser, time.
pub async fn client() -> Client {
    let headers = leptos_axum::extract::<HeaderMap>().await.unwrap_or_default();
    let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.ok().map(|c| c.0);
    client_from(peer, &headers, &state().session_policy.trusted_proxies)
}

/// Who is asking, from the connection's peer and the request's headers.
pub fn client_from(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[crate::domain::client_ip::IpRange],
) -> Client {
    let ip = peer.map_or_else(
        || "unknown".to_owned(),
        |peer| {
            // Every line, in order: a proxy may append its own line after the client's.
            let forwarded = crate::domain::client_ip::forwarded_for(
                headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes()),
            );
            crate::domain::client_ip::client_ip(peer.ip(), Some(&forwarded), trusted_proxies)
                .to_string()
        },
    );
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect())
        .unwrap_or_default();
    Client { ip, user_agent, now: now_secs(), lang: crate::i18n::request_lang(headers) }
}

/// The signed-in person, if the session has one that is still within the absolute timeout.
/// An expired sign-in is removed from the session.
pub async fn current_user(session: &Session) -> Result<Option<Authenticated>, AppError> {
    let Some(user) = session.get::<Authenticated>(SESSION_AUTH_KEY).await.map_err(session_error)?
    else {
        return Ok(None);
    };
    if past_absolute_timeout(
        user.signed_in_at,
        now_secs(),
        state().session_policy.absolute_timeout_secs,
    ) {
        tracing::info!("session reached its absolute timeout");
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    }
    Ok(Some(user))
}

/// Whether a session signed in at `signed_in_at` has reached its absolute timeout at `now`.
/// A sign-in "in the future" (another instance's clock a little ahead) is not expired.
pub fn past_absolute_timeout(signed_in_at: i64, now: i64, limit_secs: i64) -> bool {
    now.saturating_sub(signed_in_at) >= limit_secs
}

pub async fn set_notice(session: &Session, notice: Option<Notice>) -> Result<(), AppError> {
    match notice {
        Some(n) => session.insert(SESSION_NOTICE_KEY, n).await.map_err(session_error),
        None => {
            session.remove::<Notice>(SESSION_NOTICE_KEY).await.map(|_| ()).map_err(session_error)
        }
    }
}

pub async fn take_notice(session: &Session) -> Result<Option<Notice>, AppError> {
    session.remove::<Notice>(SESSION_NOTICE_KEY).await.map_err(session_error)
}

/// The value of cookie `name` in the request, if sent.
pub async fn request_cookie(name: &str) -> Option<String> {
    let headers = leptos_axum::extract::<HeaderMap>().await.ok()?;
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Adds a `Set-Cookie` to the response.
pub fn set_cookie(cookie: &tower_sessions::cookie::Cookie<'_>) {
    let response = expect_context::<leptos_axum::ResponseOptions>();
    match axum::http::HeaderValue::from_str(&cookie.to_string()) {
        Ok(value) => response.append_header(header::SET_COOKIE, value),
        Err(e) => tracing::error!(error = %e, "cookie value not valid in a header"),
    }
}

#[cfg(test)]
mod tests {
    use super::past_absolute_timeout;

    #[test]
    fn sessions_end_at_the_absolute_timeout() {
        let limit = 12 * 3600;
        assert!(!past_absolute_timeout(1_000, 1_000, limit));
        assert!(!past_absolute_timeout(1_000, 1_000 + limit - 1, limit));
        assert!(past_absolute_timeout(1_000, 1_000 + limit, limit));
        assert!(!past_absolute_timeout(1_000, 998, limit), "instances' clocks differ a little");
    }
}
