//! Signing in: the password (an LDAP bind as the person), then, when 2-step sign-in is on or
//! required, a second factor: a code texted to one of the person's phones, the code of an
//! authenticator app, or a recovery code. The flow's state machine is in
//! [`flow`]; this module runs it against the ports.

mod answer_floor;
pub mod flow;
pub mod records;
pub mod throttle;

pub use records::{BrowserToken, FlowPerson, FlowRecord, NewTrustedBrowser, StepUpOf};

use crate::ports::{FactorRecords, FactorRecordsStore, SignInStore};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::authenticated::{AuthMethod, Authenticated};
use super::authenticator::{AppRef, Authenticators, Factors};
use super::client::{Client, describe_browser};
use super::codes::{Channel, CodeError, CodeHasher, Purpose, SecondStep, SendRequest};
use super::notice::Notice;
use super::phone::{E164, PhonePolicy, PhoneRejection};
use super::ports::ThrottleStore;
use super::ports::VerifiedBy;
use super::sms::failure_detail;
use super::texting::{NoticeFor, TextOutcome, Texter};
use super::tokens::random_token;
use super::verified::PhoneTrust;
use super::{audit, ports::AuditLog};
use super::{
    directory::{PasswordCheck, Person, UserId, Username},
    ports::Directory,
};
use flow::{Event, Facts, Start, State};
use messages::MessageId;
use throttle::ThrottleRules;

/// Random bytes in a sign-in flow's id (hex, so its text is twice as long).
const FLOW_ID_BYTES: usize = 16;

/// Whether `text` has the form of a sign-in flow's id (what a browser's flow cookie must hold
/// before it is looked up).
pub fn is_flow_id(text: &str) -> bool {
    crate::tokens::is_token_of(text, FLOW_ID_BYTES)
}

/// Settings the flow needs from configuration.
#[derive(Debug, Clone)]
pub struct SignInSettings {
    pub policy_required: bool,
    pub remember_browser_days: u32,
    pub throttle: ThrottleRules,
    /// How long a started sign-in may take.
    pub flow_lifetime_secs: i64,
    /// Seconds before a code may be sent again (the send cooldown), for the countdown.
    pub resend_after_secs: i64,
    /// Every refused password takes at least this long, and at least as long as real entries'
    /// password steps recently took, so that timing does not tell an unknown account from a
    /// wrong password.
    pub min_password_answer: Duration,
}

/// Why a step did not go through. Each maps to one message for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unknown person, wrong password, locked or expired account: one message for all.
    #[error("the username or password is not right")]
    Failed,
    #[error("too many attempts, wait {retry_after} s")]
    Throttled { retry_after: i64 },
    /// The flow is gone (expired, finished, or never existed): start again.
    #[error("the sign-in expired")]
    FlowExpired,
    /// The step does not fit the flow's state (a stale tab, a replayed form).
    #[error("that step is not possible now")]
    OutOfOrder,
    #[error("code: {0}")]
    Code(CodeError),
    #[error("phone: {0}")]
    Phone(MessageId),
    #[error("this number belongs to someone else")]
    NumberTaken,
    #[error("a service is unavailable")]
    Unavailable,
    /// The password is right but must be changed first, elsewhere (after a reset).
    #[error("the password must be changed first")]
    MustChangePassword,
}

impl SignInError {
    pub fn notice(&self) -> Notice {
        match self {
            SignInError::Failed => Notice::error("sign_in.failed"),
            SignInError::Throttled { retry_after } => {
                Notice::wait("sign_in.throttled", *retry_after)
            }
            SignInError::FlowExpired => Notice::error("sign_in.expired"),
            SignInError::OutOfOrder => Notice::error("sign_in.out_of_order"),
            SignInError::Code(e) => e.notice(),
            SignInError::Phone(id) => Notice::error(id),
            SignInError::NumberTaken => Notice::error("enrol.number_taken"),
            SignInError::Unavailable => Notice::error("error.unavailable"),
            SignInError::MustChangePassword => Notice::error("sign_in.must_change_password"),
        }
    }
}

unavailable_from!(SignInError);

/// What the password step led to.
#[derive(Debug)]
pub enum PasswordOutcome {
    SignedIn(Authenticated),
    /// A second step is needed: the flow id goes into the session.
    SecondStep {
        flow_id: String,
        notice: Option<Notice>,
    },
}

/// What a step of the flow led to.
#[derive(Debug)]
pub enum StepOutcome {
    /// Still in the flow; tell the person this.
    Continue(Option<Notice>),
    SignedIn {
        user: Authenticated,
        remember: Option<BrowserToken>,
        /// Something to tell the person on the page they land on (recovery codes left).
        notice: Option<Notice>,
    },
}

/// What the sign-in page shows for a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowView {
    pub state: State,
    pub display_name: String,
    /// Masked, preferred first.
    pub phones: Vec<String>,
    /// Per phone (same order): a landline, which gets codes by call only.
    pub voice_only: Vec<bool>,
    /// Whether the provider places calls ("call me instead" is offered).
    pub calls: bool,
    /// Authenticator apps' names, preferred first.
    pub apps: Vec<String>,
    pub recovery: bool,
    /// Seconds until "send again" may be used.
    pub resend_in: i64,
    pub expires_in: i64,
}

