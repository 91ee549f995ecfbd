//! What a signed-in person manages for themselves: their phones (add by proving, rename, prefer,
//! remove), 2-step sign-in, remembered browsers, and their recent security activity.
//!
//! Adding a phone and confirming it is you (re-authentication) are small state machines
//! ([`next`]); their state lives in the person's session, which is stored in SQL.

mod apps;
mod checkup;
pub mod records;

pub use apps::AppView;
pub use checkup::{Checkup, LastSignIn, Strength, Suggestion, suggest};
pub use records::{PhoneSettings, TrustedBrowser};

use crate::ports::{AccountStore, FactorRecords, FactorRecordsStore};
use std::sync::Arc;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::authenticator::Authenticators;
use super::codes::{Channel, CodeError, CodeHasher, Purpose, SendRequest};
use super::phone::{E164, PhonePolicy, PhoneRejection};
use super::ports::{ThrottleStore, VerifiedBy};
use super::texting::{NoticeFor, TextOutcome, Texter};
use super::verified::PhoneTrust;
use super::{
    audit::{self as audit, StoredAuditEvent},
    ports::AuditLog,
};
use super::{
    authenticated::Authenticated, client::Client, notice::Notice, ports::SignInStore,
    sign_in::throttle, sms::failure_detail, tokens::random_token,
};
use super::{
    directory::{PasswordCheck, Person},
    ports::Directory,
};

/// Which small flow is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    AddPhone,
    Reauth,
    /// Proving a number that is already in the directory but was never verified.
    VerifyPhone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Adding: the number and its country.
    EnterNumber,
    /// Confirming it is you: the password.
    Password,
    /// A code was texted (or, `channel` a call, spoken) to `number`.
    CodeSent {
        number: E164,
        #[serde(default)]
        channel: Channel,
    },
    SendFailed {
        number: E164,
        #[serde(default)]
        channel: Channel,
    },
    /// Confirming it is you with an authenticator app's code (the preferred way, or the only
    /// one).
    AppCode { app: crate::authenticator::AppRef },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The password was right; the person's app is asked for a code.
    AppAsked {
        app: crate::authenticator::AppRef,
    },
    /// A code went out, by text or call.
    TextSent {
        number: E164,
        channel: Channel,
    },
    TextFailed {
        number: E164,
        channel: Channel,
    },
    ChangeNumber,
    /// The password was right and no code is needed (2-step sign-in off, or no phone).
    PasswordAccepted,
    CodeAccepted,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event:?} is not possible in {kind:?}/{step:?}")]
pub struct InvalidTransition {
    pub kind: FlowKind,
    pub step: Step,
    pub event: Event,
}

/// The transition function of both flows. `Ok(None)`: the flow is complete.
pub fn next(kind: FlowKind, step: &Step, event: &Event) -> Result<Option<Step>, InvalidTransition> {
    use Event as E;
    use FlowKind as K;
    use Step as S;
    let sent = |number: &E164, channel: &Channel| {
        Some(Some(S::CodeSent { number: number.clone(), channel: *channel }))
    };
    let failed = |number: &E164, channel: &Channel| {
        Some(Some(S::SendFailed { number: number.clone(), channel: *channel }))
    };
    let next = match (kind, step, event) {
        (K::AddPhone | K::VerifyPhone, S::EnterNumber, E::TextSent { number, channel }) => {
            sent(number, channel)
        }
        (K::AddPhone | K::VerifyPhone, S::EnterNumber, E::TextFailed { number, channel }) => {
            failed(number, channel)
        }
        (K::Reauth, S::Password, E::TextSent { number, channel }) => sent(number, channel),
        (K::Reauth, S::Password, E::TextFailed { number, channel }) => failed(number, channel),
        (K::Reauth, S::Password, E::PasswordAccepted) => Some(None),
        (K::Reauth, S::Password, E::AppAsked { app }) => {
            Some(Some(S::AppCode { app: app.clone() }))
        }
        (K::Reauth, S::AppCode { .. }, E::CodeAccepted) => Some(None),
        // Resending (by text or call) goes to the same number only.
        (
            _,
            S::CodeSent { number: n, .. } | S::SendFailed { number: n, .. },
            E::TextSent { number, channel },
        ) if n == number => sent(number, channel),
        (
            _,
            S::CodeSent { number: n, .. } | S::SendFailed { number: n, .. },
            E::TextFailed { number, channel },
        ) if n == number => failed(number, channel),
        (K::AddPhone, S::CodeSent { .. } | S::SendFailed { .. }, E::ChangeNumber) => {
            Some(Some(S::EnterNumber))
        }
        (_, S::CodeSent { .. }, E::CodeAccepted) => Some(None),
        _ => None,
    };
    next.ok_or_else(|| InvalidTransition { kind, step: step.clone(), event: event.clone() })
}

/// A running flow, as the session keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// Binds its codes: a code for one flow never verifies another.
    pub id: String,
    pub kind: FlowKind,
    pub step: Step,
    pub last_sent_at: Option<i64>,
}

impl Flow {
    pub fn new(kind: FlowKind) -> Self {
        let step = match kind {
            // Verifying texts the number at once; the flow is kept only once it has.
            FlowKind::AddPhone | FlowKind::VerifyPhone => Step::EnterNumber,
            FlowKind::Reauth => Step::Password,
        };
        Self { id: random_token(16), kind, step, last_sent_at: None }
    }

