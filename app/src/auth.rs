//! Server-side helpers shared by server functions: the session, who is signed in, and who is
//! asking. Server-only.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use leptos::prelude::*;
use tower_sessions::Session;

use crate::error::AppError;
use crate::flash::Flash;
use crate::flow::SignInFlow;
use domain::sessions::{Stamp, Verdict};
use domain::{authenticated::Authenticated, client::Client, notice::Notice};
use {crate::state::AppState, domain::now_ms};

/// The signed-in person.
pub const SESSION_AUTH_KEY: &str = "latchkey.auth";
/// The login typed on a refused password form, to fill the form in again (taken once).
pub const SESSION_LOGIN_KEY: &str = "latchkey.login";
/// An app's authorization request waiting for this browser's sign-in (its id).
pub const SESSION_OIDC_REQUEST_KEY: &str = "latchkey.oidc_request";
/// A forward-auth journey waiting for this browser's sign-in (`domain::forward_auth`).
pub const SESSION_FORWARD_KEY: &str = "latchkey.forward";
/// Where a signed-out visitor was going (a local page), to go on to after signing in.
pub const SESSION_RETURN_KEY: &str = "latchkey.return_to";
/// An authenticator app being added on the security page: its secret sealed to the person, and
/// when it started (it expires after ten minutes).
pub const SESSION_APP_ENROLMENT_KEY: &str = "latchkey.app_enrolment";
/// New recovery codes, sealed, until the page view that shows them once takes them.
pub const SESSION_RECOVERY_SHOW_KEY: &str = "latchkey.recovery_show";
/// The signed-in session's [`Stamp`]: its session generation and last look at the directory.
pub const SESSION_STAMP_KEY: &str = "latchkey.stamp";

pub fn state() -> AppState {
    expect_context::<AppState>()
}

/// Reads this request's head where leptos_axum keeps it (the reactive context), in place:
/// `leptos_axum::extract` clones all of it — every header and every extension — on each call.
/// `None` outside a request. `read` must not provide context (it holds the owner's context).
pub fn with_request<R>(read: impl FnOnce(&Parts) -> R) -> Option<R> {
    with_context::<Parts, _>(read)
}

pub async fn session() -> Result<Session, AppError> {
    with_request(|parts| parts.extensions.get::<Session>().cloned()).flatten().ok_or_else(|| {
        tracing::error!("session layer missing from the request");
        AppError::internal()
    })
}

/// What this request's browser carries: its session, the notice for its next page view and the
/// sign-in in progress (the last two in cookies of their own, `crate::carried`).
#[derive(Clone)]
pub struct Browser {
    pub session: Session,
    pub flash: Flash,
    pub flow: SignInFlow,
}

impl Browser {
    /// The request's, from its `extensions`, where the session, notice and flow layers put them
    /// (missing only if the router were built without them: logged).
    pub fn of(extensions: &Extensions) -> Option<Self> {
        let session = extensions.get::<Session>().cloned();
        if session.is_none() {
            tracing::error!("session layer missing from the request");
        }
        Some(Self {
            session: session?,
            flash: Flash::of(extensions)?,
            flow: SignInFlow::of(extensions)?,
        })
    }
}

impl Browser {
    /// Who is signed in in this browser ([`current_user_in`]), for handlers outside Leptos.
    pub async fn signed_in(
        &self,
        state: &AppState,
        now: i64,
    ) -> Result<Option<Authenticated>, AppError> {
        current_user_in(state, &self.session, &self.flash, now, None).await
    }
}

/// This request's [`Browser`], for server functions and pages.
pub async fn browser() -> Result<Browser, AppError> {
    with_request(|parts| Browser::of(&parts.extensions)).flatten().ok_or_else(AppError::internal)
}

/// For axum handlers outside Leptos (the OpenID Connect endpoints, forward authentication).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Browser {
    type Rejection = axum::http::StatusCode;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Self::of(&parts.extensions).ok_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
    }
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
    let state = state();
    let trusted = &state.session_policy.trusted_proxies;
    with_request(|parts| {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        client_from(peer, &parts.headers, trusted)
    })
    .unwrap_or_else(|| client_from(None, &HeaderMap::new(), trusted))
}

