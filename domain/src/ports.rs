//! Ports: every narrow async trait the domain needs from the outside world, in one place, each
//! saying who implements it. The data they exchange lives in modules that never import this one
//! (`directory`, `phone`, `sms`, `codes::records`, `audit::events`, `security::records`,
//! `sign_in::records`), so no module imports one that imports it back.

use async_trait::async_trait;
use secrecy::SecretString;

use crate::audit::events::{AuditEvent, AuditFilter, StoredAuditEvent};
use crate::authenticator::{RecoveryStatus, StoredApp};
use crate::codes::counters::{SendPlan, SendTicket};
use crate::codes::records::{
    CodeRules, Failure, LimitKind, NewCode, Purpose, SecondStep, StoredCode,
};
use crate::directory::{DirectoryError, PasswordCheck, Person, UserId, Username};
use crate::oidc::records::{
    Grant, GrantsOf, PendingRequest, StoredKey, Taken, TokenKind, TokenRecord,
};
use crate::phone::E164;
use crate::security::records::{PhoneSettings, TrustedBrowser};
use crate::sign_in::records::{FlowRecord, NewTrustedBrowser};
use crate::sms::{SentText, SmsError};

/// A dependency did not answer. `kind` is a short word safe for a health endpoint or a page
/// ("unreachable", "timeout", "refused", "query"), never a password, a URL with credentials or
/// a protocol dump: the adapter logs those where it converts its own error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct Unavailable {
    pub kind: &'static str,
}

/// A dependency that can say whether it is answering (the database, the directory), for
/// `/readyz`. Implemented by the SQL store (`server/src/db/mod.rs`) and the directory.
#[async_trait]
pub trait Probe: Send + Sync {
    async fn probe(&self) -> Result<(), Unavailable>;
}

/// A text the demo SMS provider delivered to the demo phone page, or a call it "placed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoText {
    pub to: String,
    /// A text, or a call (`body` is then what the call said).
    pub kind: crate::codes::Channel,
    pub body: String,
    /// Unix seconds.
    pub sent_at: i64,
}

/// The demo phone's inbox. Only exists when the demo SMS provider is in use. Implemented by
/// `server/src/db/mod.rs` (`DemoInbox`).
#[async_trait]
pub trait DemoOutbox: Send + Sync {
    /// The newest `limit` texts and calls, newest first.
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
    /// Counts one attempt for `key` at `now` if `rule` lets it go ahead ([`Rule::admit`] on
    /// the stored count), in one atomic step: `Some(count)` with the count it made, or `None`
    /// (nothing counted) when the key must wait. Parallel attempts each see the count the one
    /// before them made, and none is refused for losing a race.
    ///
    /// [`Rule::admit`]: crate::sign_in::throttle::Rule::admit
    async fn count_if_admitted(
        &self,
        key: &str,
        rule: crate::sign_in::throttle::Rule,
        now: i64,
    ) -> Result<Option<u32>, Unavailable>;
    /// Gives one attempt back (it succeeded, or the directory could not answer it).
    async fn give_back_attempt(&self, key: &str) -> Result<(), Unavailable>;
    /// Forgets `key`'s count (the right password for that login).
    async fn clear_attempts(&self, key: &str) -> Result<(), Unavailable>;
    /// The right password at sign-in, in one statement: `login_key`'s count starts again at
    /// zero and `ip_key` gets its attempt back (an office's sign-ins must not add up to a lock).
    async fn password_accepted(&self, login_key: &str, ip_key: &str) -> Result<(), Unavailable>;
}

/// Each person's session generation: a session signed in at an older generation than the
/// person's current one is over (see `sessions`). Implemented by the SQL store
/// (`server/src/db/sessions.rs`).
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