    fn advance(&mut self, event: &Event) -> Result<bool, SecurityError> {
        match next(self.kind, &self.step, event) {
            Ok(Some(step)) => {
                self.step = step;
                Ok(false)
            }
            Ok(None) => Ok(true),
            Err(e) => {
                tracing::info!(error = %e, "security step out of order");
                Err(SecurityError::OutOfOrder)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    /// The last sign-in is too old for this change: confirm it is you first.
    #[error("recent sign-in required")]
    ReauthRequired,
    #[error("step out of order")]
    OutOfOrder,
    #[error("no such phone")]
    NoSuchPhone,
    #[error("number in use")]
    NumberInUse,
    #[error("number already yours")]
    AlreadyYours,
    #[error("phone: {0}")]
    Phone(&'static str),
    #[error("code: {0}")]
    Code(CodeError),
    #[error("wrong password")]
    WrongPassword,
    #[error("throttled for {retry_after} s")]
    Throttled { retry_after: i64 },
    #[error("not enough phones")]
    NotEnoughPhones,
    #[error("refused by policy")]
    RequiredByPolicy,
    #[error("nickname too long")]
    NicknameTooLong,
    #[error("unavailable")]
    Unavailable,
    /// The right password, which must be changed first (after a reset), elsewhere.
    #[error("password must be changed")]
    MustChangePassword,
    #[error("no such app")]
    NoSuchApp,
    #[error("too many apps")]
    TooManyApps,
    /// The method is not offered here (`policy.methods`).
    #[error("method not offered")]
    MethodOff,
}

impl SecurityError {
    pub fn notice(&self) -> Notice {
        match self {
            SecurityError::ReauthRequired => Notice::info("security.reauth_needed"),
            SecurityError::OutOfOrder => Notice::error("security.out_of_order"),
            SecurityError::NoSuchPhone => Notice::error("security.no_such_phone"),
            SecurityError::NumberInUse => Notice::error("security.number_in_use"),
            SecurityError::AlreadyYours => Notice::error("security.already_yours"),
            SecurityError::Phone(id) => Notice::error(id),
            SecurityError::Code(e) => e.notice(),
            SecurityError::WrongPassword => Notice::error("security.wrong_password"),
            SecurityError::Throttled { retry_after } => {
                Notice::wait("sign_in.throttled", *retry_after)
            }
            SecurityError::NotEnoughPhones => Notice::error("security.two_factor.needs_phone"),
            SecurityError::RequiredByPolicy => Notice::error("security.required_by_policy"),
            SecurityError::NicknameTooLong => Notice::error("security.nickname_too_long"),
            SecurityError::Unavailable => Notice::error("error.unavailable"),
            SecurityError::MustChangePassword => Notice::error("sign_in.must_change_password"),
            SecurityError::NoSuchApp => Notice::error("security.no_such_app"),
            SecurityError::TooManyApps => Notice::error("security.too_many_apps"),
            SecurityError::MethodOff => Notice::error("security.method_off"),
        }
    }
}

unavailable_from!(SecurityError);

/// One phone as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneView {
    /// Opaque, stable id for forms (the number itself is not put in the page).
    pub key: String,
    pub masked: String,
    pub nickname: Option<String>,
    pub preferred: bool,
    pub added_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// Latchkey proved it (or an operator vouched for it).
    pub verified: bool,
    /// It may receive sign-in codes: verified, or any number when the directory is trusted.
    pub usable: bool,
    /// A landline: codes reach it by call only, and it gets no notices.
    pub voice_only: bool,
}

/// Everything the security page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub two_factor_on: bool,
    pub policy_required: bool,
    /// Second factors (phones that receive codes, apps) 2-step sign-in needs.
    pub min_credentials: u32,
    pub phones: Vec<PhoneView>,
    pub apps: Vec<AppView>,
    pub recovery: crate::authenticator::RecoveryStatus,
    pub methods: crate::authenticator::Methods,
    pub browsers: Vec<TrustedBrowser>,
    pub activity: Vec<StoredAuditEvent>,
    /// The id to page from for older activity, when there is more.
    pub older_than: Option<i64>,
}

/// What removing a phone would do, for the confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalPlan {
    pub key: String,
    pub label: String,
    /// Removing it leaves fewer phones than 2-step sign-in needs: it will be turned off.
    pub turns_off_two_factor: bool,
}

#[derive(Debug, Clone)]
pub struct SecuritySettings {
    pub policy_required: bool,
    /// Second factors (phones that receive codes, apps; recovery codes do not count) needed
    /// for 2-step sign-in (`policy.min_credentials`).
    pub min_credentials: u32,
    pub reauth_window_secs: i64,
    pub resend_after_secs: i64,
    pub throttle: throttle::ThrottleRules,
    pub activity_page_size: u32,
}

pub struct SecurityParts {
    pub directory: Arc<dyn Directory>,
    pub accounts: Arc<dyn AccountStore>,
    pub sign_in_store: Arc<dyn SignInStore>,
    /// The person's 2-step setting, phones and apps, read at once.
    pub records: Arc<dyn FactorRecordsStore>,
    pub audit: Arc<dyn AuditLog>,
    /// Ends the person's other sessions when their second factors shrink.
    pub generations: Arc<dyn super::ports::SessionGenerations>,
    pub texter: Texter,
    pub authenticators: Arc<Authenticators>,
    pub phones: PhonePolicy,
    /// Which directory numbers are second factors; records the numbers proved here.
    pub phone_trust: PhoneTrust,
    pub keys: CodeHasher,
    pub settings: SecuritySettings,
}

pub struct SecurityService {
    p: SecurityParts,
}

impl std::fmt::Debug for SecurityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityService")
            .field("settings", &self.p.settings)
            .finish_non_exhaustive()
    }
}

