//! The notice for the next page view ("You are signed out", "We sent a code"), carried in a
//! sealed cookie instead of the session: setting one, and the page view that shows it, write
//! nothing to the database (issue 19). The server's `notices` layer reads the cookie into the
//! request's [`Flash`] and writes back whatever the request changed. Server-only.

use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{Extensions, HeaderValue, request::Parts};
use domain::notice::{Notice, SealedNoticeError};
use secrecy::SecretString;

use crate::error::AppError;

/// How long a notice waits for the page that shows it; a form post's redirect takes a moment.
pub const NOTICE_MAX_AGE_SECS: i64 = 600;

/// The notice cookie: its name and what seals it.
#[derive(Clone)]
pub struct NoticeCookie {
    /// `__Host-latchkey-notice` over https (nobody on a sibling subdomain can plant one),
    /// `latchkey-notice` otherwise.
    pub name: &'static str,
    pub secure: bool,
    /// `security.hmac_keys`, newest first: sealed under the first, opened under any.
    pub keys: Arc<[SecretString]>,
}

impl NoticeCookie {
    pub fn new(secure: bool, keys: Arc<[SecretString]>) -> Self {
        let name = if secure { "__Host-latchkey-notice" } else { "latchkey-notice" };
        Self { name, secure, keys }
    }

    /// The notice the browser brought in `cookie`, if it opens; why not, if it does not.
    pub fn open(&self, cookie: &str, now: i64) -> Result<Notice, SealedNoticeError> {
        Notice::open(cookie, &self.keys, now, NOTICE_MAX_AGE_SECS)
    }

    /// The `Set-Cookie` value for `notice` (`None`: remove the cookie). `HttpOnly` and
    /// `SameSite=Lax` like the session's, and only as long as a notice waits.
    fn header(&self, notice: Option<&Notice>, now: i64) -> Option<HeaderValue> {
        let (value, max_age) = match (notice, self.keys.first()) {
            (Some(n), Some(key)) => (n.seal(key, now), NOTICE_MAX_AGE_SECS),
            (Some(_), None) => return None,
            (None, _) => (String::new(), 0),
        };
        let secure = if self.secure { "; Secure" } else { "" };
        let line = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            self.name
        );
        HeaderValue::from_str(&line).ok()
    }
}

/// This request's notice: what the browser brought, and what the request made of it.
#[derive(Clone, Default)]
pub struct Flash(Arc<Mutex<FlashState>>);

#[derive(Default)]
struct FlashState {
    notice: Option<Notice>,
    /// The browser sent a notice cookie (whether or not it opened).
    brought: bool,
    changed: bool,
}