/// The organisation's directory: people, their passwords (checked by a bind), phone numbers and
/// the administrators group. Implemented by `server/src/directory.rs` (ldap3).
#[async_trait]
pub trait Directory: Send + Sync {
    async fn find_by_login(&self, login: &Username) -> Result<Option<Person>, DirectoryError>;
    async fn find_by_id(&self, id: &UserId) -> Result<Option<Person>, DirectoryError>;
    /// When the person's password was last changed (Unix seconds), where the directory keeps
    /// it (`pwdChangedTime` with a password policy, `pwdLastSet` on Active Directory); `None`
    /// when it does not. [`DirectoryError::NoSuchPerson`] when the entry is gone.
    async fn password_changed_at(&self, id: &UserId) -> Result<Option<i64>, DirectoryError>;
    /// Binds as the person on a connection of its own.
    async fn check_password(
        &self,
        person: &Person,
        password: &SecretString,
    ) -> Result<PasswordCheck, DirectoryError>;
    /// Does the work of a failed password check without a real entry (a bind to a DN that
    /// does not exist), so an unknown login takes as long to refuse as a wrong password.
    async fn decoy_password_check(&self, password: &SecretString) -> Result<(), DirectoryError>;
    /// Adds one phone value (done if it is already there, in either stored form).
    async fn add_phone(&self, person: &Person, number: &E164) -> Result<(), DirectoryError>;
    /// Deletes the values that are this number, in whatever form they are stored (done if
    /// none is left).
    async fn remove_phone(&self, person: &Person, number: &E164) -> Result<(), DirectoryError>;
    /// Everyone who has this number registered, in either stored form.
    async fn phone_owners(&self, number: &E164) -> Result<Vec<UserId>, DirectoryError>;
    async fn is_admin(&self, person: &Person) -> Result<bool, DirectoryError>;
    /// The names (`cn`) of the groups the person is a member of (`member` or `uniqueMember`
    /// naming their DN), for the OpenID Connect `groups` claim and clients' allowed groups.
    async fn groups(&self, person: &Person) -> Result<Vec<String>, DirectoryError>;
    /// People whose login, name or mail contains `term`, at most `limit`, read through the
    /// paged-results control.
    async fn search_people(&self, term: &str, limit: usize) -> Result<Vec<Person>, DirectoryError>;
}

/// Sends a text. Implemented by `server/src/sms.rs`: Twilio over reqwest, the console and the
/// demo phone.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `body` to `to`. `validity_secs`: how long the text is worth delivering (the code's
    /// lifetime); a provider that supports it drops the text after that.
    async fn send(&self, to: &E164, body: &str, validity_secs: u64) -> Result<SentText, SmsError>;

    /// Places a voice call to `to` that says `call` (Twilio's Calls API with inline TwiML).
    /// Errors are the same type as texts', with the call-specific Twilio codes.
    async fn call(&self, to: &E164, call: &crate::voice::VoiceCall) -> Result<SentText, SmsError>;

    /// Whether this provider can place calls (Twilio: a voice-capable number to call from is
    /// configured). Without it landlines cannot be enrolled and "Call me instead" is not shown.
    fn places_calls(&self) -> bool;

    /// Whether the provider accepts our credentials (for `latchkey check`), with a line saying
    /// what was checked.
    async fn verify_credentials(&self) -> Result<String, SmsError>;
}