pub struct SignInService {
    directory: Arc<dyn Directory>,
    store: Arc<dyn SignInStore>,
    records: Arc<dyn FactorRecordsStore>,
    audit: Arc<dyn AuditLog>,
    texter: Texter,
    authenticators: Arc<Authenticators>,
    phones: PhonePolicy,
    tokens: CodeHasher,
    phone_trust: PhoneTrust,
    settings: SignInSettings,
    floor: answer_floor::AnswerFloor,
}

impl std::fmt::Debug for SignInService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInService").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Builds the pieces of a [`SignInService`].
pub struct SignInParts {
    pub directory: Arc<dyn Directory>,
    pub store: Arc<dyn SignInStore>,
    /// The person's 2-step setting, phones and apps, read at once.
    pub records: Arc<dyn FactorRecordsStore>,
    pub audit: Arc<dyn AuditLog>,
    pub texter: Texter,
    /// Authenticator apps and recovery codes.
    pub authenticators: Arc<Authenticators>,
    pub phones: PhonePolicy,
    /// Keys for remembered-browser token digests (the same rotatable keys as codes).
    pub tokens: CodeHasher,
    /// Which directory numbers are second factors (verified ones, by default).
    pub phone_trust: PhoneTrust,
    pub settings: SignInSettings,
}

/// Whether a flow is stored already (a step updates it) or being started (its first step and
/// the flow are stored together, in one INSERT).
#[derive(Debug, Clone, Copy)]
enum Save {
    Update,
    Create,
}

impl SignInService {
    pub fn new(p: SignInParts) -> Self {
        Self {
            directory: p.directory,
            store: p.store,
            records: p.records,
            audit: p.audit,
            texter: p.texter,
            authenticators: p.authenticators,
            phones: p.phones,
            tokens: p.tokens,
            phone_trust: p.phone_trust,
            floor: answer_floor::AnswerFloor::new(p.settings.min_password_answer),
            settings: p.settings,
        }
    }

    pub fn settings(&self) -> &SignInSettings {
        &self.settings
    }

    pub fn code_length(&self) -> u8 {
        self.texter.codes().rules().length
    }

    async fn audit(
        &self,
        client: &Client,
        kind: &'static str,
        user: Option<(&UserId, &str)>,
        outcome: &str,
        detail: Option<String>,
    ) {
        audit::write_by(&*self.audit, client, kind, user, outcome, detail).await;
    }

    /// The password step. `remembered`: the browser's remember-me cookie, if it sent one.
    #[tracing::instrument(skip_all, fields(ip = %client.ip))]
    pub async fn password(
        &self,
        client: &Client,
        login_input: &str,
        password: &SecretString,
        remembered: Option<&str>,
    ) -> Result<PasswordOutcome, SignInError> {
        let started = tokio::time::Instant::now();
        let (result, real_entry) = self.password_inner(client, login_input, password).await;
        if real_entry {
            self.floor.observe(started.elapsed());
        }
        match result {
            // Failures answer no sooner than the floor: an unknown login must not answer faster.
            Err(SignInError::Failed) => {
                tokio::time::sleep_until(started + self.floor.floor()).await;
                Err(SignInError::Failed)
            }
            Err(e) => Err(e),
            Ok(person) => self.after_password(client, person, remembered).await,
        }
    }

    /// Throttle, look-up, bind. Also says whether a real entry's password was checked (for the
    /// answer floor).
    async fn password_inner(
        &self,
        client: &Client,
        login_input: &str,
        password: &SecretString,
    ) -> (Result<Person, SignInError>, bool) {
        use secrecy::ExposeSecret;
        let store: &dyn ThrottleStore = &*self.store;
        let rules = self.settings.throttle;
        let ip_key = throttle::ip_key(&client.ip);
        // The network first: a throttled network never reaches the directory.
        let ip_attempt = match throttle::admit(store, &ip_key, rules.ip, client.now).await {
            Ok(Ok(attempt)) => attempt,
            Ok(Err(wait)) => return (Err(self.throttled(client, &ip_key, wait).await), false),
            Err(e) => return (Err(e.into()), false),
        };
        let login = Username::parse(login_input).ok();
        let empty_password = password.expose_secret().is_empty();
        let person = match &login {
            // An empty password would be an anonymous bind that "succeeds": never send one.
            Some(login) if !empty_password => match self.directory.find_by_login(login).await {
                Ok(person) => person,
                Err(e) => return (Err(self.give_back(&[&ip_key], e.into()).await), false),
            },
            _ => None,
        };
        // The directory's spelling when the person exists: every form the directory matches
        // to them (full-width, other case, compatibility characters) shares one counter.
        let login_key = throttle::login_key(person.as_ref().map_or(login_input, |p| &p.login));
        let attempt = match throttle::admit(store, &login_key, rules.account, client.now).await {
            Ok(Ok(attempt)) => attempt,
            Ok(Err(wait)) => {
                let e = self.throttled(client, &login_key, wait).await;
                return (Err(self.give_back(&[&ip_key], e).await), false);
            }
            Err(e) => return (Err(self.give_back(&[&ip_key], e.into()).await), false),
        };
        let keys = [ip_key.as_str(), login_key.as_str()];
        let check = match &person {
            Some(person) => self.directory.check_password(person, password).await,
            // Same work as a real check, so the answer takes as long.
            None if !empty_password => self
                .directory
                .decoy_password_check(password)
                .await
                .map(|()| PasswordCheck::WrongPassword),
            None => Ok(PasswordCheck::WrongPassword),
        };
        let real_entry = person.is_some();
        let check = match check {
            Ok(check) => check,
            // The directory did not answer: not a failure of the person's, so nothing counts.
            Err(e) => return (Err(self.give_back(&keys, e.into()).await), real_entry),
        };
        if let (Some(person), PasswordCheck::MustChangePassword) = (&person, check) {
            let e = self.must_change_password(client, person).await;
            return (Err(self.give_back(&keys, e).await), real_entry);
        }
        let person = match (person, check) {
            (Some(person), PasswordCheck::Accepted) => person,
            (person, check) => {
                let counted =
                    [(&*login_key, attempt, rules.account), (&*ip_key, ip_attempt, rules.ip)];
                let e = self.password_failed(client, counted, check, person.as_ref()).await;
                return (Err(e), real_entry);
            }
        };
        // Right: the login's count starts again, and the network gets its attempt back.
        if let Err(e) = store.password_accepted(&login_key, &ip_key).await {
            return (Err(e.into()), real_entry);
        }
        self.audit(client, "sign_in.password", Some((&person.id, &person.login)), "accepted", None)
            .await;
        (Ok(person), real_entry)
    }