/// Who is asking, from the connection's peer and the request's headers.
pub fn client_from(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[domain::client_ip::IpRange],
) -> Client {
    let ip = peer.map_or_else(
        || "unknown".to_owned(),
        |peer| {
            // Every line, in order: a proxy may append its own line after the client's.
            let forwarded = domain::client_ip::forwarded_for(
                headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes()),
            );
            domain::client_ip::client_ip(peer.ip(), Some(&forwarded), trusted_proxies).to_string()
        },
    );
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(256).collect())
        .unwrap_or_default();
    Client { ip, user_agent, now: now_secs(), lang: crate::i18n::request_lang(headers) }
}

/// One request's look at who is signed in. A page asks from several resources at once (the
/// layout and the page), which take turns here: a session the first look finds ended is ended,
/// and its notice left, before the next look (which then finds nobody signed in and the
/// notice, never a moment in between with neither). A second look at the same sign-in reuses
/// the first one's verdict instead of asking the database again.
#[derive(Clone, Default)]
pub struct SignInLook(std::sync::Arc<tokio::sync::Mutex<Option<Authenticated>>>);

/// Gives every request its [`SignInLook`] (a layer of the server's router).
pub async fn one_look_per_request(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    request.extensions_mut().insert(SignInLook::default());
    next.run(request).await
}

/// The signed-in person, if the session has one that is still within the absolute timeout and
/// has not been ended elsewhere ([`domain::sessions`]). An ended sign-in is removed from
/// the session, and the next page view says why (`flash`).
pub async fn current_user(session: &Session) -> Result<Option<Authenticated>, AppError> {
    let (look, flash) = with_request(|parts| {
        (parts.extensions.get::<SignInLook>().cloned(), Flash::of(&parts.extensions))
    })
    .unwrap_or_default();
    let flash = flash.ok_or_else(AppError::internal)?;
    current_user_in(&state(), session, &flash, now_secs(), look.as_ref()).await
}

/// [`current_user`], for handlers that run outside a Leptos context (the CSV export), with the
/// request's [`SignInLook`] where it has one.
pub async fn current_user_in(
    state: &AppState,
    session: &Session,
    flash: &Flash,
    now: i64,
    look: Option<&SignInLook>,
) -> Result<Option<Authenticated>, AppError> {
    let mut seen = match look {
        Some(look) => Some(look.0.lock().await),
        None => None,
    };
    let Some(user) = session.get::<Authenticated>(SESSION_AUTH_KEY).await.map_err(session_error)?
    else {
        return Ok(None);
    };
    if past_absolute_timeout(user.signed_in_at, now, state.session_policy.absolute_timeout_secs) {
        tracing::info!("session reached its absolute timeout");
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    }
    if seen.as_deref().is_some_and(|seen| seen.as_ref() == Some(&user)) {
        return Ok(Some(user));
    }
    let stamp: Option<Stamp> = session.get(SESSION_STAMP_KEY).await.map_err(session_error)?;
    match state.sessions.check(&user, stamp.as_ref(), now).await {
        Ok(Verdict::Valid(stamp)) => {
            // Also what keeps an active session from reaching its idle timeout: a page view that
            // changes nothing else does not write the session.
            if let Some(stamp) = stamp {
                session.insert(SESSION_STAMP_KEY, stamp).await.map_err(session_error)?;
            }
            if let Some(seen) = seen.as_deref_mut() {
                *seen = Some(user.clone());
            }
            Ok(Some(user))
        }
        Ok(Verdict::Ended(why)) => {
            tracing::info!(reason = why.reason(), "session ended by a change to the account");
            session.flush().await.map_err(session_error)?;
            flash.set(Some(Notice::info("sign_in.session_ended")));
            Ok(None)
        }
        Err(_) => Err(AppError::unavailable()),
    }
}