/// Storage the code engine needs; every method is atomic on its own, so several instances can
/// share one database.
///
/// Implemented by the SQL store (`server/src/db/codes.rs`).
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Adds a send to every counter of `plan` if each has room ([`SendPlan::judge`]),
    /// atomically: of 20 parallel calls at a limit of 3, exactly 3 succeed. On refusal, says
    /// which limit and when it frees up.
    async fn reserve_send(
        &self,
        plan: &SendPlan,
    ) -> Result<Result<SendTicket, (LimitKind, i64)>, Unavailable>;

    /// The provider certainly did not send the text: it no longer counts against the person or
    /// the number, nor starts a cooldown (it still counts against the client IP and the global
    /// budget): one send less in each of the ticket's buckets.
    async fn mark_send_failed(&self, ticket: SendTicket) -> Result<(), Unavailable>;

    async fn insert_code(&self, code: &NewCode<'_>) -> Result<(), Unavailable>;

    /// Counts one attempt against the newest code of `flow_id`/`purpose` and returns it;
    /// `None` when there is none. In the same atomic statement the code is marked used by this
    /// attempt ([`StoredCode::used_now`]) when it is unused, not expired at `now`, and its
    /// digest is one of `digests` (the typed code's under every key): of parallel right
    /// guesses exactly one uses it. An exhausted code is neither counted nor used.
    async fn attempt_code(
        &self,
        flow_id: &str,
        purpose: Purpose,
        max_attempts: u32,
        digests: &[String],
        now: i64,
    ) -> Result<Option<StoredCode>, Unavailable>;

    /// The person's second-step failures: until when it is locked, if it is, and whether any
    /// failures are counted (read in one query).
    async fn second_step(&self, user_id: &str, now: i64) -> Result<SecondStep, Unavailable>;

    /// Counts a failure, atomically: locks the second step until an administrator unlocks it
    /// once `rules.max_failures_before_reset` failures were counted since the last right code,
    /// else until `now + rules.lock_secs` at every `rules.failures_before_lock` in a row.
    async fn record_failure(
        &self,
        user_id: &str,
        now: i64,
        rules: &CodeRules,
    ) -> Result<Failure, Unavailable>;

    /// Forgets the person's failures and locks (a right code, or an administrator's unlock).
    async fn reset_failures(&self, user_id: &str) -> Result<(), Unavailable>;
}

/// Where security events are written. Implemented by the SQL store (`server/src/db/sign_in.rs`),
/// measured by `server/src/metrics.rs`.
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn record(&self, event: &AuditEvent) -> Result<(), Unavailable>;
    /// Events of one decision, in order: all of them or none, in one write where the store can
    /// (a sign-in's accepted code and its success). Stored in this order, so read back newest
    /// first they come last to first.
    async fn record_all(&self, events: &[AuditEvent]) -> Result<(), Unavailable> {
        for event in events {
            self.record(event).await?;
        }
        Ok(())
    }
    /// Events that involve `user_id` (as actor or subject), newest first, at most `limit`,
    /// only those older than event `older_than` when given (keyset paging: stable while new
    /// events arrive).
    async fn for_user(
        &self,
        user_id: &str,
        older_than: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, Unavailable>;
    /// The newest event of exactly `kind` that `user_id` caused (as actor): their last sign-in,
    /// however long ago, without paging through everything since.
    async fn newest_by(
        &self,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<StoredAuditEvent>, Unavailable>;
    /// Someone not signed in was refused `what` (an administrator page, operation or export).
    /// Not an event in the trail: anyone can cause any number of them, and a row each would let
    /// them grow the table at will. Counted where the log is measured (`MeteredAudit`).
    fn anonymous_refusal(&self, _what: &str) {}
}

/// Everything Latchkey keeps about one person's second factors and their 2-step setting, read
/// together: the password step, the start page and the security page each need all of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactorRecords {
    pub two_factor_on: bool,
    /// Phone metadata, oldest first (then by number).
    pub phones: Vec<PhoneSettings>,
    /// The numbers Latchkey verified, by number.
    pub verified: Vec<VerifiedPhone>,
    /// Authenticator apps, oldest first (then by id).
    pub apps: Vec<StoredApp>,
    pub recovery: RecoveryStatus,
}

impl FactorRecords {
    /// The number the person prefers, if they chose one.
    pub fn preferred_phone(&self) -> Option<&str> {
        self.phones.iter().find(|p| p.preferred).map(|p| p.number.as_str())
    }
}