    /// Gives the attempts counted for `keys` back (the step ended for a reason that is not the
    /// person's) and returns `e`.
    async fn give_back(&self, keys: &[&str], e: SignInError) -> SignInError {
        for key in keys {
            if let Err(e) = self.store.give_back_attempt(key).await {
                tracing::warn!(error = %e, "a password attempt could not be given back");
            }
        }
        e
    }

    async fn throttled(&self, client: &Client, key: &str, wait: i64) -> SignInError {
        self.audit(client, "sign_in.password", None, "throttled", Some(key.to_owned())).await;
        SignInError::Throttled { retry_after: wait }
    }

    /// The right password, which the directory wants changed first (issue 14, finding 13): the
    /// person is told so, since they proved they know it. Not a sign-in; the caller gives the
    /// attempts back, as for a right password.
    async fn must_change_password(&self, client: &Client, person: &Person) -> SignInError {
        tracing::info!(reason = "must_change_password", "password refused");
        let who = Some((&person.id, person.login.as_str()));
        let reason = Some("must_change_password".to_owned());
        self.audit(client, "sign_in.password", who, "rejected", reason).await;
        SignInError::MustChangePassword
    }

    /// A refused password: logged and audited with the reason, and a lock audited when this
    /// attempt (already counted, for each key) reached it.
    async fn password_failed(
        &self,
        client: &Client,
        counted: [(&str, u32, throttle::Rule); 2],
        check: PasswordCheck,
        person: Option<&Person>,
    ) -> SignInError {
        let reason = match (person, check) {
            (None, _) => "unknown_login".to_owned(),
            (Some(_), PasswordCheck::WrongPassword) => "wrong_password".to_owned(),
            (Some(_), PasswordCheck::AccountLocked) => "account_locked".to_owned(),
            (Some(_), PasswordCheck::PasswordExpired) => "password_expired".to_owned(),
            (Some(_), PasswordCheck::AccountDisabled) => "account_disabled".to_owned(),
            (Some(_), PasswordCheck::Refused(rc)) => format!("refused_rc_{rc}"),
            (Some(_), PasswordCheck::Accepted) => "accepted".to_owned(),
            // Handled before (must_change_password); named for the log all the same.
            (Some(_), PasswordCheck::MustChangePassword) => "must_change_password".to_owned(),
        };
        tracing::info!(reason, "password refused");
        let who = person.map(|p| (&p.id, p.login.as_str()));
        self.audit(client, "sign_in.password", who, "rejected", Some(reason)).await;
        for (key, attempt, rule) in counted {
            if attempt >= rule.lock_after {
                let detail = Some(format!("{key} for {} s", rule.lock_secs));
                self.audit(client, "sign_in.locked", who, "password_throttle", detail).await;
            }
        }
        SignInError::Failed
    }

