//! Secrets sealed at rest (authenticator apps' TOTP secrets): AES-256-GCM on the `jose` crate,
//! under a key derived (HKDF, a label of its own) from each of `security.hmac_keys`. The newest
//! key seals; every key opens, so the keys rotate like the HMAC keys: put a new key first, keep
//! the old ones until every app was used once (each is sealed again under the newest key when
//! an older one opens it).

use domain::ports::{SecretSealer, Unavailable};
use secrecy::{ExposeSecret, SecretString};

/// Binds the derived keys to this one purpose; a new format gets a new label.
const INFO: &[u8] = b"latchkey sealed secrets v1";
/// The stored form's prefix: a format version, so a later one can be told apart.
const PREFIX: &str = "v1.";

pub struct Sealer {
    /// Newest first.
    keys: Vec<SecretString>,
}

impl Sealer {
    pub fn new(keys: Vec<SecretString>) -> Self {
        Self { keys }
    }
}

fn unavailable(what: &str) -> Unavailable {
    tracing::error!(what, "sealing failed");
    Unavailable { kind: "sealing" }
}

impl SecretSealer for Sealer {
    fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, Unavailable> {
        let key = self.keys.first().ok_or_else(|| unavailable("no key in security.hmac_keys"))?;
        let sealed =
            jose::seal_for(INFO, key.expose_secret().as_bytes(), context.as_bytes(), plaintext)
                .map_err(|_| unavailable("seal"))?;
        Ok(format!("{PREFIX}{}", jose::b64url(&sealed)))
    }

    fn open(&self, context: &str, sealed: &str) -> Result<(Vec<u8>, bool), Unavailable> {
        let body = sealed.strip_prefix(PREFIX).ok_or_else(|| unavailable("unknown format"))?;
        let bytes = jose::b64url_decode(body).map_err(|_| unavailable("not base64url"))?;
        for (i, key) in self.keys.iter().enumerate() {
            let secret = key.expose_secret().as_bytes();
            if let Ok(plain) = jose::open_for(INFO, secret, context.as_bytes(), &bytes) {
                return Ok((plain, i > 0));
            }
        }
        Err(Unavailable { kind: "sealing" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<SecretString> {
        k.iter().map(|s| SecretString::from(s.to_string())).collect()
    }

    #[test]
    fn seals_under_the_newest_opens_under_any_and_says_which() {
        let old = Sealer::new(keys(&["an old key of thirty-two bytes!!"]));
        let sealed = old.seal("totp:alice:1", b"twenty bytes secret!").unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("twenty"));
        assert_eq!(
            old.open("totp:alice:1", &sealed).unwrap(),
            (b"twenty bytes secret!".to_vec(), false)
        );
        let rotated = Sealer::new(keys(&[
            "a new key of thirty-two bytes!!!",
            "an old key of thirty-two bytes!!",
        ]));
        assert!(rotated.open("totp:alice:1", &sealed).unwrap().1, "an older key opened it");
        let resealed = rotated.seal("totp:alice:1", b"twenty bytes secret!").unwrap();
        assert!(!rotated.open("totp:alice:1", &resealed).unwrap().1, "the newest key opened it");
        // Bound to its context: moved to another person's row, it does not open.
        assert!(rotated.open("totp:bob:1", &sealed).is_err());
        // Without the key that sealed it, nothing opens.
        let dropped = Sealer::new(keys(&["a new key of thirty-two bytes!!!"]));
        assert!(dropped.open("totp:alice:1", &sealed).is_err());
        assert!(dropped.open("totp:alice:1", "garbage").is_err());
    }
}
