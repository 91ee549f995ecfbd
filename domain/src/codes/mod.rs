//! One-time codes (NIST SP 800-63B §3.1.3, OWASP ASVS V6): CSPRNG digits, stored only as an
//! HMAC under rotatable keys, bound to a flow and a purpose, short-lived, single use, attempts
//! counted before comparison, a lock after repeated failures, and send limits that several
//! instances share through the store.

pub mod counters;
pub mod records;

pub use counters::{SendPlan, SendTicket};
pub use records::*;

use crate::ports::CodeStore;
use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::ports::Unavailable;
use messages::MessageId;

/// A code as typed: exactly `length` ASCII digits. Spaces and dashes people add are dropped;
/// digits from other scripts (`٣`, `３`) are refused rather than guessed at.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    pub fn parse(input: &str, length: u8) -> Result<Self, CodeError> {
        let cleaned: String = input.chars().filter(|c| !matches!(c, ' ' | '-' | '\t')).collect();
        if cleaned.len() == usize::from(length) && cleaned.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(cleaned))
        } else {
            Err(CodeError::Malformed)
        }
    }

    /// A fresh code from the operating system's CSPRNG, each digit uniform.
    pub fn generate(length: u8) -> Self {
        use rand::{Rng, TryRngCore};
        // Straight from the OS, no user-space state: a panic here means the OS has no entropy.
        let mut rng = rand::rngs::OsRng.unwrap_err();
        Self((0..length).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

/// HMAC-SHA256 of (flow, purpose, code) under the newest key; verification accepts any key, so
/// keys rotate without invalidating codes in flight.
#[derive(Clone)]
pub struct CodeHasher {
    keys: Arc<[SecretString]>,
}

impl CodeHasher {
    /// `keys` newest first; at least one (configuration validation guarantees it).
    pub fn new(keys: Vec<SecretString>) -> Self {
        Self { keys: keys.into() }
    }

    fn mac(key: &SecretString, flow_id: &str, purpose: Purpose, code: &OtpCode) -> Hmac<Sha256> {
        Self::mac_secret(key, flow_id, purpose, &code.0)
    }

    fn mac_secret(key: &SecretString, id: &str, purpose: Purpose, secret: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        for part in [id.as_bytes(), purpose.as_str().as_bytes(), secret.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// Hex digest under the newest key.
    pub fn digest(&self, flow_id: &str, purpose: Purpose, code: &OtpCode) -> String {
        match self.keys.first() {
            Some(key) => {
                hex::encode(Self::mac(key, flow_id, purpose, code).finalize().into_bytes())
            }
            None => String::new(),
        }
    }

    /// Hex digests of `code` under every key, newest first: what a stored digest is compared
    /// with when the store does the comparison ([`CodeStore::attempt_code`]).
    pub fn digests(&self, flow_id: &str, purpose: Purpose, code: &OtpCode) -> Vec<String> {
        self.keys
            .iter()
            .map(|key| hex::encode(Self::mac(key, flow_id, purpose, code).finalize().into_bytes()))
            .collect()
    }

    /// Hex digest of a token's secret under the newest key (tokens are looked up by id, then
    /// compared with [`CodeHasher::token_matches`]).
    pub fn token_digest(&self, id: &str, secret: &str) -> String {
        match self.keys.first() {
            Some(key) => hex::encode(
                Self::mac_secret(key, id, Purpose::RememberBrowser, secret).finalize().into_bytes(),
            ),
            None => String::new(),
        }
    }

    /// Hex HMACs of a bearer value (an OpenID Connect code or token) under every key, newest
    /// first: stored under the newest, looked up under each, so that rotating
    /// `security.hmac_keys` does not end the tokens in flight. Bearer values are 256-bit random,
    /// so a look-up by digest tells an attacker nothing a comparison would hide.
    pub fn bearer_digests(&self, kind: &str, value: &str) -> Vec<String> {
        self.keys
            .iter()
            .map(|key| {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose_secret().as_bytes())
                    .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
                for part in [b"bearer".as_slice(), kind.as_bytes(), value.as_bytes()] {
                    mac.update(&(part.len() as u64).to_be_bytes());
                    mac.update(part);
                }
                hex::encode(mac.finalize().into_bytes())
            })
            .collect()
    }

    /// Whether a token's secret matches `stored_hex` under any key, in constant time per key.
    pub fn token_matches(&self, id: &str, secret: &str, stored_hex: &str) -> bool {
        let Ok(stored) = hex::decode(stored_hex) else {
            return false;
        };
        self.keys.iter().any(|key| {
            Self::mac_secret(key, id, Purpose::RememberBrowser, secret)
                .verify_slice(&stored)
                .is_ok()
        })
    }

    /// Whether `code` matches `stored_hex` under any key, in constant time per key.
    pub fn matches(
        &self,
        flow_id: &str,
        purpose: Purpose,
        code: &OtpCode,
        stored_hex: &str,
    ) -> bool {
        let Ok(stored) = hex::decode(stored_hex) else {
            return false;
        };
        self.keys
            .iter()
            .any(|key| Self::mac(key, flow_id, purpose, code).verify_slice(&stored).is_ok())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code is not the expected number of digits")]
    Malformed,
    #[error("no code was sent for this step")]
    NoCode,
    #[error("wrong code, {remaining} attempts left")]
    Wrong { remaining: u32 },
    #[error("the code has expired")]
    Expired,
    #[error("the code was already used")]
    Used,
    #[error("too many wrong attempts for this code")]
    TooManyAttempts,
    /// `retry_after: None`: locked until an administrator unlocks it.
    #[error("second step locked (retry after {retry_after:?} s)")]
    Locked { retry_after: Option<i64> },
    #[error("send limit {limit:?} reached, retry in {retry_after} s")]
    RateLimited { limit: LimitKind, retry_after: i64 },
    #[error("the code store is unavailable")]
    Unavailable,
    /// Six digits, but not the authenticator app's code now.
    #[error("wrong authenticator app code")]
    AppCodeWrong,
    /// The app's code of a time step already used (replay, or the same code typed twice).
    #[error("authenticator app code already used")]
    AppCodeReused,
    #[error("not a recovery code")]
    RecoveryCodeMalformed,
    #[error("wrong or used recovery code")]
    RecoveryCodeWrong,
}

impl CodeError {
    pub fn message_id(&self) -> MessageId {
        match self {
            CodeError::Malformed => "otp.malformed",
            CodeError::NoCode => "otp.none_sent",
            CodeError::Wrong { .. } => "otp.wrong",
            CodeError::Expired => "otp.expired",
            CodeError::Used => "otp.used",
            CodeError::TooManyAttempts => "otp.too_many_attempts",
            CodeError::Locked { retry_after: Some(_) } => "otp.locked",
            CodeError::Locked { retry_after: None } => "otp.locked_until_unlocked",
            CodeError::RateLimited { limit: LimitKind::Cooldown, .. } => "otp.cooldown",
            CodeError::RateLimited { .. } => "otp.send_limit",
            CodeError::Unavailable => "error.unavailable",
            CodeError::AppCodeWrong => "otp.app_wrong",
            CodeError::AppCodeReused => "otp.app_reused",
            CodeError::RecoveryCodeMalformed => "recovery.malformed",
            CodeError::RecoveryCodeWrong => "recovery.wrong",
        }
    }

    /// What the person reads.
    pub fn notice(&self) -> crate::notice::Notice {
        crate::notice::Notice {
            id: self.message_id().to_owned(),
            retry_after: self.retry_after().map(|s| s.max(1)),
            error: true,
            count: None,
        }
    }

    /// Seconds to wait, for the errors that have one.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            CodeError::Locked { retry_after } => *retry_after,
            CodeError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl From<Unavailable> for CodeError {
    fn from(_: Unavailable) -> Self {
        CodeError::Unavailable
    }
}

/// A code ready to text: the plaintext exists only here, on its way into the SMS body.
#[derive(Debug)]
pub struct IssuedCode {
    pub code: OtpCode,
    pub ticket: SendTicket,
    pub expires_at: i64,
}

/// The engine: issues and verifies codes under [`CodeRules`].
#[derive(Clone)]
pub struct CodeEngine {
    store: Arc<dyn CodeStore>,
    hasher: CodeHasher,
    rules: CodeRules,
}

impl CodeEngine {
    pub fn new(store: Arc<dyn CodeStore>, hasher: CodeHasher, rules: CodeRules) -> Self {
        Self { store, hasher, rules }
    }

    pub fn rules(&self) -> &CodeRules {
        &self.rules
    }

    /// Reserves a send under the limits and stores a new code for `flow_id`, replacing any
    /// earlier one (only the newest code of a flow verifies). The cooldown is the flow's: a
    /// resend within it waits, a new flow's first text meets the other limits only
    /// ([`SendKind::Code`]). The caller texts `code` and calls [`CodeEngine::send_failed`] if
    /// the provider refuses it.
    pub async fn issue(
        &self,
        flow_id: &str,
        purpose: Purpose,
        req: &SendRequest<'_>,
    ) -> Result<IssuedCode, CodeError> {
        if let Some(retry_after) = self.store.second_step(req.user_id, req.now).await?.lock(req.now)
        {
            return Err(CodeError::Locked { retry_after });
        }
        let ticket = match self
            .store
            .reserve_send(&SendPlan::new(req, SendKind::Code { flow_id }, &self.rules.limits))
            .await?
        {
            Ok(ticket) => ticket,
            Err((limit, retry_after)) => {
                return Err(CodeError::RateLimited { limit, retry_after: retry_after.max(1) });
            }
        };
        let code = OtpCode::generate(self.rules.length);
        let digest = self.hasher.digest(flow_id, purpose, &code);
        let expires_at = req.now + self.rules.lifetime_secs;
        self.store
            .insert_code(&NewCode {
                flow_id,
                purpose,
                user_id: req.user_id,
                number: req.number,
                digest: &digest,
                created_at: req.now,
                expires_at,
            })
            .await?;
        Ok(IssuedCode { code, ticket, expires_at })
    }

    /// Reserves a security notice to `req.number` under the limits that apply to notices
    /// ([`SendKind`]); the caller sends it only with a ticket.
    pub async fn reserve_notice(&self, req: &SendRequest<'_>) -> Result<SendTicket, CodeError> {
        match self
            .store
            .reserve_send(&SendPlan::new(req, SendKind::Notice, &self.rules.limits))
            .await?
        {
            Ok(ticket) => Ok(ticket),
            Err((limit, retry_after)) => {
                Err(CodeError::RateLimited { limit, retry_after: retry_after.max(1) })
            }
        }
    }

    /// The provider certainly did not send the text (never after a timeout or a 5xx, when it
    /// may have): it is given back to the person's and the number's allowance.
    pub async fn send_failed(&self, ticket: SendTicket) -> Result<(), CodeError> {
        Ok(self.store.mark_send_failed(ticket).await?)
    }

    /// The person's second-step failures and locks, for an administrator.
    pub async fn second_step(&self, user_id: &str, now: i64) -> Result<SecondStep, CodeError> {
        Ok(self.store.second_step(user_id, now).await?)
    }

    /// An administrator's unlock: the failures and any lock are forgotten.
    pub async fn unlock(&self, user_id: &str) -> Result<(), CodeError> {
        Ok(self.store.reset_failures(user_id).await?)
    }

    /// Checks `input` against the flow's newest code. On success returns the number the code
    /// was sent to. Every failure counts toward the person's locks; a new code never resets
    /// them, a right one does.
    pub async fn verify(
        &self,
        flow_id: &str,
        purpose: Purpose,
        user_id: &str,
        input: &str,
        now: i64,
    ) -> Result<String, CodeError> {
        self.guarded(user_id, now, self.check(flow_id, purpose, input, now)).await
    }

    /// [`Self::verify`] with the person's second-step failures already read (a sign-in reads
    /// them with its flow, [`crate::ports::SignInStore::load_flow_and_second_step`]).
    pub async fn verify_knowing(
        &self,
        second_step: SecondStep,
        flow_id: &str,
        purpose: Purpose,
        user_id: &str,
        input: &str,
        now: i64,
    ) -> Result<String, CodeError> {
        let check = self.check(flow_id, purpose, input, now);
        self.guarded_knowing(second_step, user_id, now, check).await
    }

    /// Runs `check` (a texted code's, an app's or a recovery code's comparison) under the
    /// person's second-step failure lock: refused while locked; a failure counts toward the
    /// lock, a success clears the count. Every way of typing a code shares one lock, so trying
    /// another kind of code does not buy more guesses.
    pub async fn guarded<T>(
        &self,
        user_id: &str,
        now: i64,
        check: impl std::future::Future<Output = Result<T, CodeError>>,
    ) -> Result<T, CodeError> {
        let second_step = self.store.second_step(user_id, now).await?;
        self.guarded_knowing(second_step, user_id, now, check).await
    }

    /// [`Self::guarded`] with the person's failures as read just before.
    async fn guarded_knowing<T>(
        &self,
        second_step: SecondStep,
        user_id: &str,
        now: i64,
        check: impl std::future::Future<Output = Result<T, CodeError>>,
    ) -> Result<T, CodeError> {
        if let Some(retry_after) = second_step.lock(now) {
            return Err(CodeError::Locked { retry_after });
        }
        match check.await {
            Ok(value) => {
                if second_step.failures > 0 {
                    self.store.reset_failures(user_id).await?;
                }
                Ok(value)
            }
            Err(CodeError::Unavailable) => Err(CodeError::Unavailable),
            Err(e) => match self.store.record_failure(user_id, now, &self.rules).await? {
                Failure::Counted => Err(e),
                Failure::LockedUntil(until) => {
                    Err(CodeError::Locked { retry_after: Some(until - now) })
                }
                Failure::ResetRequired => {
                    tracing::warn!(user_id, "second step locked until an administrator unlocks it");
                    Err(CodeError::Locked { retry_after: None })
                }
            },
        }
    }

    async fn check(
        &self,
        flow_id: &str,
        purpose: Purpose,
        input: &str,
        now: i64,
    ) -> Result<String, CodeError> {
        let code = OtpCode::parse(input, self.rules.length)?;
        // The store counts the attempt, compares and marks the code used in one statement;
        // what it returns says which refusal applies when it did not.
        let digests = self.hasher.digests(flow_id, purpose, &code);
        let stored = self
            .store
            .attempt_code(flow_id, purpose, self.rules.max_attempts_per_code, &digests, now)
            .await?
            .ok_or(CodeError::NoCode)?;
        if stored.exhausted {
            return Err(CodeError::TooManyAttempts);
        }
        if stored.used_now {
            return Ok(stored.number);
        }
        if !self.hasher.matches(flow_id, purpose, &code, &stored.digest) {
            let remaining = self.rules.max_attempts_per_code.saturating_sub(stored.attempts);
            return Err(if remaining == 0 {
                CodeError::TooManyAttempts
            } else {
                CodeError::Wrong { remaining }
            });
        }
        if stored.used_at.is_none() && now >= stored.expires_at {
            return Err(CodeError::Expired);
        }
        // Right and in time but not used by this attempt: another one used it first.
        Err(CodeError::Used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hasher(keys: &[&str]) -> CodeHasher {
        CodeHasher::new(keys.iter().map(|k| SecretString::from(k.to_string())).collect())
    }

    #[test]
    fn parsing_accepts_exactly_the_configured_ascii_digits() {
        assert_eq!(OtpCode::parse("123456", 6).unwrap().expose(), "123456");
        assert_eq!(OtpCode::parse(" 123 456 ", 6).unwrap().expose(), "123456");
        assert_eq!(OtpCode::parse("123-456", 6).unwrap().expose(), "123456");
        for bad in ["12345", "1234567", "12345a", "", "١٢٣٤٥٦", "１２３４５６", "12345６", "+12345"]
        {
            assert_eq!(OtpCode::parse(bad, 6), Err(CodeError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn codes_never_show_in_debug_output() {
        assert_eq!(format!("{:?}", OtpCode::parse("123456", 6).unwrap()), "OtpCode(<redacted>)");
    }

    #[test]
    fn digests_bind_flow_purpose_and_code() {
        let h = hasher(&["key-one-0123456789abcdef0123456789"]);
        let code = OtpCode::parse("123456", 6).unwrap();
        let d = h.digest("flow-a", Purpose::SignIn, &code);
        assert!(h.matches("flow-a", Purpose::SignIn, &code, &d));
        assert!(!h.matches("flow-b", Purpose::SignIn, &code, &d), "another flow");
        assert!(!h.matches("flow-a", Purpose::Enrol, &code, &d), "another purpose");
        assert!(!h.matches("flow-a", Purpose::SignIn, &OtpCode::parse("123457", 6).unwrap(), &d));
        assert!(!h.matches("flow-a", Purpose::SignIn, &code, "not hex"));
        assert!(!d.contains("123456"), "the code is not recoverable from the digest");
    }

    #[test]
    fn rotated_keys_still_verify_codes_in_flight() {
        let old = hasher(&["old-key-0123456789abcdef0123456789"]);
        let code = OtpCode::parse("654321", 6).unwrap();
        let d = old.digest("f", Purpose::Enrol, &code);
        let rotated =
            hasher(&["new-key-0123456789abcdef0123456789", "old-key-0123456789abcdef0123456789"]);
        assert!(rotated.matches("f", Purpose::Enrol, &code, &d));
        assert_ne!(rotated.digest("f", Purpose::Enrol, &code), d, "new codes use the new key");
        let retired = hasher(&["new-key-0123456789abcdef0123456789"]);
        assert!(!retired.matches("f", Purpose::Enrol, &code, &d));
    }

    #[test]
    fn generated_digits_are_uniform() {
        // 60 000 digits: each of the 10 expected 6 000 times. A chi-square above 35 (9 degrees
        // of freedom) happens by chance about once in 10 000 runs.
        let mut counts = [0u32; 10];
        for _ in 0..10_000 {
            for b in OtpCode::generate(6).expose().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        let expected = 6_000.0;
        let chi2: f64 = counts.iter().map(|&c| (f64::from(c) - expected).powi(2) / expected).sum();
        assert!(chi2 < 35.0, "digit counts {counts:?}, chi-square {chi2}");
    }

    proptest! {
        #[test]
        fn generated_codes_have_the_configured_length_and_parse_back(length in 6u8..=10) {
            let code = OtpCode::generate(length);
            prop_assert_eq!(code.expose().len(), usize::from(length));
            prop_assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(OtpCode::parse(code.expose(), length).unwrap(), code);
        }

        #[test]
        fn parsing_never_panics(input in "\\PC{0,20}") {
            let _ = OtpCode::parse(&input, 6);
        }
    }

    #[test]
    fn every_error_has_a_catalog_message() {
        let all = [
            CodeError::Malformed,
            CodeError::NoCode,
            CodeError::Wrong { remaining: 2 },
            CodeError::Expired,
            CodeError::Used,
            CodeError::TooManyAttempts,
            CodeError::Locked { retry_after: Some(60) },
            CodeError::Locked { retry_after: None },
            CodeError::RateLimited { limit: LimitKind::Cooldown, retry_after: 30 },
            CodeError::RateLimited { limit: LimitKind::PerIp, retry_after: 30 },
            CodeError::Unavailable,
        ];
        for e in all {
            assert!(messages::has(e.message_id()), "{e:?}");
        }
    }
}