/// Longest phone nickname, in characters.
pub const MAX_NICKNAME: usize = 40;

/// Verified-number records this recent are kept even when the directory entry read does not
/// show their number (see [`SecurityService::phone_views`]).
const PRUNE_GRACE_SECS: i64 = 60;

impl SecurityService {
    pub fn new(parts: SecurityParts) -> Self {
        Self { p: parts }
    }

    pub fn settings(&self) -> &SecuritySettings {
        &self.p.settings
    }

    pub fn picker(&self) -> Vec<(String, u16)> {
        self.p.phones.picker()
    }

    pub fn code_length(&self) -> u8 {
        self.p.texter.codes().rules().length
    }

    /// Whether the provider places calls ("call me instead" is offered, landlines can be added).
    pub fn places_calls(&self) -> bool {
        self.p.texter.places_calls()
    }

    /// Whether the person proved who they are recently enough for a sensitive change.
    pub fn is_recent(&self, user: &Authenticated, now: i64) -> bool {
        now.saturating_sub(user.authenticated_at) <= self.p.settings.reauth_window_secs
    }

    fn require_recent(&self, user: &Authenticated, now: i64) -> Result<(), SecurityError> {
        if self.is_recent(user, now) { Ok(()) } else { Err(SecurityError::ReauthRequired) }
    }

    async fn audit(
        &self,
        client: &Client,
        user: &Authenticated,
        kind: &'static str,
        outcome: &str,
        detail: Option<String>,
    ) {
        let actor = Some((user.user_id.as_str(), user.login.as_str()));
        let entry = audit::Entry { kind, actor, subject: None, outcome, detail };
        audit::write(&*self.p.audit, client, entry).await;
    }

    /// The number of the person's second factors: phones that receive codes, and apps
    /// (recovery codes do not count: they are a way back, not a factor to live on); and
    /// whether 2-step sign-in is on.
    async fn factor_count(&self, user: &Authenticated) -> Result<(u32, bool), SecurityError> {
        let (person, records) = tokio::try_join!(self.person(user), self.records(user))?;
        let phones = self.p.phone_trust.usable_of(&person, &records.verified);
        let two_factor_on = records.two_factor_on;
        let apps = self.p.authenticators.factors_of(records.apps, records.recovery).apps;
        Ok((u32::try_from(phones.len() + apps.len()).unwrap_or(u32::MAX), two_factor_on))
    }

    /// The person's 2-step setting, phones and apps, in one read.
    async fn records(&self, user: &Authenticated) -> Result<FactorRecords, SecurityError> {
        Ok(self.p.records.factor_records(&user.user_id).await?)
    }

    async fn person(&self, user: &Authenticated) -> Result<Person, SecurityError> {
        self.p.directory.find_by_id(&user.user_id).await?.ok_or(SecurityError::Unavailable)
    }

    fn key(&self, user: &Authenticated, number: &E164) -> String {
        let digest = self.p.keys.token_digest(user.user_id.as_str(), number.as_str());
        digest.chars().take(16).collect()
    }