    async fn after_password(
        &self,
        client: &Client,
        person: Person,
        remembered: Option<&str>,
    ) -> Result<PasswordOutcome, SignInError> {
        // Two independent look-ups at once (the password step is the slowest of a sign-in):
        // the person's records, one SQL statement, and administrator membership, a directory
        // search.
        let (records, is_admin) = tokio::try_join!(
            async { Ok::<_, SignInError>(self.records.factor_records(&person.id).await?) },
            async { Ok::<_, SignInError>(self.directory.is_admin(&person).await?) },
        )?;
        let two_factor_on = records.two_factor_on;
        let (phones, apps, preferred_app, recovery) = self.ways_of(&person, records);
        let remembered_browser = match remembered {
            Some(token) if two_factor_on || self.settings.policy_required => {
                self.check_remembered(&person.id, token, client.now).await?
            }
            _ => false,
        };
        let facts = Facts {
            two_factor_on,
            policy_required: self.settings.policy_required,
            remembered_browser,
            phones: phones.len(),
            apps: apps.len(),
            preferred_app,
        };
        let flow_person = FlowPerson {
            user_id: person.id.clone(),
            dn: person.dn.clone(),
            login: person.login.clone(),
            display_name: person.display_name.clone(),
            is_admin,
            phones,
            apps,
            recovery,
            step_up: None,
        };
        match flow::start(facts) {
            Start::SignedIn => {
                return Ok(PasswordOutcome::SignedIn(
                    self.signed_in(client, &flow_person, AuthMethod::Password, None).await,
                ));
            }
            Start::Remembered => {
                self.audit(
                    client,
                    "sign_in.remembered_browser",
                    Some((&person.id, &person.login)),
                    "used",
                    None,
                )
                .await;
                return Ok(PasswordOutcome::SignedIn(
                    self.signed_in(
                        client,
                        &flow_person,
                        AuthMethod::PasswordAndRememberedBrowser,
                        None,
                    )
                    .await,
                ));
            }
            Start::SendTo(_) | Start::AskApp(_) | Start::ChooseMethod | Start::EnrolNumber => {}
        }
        let (flow_id, notice) = self.start_flow(client, flow_person, facts).await?;
        Ok(PasswordOutcome::SecondStep { flow_id, notice })
    }

    /// An app asked for the code level of a person signed in with less (the OpenID Connect
    /// provider decided so): the second step alone, for the sign-in that exists, which keeps its
    /// id and start. With no phone the flow asks for one (the provider only asks for this when
    /// policy lets people add a phone while signing in). Returns the flow id and a notice.
    pub async fn step_up(
        &self,
        client: &Client,
        user: &Authenticated,
    ) -> Result<(String, Option<Notice>), SignInError> {
        let person =
            self.directory.find_by_id(&user.user_id).await?.ok_or(SignInError::FlowExpired)?;
        let records = self.records.factor_records(&person.id).await?;
        let (phones, apps, preferred_app, recovery) = self.ways_of(&person, records);
        // The code is the point: 2-step sign-in being off, or a remembered browser, changes
        // nothing here.
        let facts = Facts {
            two_factor_on: true,
            policy_required: true,
            remembered_browser: false,
            phones: phones.len(),
            apps: apps.len(),
            preferred_app,
        };
        let flow_person = FlowPerson {
            user_id: person.id.clone(),
            dn: person.dn.clone(),
            login: person.login.clone(),
            display_name: person.display_name.clone(),
            is_admin: user.is_admin,
            phones,
            apps,
            recovery,
            step_up: Some(StepUpOf { sid: user.sid.clone(), signed_in_at: user.signed_in_at }),
        };
        self.audit(client, "sign_in.step_up", Some((&person.id, &person.login)), "started", None)
            .await;
        let (flow_id, notice) = self.start_flow(client, flow_person, facts).await?;
        // Adding a phone here is what the app asks for, not the organisation's policy.
        let notice = notice.map(|n| match n.id.as_str() {
            "enrol.required" => Notice::info("enrol.app_requires"),
            _ => n,
        });
        Ok((flow_id, notice))
    }

    /// Stores a new flow for `person` at the second step `facts` lead to and, with one phone,
    /// texts it at once.
    async fn start_flow(
        &self,
        client: &Client,
        person: FlowPerson,
        facts: Facts,
    ) -> Result<(String, Option<Notice>), SignInError> {
        let state = match flow::start(facts) {
            Start::EnrolNumber => State::EnrolNumber,
            Start::AskApp(app) => State::AppCode { app },
            _ => State::ChooseMethod,
        };
        let mut record = FlowRecord {
            id: random_token(FLOW_ID_BYTES),
            person,
            state,
            last_sent_at: None,
            version: 0,
            expires_at: client.now + self.settings.flow_lifetime_secs,
        };
        let notice = match flow::start(facts) {
            // Texted before the flow is stored, so that one INSERT stores the flow and the
            // text's outcome (nobody can answer a flow whose id is not handed out yet). A
            // refusal (a send limit, the second step locked) stores the flow at the phone list
            // with the reason shown: the password was right, so it is not repeated.
            Start::SendTo(phone) => {
                match self.send_code(client, &mut record, phone, Channel::Text, Save::Create).await
                {
                    Ok(notice) => return Ok((record.id, notice)),
                    Err(e) => Some(e.notice()),
                }
            }
            Start::EnrolNumber => Some(Notice::info("enrol.required")),
            _ => None,
        };
        self.store.create_flow(&record, client.now).await?;
        Ok((record.id, notice))
    }

    /// The person's ways of signing in from their records: the phones that may receive codes
    /// (those Latchkey verified, unless the directory is trusted; preferred first, then in
    /// directory order), their apps (preferred first), which app is preferred, and whether
    /// they have recovery codes left. A number that is not verified is not a phone for signing
    /// in at all: it is neither offered nor counted.
    fn ways_of(
        &self,
        person: &Person,
        records: FactorRecords,
    ) -> (Vec<E164>, Vec<AppRef>, Option<usize>, bool) {
        let mut phones = self.phone_trust.usable_of(person, &records.verified);
        if let Some(preferred) = records.preferred_phone()
            && let Some(i) = phones.iter().position(|p| p.as_str() == preferred)
        {
            let p = phones.remove(i);
            phones.insert(0, p);
        }
        let Factors { mut apps, recovery } =
            self.authenticators.factors_of(records.apps, records.recovery);
        apps.sort_by_key(|a| !a.preferred);
        let preferred = apps.first().filter(|a| a.preferred).map(|_| 0);
        let apps = apps.into_iter().map(|a| AppRef { id: a.id, name: a.name }).collect();
        (phones, apps, preferred, recovery.remaining > 0)
    }

