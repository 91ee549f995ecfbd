//! Something to tell the person, by message id: what every flow answers with.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use messages::MessageId;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Something to tell the person, by message id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub retry_after: Option<i64>,
    /// False for good news ("code sent"), true for problems.
    pub error: bool,
    /// The `{n}` of the message ("3 recovery codes left"), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl Notice {
    pub fn error(id: MessageId) -> Self {
        Self { id: id.to_owned(), retry_after: None, error: true, count: None }
    }

    pub fn info(id: MessageId) -> Self {
        Self { id: id.to_owned(), retry_after: None, error: false, count: None }
    }

    /// Good news with a number in it.
    pub fn counted(id: MessageId, n: u32) -> Self {
        Self { id: id.to_owned(), retry_after: None, error: false, count: Some(n) }
    }

    pub fn wait(id: MessageId, retry_after: i64) -> Self {
        Self { id: id.to_owned(), retry_after: Some(retry_after.max(1)), error: true, count: None }
    }
}

/// The longest sealed notice [`Notice::open`] reads: a real one is about 100 characters.
const SEALED_MAX_CHARS: usize = 256;
/// How far in the future a notice's issue time may be (another instance's clock a little
/// ahead) before it is refused.
const SEALED_CLOCK_SKEW_SECS: i64 = 60;

/// Why a sealed notice was not opened. The browser gets no notice; the operator's log says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealedNoticeError {
    #[error("not a sealed notice")]
    Malformed,
    #[error("its seal matches no key in security.hmac_keys (altered, forged, or a removed key)")]
    Forged,
    #[error("issued too long ago, or in the future")]
    Stale,
    #[error("its message id is not in the catalog")]
    Unknown,
}

impl Notice {
    /// The notice as a cookie value (`v1~id~e|i~retry~count~issued~seal`), sealed with an
    /// HMAC-SHA256 under `key` so that nobody but this server (or another instance with the same
    /// `security.hmac_keys`) can make a page say something.
    pub fn seal(&self, key: &secrecy::SecretString, issued: i64) -> String {
        let payload = format!(
            "v1~{}~{}~{}~{}~{issued}",
            self.id,
            if self.error { 'e' } else { 'i' },
            self.retry_after.map(|r| r.to_string()).unwrap_or_default(),
            self.count.map(|c| c.to_string()).unwrap_or_default(),
        );
        let tag = sealed_mac(key, &payload).finalize().into_bytes();
        format!("{payload}~{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Opens what [`Notice::seal`] made under any of `keys` (newest first: a rotated key still
    /// opens the notices in flight), issued at most `max_age_secs` before `now`.
    pub fn open(
        sealed: &str,
        keys: &[secrecy::SecretString],
        now: i64,
        max_age_secs: i64,
    ) -> Result<Notice, SealedNoticeError> {
        use SealedNoticeError::*;
        if sealed.len() > SEALED_MAX_CHARS {
            return Err(Malformed);
        }
        let (payload, tag) = sealed.rsplit_once('~').ok_or(Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Malformed)?;
        if !keys.iter().any(|key| sealed_mac(key, payload).verify_slice(&tag).is_ok()) {
            return Err(Forged);
        }
        let fields: Vec<&str> = payload.split('~').collect();
        let [version, id, kind, retry, count, issued] = fields[..] else {
            return Err(Malformed);
        };
        let error = match kind {
            "e" => true,
            "i" => false,
            _ => return Err(Malformed),
        };
        let optional = |s: &str| -> Result<Option<u32>, SealedNoticeError> {
            if s.is_empty() { Ok(None) } else { s.parse().map(Some).map_err(|_| Malformed) }
        };
        let (retry_after, count) = (optional(retry)?.map(i64::from), optional(count)?);
        let issued: i64 = issued.parse().map_err(|_| Malformed)?;
        if version != "v1" {
            return Err(Malformed);
        }
        if issued > now.saturating_add(SEALED_CLOCK_SKEW_SECS)
            || now.saturating_sub(issued) > max_age_secs
        {
            return Err(Stale);
        }
        if !messages::has(id) {
            return Err(Unknown);
        }
        Ok(Notice { id: id.to_owned(), retry_after, error, count })
    }
}

/// The seal's HMAC, its input labelled so that it can never pass for a code's or a token's.
fn sealed_mac(key: &secrecy::SecretString, payload: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    for part in [b"notice".as_slice(), payload.as_bytes()] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn key(s: &str) -> SecretString {
        SecretString::from(s.repeat(32))
    }

    #[test]
    fn a_sealed_notice_opens_as_it_was() {
        let k = [key("a")];
        for n in [
            Notice::info("sign_in.signed_out"),
            Notice::error("sign_in.expired"),
            Notice::wait("sign_in.throttled", 90),
            Notice::counted("sign_in.recovery_used", 3),
        ] {
            let sealed = n.seal(&k[0], 1_000);
            // Only cookie-safe characters: no space, comma, semicolon, quote or backslash.
            assert!(sealed.bytes().all(|b| b.is_ascii_graphic() && !b",;\"\\".contains(&b)));
            assert_eq!(Notice::open(&sealed, &k, 1_000, 600), Ok(n.clone()), "{sealed}");
        }
    }

    #[test]
    fn an_altered_or_foreign_notice_is_refused() {
        let k = [key("a")];
        let sealed = Notice::info("sign_in.signed_out").seal(&k[0], 1_000);
        // The message changed, the kind flipped, a count added: the seal no longer matches.
        for altered in [
            sealed.replace("signed_out", "expired"),
            sealed.replace("~i~", "~e~"),
            sealed.replacen("~~", "~7~", 1),
        ] {
            assert_eq!(Notice::open(&altered, &k, 1_000, 600), Err(SealedNoticeError::Forged));
        }
        assert_eq!(
            Notice::open(&sealed, &[key("b")], 1_000, 600),
            Err(SealedNoticeError::Forged),
            "another server's key"
        );
        // A rotated key still opens what it sealed.
        assert!(Notice::open(&sealed, &[key("b"), key("a")], 1_000, 600).is_ok());
    }

    #[test]
    fn an_old_future_unknown_or_garbled_notice_is_refused() {
        let k = [key("a")];
        let sealed = Notice::info("sign_in.signed_out").seal(&k[0], 1_000);
        assert_eq!(Notice::open(&sealed, &k, 1_601, 600), Err(SealedNoticeError::Stale));
        assert!(Notice::open(&sealed, &k, 1_600, 600).is_ok());
        assert_eq!(Notice::open(&sealed, &k, 900, 600), Err(SealedNoticeError::Stale));
        let unknown = Notice::info("no.such_message").seal(&k[0], 1_000);
        assert_eq!(Notice::open(&unknown, &k, 1_000, 600), Err(SealedNoticeError::Unknown));
        for garbled in ["", "~", "v1", "x~y", "v1~a~i~~~1~!!!", &"a".repeat(300), "v1~é~i~~~1~AA"]
        {
            let refused = Notice::open(garbled, &k, 1_000, 600);
            assert!(
                matches!(refused, Err(SealedNoticeError::Malformed | SealedNoticeError::Forged)),
                "{garbled}: {refused:?}"
            );
        }
        // Well sealed but not what `seal` writes: refused all the same.
        let payload = "v2~sign_in.signed_out~i~~~1000";
        let tag = URL_SAFE_NO_PAD.encode(sealed_mac(&k[0], payload).finalize().into_bytes());
        assert_eq!(
            Notice::open(&format!("{payload}~{tag}"), &k, 1_000, 600),
            Err(SealedNoticeError::Malformed)
        );
    }
}