    fn find<'a>(
        &self,
        user: &Authenticated,
        person: &'a Person,
        key: &str,
    ) -> Result<&'a E164, SecurityError> {
        person.phones.iter().find(|n| self.key(user, n) == key).ok_or(SecurityError::NoSuchPhone)
    }

    /// The person's phones (directory order, preferred first), with their metadata from
    /// `records`. Forgets metadata and proofs of numbers no longer in the directory.
    async fn phone_views(
        &self,
        user: &Authenticated,
        person: &Person,
        records: &FactorRecords,
        now: i64,
    ) -> Result<Vec<PhoneView>, SecurityError> {
        let (settings, verified) = (&records.phones, &records.verified);
        let numbers: Vec<String> = person.phones.iter().map(|n| n.as_str().to_owned()).collect();
        if settings.iter().any(|s| !numbers.contains(&s.number)) {
            self.p.accounts.prune_phones(&user.user_id, &numbers).await?;
        }
        // A number another tool removed loses its proof: written back later, it is unproved.
        // Records younger than a minute stay (the entry may have been read before an add).
        if verified.iter().any(|r| !numbers.contains(&r.number)) {
            self.p.phone_trust.prune(person, verified, now - PRUNE_GRACE_SECS).await?;
        }
        let trust = self.p.phone_trust.trusts_directory();
        let mut views: Vec<PhoneView> = person
            .phones
            .iter()
            .map(|n| {
                let meta = settings.iter().find(|s| s.number == n.as_str());
                let is_verified = verified.iter().any(|r| r.number == n.as_str());
                PhoneView {
                    key: self.key(user, n),
                    masked: n.masked(),
                    nickname: meta.and_then(|m| m.nickname.clone()),
                    preferred: meta.is_some_and(|m| m.preferred),
                    added_at: meta.map(|m| m.added_at),
                    last_used_at: meta.and_then(|m| m.last_used_at),
                    verified: is_verified,
                    usable: is_verified || trust,
                    voice_only: n.voice_only(),
                }
            })
            .collect();
        views.sort_by_key(|v| !v.preferred);
        Ok(views)
    }

    pub async fn overview(
        &self,
        user: &Authenticated,
        now: i64,
        older_than: Option<i64>,
    ) -> Result<Overview, SecurityError> {
        let size = self.p.settings.activity_page_size;
        let id = &user.user_id;
        let (person, records, mut activity, browsers) = tokio::try_join!(
            self.person(user),
            self.records(user),
            async {
                Ok::<_, SecurityError>(
                    self.p.audit.for_user(id.as_str(), older_than, size + 1).await?,
                )
            },
            async { Ok::<_, SecurityError>(self.p.accounts.trusted_browsers(id, now).await?) },
        )?;
        let phones = self.phone_views(user, &person, &records, now).await?;
        let two_factor_on = records.two_factor_on;
        let factors = self.p.authenticators.factors_of(records.apps, records.recovery);
        let older = if activity.len() > size as usize {
            activity.truncate(size as usize);
            activity.last().map(|e| e.id)
        } else {
            None
        };
        Ok(Overview {
            two_factor_on,
            policy_required: self.p.settings.policy_required,
            min_credentials: self.p.settings.min_credentials,
            phones,
            apps: factors.apps.iter().map(AppView::from).collect(),
            recovery: factors.recovery,
            methods: self.p.authenticators.methods(),
            browsers,
            activity,
            older_than: older,
        })
    }

    /// Sends the code of `flow` to `number` (by text, or by call when `wanted` is one or the
    /// number is a landline) and moves the flow on. Never says a text was sent when it was not.
    async fn text(
        &self,
        client: &Client,
        user: &Authenticated,
        flow: &mut Flow,
        number: &E164,
        wanted: Channel,
    ) -> Result<Notice, SecurityError> {
        let channel = self.p.texter.channel_for(number, wanted);
        let purpose = match flow.kind {
            FlowKind::AddPhone | FlowKind::VerifyPhone => Purpose::Enrol,
            FlowKind::Reauth => Purpose::Reauth,
        };
        let req = SendRequest {
            user_id: user.user_id.as_str(),
            number,
            client_ip: &client.ip,
            now: client.now,
            channel,
        };
        let outcome = self
            .p
            .texter
            .send_code(&flow.id, purpose, &req, client.lang)
            .await
            .map_err(SecurityError::Code)?;
        match outcome {
            TextOutcome::Sent => {
                flow.advance(&Event::TextSent { number: number.clone(), channel })?;
                flow.last_sent_at = Some(client.now);
                let (kind, notice) = match channel {
                    Channel::Text => ("security.code_sent", Notice::info("otp.sent")),
                    Channel::Call => ("security.code_called", Notice::info("otp.called")),
                };
                self.audit(client, user, kind, "sent", Some(number.masked())).await;
                Ok(notice)
            }
            TextOutcome::NotSent(e) => {
                flow.advance(&Event::TextFailed { number: number.clone(), channel })?;
                let kind = match channel {
                    Channel::Text => "security.code_sent",
                    Channel::Call => "security.code_called",
                };
                self.audit(client, user, kind, "failed", Some(failure_detail(number, &e))).await;
                Ok(Notice::error(e.message_id()))
            }
        }
    }

    /// Starts adding a phone: the number (read in `region`) is checked and texted a code (a
    /// landline is called; without calls it cannot be added).
    pub async fn add_number(
        &self,
        client: &Client,
        user: &Authenticated,
        flow: &mut Flow,
        input: &str,
        region: &str,
    ) -> Result<Notice, SecurityError> {
        self.require_recent(user, client.now)?;
        if flow.kind != FlowKind::AddPhone || flow.step != Step::EnterNumber {
            return Err(SecurityError::OutOfOrder);
        }
        let number = self
            .p
            .phones
            .parse_in(input, region)
            .map_err(|e| SecurityError::Phone(e.message_id()))?;
        if number.voice_only() && !self.p.texter.places_calls() {
            return Err(SecurityError::Phone(PhoneRejection::LandlineNeedsCalls.message_id()));
        }
        self.check_available(user, &number).await?;
        self.text(client, user, flow, &number, Channel::Text).await
    }

    async fn check_available(
        &self,
        user: &Authenticated,
        number: &E164,
    ) -> Result<(), SecurityError> {
        let owners = self.p.directory.phone_owners(number).await?;
        if owners.iter().any(|o| o != &user.user_id) {
            return Err(SecurityError::NumberInUse);
        }
        if !owners.is_empty() {
            return Err(SecurityError::AlreadyYours);
        }
        Ok(())
    }

    /// "Send a new code" (`channel` a text), "Call me instead" or "Call again" (a call), to
    /// the flow's number; a landline is always called.
    pub async fn resend(
        &self,
        client: &Client,
        user: &Authenticated,
        flow: &mut Flow,
        channel: Channel,
    ) -> Result<Notice, SecurityError> {
        match &flow.step {
            Step::CodeSent { number, .. } | Step::SendFailed { number, .. } => {
                let number = number.clone();
                self.text(client, user, flow, &number, channel).await
            }
            _ => Err(SecurityError::OutOfOrder),
        }
    }

    /// The code just accepted was texted to `sent_to`; the flow would store `number`. They
    /// differ when two posts raced (the flow moved to another number while a code for the first
    /// was outstanding): the code proves `sent_to`, not `number`, so nothing is stored.
    async fn proved_flow_number(
        &self,
        client: &Client,
        user: &Authenticated,
        number: &E164,
        sent_to: &str,
    ) -> Result<(), SecurityError> {
        if number.as_str() == sent_to {
            return Ok(());
        }
        tracing::warn!("a phone code was for another number than the flow's");
        let detail = Some(format!("{} number_mismatch", number.masked()));
        self.audit(client, user, "security.code", "rejected", detail).await;
        Err(SecurityError::OutOfOrder)
    }

    /// "Verify" on a number that is in the directory but not verified: after the usual
    /// recent-sign-in check, a code is texted to it. `flow` becomes the verification.
    pub async fn verify_start(
        &self,
        client: &Client,
        user: &Authenticated,
        flow: &mut Option<Flow>,
        key: &str,
    ) -> Result<Notice, SecurityError> {
        self.require_recent(user, client.now)?;
        let person = self.person(user).await?;
        let number = self.find(user, &person, key)?.clone();
        let records = self.p.phone_trust.records(&user.user_id).await?;
        if records.iter().any(|r| r.number == number.as_str()) {
            return Ok(Notice::info("security.phone_verified"));
        }
        let mut started = Flow::new(FlowKind::VerifyPhone);
        let sent = self.text(client, user, &mut started, &number, Channel::Text).await;
        // Kept only once a text went out or failed at the provider (it can be sent again);
        // a refusal before that (a send limit) leaves nothing to continue.
        if started.step != Step::EnterNumber {
            *flow = Some(started);
        }
        sent
    }

    /// Finishes verifying: the code proves the number, which becomes a second factor.
    pub async fn verify_finish(
        &self,
        client: &Client,
        user: &Authenticated,
        flow: &mut Flow,
        code: &str,
    ) -> Result<Notice, SecurityError> {
        let (FlowKind::VerifyPhone, Step::CodeSent { number, .. }) = (flow.kind, flow.step.clone())
        else {
            return Err(SecurityError::OutOfOrder);
        };
        // Still the person's (checked before the code is used up, as when adding).
        let person = self.person(user).await?;
        if !person.phones.contains(&number) {
            return Err(SecurityError::NoSuchPhone);
        }
        let sent_to = self
            .p
            .texter
            .codes()
            .verify(&flow.id, Purpose::Enrol, user.user_id.as_str(), code, client.now)
            .await
            .map_err(SecurityError::Code)?;
        self.proved_flow_number(client, user, &number, &sent_to).await?;
        self.p.phone_trust.record(&user.user_id, &number, VerifiedBy::Verify, client.now).await?;
        flow.advance(&Event::CodeAccepted)?;
        self.audit(client, user, "phone.verified", "verified", Some(number.masked())).await;
        Ok(Notice::info("security.phone_verified"))
    }

    pub fn change_number(&self, flow: &mut Flow) -> Result<(), SecurityError> {
        flow.advance(&Event::ChangeNumber).map(|_| ())
    }

    /// Finishes adding: the code proves the phone; then, and only then, the directory gets the
    /// number and the other phones a notice.
    pub async fn add_verify(
        &self,
        client: &Client,
        user: &Authenticated,
        flow: &mut Flow,
        code: &str,
        nickname: &str,
    ) -> Result<Notice, SecurityError> {
        let Step::CodeSent { number, .. } = flow.step.clone() else {
            return Err(SecurityError::OutOfOrder);
        };
        let nickname = clean_nickname(nickname)?;
        // The directory first (someone may have registered the number meanwhile, or the
        // directory may be down): only then is the code used up, so a failure here leaves the
        // same code good for another try.
        self.check_available(user, &number).await?;
        let person = self.person(user).await?;
        let sent_to = self
            .p
            .texter
            .codes()
            .verify(&flow.id, Purpose::Enrol, user.user_id.as_str(), code, client.now)
            .await
            .map_err(SecurityError::Code)?;
        self.proved_flow_number(client, user, &number, &sent_to).await?;
        self.p.directory.add_phone(&person, &number).await?;
        // After the directory write: if this fails the number is there but unverified, which
        // fails closed (it is not a factor until proved again).
        let by = VerifiedBy::SecurityPage;
        self.p.phone_trust.record(&user.user_id, &number, by, client.now).await?;
        let label = nickname.unwrap_or_else(|| default_nickname(&number));
        self.p.accounts.name_phone(&user.user_id, number.as_str(), &label, client.now).await?;
        flow.advance(&Event::CodeAccepted)?;
        self.audit(client, user, "phone.added", "added", Some(number.masked())).await;
        let text = self.p.texter.notice(client.lang, "text.phone_added", number.last4());
        for other in person.phones.iter().filter(|p| **p != number) {
            self.p.texter.notify(&NoticeFor::own(&*self.p.audit, client, user), other, &text).await;
        }
        Ok(Notice::info("security.phone_added"))
    }

    pub async fn rename(
        &self,
        client: &Client,
        user: &Authenticated,
        key: &str,
        nickname: &str,
    ) -> Result<Notice, SecurityError> {
        let person = self.person(user).await?;
        let number = self.find(user, &person, key)?;
        let nickname = clean_nickname(nickname)?.unwrap_or_else(|| default_nickname(number));
        self.p.accounts.name_phone(&user.user_id, number.as_str(), &nickname, client.now).await?;
        self.audit(client, user, "phone.renamed", "renamed", Some(number.masked())).await;
        Ok(Notice::info("security.phone_renamed"))
    }

    pub async fn prefer(
        &self,
        client: &Client,
        user: &Authenticated,
        key: &str,
    ) -> Result<Notice, SecurityError> {
        let person = self.person(user).await?;
        let number = self.find(user, &person, key)?;
        self.p.accounts.prefer_phone(&user.user_id, number.as_str(), client.now).await?;
        self.audit(client, user, "phone.preferred", "preferred", Some(number.masked())).await;
        Ok(Notice::info("security.phone_preferred"))
    }

    /// What removing phone `key` would do (for the confirmation), or why it may not.
    pub async fn plan_removal(
        &self,
        client: &Client,
        user: &Authenticated,
        key: &str,
    ) -> Result<RemovalPlan, SecurityError> {
        self.plan(client, user, key).await.map(|(plan, _, _)| plan)
    }

    /// The plan, with the person and the number it was made from (one directory read).
    async fn plan(
        &self,
        client: &Client,
        user: &Authenticated,
        key: &str,
    ) -> Result<(RemovalPlan, Person, E164), SecurityError> {
        self.require_recent(user, client.now)?;
        let (person, records) = tokio::try_join!(self.person(user), self.records(user))?;
        let number = self.find(user, &person, key)?.clone();
        let views = self.phone_views(user, &person, &records, client.now).await?;
        let two_factor_on = records.two_factor_on;
        // Only second factors count: removing a number that never was one (unverified) leaves
        // 2-step sign-in as it is.
        let apps = self.p.authenticators.factors_of(records.apps, records.recovery).apps.len();
        let factors = views.iter().filter(|v| v.usable).count() + apps;
        let removes_factor = views.iter().any(|v| v.key == key && v.usable);
        let left = if removes_factor { factors.saturating_sub(1) } else { factors };
        let below = removes_factor && (left as u32) < self.p.settings.min_credentials;
        if below && self.p.settings.policy_required {
            return Err(SecurityError::RequiredByPolicy);
        }
        let label = views
            .iter()
            .find(|v| v.key == key)
            .and_then(|v| v.nickname.clone())
            .unwrap_or_else(|| default_nickname(&number));
        let plan = RemovalPlan {
            key: key.to_owned(),
            label,
            turns_off_two_factor: below && two_factor_on,
        };
        Ok((plan, person, number))
    }

    /// Removes a phone the person confirmed (re-checking everything: the plan may be stale).
    pub async fn remove(
        &self,
        client: &Client,
        user: &Authenticated,
        key: &str,
    ) -> Result<Notice, SecurityError> {
        let (plan, person, number) = self.plan(client, user, key).await?;
        self.p.directory.remove_phone(&person, &number).await?;
        self.p.accounts.forget_phone(&user.user_id, number.as_str()).await?;
        self.p.phone_trust.forget(&user.user_id, &number).await?;
        // A session that stole this phone's code must not outlive its removal.
        self.p.generations.bump(&user.user_id, client.now).await?;
        if plan.turns_off_two_factor {
            self.p.sign_in_store.set_two_factor(&user.user_id, false, client.now).await?;
            self.audit(client, user, "two_factor.off", "phone_removed", None).await;
        }
        self.audit(client, user, "phone.removed", "removed", Some(number.masked())).await;
        let text = self.p.texter.notice(client.lang, "text.phone_removed", number.last4());
        for other in person.phones.iter().filter(|p| **p != number) {
            self.p.texter.notify(&NoticeFor::own(&*self.p.audit, client, user), other, &text).await;
        }
        Ok(Notice::info(if plan.turns_off_two_factor {
            "security.phone_removed_two_factor_off"
        } else {
            "security.phone_removed"
        }))
    }

    pub async fn set_two_factor(
        &self,
        client: &Client,
        user: &Authenticated,
        on: bool,
    ) -> Result<Notice, SecurityError> {
        if on {
            // Only verified numbers are phones for signing in.
            if self.factor_count(user).await?.0 < self.p.settings.min_credentials {
                return Err(SecurityError::NotEnoughPhones);
            }
        } else {
            if self.p.settings.policy_required {
                return Err(SecurityError::RequiredByPolicy);
            }
            self.require_recent(user, client.now)?;
        }
        self.p.sign_in_store.set_two_factor(&user.user_id, on, client.now).await?;
        if !on {
            self.p.generations.bump(&user.user_id, client.now).await?;
        }
        self.audit(
            client,
            user,
            if on { "two_factor.on" } else { "two_factor.off" },
            "changed",
            None,
        )
        .await;
        Ok(Notice::info(if on {
            "security.two_factor.turned_on"
        } else {
            "security.two_factor.turned_off"
        }))
    }

    pub async fn forget_browsers(
        &self,
        client: &Client,
        user: &Authenticated,
        id: Option<&str>,
    ) -> Result<Notice, SecurityError> {
        let n = self.p.accounts.forget_browsers(&user.user_id, id, client.now).await?;
        self.audit(
            client,
            user,
            "browser.forgotten",
            if id.is_some() { "one" } else { "all" },
            Some(n.to_string()),
        )
        .await;
        Ok(Notice::info("security.browsers_forgotten"))
    }

    /// "Sign out of all other browsers": every other session of the person ends at its next
    /// request. The caller stamps its own session with the new generation (returned).
    pub async fn sign_out_others(
        &self,
        client: &Client,
        user: &Authenticated,
    ) -> Result<i64, SecurityError> {
        let generation = self.p.generations.bump(&user.user_id, client.now).await?;
        self.audit(client, user, "session.signed_out_others", "ended", None).await;
        Ok(generation)
    }

    /// Confirming it is you: the password (throttled like sign-in), then, with 2-step sign-in
    /// on, a code to the preferred phone. `Ok(true)` when done.
    pub async fn reauth_password(
        &self,
        client: &Client,
        user: &Authenticated,
        flow: &mut Flow,
        password: &SecretString,
    ) -> Result<(bool, Option<Notice>), SecurityError> {
        if flow.kind != FlowKind::Reauth || flow.step != Step::Password {
            return Err(SecurityError::OutOfOrder);
        }
        // Counted before the bind, like the sign-in's password step (same key, same rule).
        let key = throttle::login_key(&user.login);
        let store: &dyn ThrottleStore = &*self.p.sign_in_store;
        let rule = self.p.settings.throttle.account;
        if let Err(wait) = throttle::admit(store, &key, rule, client.now).await? {
            return Err(SecurityError::Throttled { retry_after: wait });
        }
        let checked = match self.person(user).await {
            Ok(person) => self
                .p
                .directory
                .check_password(&person, password)
                .await
                .map(|check| (person, check))
                .map_err(SecurityError::from),
            Err(e) => Err(e),
        };
        let (person, check) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                // The directory did not answer: not the person's failure.
                store.give_back_attempt(&key).await?;
                return Err(e);
            }
        };
        if check == PasswordCheck::MustChangePassword {
            // The right password, due for a change after a reset: say so (issue 14, finding 13).
            store.give_back_attempt(&key).await?;
            let reason = Some("must_change_password".to_owned());
            self.audit(client, user, "reauth.password", "rejected", reason).await;
            return Err(SecurityError::MustChangePassword);
        }
        if check != PasswordCheck::Accepted {
            self.audit(client, user, "reauth.password", "rejected", None).await;
            return Err(SecurityError::WrongPassword);
        }
        store.clear_attempts(&key).await?;
        let records = self.records(user).await?;
        let two_factor_on = records.two_factor_on;
        // The code comes from a second factor only: the preferred app, else the preferred
        // phone among the verified ones, else any app.
        let phones = self.phone_views(user, &person, &records, client.now).await?;
        let preferred = phones
            .iter()
            .find(|v| v.usable)
            .and_then(|v| person.phones.iter().find(|n| self.key(user, n) == v.key))
            .cloned();
        let mut apps = self.p.authenticators.factors_of(records.apps, records.recovery).apps;
        apps.sort_by_key(|a| !a.preferred);
        let app = apps
            .into_iter()
            .find(|a| a.preferred || preferred.is_none())
            .map(|a| crate::authenticator::AppRef { id: a.id, name: a.name });
        match (app, preferred) {
            (Some(app), _) if two_factor_on => {
                flow.advance(&Event::AppAsked { app })?;
                Ok((false, None))
            }
            (None, Some(number)) if two_factor_on => {
                let notice = self.text(client, user, flow, &number, Channel::Text).await?;
                Ok((false, Some(notice)))
            }
            _ => {
                flow.advance(&Event::PasswordAccepted)?;
                self.audit(client, user, "reauth", "password", None).await;
                Ok((true, None))
            }
        }
    }

    pub async fn reauth_code(
        &self,
        client: &Client,
        user: &Authenticated,
        flow: &mut Flow,
        code: &str,
    ) -> Result<(), SecurityError> {
        if flow.kind != FlowKind::Reauth {
            return Err(SecurityError::OutOfOrder);
        }
        let how = match &flow.step {
            Step::CodeSent { channel, .. } => {
                let channel = *channel;
                self.p
                    .texter
                    .codes()
                    .verify(&flow.id, Purpose::Reauth, user.user_id.as_str(), code, client.now)
                    .await
                    .map_err(SecurityError::Code)?;
                match channel {
                    Channel::Text => "password_and_sms",
                    Channel::Call => "password_and_call",
                }
            }
            Step::AppCode { app } => {
                let stored = self.find_app(user, &app.id).await?;
                let auth = &self.p.authenticators;
                auth.verify_app(&user.user_id, &stored, code, client.now)
                    .await
                    .map_err(SecurityError::Code)?;
                "password_and_app"
            }
            _ => return Err(SecurityError::OutOfOrder),
        };
        flow.advance(&Event::CodeAccepted)?;
        self.audit(client, user, "reauth", how, None).await;
        Ok(())
    }
}