    async fn check_remembered(
        &self,
        user_id: &UserId,
        token: &str,
        now: i64,
    ) -> Result<bool, SignInError> {
        let Some((id, secret)) = token.split_once('.') else {
            return Ok(false);
        };
        if id.len() > 64 || secret.len() > 128 {
            return Ok(false);
        }
        let Some(stored) = self.store.trusted_browser_digest(id, user_id, now).await? else {
            return Ok(false);
        };
        if !self.tokens.token_matches(id, secret, &stored) {
            tracing::warn!("a remembered-browser cookie with a wrong secret was presented");
            return Ok(false);
        }
        self.store.trusted_browser_used(id, now).await?;
        Ok(true)
    }

    /// Audits `sign_in.success`; after `proof`, the accepted code's own event of the same
    /// decision, in the same write (one statement fewer on the code step).
    async fn signed_in(
        &self,
        client: &Client,
        person: &FlowPerson,
        method: AuthMethod,
        proof: Option<&'static str>,
    ) -> Authenticated {
        let actor = Some((person.user_id.as_str(), person.login.as_str()));
        let entry =
            |kind, outcome| audit::Entry { kind, actor, subject: None, outcome, detail: None };
        let mut entries: Vec<audit::Entry<'_>> =
            proof.map(|kind| entry(kind, "accepted")).into_iter().collect();
        entries.push(entry("sign_in.success", method.as_str()));
        audit::write_all(&*self.audit, client, entries).await;
        // A step up raises the sign-in that exists: same id, same start (its absolute timeout
        // does not move), a new time of proof.
        let (sid, signed_in_at) = match &person.step_up {
            Some(of) => (of.sid.clone(), of.signed_in_at),
            None => (random_token(16), client.now),
        };
        Authenticated {
            user_id: person.user_id.clone(),
            login: person.login.clone(),
            display_name: person.display_name.clone(),
            is_admin: person.is_admin,
            method,
            authenticated_at: client.now,
            signed_in_at,
            sid,
        }
    }

    async fn load(&self, flow_id: &str, now: i64) -> Result<FlowRecord, SignInError> {
        self.store.load_flow(flow_id, now).await?.ok_or(SignInError::FlowExpired)
    }

    /// Applies `event` and stores the result; refuses if another request moved the flow.
    async fn advance(
        &self,
        record: &mut FlowRecord,
        event: &Event,
        now: i64,
    ) -> Result<(), SignInError> {
        self.advance_and(record, event, Save::Update, now).await
    }

    /// Moves the flow on by `event` and stores it: an update of the stored flow, or, for a
    /// flow being started, its first INSERT.
    async fn advance_and(
        &self,
        record: &mut FlowRecord,
        event: &Event,
        save: Save,
        now: i64,
    ) -> Result<(), SignInError> {
        let next = flow::next(&record.state, event, record.person.ways()).map_err(|e| {
            tracing::info!(error = %e, "sign-in step out of order");
            SignInError::OutOfOrder
        })?;
        record.state = next;
        match save {
            Save::Create => self.store.create_flow(record, now).await?,
            Save::Update => {
                if !self.store.update_flow(record, now).await? {
                    return Err(SignInError::OutOfOrder);
                }
                record.version += 1;
            }
        }
        Ok(())
    }

    /// Issues a code, texts it to the flow's phone `phone` (or calls it: `wanted` a call, or
    /// the phone a landline), and records the outcome in the flow. Never claims a text was sent
    /// when the provider did not take it.
    async fn send_code(
        &self,
        client: &Client,
        record: &mut FlowRecord,
        phone: usize,
        wanted: Channel,
        save: Save,
    ) -> Result<Option<Notice>, SignInError> {
        let number = record.person.phones.get(phone).cloned().ok_or(SignInError::OutOfOrder)?;
        let channel = self.texter.channel_for(&number, wanted);
        self.text_code(client, record, &number, (Purpose::SignIn, channel, save), |ok| {
            if ok {
                Event::TextSent { phone, channel }
            } else {
                Event::TextFailed { phone, channel }
            }
        })
        .await
    }

