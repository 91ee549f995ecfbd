//! Just the JOSE an OpenID provider needs, on `ring`: signing keys for RS256, ES256 and EdDSA
//! (Ed25519), their public JWKs with RFC 7638 thumbprints as key ids, compact JWS/JWT signing
//! and verification, the OIDC `at_hash`/`c_hash`, and sealing key material at rest.
//!
//! Deliberately small: no JWE, no HMAC algorithms, no `none`, no key types beyond the three.

mod der;
mod error;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod jwt;
mod pem;
mod seal;
mod signing;
mod verifying;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use serde::{Deserialize, Serialize};

pub use error::JoseError;
pub use jwt::{MAX_TOKEN_LEN, verify_jwt};
pub use seal::{open, open_for, seal, seal_for};
pub use signing::SigningKey;
pub use verifying::VerifyingKey;

/// A JWS algorithm we sign with (RFC 7518 and RFC 8037 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
// The JWA names, spelled as on the wire.
#[allow(clippy::upper_case_acronyms)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256; every relying party supports it.
    RS256,
    /// ECDSA on P-256 with SHA-256, signature in the fixed 64-byte `r || s` form.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// Exact, case-sensitive names only (JWA names are case-sensitive); `none` is not one.
    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "RS256" => Some(Alg::RS256),
            "ES256" => Some(Alg::ES256),
            "EdDSA" => Some(Alg::EdDSA),
            _ => None,
        }
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// OIDC `at_hash` / `c_hash`: the base64url left half of the hash of the token's ASCII bytes,
/// with the hash of the ID token's `alg`. For EdDSA (Ed25519) that is SHA-512, as OpenID
/// Connect Core's errata and the `openidconnect` crate have it.
pub fn half_hash(alg: Alg, token: &str) -> String {
    let hash = match alg {
        Alg::RS256 | Alg::ES256 => &digest::SHA256,
        Alg::EdDSA => &digest::SHA512,
    };
    let digest = digest::digest(hash, token.as_bytes());
    let digest = digest.as_ref();
    b64url(&digest[..digest.len() / 2])
}

/// base64url without padding, as everywhere in JOSE.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict: no padding, no whitespace, no non-canonical trailing bits.
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| JoseError::Base64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip_and_none_is_not_an_alg() {
        for alg in [Alg::RS256, Alg::ES256, Alg::EdDSA] {
            assert_eq!(Alg::parse(alg.as_str()), Some(alg));
            assert_eq!(alg.to_string(), alg.as_str());
            let json = serde_json::to_value(alg).unwrap();
            assert_eq!(json, serde_json::json!(alg.as_str()));
            assert_eq!(serde_json::from_value::<Alg>(json).unwrap(), alg);
        }
        for other in ["none", "None", "HS256", "rs256", "EDDSA", ""] {
            assert_eq!(Alg::parse(other), None, "{other}");
        }
    }

    #[test]
    fn b64url_is_unpadded_and_strict() {
        assert_eq!(b64url(b"\xfb\xff"), "-_8");
        assert_eq!(b64url_decode("-_8").unwrap(), b"\xfb\xff");
        assert!(matches!(b64url_decode("-_8="), Err(JoseError::Base64)));
        assert!(matches!(b64url_decode("+/8"), Err(JoseError::Base64)));
        assert!(matches!(b64url_decode("-_ 8"), Err(JoseError::Base64)));
        // "-_9" has non-zero trailing bits: a second spelling of the same bytes.
        assert!(matches!(b64url_decode("-_9"), Err(JoseError::Base64)));
    }

    #[test]
    fn half_hash_matches_known_values() {
        // OpenID Connect Core 1.0, Appendix A.3 (access token → at_hash) and A.4 (code →
        // c_hash), both RS256; recomputed with `openssl dgst -sha256`.
        let access_token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        let code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";
        assert_eq!(half_hash(Alg::RS256, access_token), "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(half_hash(Alg::RS256, code), "LDktKdoQak3Pk0cnXxCltA");
        assert_eq!(half_hash(Alg::ES256, access_token), "77QmUPtjPfzWtF2AnpK9RQ");
        // EdDSA → SHA-512, 32 bytes: the value in fusionauth-jwt's at_hash test, recomputed with
        // `printf %s TOKEN | openssl dgst -sha512 -binary | head -c 32 | base64 | tr '+/' '-_'`.
        assert_eq!(
            half_hash(Alg::EdDSA, "dNZX1hEZ9wBCzNL40Upu646bdzQA"),
            "8xltSlOGYrWy8W9yNvRlEth1i_bXW-JROWPLvCv5zog"
        );
    }
}