/// Stamps the session with `stamp`: at sign-in, and when an action of this session moved the
/// person's generation on, so that this session stays signed in while every other one ends.
/// The id is cycled as well, so a request of this browser still in flight with the old stamp
/// cannot write it back over the new one. A session not stored yet has no id to cycle: it gets
/// a new one when it is first stored.
pub async fn stamp_session(session: &Session, stamp: Stamp) -> Result<(), AppError> {
    if session.id().is_some() {
        session.cycle_id().await.map_err(session_error)?;
    }
    session.insert(SESSION_STAMP_KEY, stamp).await.map_err(session_error)
}

/// Keeps this session signed in after it moved its person's generation on (see
/// [`stamp_session`]).
pub async fn keep_signed_in(session: &Session, user: &Authenticated) -> Result<(), AppError> {
    let now = now_secs();
    let state = state();
    let stamp =
        state.sessions.stamp(&user.user_id, now).await.map_err(|_| AppError::unavailable())?;
    state.oidc.kept_signed_in(user, stamp.generation).await;
    stamp_session(session, stamp).await
}

/// Whether `path` may be gone back to after signing in: a path of this site's own pages
/// (letters, digits, `/`, `-`, `_`), never `//host` or anything with a scheme, so that the
/// return can never become an open redirect.
pub fn is_local_page(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 200
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'))
}

/// A signed-out visitor asked for this request's page (`/security`, `/admin/…`): remember it,
/// so that signing in goes on there. Only page loads count (not server-function calls), and
/// only local pages.
pub async fn return_here_after_sign_in(session: &Session) -> Result<(), AppError> {
    let Some(path) = with_request(|parts| parts.uri.path().to_owned()) else {
        return Ok(());
    };
    if path.starts_with("/api/") || !is_local_page(&path) || path == "/sign-in" {
        return Ok(());
    }
    session.insert(SESSION_RETURN_KEY, path).await.map_err(session_error)
}

/// Whether a session signed in at `signed_in_at` has reached its absolute timeout at `now`.
/// A sign-in "in the future" (another instance's clock a little ahead) is not expired.
pub fn past_absolute_timeout(signed_in_at: i64, now: i64, limit_secs: i64) -> bool {
    now.saturating_sub(signed_in_at) >= limit_secs
}

/// Removes and returns `key`'s value, marking the session changed only when there was one: a
/// page view that changes nothing does not write the session back (tower-sessions' `remove`
/// marks it changed either way).
pub async fn take<T: serde::de::DeserializeOwned>(
    session: &Session,
    key: &str,
) -> Result<Option<T>, AppError> {
    if session.get_value(key).await.map_err(session_error)?.is_none() {
        return Ok(None);
    }
    session.remove::<T>(key).await.map_err(session_error)
}

/// The value of cookie `name` in the request, if sent.
pub async fn request_cookie(name: &str) -> Option<String> {
    with_request(|parts| cookie_in(&parts.headers, name).map(str::to_owned)).flatten()
}

/// The value of cookie `name` in `headers` (every `Cookie` line), by exact name.
pub fn cookie_in<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
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
    use super::{is_local_page, past_absolute_timeout};

    #[test]
    fn only_local_pages_are_returned_to() {
        for ok in ["/security", "/admin", "/admin/person/3f2a-77_b"] {
            assert!(is_local_page(ok), "{ok}");
        }
        for bad in [
            "//evil.example/x",
            "https://evil.example/",
            "/\\evil.example",
            "security",
            "/a?next=//evil",
            "/a#x",
            "/%2F%2Fevil",
            "",
        ] {
            assert!(!is_local_page(bad), "{bad}");
        }
        assert!(!is_local_page(&format!("/{}", "a".repeat(200))));
    }

    #[test]
    fn sessions_end_at_the_absolute_timeout() {
        let limit = 12 * 3600;
        assert!(!past_absolute_timeout(1_000, 1_000, limit));
        assert!(!past_absolute_timeout(1_000, 1_000 + limit - 1, limit));
        assert!(past_absolute_timeout(1_000, 1_000 + limit, limit));
        assert!(!past_absolute_timeout(1_000, 998, limit), "instances' clocks differ a little");
    }
}