    async fn text_code(
        &self,
        client: &Client,
        record: &mut FlowRecord,
        number: &E164,
        (purpose, channel, save): (Purpose, Channel, Save),
        event: impl Fn(bool) -> Event,
    ) -> Result<Option<Notice>, SignInError> {
        let user = (&record.person.user_id, record.person.login.as_str());
        let request = SendRequest {
            user_id: record.person.user_id.as_str(),
            number,
            client_ip: &client.ip,
            now: client.now,
            channel,
        };
        // The audit trail says whether the code was texted or called.
        let sent_kind = match channel {
            Channel::Text => "sign_in.code_sent",
            Channel::Call => "sign_in.code_called",
        };
        let outcome = match self.texter.send_code(&record.id, purpose, &request, client.lang).await
        {
            Ok(outcome) => outcome,
            Err(e) => {
                if let CodeError::Locked { .. } = e {
                    self.audit(client, "sign_in.locked", Some(user), "second_step", None).await;
                } else {
                    self.audit(client, sent_kind, Some(user), "refused", Some(format!("{e}")))
                        .await;
                }
                return Err(SignInError::Code(e));
            }
        };
        match outcome {
            TextOutcome::Sent => {
                self.audit(client, sent_kind, Some(user), "sent", Some(number.masked())).await;
                record.last_sent_at = Some(client.now);
                self.advance_and(record, &event(true), save, client.now).await?;
                Ok(Some(Notice::info(match channel {
                    Channel::Text => "otp.sent",
                    Channel::Call => "otp.called",
                })))
            }
            TextOutcome::NotSent(e) => {
                self.audit(
                    client,
                    sent_kind,
                    Some(user),
                    "failed",
                    Some(failure_detail(number, &e)),
                )
                .await;
                self.advance_and(record, &event(false), save, client.now).await?;
                Ok(Some(Notice::error(e.message_id())))
            }
        }
    }

    /// The person picked phone `phone` from the list, to be texted or called (`channel`; a
    /// landline is always called).
    pub async fn choose_phone(
        &self,
        client: &Client,
        flow_id: &str,
        phone: usize,
        channel: Channel,
    ) -> Result<Option<Notice>, SignInError> {
        let mut record = self.load(flow_id, client.now).await?;
        flow::next(&record.state, &Event::TextSent { phone, channel }, record.person.ways())
            .map_err(|_| SignInError::OutOfOrder)?;
        self.send_code(client, &mut record, phone, channel, Save::Update).await
    }

    /// "Send a new code" (`channel` a text), "Call me instead" or "Call again" (a call) to the
    /// phone of the current step; the code replaces the one before. A landline is always
    /// called.
    pub async fn resend(
        &self,
        client: &Client,
        flow_id: &str,
        channel: Channel,
    ) -> Result<Option<Notice>, SignInError> {
        let mut record = self.load(flow_id, client.now).await?;
        if let Some(phone) = record.state.phone() {
            return self.send_code(client, &mut record, phone, channel, Save::Update).await;
        }
        if let Some(number) = record.state.enrol_number().cloned() {
            return self.text_enrol_code(client, &mut record, &number, channel).await;
        }
        Err(SignInError::OutOfOrder)
    }

    /// "Use another way": back to the list of ways.
    pub async fn use_another_way(&self, client: &Client, flow_id: &str) -> Result<(), SignInError> {
        let mut record = self.load(flow_id, client.now).await?;
        self.advance(&mut record, &Event::UseAnotherWay, client.now).await
    }

    /// The person picked authenticator app `app` from the list.
    pub async fn choose_app(
        &self,
        client: &Client,
        flow_id: &str,
        app: usize,
    ) -> Result<(), SignInError> {
        let mut record = self.load(flow_id, client.now).await?;
        self.advance(&mut record, &Event::AppChosen { app }, client.now).await
    }

    /// The person chose to type a recovery code.
    pub async fn choose_recovery(&self, client: &Client, flow_id: &str) -> Result<(), SignInError> {
        let mut record = self.load(flow_id, client.now).await?;
        self.advance(&mut record, &Event::RecoveryChosen, client.now).await
    }

    /// Checks the typed code. On success the flow ends and the person is signed in.
    #[tracing::instrument(skip_all, fields(ip = %client.ip))]
    pub async fn verify_code(
        &self,
        client: &Client,
        flow_id: &str,
        input: &str,
        remember: bool,
    ) -> Result<StepOutcome, SignInError> {
        // The person's second-step failures come with the flow: one read, not two.
        let (record, second_step) = self
            .store
            .load_flow_and_second_step(flow_id, client.now)
            .await?
            .ok_or(SignInError::FlowExpired)?;
        let (method, number, recovery_left) = match &record.state {
            State::CodeSent { channel, .. } => {
                let number =
                    self.verify_text(client, &record, second_step, Purpose::SignIn, input).await?;
                let method = match channel {
                    Channel::Text => AuthMethod::PasswordAndSms,
                    Channel::Call => AuthMethod::PasswordAndCall,
                };
                (method, Some(number), None)
            }
            State::EnrolCodeSent { number: new_number, .. } => {
                let number =
                    self.verify_text(client, &record, second_step, Purpose::Enrol, input).await?;
                // The code proves the number it was texted to. When two enrolment posts raced,
                // the flow may name another number than the newest code's: storing that one
                // would make an unproved number a factor.
                if number != new_number.as_str() {
                    tracing::warn!("an enrolment code was for another number than the flow's");
                    let detail = Some("number_mismatch".to_owned());
                    let user = (&record.person.user_id, record.person.login.as_str());
                    self.audit(client, "sign_in.code", Some(user), "rejected", detail).await;
                    return Err(SignInError::OutOfOrder);
                }
                self.finish_enrolment(client, &record, new_number).await?;
                // A code to a number given during this very sign-in proves the phone, not the
                // person.
                (AuthMethod::PasswordAndNewPhone, Some(number), None)
            }
            State::AppCode { app } => {
                self.verify_app(client, &record, *app, input).await?;
                (AuthMethod::PasswordAndApp, None, None)
            }
            State::RecoveryCode => {
                let left = self.verify_recovery(client, &record, input).await?;
                (AuthMethod::PasswordAndRecoveryCode, None, Some(left))
            }
            _ => return Err(SignInError::OutOfOrder),
        };
        // The last transition is checked like any other, and the flow ends in the same write
        // that checks no other request moved it.
        flow::next(&record.state, &Event::CodeAccepted, record.person.ways()).map_err(|e| {
            tracing::info!(error = %e, "sign-in step out of order");
            SignInError::OutOfOrder
        })?;
        if !self.store.finish_flow(&record, client.now).await? {
            return Err(SignInError::OutOfOrder);
        }
        if let Some(number) = &number {
            self.store.phone_used(&record.person.user_id, number, client.now).await?;
        }
        // A texted or called code's acceptance is audited with the success it leads to.
        let proof = number.is_some().then_some("sign_in.code");
        let signed_in = self.signed_in(client, &record.person, method, proof).await;
        let remember = if remember && self.settings.remember_browser_days > 0 {
            Some(self.remember_browser(client, &signed_in.user_id).await?)
        } else {
            None
        };
        if recovery_left.is_some() {
            // A recovery code is a way in without any phone or app: the phones hear of it.
            let text = self.texter.notice(client.lang, "text.recovery_code_used", "");
            let about = NoticeFor::own(&*self.audit, client, &signed_in);
            for phone in &record.person.phones {
                self.texter.notify(&about, phone, &text).await;
            }
        }
        let notice = recovery_left.map(|left| Notice::counted("sign_in.recovery_used", left));
        Ok(StepOutcome::SignedIn { user: signed_in, remember, notice })
    }