impl Flash {
    /// The flash of a request that brought `notice` (`brought`: it sent the cookie at all, so a
    /// cookie that did not open is removed too).
    pub fn brought(notice: Option<Notice>, brought: bool) -> Self {
        let changed = brought && notice.is_none();
        Self(Arc::new(Mutex::new(FlashState { notice, brought, changed })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FlashState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The notice, left for the page that shows it.
    pub fn peek(&self) -> Option<Notice> {
        self.state().notice.clone()
    }

    /// The notice, taken: the response removes the cookie.
    pub fn take(&self) -> Option<Notice> {
        let mut state = self.state();
        let notice = state.notice.take();
        state.changed |= notice.is_some();
        notice
    }

    /// What the next page view says (`None`: nothing).
    pub fn set(&self, notice: Option<Notice>) {
        let mut state = self.state();
        if state.notice != notice {
            state.notice = notice;
            state.changed = true;
        }
    }

    /// The `Set-Cookie` the response carries, if the request changed the notice.
    pub fn set_cookie(&self, cookie: &NoticeCookie, now: i64) -> Option<HeaderValue> {
        let state = self.state();
        match (&state.notice, state.changed) {
            (_, false) => None,
            (None, true) if !state.brought => None,
            (notice, true) => cookie.header(notice.as_ref(), now),
        }
    }
}

/// The request's [`Flash`], for server functions and pages.
pub async fn flash() -> Result<Flash, AppError> {
    leptos_axum::extract::<axum::Extension<Flash>>().await.map(|e| e.0).map_err(|e| {
        tracing::error!(error = %e, "notice layer missing from the request");
        AppError::internal()
    })
}

impl Flash {
    /// The request's flash among its `extensions`, where the notices layer always puts it
    /// (missing only if the router were built without the layer: logged).
    pub fn of(extensions: &Extensions) -> Option<Flash> {
        let flash = extensions.get::<Flash>().cloned();
        if flash.is_none() {
            tracing::error!("notice layer missing from the request");
        }
        flash
    }
}

/// For axum handlers outside Leptos (the OpenID Connect endpoints, forward authentication, the
/// audit export).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Flash {
    type Rejection = axum::http::StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Flash::of(&parts.extensions).ok_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie() -> NoticeCookie {
        NoticeCookie::new(true, vec![SecretString::from("k".repeat(40))].into())
    }

    fn set_cookie(flash: &Flash) -> Option<String> {
        flash.set_cookie(&cookie(), 1_000).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn a_request_that_changes_nothing_sends_no_cookie() {
        assert_eq!(set_cookie(&Flash::brought(None, false)), None);
        let waiting = Flash::brought(Some(Notice::info("sign_in.signed_out")), true);
        assert!(waiting.peek().is_some());
        assert_eq!(set_cookie(&waiting), None, "peeked, not taken: it stays for the page");
        let same = Flash::brought(Some(Notice::info("sign_in.signed_out")), true);
        same.set(Some(Notice::info("sign_in.signed_out")));
        assert_eq!(set_cookie(&same), None);
        let nothing = Flash::brought(None, false);
        nothing.set(None);
        assert_eq!(nothing.take(), None);
        assert_eq!(set_cookie(&nothing), None, "no cookie to remove");
    }

    #[test]
    fn a_notice_set_is_sealed_into_a_host_only_cookie_that_opens_again() {
        let flash = Flash::default();
        flash.set(Some(Notice::error("sign_in.expired")));
        let line = set_cookie(&flash).unwrap();
        assert!(line.starts_with("__Host-latchkey-notice=v1~sign_in.expired~e~"), "{line}");
        assert!(line.ends_with("; Path=/; HttpOnly; SameSite=Lax; Max-Age=600; Secure"), "{line}");
        let value = line.split(';').next().unwrap().split_once('=').unwrap().1;
        assert_eq!(cookie().open(value, 1_000), Ok(Notice::error("sign_in.expired")));
    }

    #[test]
    fn a_notice_taken_or_a_cookie_that_did_not_open_is_removed() {
        let taken = Flash::brought(Some(Notice::info("sign_in.signed_out")), true);
        assert_eq!(taken.take(), Some(Notice::info("sign_in.signed_out")));
        assert_eq!(taken.take(), None, "once");
        let removal = "__Host-latchkey-notice=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure";
        assert_eq!(set_cookie(&taken).as_deref(), Some(removal));
        assert_eq!(set_cookie(&Flash::brought(None, true)).as_deref(), Some(removal));
        // Set and taken within one request (a page that sets and shows): nothing to send.
        let within = Flash::default();
        within.set(Some(Notice::info("sign_in.signed_out")));
        assert!(within.take().is_some());
        assert_eq!(set_cookie(&within), None);
    }

    #[test]
    fn over_http_the_cookie_has_no_prefix_and_no_secure_flag() {
        let plain = NoticeCookie::new(false, vec![SecretString::from("k".repeat(40))].into());
        let flash = Flash::default();
        flash.set(Some(Notice::info("sign_in.signed_out")));
        let line = flash.set_cookie(&plain, 1).unwrap();
        let line = line.to_str().unwrap();
        assert!(line.starts_with("latchkey-notice=v1~") && !line.contains("Secure"), "{line}");
    }
}
