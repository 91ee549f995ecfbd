//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` would send the secret itself
//! through the browser, which is what PKCE exists to avoid.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`.
pub fn verifier_is_valid(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge: the unpadded base64url form of 32 bytes, so exactly 43 characters,
/// canonical (the last character's unused bits are zero, as any correct encoder writes them).
pub fn challenge_is_valid(c: &str) -> bool {
    c.len() == 43 && URL_SAFE_NO_PAD.decode(c).is_ok_and(|bytes| bytes.len() == 32)
}

/// Whether `BASE64URL-NOPAD(SHA256(verifier)) == challenge` (RFC 7636 §4.6), compared in
/// constant time. A verifier outside RFC 7636's syntax never matches.
pub fn s256_matches(verifier: &str, challenge: &str) -> bool {
    if !verifier_is_valid(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

/// Equal bytes, without returning early at the first difference (the lengths are public: a
/// valid challenge is always 43 characters).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b() {
        assert!(verifier_is_valid(VERIFIER));
        assert!(challenge_is_valid(CHALLENGE));
        assert!(s256_matches(VERIFIER, CHALLENGE));
    }

    #[test]
    fn mismatches() {
        let mut other_verifier = VERIFIER.to_string();
        other_verifier.replace_range(0..1, "e");
        assert!(!s256_matches(&other_verifier, CHALLENGE));
        assert!(!s256_matches(VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
        assert!(!s256_matches(VERIFIER, &CHALLENGE[..42]));
        assert!(!s256_matches(VERIFIER, ""));
        // `plain` would compare the verifier itself: never accepted.
        assert!(!s256_matches(VERIFIER, VERIFIER));
        // Padded challenges are not the unpadded form RFC 7636 specifies.
        assert!(!s256_matches(VERIFIER, &format!("{CHALLENGE}=")));
    }

    #[test]
    fn an_invalid_verifier_never_matches_even_its_own_hash() {
        let short = "a".repeat(42);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(short.as_bytes()));
        assert!(!s256_matches(&short, &challenge));
    }

    #[test]
    fn verifier_syntax_table() {
        let table = [
            ("a".repeat(42), false),
            ("a".repeat(43), true),
            ("a".repeat(128), true),
            ("a".repeat(129), false),
            (format!("{}-._~", "A0z".repeat(14)), true),
            (format!("{}+", "a".repeat(42)), false),
            (format!("{}/", "a".repeat(42)), false),
            (format!("{}=", "a".repeat(42)), false),
            (format!("{} ", "a".repeat(42)), false),
            (format!("{}é", "a".repeat(42)), false),
            (String::new(), false),
        ];
        for (v, want) in table {
            assert_eq!(verifier_is_valid(&v), want, "{v:?}");
        }
    }

    #[test]
    fn challenge_syntax_table() {
        let table = [
            (CHALLENGE.to_string(), true),
            ("A".repeat(43), true),
            (CHALLENGE[..42].to_string(), false),
            (format!("{CHALLENGE}A"), false),
            (format!("{CHALLENGE}="), false),
            // Standard base64's alphabet, not base64url's.
            ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM".to_string(), false),
            ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw/cM".to_string(), false),
            // Non-canonical: the last character carries bits 32 bytes do not have.
            ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN".to_string(), false),
            (" ".repeat(43), false),
            (String::new(), false),
        ];
        for (c, want) in table {
            assert_eq!(challenge_is_valid(&c), want, "{c:?}");
        }
    }
}