    /// Checks a texted code of the flow; the number it was sent to.
    async fn verify_text(
        &self,
        client: &Client,
        record: &FlowRecord,
        second_step: SecondStep,
        purpose: Purpose,
        input: &str,
    ) -> Result<String, SignInError> {
        let user = (&record.person.user_id, record.person.login.as_str());
        let user_id = record.person.user_id.as_str();
        let checked = self
            .texter
            .codes()
            .verify_knowing(second_step, &record.id, purpose, user_id, input, client.now)
            .await;
        self.code_checked(client, user, "sign_in.code", checked).await
    }

    /// Audits a typed code's refusal (a lock under its own kind) and passes the result on.
    async fn code_checked<T>(
        &self,
        client: &Client,
        user: (&UserId, &str),
        kind: &'static str,
        checked: Result<T, CodeError>,
    ) -> Result<T, SignInError> {
        match checked {
            Ok(value) => Ok(value),
            Err(e) => {
                let kind =
                    if matches!(e, CodeError::Locked { .. }) { "sign_in.locked" } else { kind };
                let detail = Some(e.message_id().to_owned());
                self.audit(client, kind, Some(user), "rejected", detail).await;
                Err(SignInError::Code(e))
            }
        }
    }

    /// Checks the code of the flow's app `app`, as the app is stored now (one removed since the
    /// flow started is gone).
    async fn verify_app(
        &self,
        client: &Client,
        record: &FlowRecord,
        app: usize,
        input: &str,
    ) -> Result<(), SignInError> {
        let person = &record.person;
        let wanted = person.apps.get(app).ok_or(SignInError::OutOfOrder)?;
        let user = (&person.user_id, person.login.as_str());
        let Some(stored) = self.authenticators.app(&person.user_id, &wanted.id).await? else {
            tracing::info!("the app of this sign-in was removed meanwhile");
            return Err(SignInError::OutOfOrder);
        };
        let checked =
            self.authenticators.verify_app(&person.user_id, &stored, input, client.now).await;
        self.code_checked(client, user, "sign_in.app_code", checked).await?;
        self.audit(client, "sign_in.app_code", Some(user), "accepted", Some(stored.name)).await;
        Ok(())
    }

    /// Uses one of the person's recovery codes; how many are left.
    async fn verify_recovery(
        &self,
        client: &Client,
        record: &FlowRecord,
        input: &str,
    ) -> Result<u32, SignInError> {
        let person = &record.person;
        let user = (&person.user_id, person.login.as_str());
        let checked =
            self.authenticators.use_recovery_code(&person.user_id, input, client.now).await;
        let left = self.code_checked(client, user, "sign_in.recovery_code", checked).await?;
        let detail = Some(format!("{left} left"));
        self.audit(client, "sign_in.recovery_code", Some(user), "accepted", detail).await;
        Ok(left)
    }

    async fn remember_browser(
        &self,
        client: &Client,
        user_id: &UserId,
    ) -> Result<BrowserToken, SignInError> {
        let id = random_token(12);
        let secret = random_token(32);
        let digest = self.tokens.token_digest(&id, &secret);
        let description = describe_browser(&client.user_agent);
        self.store
            .add_trusted_browser(&NewTrustedBrowser {
                id: &id,
                user_id: user_id.as_str(),
                digest: &digest,
                description: &description,
                created_at: client.now,
                expires_at: client.now + i64::from(self.settings.remember_browser_days) * 86_400,
            })
            .await?;
        Ok(BrowserToken(format!("{id}.{secret}")))
    }

