//! Codes and tokens in transit, as the store keeps them: by HMAC, under each of
//! `security.hmac_keys` (the newest first), shared by the OpenID Connect provider and forward
//! authentication.

use super::records::{Taken, TokenKind};
use crate::codes::CodeHasher;
use crate::ports::{OidcStore, Unavailable};

/// Longer than any value we hand out: not worth a query.
const MAX_VALUE_LEN: usize = 256;

/// The digest a new value is stored under (the newest key).
pub(crate) fn digest(hasher: &CodeHasher, kind: TokenKind, value: &str) -> String {
    hasher.bearer_digests(kind.as_str(), value).into_iter().next().unwrap_or_default()
}

/// Uses a single-use value (a code, a refresh token) stored under any key.
pub(crate) async fn take(
    store: &dyn OidcStore,
    hasher: &CodeHasher,
    kind: TokenKind,
    value: &str,
    now: i64,
) -> Result<Taken, Unavailable> {
    if value.is_empty() || value.len() > MAX_VALUE_LEN {
        return Ok(Taken::Unknown);
    }
    for digest in hasher.bearer_digests(kind.as_str(), value) {
        match store.take_once(&digest, kind, now).await? {
            Taken::Unknown => continue,
            taken => return Ok(taken),
        }
    }
    Ok(Taken::Unknown)
}