/// Trimmed; empty means "no nickname"; at most [`MAX_NICKNAME`] characters, no control
/// characters.
pub fn clean_nickname(input: &str) -> Result<Option<String>, SecurityError> {
    let name: String = input.trim().chars().filter(|c| !c.is_control()).collect();
    if name.chars().count() > MAX_NICKNAME {
        return Err(SecurityError::NicknameTooLong);
    }
    Ok((!name.is_empty()).then_some(name))
}

pub fn default_nickname(number: &E164) -> String {
    format!("Phone ending {}", number.last4())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> E164 {
        crate::phone::PhonePolicy::from_directory(s).expect("valid")
    }

    #[test]
    fn transition_table() {
        use Event as E;
        use FlowKind as K;
        use Step as S;
        let a = || n("+12015550123");
        let b = || n("+12015550124");
        let app = || crate::authenticator::AppRef { id: "1".into(), name: "App".into() };
        let steps = [
            S::EnterNumber,
            S::Password,
            S::CodeSent { number: a(), channel: Channel::Text },
            S::SendFailed { number: a(), channel: Channel::Text },
            S::AppCode { app: app() },
        ];
        let events = [
            E::TextSent { number: a(), channel: Channel::Text },
            E::TextFailed { number: a(), channel: Channel::Text },
            E::TextSent { number: b(), channel: Channel::Text },
            E::ChangeNumber,
            E::PasswordAccepted,
            E::CodeAccepted,
            E::AppAsked { app: app() },
            // Issue 21: "call me instead" is a send like a text, to the same number only.
            E::TextSent { number: a(), channel: Channel::Call },
        ];
        let sent = || Some(Some(S::CodeSent { number: a(), channel: Channel::Text }));
        let failed = || Some(Some(S::SendFailed { number: a(), channel: Channel::Text }));
        // (kind, step, event) → Some(outcome): allowed, `Some(None)` completes the flow.
        type Row = ((K, usize, usize), Option<Option<Step>>);
        let allowed: Vec<Row> = vec![
            ((K::AddPhone, 0, 0), sent()),
            ((K::AddPhone, 0, 1), failed()),
            ((K::AddPhone, 0, 2), Some(Some(S::CodeSent { number: b(), channel: Channel::Text }))),
            ((K::AddPhone, 2, 0), sent()),
            ((K::AddPhone, 2, 1), failed()),
            ((K::AddPhone, 2, 3), Some(Some(S::EnterNumber))),
            ((K::AddPhone, 2, 5), Some(None)),
            ((K::AddPhone, 3, 0), sent()),
            ((K::AddPhone, 3, 1), failed()),
            ((K::AddPhone, 3, 3), Some(Some(S::EnterNumber))),
            ((K::Reauth, 1, 0), sent()),
            ((K::Reauth, 1, 1), failed()),
            ((K::Reauth, 1, 2), Some(Some(S::CodeSent { number: b(), channel: Channel::Text }))),
            ((K::Reauth, 1, 4), Some(None)),
            ((K::Reauth, 2, 0), sent()),
            ((K::Reauth, 2, 1), failed()),
            ((K::Reauth, 2, 5), Some(None)),
            ((K::Reauth, 3, 0), sent()),
            ((K::Reauth, 3, 1), failed()),
            // With an app: asked after the password, done with its code.
            ((K::Reauth, 1, 6), Some(Some(S::AppCode { app: app() }))),
            ((K::Reauth, 4, 5), Some(None)),
            // Verifying: texted at once, resent to the same number only, no other number.
            ((K::VerifyPhone, 0, 0), sent()),
            ((K::VerifyPhone, 0, 1), failed()),
            (
                (K::VerifyPhone, 0, 2),
                Some(Some(S::CodeSent { number: b(), channel: Channel::Text })),
            ),
            ((K::VerifyPhone, 2, 0), sent()),
            ((K::VerifyPhone, 2, 1), failed()),
            ((K::VerifyPhone, 2, 5), Some(None)),
            ((K::VerifyPhone, 3, 0), sent()),
            ((K::VerifyPhone, 3, 1), failed()),
        ];
        // A call goes wherever a text goes, and the step says it was a call.
        let called = Some(Some(S::CodeSent { number: a(), channel: Channel::Call }));
        let mut allowed = allowed;
        let calls: Vec<Row> = allowed
            .iter()
            .filter(|((_, _, ei), _)| *ei == 0)
            .map(|((k, si, _), _)| ((*k, *si, 7), called.clone()))
            .collect();
        allowed.extend(calls);
        for kind in [K::AddPhone, K::Reauth, K::VerifyPhone] {
            for (si, step) in steps.iter().enumerate() {
                for (ei, event) in events.iter().enumerate() {
                    let want = allowed
                        .iter()
                        .find(|(k, _)| *k == (kind, si, ei))
                        .and_then(|(_, v)| v.clone());
                    let got = next(kind, step, event).ok();
                    assert_eq!(got, want, "{kind:?} {step:?} + {event:?}");
                }
            }
        }
    }

    /// Flows kept in sessions before calls existed still load, as texts.
    #[test]
    fn steps_stored_before_calls_load_as_texts() {
        let old: Step =
            serde_json::from_str(r#"{"step":"code_sent","number":"+12015550123"}"#).unwrap();
        assert_eq!(old, Step::CodeSent { number: n("+12015550123"), channel: Channel::Text });
        let call = Step::CodeSent { number: n("+12015550123"), channel: Channel::Call };
        let json = serde_json::to_string(&call).unwrap();
        assert_eq!(serde_json::from_str::<Step>(&json).unwrap(), call);
    }

    #[test]
    fn nicknames_are_trimmed_bounded_and_optional() {
        assert_eq!(clean_nickname("  Work phone ").unwrap().as_deref(), Some("Work phone"));
        assert_eq!(clean_nickname("   ").unwrap(), None);
        assert_eq!(clean_nickname("Téléphone 📱").unwrap().as_deref(), Some("Téléphone 📱"));
        assert_eq!(clean_nickname("a\u{0}b\nc").unwrap().as_deref(), Some("abc"));
        assert!(clean_nickname(&"x".repeat(MAX_NICKNAME)).is_ok());
        assert_eq!(
            clean_nickname(&"x".repeat(MAX_NICKNAME + 1)),
            Err(SecurityError::NicknameTooLong)
        );
        assert_eq!(default_nickname(&n("+12015550123")), "Phone ending 0123");
    }

    #[test]
    fn every_error_maps_to_a_catalog_message() {
        for e in [
            SecurityError::ReauthRequired,
            SecurityError::OutOfOrder,
            SecurityError::NoSuchPhone,
            SecurityError::NumberInUse,
            SecurityError::AlreadyYours,
            SecurityError::Phone("phone.invalid"),
            SecurityError::Code(CodeError::Wrong { remaining: 2 }),
            SecurityError::WrongPassword,
            SecurityError::Throttled { retry_after: 3 },
            SecurityError::NotEnoughPhones,
            SecurityError::RequiredByPolicy,
            SecurityError::NicknameTooLong,
            SecurityError::Unavailable,
            SecurityError::MustChangePassword,
        ] {
            assert!(messages::has(&e.notice().id), "{e:?}");
        }
    }
}