    /// Policy requires a phone and the person has none: they give a number to prove.
    pub async fn enrol_number(
        &self,
        client: &Client,
        flow_id: &str,
        input: &str,
    ) -> Result<Option<Notice>, SignInError> {
        let mut record = self.load(flow_id, client.now).await?;
        if !matches!(
            record.state,
            State::EnrolNumber | State::EnrolSendFailed { .. } | State::EnrolCodeSent { .. }
        ) {
            return Err(SignInError::OutOfOrder);
        }
        let number = self.phones.parse(input).map_err(|e| SignInError::Phone(e.message_id()))?;
        if number.voice_only() && !self.texter.places_calls() {
            return Err(SignInError::Phone(PhoneRejection::LandlineNeedsCalls.message_id()));
        }
        let owners = self.directory.phone_owners(&number).await?;
        if owners.iter().any(|owner| owner != &record.person.user_id) {
            return Err(SignInError::NumberTaken);
        }
        self.text_enrol_code(client, &mut record, &number, Channel::Text).await
    }

    /// Sends the enrolment code to the new number: a text, or a call (asked for, or a
    /// landline).
    async fn text_enrol_code(
        &self,
        client: &Client,
        record: &mut FlowRecord,
        number: &E164,
        wanted: Channel,
    ) -> Result<Option<Notice>, SignInError> {
        let n = number.clone();
        let channel = self.texter.channel_for(number, wanted);
        self.text_code(client, record, number, (Purpose::Enrol, channel, Save::Update), move |ok| {
            if ok {
                Event::EnrolTextSent { number: n.clone(), channel }
            } else {
                Event::EnrolTextFailed { number: n.clone(), channel }
            }
        })
        .await
    }

    pub async fn change_number(&self, client: &Client, flow_id: &str) -> Result<(), SignInError> {
        let mut record = self.load(flow_id, client.now).await?;
        self.advance(&mut record, &Event::ChangeNumber, client.now).await
    }

    async fn finish_enrolment(
        &self,
        client: &Client,
        record: &FlowRecord,
        number: &E164,
    ) -> Result<(), SignInError> {
        let person = Person {
            id: record.person.user_id.clone(),
            dn: record.person.dn.clone(),
            login: record.person.login.clone(),
            display_name: record.person.display_name.clone(),
            mail: None,
            phones: record.person.phones.clone(),
            language: None,
        };
        self.directory.add_phone(&person, number).await?;
        // After the directory write: if this fails the number is there but unverified, which
        // fails closed (it is not a factor until proved again).
        self.phone_trust
            .record(&person.id, number, VerifiedBy::SignInEnrolment, client.now)
            .await?;
        self.store.add_phone_metadata(&person.id, number, client.now).await?;
        self.store.set_two_factor(&person.id, true, client.now).await?;
        self.audit(
            client,
            "phone.enrolled",
            Some((&person.id, &person.login)),
            "added",
            Some(number.masked()),
        )
        .await;
        Ok(())
    }

    /// Abandons a flow ("start again").
    pub async fn cancel(&self, flow_id: &str) -> Result<(), SignInError> {
        Ok(self.store.delete_flow(flow_id).await?)
    }

    pub async fn sign_out(&self, client: &Client, user: &Authenticated) {
        self.audit(client, "sign_out", Some((&user.user_id, &user.login)), "signed_out", None)
            .await;
    }

    /// What the page shows for a flow; `None` when it is gone or expired.
    pub async fn view(&self, flow_id: &str, now: i64) -> Result<Option<FlowView>, SignInError> {
        let Some(record) = self.store.load_flow(flow_id, now).await? else {
            return Ok(None);
        };
        let resend_in = record
            .last_sent_at
            .map(|at| (at + self.settings.resend_after_secs - now).max(0))
            .unwrap_or(0);
        Ok(Some(FlowView {
            state: record.state,
            display_name: record.person.display_name,
            phones: record.person.phones.iter().map(E164::masked).collect(),
            voice_only: record.person.phones.iter().map(E164::voice_only).collect(),
            calls: self.texter.places_calls(),
            apps: record.person.apps.into_iter().map(|a| a.name).collect(),
            recovery: record.person.recovery,
            resend_in,
            expires_in: (record.expires_at - now).max(0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_a_catalog_message() {
        let all = [
            SignInError::Failed,
            SignInError::Throttled { retry_after: 5 },
            SignInError::FlowExpired,
            SignInError::OutOfOrder,
            SignInError::Code(CodeError::Expired),
            SignInError::Phone("phone.invalid"),
            SignInError::NumberTaken,
            SignInError::Unavailable,
        ];
        for e in all {
            let n = e.notice();
            assert!(messages::has(&n.id), "{e:?} → {}", n.id);
            assert!(n.error);
        }
        assert_eq!(SignInError::Throttled { retry_after: 0 }.notice().retry_after, Some(1));
    }

    #[test]
    fn only_what_a_flow_id_looks_like_is_one() {
        let id = random_token(FLOW_ID_BYTES);
        assert!(is_flow_id(&id), "{id}");
        let cases = [
            "",
            &id[1..],
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef0123456789abcde\u{0660}",
            "' OR 1=1 --                     ",
        ];
        for bad in cases {
            assert!(!is_flow_id(bad), "{bad:?}");
        }
        assert!(!is_flow_id(&format!("{id}0")));
    }
}
