//! Ports: the narrow async traits the domain needs from the outside world.

use async_trait::async_trait;

/// A dependency did not answer. `kind` is a short word safe for a health endpoint or a page
/// ("unreachable", "timeout", "refused", "query"), never a password, a URL with credentials or
/// a protocol dump: the adapter logs those where it converts its own error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct Unavailable {
    pub kind: &'static str,
}

/// A dependency that can say whether it is answering (the database, the directory).
#[async_trait]
pub trait Probe: Send + Sync {
    async fn probe(&self) -> Result<(), Unavailable>;
}

/// A text the demo SMS provider delivered to the demo phone page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoText {
    pub to: String,
    pub body: String,
    /// Unix seconds.
    pub sent_at: i64,
}

/// The demo phone's inbox. Only exists when the demo SMS provider is in use.
#[async_trait]
pub trait DemoOutbox: Send + Sync {
    /// The newest `limit` texts, newest first.
    async fn recent(&self, limit: u32) -> Result<Vec<DemoText>, Unavailable>;
}

/// What a password-throttle key has counted: attempts in a row that did not succeed (including
/// any still being checked), and when the last one started (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleCount {
    pub attempts: u32,
    pub last_at: i64,
}

/// Password-attempt counters, shared by every instance. Implemented by the SQL store
/// (`server/src/db/sign_in.rs`).
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// What `key` has counted, if anything.
    async fn throttle_count(&self, key: &str) -> Result<Option<ThrottleCount>, Unavailable>;
    /// Sets `key`'s count to `attempts` (last attempt `now`) if it still is `seen`; false when
    /// another request counted first (the caller reads again and decides again).
    async fn count_attempt(
        &self,
        key: &str,
        seen: Option<ThrottleCount>,
        attempts: u32,
        now: i64,
    ) -> Result<bool, Unavailable>;
    /// Gives one attempt back (it succeeded, or the directory could not answer it).
    async fn give_back_attempt(&self, key: &str) -> Result<(), Unavailable>;
    /// Forgets `key`'s count (the right password for that login).
    async fn clear_attempts(&self, key: &str) -> Result<(), Unavailable>;
}

/// Each person's session generation (implemented by the SQL store): a session signed in at an
/// older generation than the person's current one is over. See [`super::sessions`].
#[async_trait]
pub trait SessionGenerations: Send + Sync {
    /// The person's current generation (0 until the first [`Self::bump`]).
    async fn generation(&self, user_id: &super::directory::UserId) -> Result<i64, Unavailable>;
    /// Moves the person to a new generation, atomically, and returns it: every session stamped
    /// with an older one is refused at its next request.
    async fn bump(&self, user_id: &super::directory::UserId, now: i64) -> Result<i64, Unavailable>;
}

/// How Latchkey came to trust a phone number as a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedBy {
    /// Added on the security page with a code texted to it.
    SecurityPage,
    /// Enrolled with a code while signing in (policy `required`, or 2-step sign-in on).
    SignInEnrolment,
    /// Already in the directory; the person proved it with a code ("Verify" on the security
    /// page).
    Verify,
    /// An operator vouched for it with `latchkey phones mark-verified` (numbers another system,
    /// such as Gluu Casa, verified), audited per person.
    Operator,
}

impl VerifiedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifiedBy::SecurityPage => "security_page",
            VerifiedBy::SignInEnrolment => "sign_in_enrolment",
            VerifiedBy::Verify => "verify",
            VerifiedBy::Operator => "operator",
        }
    }
}

/// A number recorded as verified for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPhone {
    /// E.164.
    pub number: String,
    /// Unix seconds.
    pub verified_at: i64,
    /// [`VerifiedBy::as_str`].
    pub method: String,
}

/// The numbers Latchkey verified, per person (stable user id) and E.164 number. Implemented by
/// the SQL store (`server/src/db/verified.rs`). Which of them count is decided in
/// [`super::verified::PhoneTrust`].
#[async_trait]
pub trait VerifiedPhones: Send + Sync {
    async fn verified_phones(
        &self,
        user_id: &super::directory::UserId,
    ) -> Result<Vec<VerifiedPhone>, Unavailable>;
    /// Records `number` as verified (again: the newest proof wins).
    async fn mark_verified(
        &self,
        user_id: &super::directory::UserId,
        number: &super::phone::E164,
        by: VerifiedBy,
        now: i64,
    ) -> Result<(), Unavailable>;
    /// Forgets the record (the number was removed).
    async fn forget_verified(
        &self,
        user_id: &super::directory::UserId,
        number: &str,
    ) -> Result<(), Unavailable>;
}