/// One read of a person's [`FactorRecords`] instead of one per table. Implemented by the SQL
/// store (`server/src/db/factor_records.rs`) as a single statement: on SQLite every statement is
/// a hand-off to the connection's thread, and on PostgreSQL a round trip.
#[async_trait]
pub trait FactorRecordsStore: Send + Sync {
    async fn factor_records(&self, user_id: &UserId) -> Result<FactorRecords, Unavailable>;
}

/// The SQL side of the security page.
///
/// Phone metadata and remembered browsers. Implemented by the SQL store
/// (`server/src/db/account.rs`).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates or renames a phone's metadata.
    async fn name_phone(
        &self,
        user_id: &UserId,
        number: &str,
        nickname: &str,
        now: i64,
    ) -> Result<(), Unavailable>;
    /// Makes `number` the one preferred phone (one statement: never two, never a lost update).
    async fn prefer_phone(
        &self,
        user_id: &UserId,
        number: &str,
        now: i64,
    ) -> Result<(), Unavailable>;
    async fn forget_phone(&self, user_id: &UserId, number: &str) -> Result<(), Unavailable>;
    /// Deletes metadata whose number is no longer in the directory.
    async fn prune_phones(&self, user_id: &UserId, keep: &[String]) -> Result<(), Unavailable>;
    async fn trusted_browsers(
        &self,
        user_id: &UserId,
        now: i64,
    ) -> Result<Vec<TrustedBrowser>, Unavailable>;
    /// Revokes one remembered browser (or all, with `None`); how many were revoked.
    async fn forget_browsers(
        &self,
        user_id: &UserId,
        id: Option<&str>,
        now: i64,
    ) -> Result<u64, Unavailable>;
}

/// Reading the audit trail back (the administrators' page and export). Implemented by the SQL
/// store (`server/src/db/sign_in.rs`).
#[async_trait]
pub trait AuditTrail: Send + Sync {
    /// Events matching `filter`, newest first, older than `older_than` when given.
    async fn search(
        &self,
        filter: &AuditFilter,
        older_than: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, Unavailable>;
}

/// What signing in keeps in SQL besides codes (the password throttle's counters included).
///
/// Implemented by the SQL store (`server/src/db/sign_in.rs`).
#[async_trait]
pub trait SignInStore: ThrottleStore + Send + Sync {
    async fn two_factor_enabled(&self, user_id: &UserId) -> Result<bool, Unavailable>;
    async fn set_two_factor(&self, user_id: &UserId, on: bool, now: i64)
    -> Result<(), Unavailable>;
    /// Records a phone's metadata (added now, unnamed) if it has none.
    async fn add_phone_metadata(
        &self,
        user_id: &UserId,
        number: &E164,
        now: i64,
    ) -> Result<(), Unavailable>;
    async fn phone_used(&self, user_id: &UserId, number: &str, now: i64)
    -> Result<(), Unavailable>;

