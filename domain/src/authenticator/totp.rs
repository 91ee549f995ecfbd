//! Authenticator apps: RFC 6238 time-based codes (SHA-1, 6 digits, 30 s — what every app
//! supports), computed by the `totp-rs` crate. What is ours: the secret's shapes for people
//! (grouped base32, the `otpauth://` URI a QR code carries) and the replay rule (a time step is
//! accepted once per credential, RFC 6238 §5.2), which the store enforces atomically.

use std::fmt;

use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Digits per code.
pub const DIGITS: u8 = 6;
/// Seconds per time step.
pub const STEP_SECS: u64 = 30;
/// Steps of clock difference accepted either side of now (RFC 6238 §5.2 recommends one).
pub const SKEW: u16 = 1;
/// 160 bits, the size RFC 4226 §4 recommends (and what the apps expect).
pub const SECRET_BYTES: usize = 20;

/// An app's shared secret. Never logged: its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// What a typed code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Right for time step `step` (Unix seconds / 30); the caller records it as used.
    Right { step: i64 },
    /// Not six digits.
    Malformed,
    /// Six digits, but not this app's code within the clock window.
    Wrong,
}

impl TotpSecret {
    /// A new secret from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(crate::tokens::random_bytes(SECRET_BYTES))
    }

    /// A secret read back from the store; `None` unless 16 to 64 bytes (RFC 4226 asks for at
    /// least 128 bits).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (16..=64).contains(&bytes.len()).then_some(Self(bytes))
    }

    /// A secret as an app takes it (base32, spaces and case ignored), e.g. from the page.
    pub fn from_base32(text: &str) -> Option<Self> {
        let cleaned: String =
            text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        Secret::try_from_base32(cleaned).ok().and_then(|s| Self::from_bytes(s.as_bytes().to_vec()))
    }

    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW)
            .with_step_duration(STEP_SECS)
            .with_secret(Secret::from(self.0.clone()))
            // The values above are RFC 6238's; the length was checked when the secret was made.
            .build_noncompliant()
    }

    /// Unpadded RFC 4648 base32, as apps take it.
    pub fn base32(&self) -> String {
        Secret::from(self.0.clone()).to_base32()
    }

    /// Base32 in groups of four, for typing it into an app by hand.
    pub fn grouped(&self) -> String {
        let b32 = self.base32();
        let chunks: Vec<&str> =
            b32.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        chunks.join(" ")
    }

    /// The Key Uri Format URI (`otpauth://totp/Issuer:account?…`) a QR code carries.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let label =
            format!("{}:{}", crate::percent::encode(issuer), crate::percent::encode(account));
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.base32(),
            crate::percent::encode(issuer)
        )
    }

    /// The code for Unix time `unix` (for tests and the demo; never shown by the service).
    pub fn code_at(&self, unix: u64) -> String {
        self.totp().generate(unix).to_string()
    }

    /// Checks `input` at Unix time `now`, one step either side. Spaces and dashes people type
    /// are dropped; digits from other scripts are refused, as for texted codes.
    pub fn check(&self, input: &str, now: i64) -> Check {
        let cleaned: String = input.chars().filter(|c| !matches!(c, ' ' | '-' | '\t')).collect();
        if cleaned.len() != usize::from(DIGITS) || !cleaned.bytes().all(|b| b.is_ascii_digit()) {
            return Check::Malformed;
        }
        let Ok(now) = u64::try_from(now) else {
            return Check::Wrong;
        };
        match self.totp().check(&cleaned, now) {
            Some(step) => Check::Right { step: i64::try_from(step).unwrap_or(i64::MAX) },
            None => Check::Wrong,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        // RFC 6238 Appendix B's SHA-1 seed.
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).expect("20 bytes")
    }

    /// RFC 6238 Appendix B, SHA-1 rows: the 8-digit values' last six digits (a 6-digit code is
    /// the same truncation mod 10^6).
    #[test]
    fn rfc_6238_test_vectors() {
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, eight) in vectors {
            assert_eq!(rfc_secret().code_at(time), eight[2..], "T = {time}");
        }
    }

    #[test]
    fn one_step_of_skew_either_side_and_no_more() {
        let s = rfc_secret();
        let now = 1_234_567_890_i64;
        let step = now / 30;
        let code_at = |k: i64| s.code_at(u64::try_from((step + k) * 30).expect("positive"));
        assert_eq!(s.check(&code_at(0), now), Check::Right { step });
        assert_eq!(s.check(&code_at(-1), now), Check::Right { step: step - 1 });
        assert_eq!(s.check(&code_at(1), now), Check::Right { step: step + 1 });
        assert_eq!(s.check(&code_at(-2), now), Check::Wrong);
        assert_eq!(s.check(&code_at(2), now), Check::Wrong);
    }

    #[test]
    fn typed_forms() {
        let s = rfc_secret();
        let now = 59;
        assert_eq!(s.check("287 082", now), Check::Right { step: 1 });
        assert_eq!(s.check("287-082", now), Check::Right { step: 1 });
        assert_eq!(s.check("28708", now), Check::Malformed);
        assert_eq!(s.check("2870822", now), Check::Malformed);
        assert_eq!(s.check("２８７０８２", now), Check::Malformed);
        assert_eq!(s.check("abcdef", now), Check::Malformed);
        assert_eq!(s.check("287083", now), Check::Wrong);
        assert_eq!(s.check("287082", -5), Check::Wrong);
    }

    #[test]
    fn shapes_for_people() {
        let s = rfc_secret();
        assert_eq!(s.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(s.grouped(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        assert_eq!(TotpSecret::from_base32(&s.grouped().to_lowercase()), Some(s.clone()));
        assert_eq!(
            s.uri("Example Co", "alice@example.org"),
            "otpauth://totp/Example%20Co:alice%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{s:?}"), "TotpSecret(<redacted>)");
    }

    #[test]
    fn secrets_are_random_and_sized() {
        let a = TotpSecret::generate();
        assert_eq!(a.expose_bytes().len(), SECRET_BYTES);
        assert_ne!(a, TotpSecret::generate());
        assert!(TotpSecret::from_bytes(vec![0; 15]).is_none());
        assert!(TotpSecret::from_bytes(vec![0; 65]).is_none());
    }
}
