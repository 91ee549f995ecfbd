//! The notice for the next page view ("You are signed out", "We sent a code"), carried in a
//! sealed cookie instead of the session: setting one, and the page view that shows it, write
//! nothing to the database (issue 19). The server's cookie layer (`crate::carried`) reads the
//! cookie into the request's [`Flash`] and writes back whatever the request changed. Server-only.

use std::sync::Arc;

use axum::http::HeaderValue;
use domain::notice::{Notice, SealedNoticeError};
use secrecy::SecretString;

use crate::carried::{Carried, CarriedCookie, cookie_line};
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
    pub fn unseal(&self, cookie: &str, now: i64) -> Result<Notice, SealedNoticeError> {
        Notice::open(cookie, &self.keys, now, NOTICE_MAX_AGE_SECS)
    }
}

impl CarriedCookie for NoticeCookie {
    type Value = Notice;

    fn name(&self) -> &'static str {
        self.name
    }

    fn open(&self, cookie: &str, now: i64) -> Option<Notice> {
        self.unseal(cookie, now)
            .inspect_err(|e| tracing::info!(reason = %e, "a notice cookie was ignored"))
            .ok()
    }

    /// Sealed, and only as long as a notice waits.
    fn header(&self, notice: Option<&Notice>, now: i64) -> Option<HeaderValue> {
        match (notice, self.keys.first()) {
            (Some(n), Some(key)) => {
                cookie_line(self.name, &n.seal(key, now), NOTICE_MAX_AGE_SECS, self.secure)
            }
            (Some(_), None) => None,
            (None, _) => cookie_line(self.name, "", 0, self.secure),
        }
    }
}

/// This request's notice: what the browser brought, and what the request made of it.
pub type Flash = Carried<Notice>;

/// The request's [`Flash`], for server functions and pages.
pub async fn flash() -> Result<Flash, AppError> {
    crate::carried::carried().await
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
        assert_eq!(cookie().unseal(value, 1_000), Ok(Notice::error("sign_in.expired")));
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