    async fn create_flow(&self, flow: &FlowRecord, now: i64) -> Result<(), Unavailable>;
    /// The flow, unless it is gone or expired.
    async fn load_flow(&self, id: &str, now: i64) -> Result<Option<FlowRecord>, Unavailable>;
    /// The flow and its person's second-step failures ([`CodeStore::second_step`]) in one
    /// read: a typed code's check needs both.
    async fn load_flow_and_second_step(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<(FlowRecord, SecondStep)>, Unavailable>;
    /// Stores a new state if the flow is still at `flow.version`; false if another request
    /// moved it first.
    async fn update_flow(&self, flow: &FlowRecord, now: i64) -> Result<bool, Unavailable>;
    async fn delete_flow(&self, id: &str) -> Result<(), Unavailable>;
    /// Deletes a finished flow if it is still at `flow.version` (one write instead of storing
    /// the last state and then deleting); false if another request moved it first.
    async fn finish_flow(&self, flow: &FlowRecord, now: i64) -> Result<bool, Unavailable>;

    async fn add_trusted_browser(&self, browser: &NewTrustedBrowser<'_>)
    -> Result<(), Unavailable>;
    /// The stored digest of trusted browser `id` if it belongs to `user_id`, is not revoked
    /// and has not expired.
    async fn trusted_browser_digest(
        &self,
        id: &str,
        user_id: &UserId,
        now: i64,
    ) -> Result<Option<String>, Unavailable>;
    async fn trusted_browser_used(&self, id: &str, now: i64) -> Result<(), Unavailable>;
}

/// The OpenID Connect provider's state, shared by every instance: signing keys, authorization
/// requests waiting for a sign-in, grants (a person's sign-in to one app) and their codes and
/// tokens (by HMAC). Implemented by the SQL store (`server/src/db/oidc.rs`).
#[async_trait]
pub trait OidcStore: Send + Sync {
    /// Every stored signing key, oldest generation first.
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, Unavailable>;
    /// Adds a key unless (alg, generation) exists; false when another instance added it first.
    async fn add_signing_key(&self, key: &StoredKey) -> Result<bool, Unavailable>;
    async fn delete_signing_key(&self, kid: &str) -> Result<(), Unavailable>;

    async fn save_request(&self, request: &PendingRequest) -> Result<(), Unavailable>;
    /// The request, unless it is gone or expired.
    async fn load_request(&self, id: &str, now: i64)
    -> Result<Option<PendingRequest>, Unavailable>;
    async fn delete_request(&self, id: &str) -> Result<(), Unavailable>;

    /// A grant and its first token (the code), in one transaction.
    async fn create_grant(&self, grant: &Grant, code: &TokenRecord) -> Result<(), Unavailable>;
    async fn add_token(&self, token: &TokenRecord) -> Result<(), Unavailable>;
    /// Uses a single-use value (code or refresh token) of `kind`: marks it used in the same
    /// statement that checks it was not, so of two uses at once exactly one is `Fresh`.
    async fn take_once(
        &self,
        digest: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Taken, Unavailable>;
    /// An access or refresh token that is live (not expired, not used, its grant not revoked
    /// nor expired), with its grant.
    async fn live_token(
        &self,
        digest: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Option<(TokenRecord, Grant)>, Unavailable>;
    async fn delete_token(&self, digest: &str) -> Result<(), Unavailable>;
    /// Revokes one grant and deletes its tokens.
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<(), Unavailable>;
    /// Revokes the live grants `which` names, deletes their tokens, and returns them.
    async fn revoke_grants(&self, which: GrantsOf<'_>, now: i64)
    -> Result<Vec<Grant>, Unavailable>;
    /// A person's live grants that issued tokens, newest first.
    async fn live_grants(&self, user_id: &UserId, now: i64) -> Result<Vec<Grant>, Unavailable>;
    async fn touch_grant(&self, grant_id: &str, now: i64) -> Result<(), Unavailable>;
    /// Moves the live grants of one Latchkey sign-in to `generation`: that sign-in moved its
    /// person's generation on and stays signed in, and so do the apps it reached.
    async fn restamp_grants(&self, sid: &str, generation: i64) -> Result<(), Unavailable>;
    /// The live grant of a live token of `kind` (as [`Self::live_token`]), with its person's
    /// current session generation: what a forward-auth check needs, in one read.
    async fn live_grant_by_token(
        &self,
        digest: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Option<(Grant, i64)>, Unavailable>;
}

/// The provider's signing keys: signs ID tokens, publishes the JWKS, and checks tokens it
/// signed (an `id_token_hint`). Implemented by `server/src/oidc_keys.rs` (`KeyRing`, on the
/// `jose` crate, keys in [`OidcStore`]).
#[async_trait]
pub trait TokenSigner: Send + Sync {
    /// A compact JWS of `claims` under the current key of `alg` ("RS256", "ES256", "EdDSA").
    async fn sign(&self, alg: &str, claims: &serde_json::Value) -> Result<String, Unavailable>;
    /// The JWKS document: every published key.
    async fn jwks(&self) -> Result<serde_json::Value, Unavailable>;
    /// The claims of `token` if a published key of this provider signed it (the signature
    /// only: expiry and audience are the caller's to check).
    async fn verify_own(&self, token: &str) -> Result<Option<serde_json::Value>, Unavailable>;
    /// The `at_hash` of `access_token` for an ID token signed with `alg`.
    fn half_hash(&self, alg: &str, access_token: &str) -> String;
}

/// Seals secrets that must be read back (authenticator apps' TOTP secrets) with an AEAD under
/// keys from configuration. `context` is bound to the ciphertext (associated data): a sealed
/// value copied to another person's row does not open. Implemented by `server/src/sealing.rs`
/// (AES-256-GCM on the `jose` crate, keys derived from `security.hmac_keys`).
pub trait SecretSealer: Send + Sync {
    /// Sealed under the newest key, as text for a column.
    fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, Unavailable>;
    /// The plaintext, and whether an older key opened it (the caller may seal it again).
    fn open(&self, context: &str, sealed: &str) -> Result<(Vec<u8>, bool), Unavailable>;
}

/// Authenticator apps and recovery codes. Implemented by the SQL store
/// (`server/src/db/authenticators.rs`).
#[async_trait]
pub trait AuthenticatorStore: Send + Sync {
    /// The person's apps (oldest first) and their recovery codes' status, in one call.
    async fn factors(
        &self,
        user_id: &UserId,
    ) -> Result<(Vec<StoredApp>, RecoveryStatus), Unavailable>;
    /// One of the person's apps, if it is still there.
    async fn app(&self, user_id: &UserId, app_id: &str) -> Result<Option<StoredApp>, Unavailable>;
    async fn add_app(&self, app: &StoredApp) -> Result<(), Unavailable>;
    /// Records time step `step` as used by the app if it is newer than every step used before
    /// (one statement: of two uses of one code exactly one wins); false for a replay or an app
    /// that is gone.
    async fn use_app_step(
        &self,
        user_id: &UserId,
        app_id: &str,
        step: i64,
        now: i64,
    ) -> Result<bool, Unavailable>;
    async fn reseal_app(
        &self,
        user_id: &UserId,
        app_id: &str,
        sealed: &str,
    ) -> Result<(), Unavailable>;
    async fn rename_app(
        &self,
        user_id: &UserId,
        app_id: &str,
        name: &str,
    ) -> Result<bool, Unavailable>;
    async fn remove_app(&self, user_id: &UserId, app_id: &str) -> Result<bool, Unavailable>;
    /// Makes the app the one preferred second factor: no phone and no other app stays
    /// preferred (one transaction).
    async fn prefer_app(
        &self,
        user_id: &UserId,
        app_id: &str,
        now: i64,
    ) -> Result<bool, Unavailable>;
    /// Replaces the person's recovery codes with `digests` (one transaction: the old set is
    /// void the moment the new one exists).
    async fn replace_recovery_codes(
        &self,
        user_id: &UserId,
        digests: &[String],
        now: i64,
    ) -> Result<(), Unavailable>;
    /// Marks used the unused code whose digest is one of `digests` (one per key), in the
    /// statement that checks it was unused; the number left when one was, `None` otherwise.
    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        digests: &[String],
        now: i64,
    ) -> Result<Option<u32>, Unavailable>;
    async fn remove_recovery_codes(&self, user_id: &UserId) -> Result<u64, Unavailable>;
    /// Every app and recovery code of the person; how many apps and codes were removed.
    async fn remove_all(&self, user_id: &UserId) -> Result<(u64, u64), Unavailable>;
    /// For the administrators' people list: per person, apps and unused recovery codes.
    async fn counts(
        &self,
        user_ids: &[UserId],
    ) -> Result<std::collections::HashMap<String, (u32, u32)>, Unavailable>;
}
