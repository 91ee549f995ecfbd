//! Administrators: find people, see their second factors, remove a phone or reset a person to
//! password-only, and read the audit trail. Every operation starts with [`AdminService::authorize`],
//! which asks the directory again: a session flag is never trusted for this.

use crate::audit::AuditFilter;
use crate::ports::AuditTrail;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::authenticator::{Authenticators, RecoveryStatus};
use super::codes::{CodeError, CodeHasher, SecondStep};
use super::phone::E164;
use super::security::AppView;
use super::texting::{NoticeFor, Texter};
use super::verified::PhoneTrust;
use super::{
    audit::{self as audit, StoredAuditEvent},
    ports::AuditLog,
};
use super::{authenticated::Authenticated, client::Client, notice::Notice, ports::SignInStore};
use super::{
    directory::{Person, UserId, Username},
    ports::Directory,
};
use super::{ports::AccountStore, security::TrustedBrowser};

/// The trail's filters as an administrator types them: logins, a kind prefix, a time range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailQuery {
    pub person: String,
    pub actor: String,
    pub kind: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// How many people one page or export of the audit trail reads from the directory for logins.
pub const MAX_SUBJECT_LOOKUPS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// Not signed in, or not (any more) a member of the administrators group.
    #[error("not an administrator")]
    Forbidden,
    #[error("search term too short")]
    TermTooShort,
    #[error("no such person")]
    NoSuchPerson,
    #[error("no such app")]
    NoSuchApp,
    #[error("no such phone")]
    NoSuchPhone,
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the confirmation box was not ticked")]
    NotConfirmed,
    #[error("recent sign-in required")]
    ReauthRequired,
    #[error("bad filter: {0}")]
    BadFilter(&'static str),
    #[error("unavailable")]
    Unavailable,
}

impl AdminError {
    pub fn notice(&self) -> Notice {
        Notice::error(match self {
            AdminError::Forbidden => "admin.forbidden",
            AdminError::TermTooShort => "admin.term_too_short",
            AdminError::NoSuchPerson => "admin.no_such_person",
            AdminError::NoSuchPhone => "security.no_such_phone",
            AdminError::NoSuchApp => "security.no_such_app",
            AdminError::ReasonRequired => "admin.reason_required",
            AdminError::NotConfirmed => "admin.not_confirmed",
            AdminError::ReauthRequired => "admin.reauth_needed",
            AdminError::BadFilter(id) => id,
            AdminError::Unavailable => "error.unavailable",
        })
    }
}

unavailable_from!(AdminError);

impl From<CodeError> for AdminError {
    /// The code engine's answers to an administrator are reads and deletes: only the store
    /// failing can go wrong.
    fn from(_: CodeError) -> Self {
        AdminError::Unavailable
    }
}

/// A row of the people list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id: UserId,
    pub login: String,
    pub name: String,
    pub mail: Option<String>,
    pub two_factor_on: bool,
    pub phones: usize,
    /// Authenticator apps.
    pub apps: u32,
    /// Unused recovery codes.
    pub recovery_codes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeoplePage {
    pub rows: Vec<PersonRow>,
    pub has_more: bool,
}

/// A phone as an administrator sees it: the whole number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPhone {
    pub key: String,
    pub number: String,
    pub nickname: Option<String>,
    pub added_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// Latchkey proved it (or an operator vouched for it); unverified numbers get no codes.
    pub verified: bool,
}

#[derive(Debug, Clone)]
pub struct PersonDetail {
    pub id: UserId,
    pub login: String,
    pub name: String,
    pub mail: Option<String>,
    pub two_factor_on: bool,
    pub phones: Vec<AdminPhone>,
    pub apps: Vec<AppView>,
    pub recovery: RecoveryStatus,
    pub browsers: Vec<TrustedBrowser>,
    pub activity: Vec<StoredAuditEvent>,
}

pub struct AdminParts {
    pub directory: Arc<dyn Directory>,
    pub accounts: Arc<dyn AccountStore>,
    pub sign_in_store: Arc<dyn SignInStore>,
    /// A person's 2-step setting, phones and apps, read at once.
    pub records: Arc<dyn super::ports::FactorRecordsStore>,
    pub audit: Arc<dyn AuditLog>,
    /// Ends the person's sessions when an administrator removes a factor or resets them.
    pub generations: Arc<dyn super::ports::SessionGenerations>,
    pub trail: Arc<dyn AuditTrail>,
    pub texter: Texter,
    pub authenticators: Arc<Authenticators>,
    /// Whether each of a person's numbers is verified; forgets a removed number's record.
    pub phone_trust: PhoneTrust,
    pub keys: CodeHasher,
    pub reauth_window_secs: i64,
    pub page_size: usize,
}

pub struct AdminService {
    p: AdminParts,
}

impl std::fmt::Debug for AdminService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminService").finish_non_exhaustive()
    }
}

/// Longest reason an administrator may give, in characters.
pub const MAX_REASON: usize = 500;

impl AdminService {
    pub fn new(parts: AdminParts) -> Self {
        Self { p: parts }
    }

    pub fn page_size(&self) -> usize {
        self.p.page_size
    }

    async fn audit(
        &self,
        client: &Client,
        actor: Option<&Authenticated>,
        kind: &'static str,
        subject: Option<&UserId>,
        outcome: &str,
        detail: Option<String>,
    ) {
        let actor = actor.map(|a| (a.user_id.as_str(), a.login.as_str()));
        let entry =
            audit::Entry { kind, actor, subject: subject.map(UserId::as_str), outcome, detail };
        audit::write(&*self.p.audit, client, entry).await;
    }

    /// The caller is an administrator now, by the directory's word. Refusing someone signed in
    /// is audited; refusing someone anonymous is only counted (see
    /// [`AuditLog::anonymous_refusal`]).
    pub async fn authorize(
        &self,
        client: &Client,
        user: Option<&Authenticated>,
        what: &str,
    ) -> Result<(), AdminError> {
        let allowed = match user {
            Some(user) => match self.p.directory.find_by_id(&user.user_id).await? {
                Some(person) => self.p.directory.is_admin(&person).await?,
                None => false,
            },
            None => false,
        };
        if allowed {
            return Ok(());
        }
        if user.is_none() {
            tracing::debug!(what, "refused an administrator operation to someone not signed in");
            self.p.audit.anonymous_refusal(what);
            return Err(AdminError::Forbidden);
        }
        tracing::warn!(what, "refused an administrator operation");
        self.audit(client, user, "admin.denied", None, "refused", Some(what.to_owned())).await;
        Err(AdminError::Forbidden)
    }

    pub async fn search(&self, term: &str, page: usize) -> Result<PeoplePage, AdminError> {
        let term = term.trim();
        if term.chars().count() < 2 {
            return Err(AdminError::TermTooShort);
        }
        let size = self.p.page_size;
        let skip = page.saturating_mul(size);
        // Paged results cookies belong to one connection: each page reads through the earlier
        // ones again, a page of the control at a time, and stops one past the page.
        let people = self.p.directory.search_people(term, skip + size + 1).await?;
        let has_more = people.len() > skip + size;
        let people: Vec<Person> = people.into_iter().skip(skip).take(size).collect();
        let ids: Vec<UserId> = people.iter().map(|p| p.id.clone()).collect();
        let counts = self.p.authenticators.counts(&ids).await?;
        let mut rows = Vec::new();
        for person in people {
            let (apps, recovery_codes) =
                counts.get(person.id.as_str()).copied().unwrap_or_default();
            rows.push(PersonRow {
                two_factor_on: self.p.sign_in_store.two_factor_enabled(&person.id).await?,
                phones: person.phones.len(),
                apps,
                recovery_codes,
                id: person.id,
                login: person.login,
                name: person.display_name,
                mail: person.mail,
            });
        }
        Ok(PeoplePage { rows, has_more })
    }

    async fn subject(&self, id: &str) -> Result<Person, AdminError> {
        // entryUUIDs and other ids are short, printable ASCII; anything else is no id of ours.
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AdminError::NoSuchPerson);
        }
        self.p.directory.find_by_id(&UserId(id.to_owned())).await?.ok_or(AdminError::NoSuchPerson)
    }

    /// The logins of the people `events` are about, by id, for showing who an administrator's
    /// change was made to. An event keeps its actor's login, so only people other than the
    /// actor are read from the directory: once each, at most [`MAX_SUBJECT_LOOKUPS`]; someone
    /// no longer there, or a directory that fails, leaves the id to be shown.
    pub async fn subject_logins(&self, events: &[StoredAuditEvent]) -> HashMap<String, String> {
        let mut logins = HashMap::new();
        for e in events {
            if let (Some(subject), Some(login)) = (&e.subject_id, &e.login)
                && e.actor_id.as_ref() == Some(subject)
            {
                logins.entry(subject.clone()).or_insert_with(|| login.clone());
            }
        }
        let mut tried = HashSet::new();
        for subject in events.iter().filter_map(|e| e.subject_id.as_ref()) {
            if logins.contains_key(subject)
                || tried.len() >= MAX_SUBJECT_LOOKUPS
                || !tried.insert(subject.clone())
            {
                continue;
            }
            match self.p.directory.find_by_id(&UserId(subject.clone())).await {
                Ok(Some(person)) => {
                    logins.insert(subject.clone(), person.login);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "audit trail: people's logins not read; ids shown");
                    break;
                }
            }
        }
        logins
    }

    fn key(&self, person: &Person, number: &E164) -> String {
        let digest = self.p.keys.token_digest(person.id.as_str(), number.as_str());
        digest.chars().take(16).collect()
    }

    pub async fn person(&self, id: &str, now: i64) -> Result<PersonDetail, AdminError> {
        let person = self.subject(id).await?;
        let pid = &person.id;
        let (records, browsers, activity) = tokio::try_join!(
            async { Ok::<_, AdminError>(self.p.records.factor_records(pid).await?) },
            async { Ok::<_, AdminError>(self.p.accounts.trusted_browsers(pid, now).await?) },
            async { Ok::<_, AdminError>(self.p.audit.for_user(pid.as_str(), None, 20).await?) },
        )?;
        let (settings, verified) = (&records.phones, &records.verified);
        let phones = person
            .phones
            .iter()
            .map(|n| {
                let meta = settings.iter().find(|s| s.number == n.as_str());
                AdminPhone {
                    verified: verified.iter().any(|r| r.number == n.as_str()),
                    key: self.key(&person, n),
                    number: n.as_str().to_owned(),
                    nickname: meta.and_then(|m| m.nickname.clone()),
                    added_at: meta.map(|m| m.added_at),
                    last_used_at: meta.and_then(|m| m.last_used_at),
                }
            })
            .collect();
        let two_factor_on = records.two_factor_on;
        let factors = self.p.authenticators.factors_of(records.apps, records.recovery);
        Ok(PersonDetail {
            apps: factors.apps.iter().map(AppView::from).collect(),
            recovery: factors.recovery,
            two_factor_on,
            browsers,
            activity,
            phones,
            id: person.id,
            login: person.login,
            name: person.display_name,
            mail: person.mail,
        })
    }

    fn check_change(
        &self,
        admin: &Authenticated,
        now: i64,
        reason: &str,
        confirmed: bool,
    ) -> Result<String, AdminError> {
        if now.saturating_sub(admin.authenticated_at) > self.p.reauth_window_secs {
            return Err(AdminError::ReauthRequired);
        }
        if !confirmed {
            return Err(AdminError::NotConfirmed);
        }
        let reason: String = reason.trim().chars().filter(|c| !c.is_control()).collect();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(AdminError::ReasonRequired);
        }
        Ok(reason)
    }

    /// Removes one of a person's phones. Leaves 2-step sign-in off if no phone is left.
    pub async fn remove_phone(
        &self,
        client: &Client,
        admin: &Authenticated,
        id: &str,
        key: &str,
        reason: &str,
        confirmed: bool,
    ) -> Result<Notice, AdminError> {
        let reason = self.check_change(admin, client.now, reason, confirmed)?;
        let person = self.subject(id).await?;
        let number = person
            .phones
            .iter()
            .find(|n| self.key(&person, n) == key)
            .cloned()
            .ok_or(AdminError::NoSuchPhone)?;
        self.p.directory.remove_phone(&person, &number).await?;
        self.p.accounts.forget_phone(&person.id, number.as_str()).await?;
        self.p.phone_trust.forget(&person.id, &number).await?;
        self.p.generations.bump(&person.id, client.now).await?;
        let left: Vec<E164> = person.phones.iter().filter(|n| **n != number).cloned().collect();
        if left.is_empty() {
            self.p.sign_in_store.set_two_factor(&person.id, false, client.now).await?;
        }
        self.audit(
            client,
            Some(admin),
            "admin.phone_removed",
            Some(&person.id),
            "removed",
            Some(format!("{}: {reason}", number.masked())),
        )
        .await;
        self.tell(client, admin, &person, &left, "text.phone_removed_by_admin", number.last4())
            .await;
        Ok(Notice::info("admin.phone_removed"))
    }

    /// Removes one of a person's authenticator apps. Leaves 2-step sign-in off if no second
    /// factor (phone or app) is left.
    pub async fn remove_app(
        &self,
        client: &Client,
        admin: &Authenticated,
        id: &str,
        app_id: &str,
        reason: &str,
        confirmed: bool,
    ) -> Result<Notice, AdminError> {
        let reason = self.check_change(admin, client.now, reason, confirmed)?;
        let person = self.subject(id).await?;
        let factors = self.p.authenticators.factors(&person.id).await?;
        let app = factors.apps.iter().find(|a| a.id == app_id).ok_or(AdminError::NoSuchApp)?;
        if !self.p.authenticators.remove_app(&person.id, app_id).await? {
            return Err(AdminError::NoSuchApp);
        }
        self.p.generations.bump(&person.id, client.now).await?;
        let phones = self.p.phone_trust.usable(&person).await?;
        if phones.is_empty() && factors.apps.len() <= 1 {
            self.p.sign_in_store.set_two_factor(&person.id, false, client.now).await?;
        }
        let detail = format!("{}: {reason}", app.name);
        let kind = ("admin.app_removed", "text.app_removed_by_admin");
        self.removed(client, admin, &person, kind, detail, &phones).await;
        Ok(Notice::info("admin.app_removed"))
    }

    /// Voids a person's recovery codes.
    pub async fn remove_recovery_codes(
        &self,
        client: &Client,
        admin: &Authenticated,
        id: &str,
        reason: &str,
        confirmed: bool,
    ) -> Result<Notice, AdminError> {
        let reason = self.check_change(admin, client.now, reason, confirmed)?;
        let person = self.subject(id).await?;
        let n = self.p.authenticators.remove_recovery_codes(&person.id).await?;
        let phones = self.p.phone_trust.usable(&person).await?;
        let kind = ("admin.recovery_codes_removed", "text.recovery_codes_removed_by_admin");
        self.removed(client, admin, &person, kind, format!("{n} codes: {reason}"), &phones).await;
        Ok(Notice::info("admin.recovery_codes_removed"))
    }

    /// An administrator removed a credential of `person`: audited as `kind.0` with `detail`
    /// (what, and the reason), and the person's `phones` are texted notice `kind.1`.
    async fn removed(
        &self,
        client: &Client,
        admin: &Authenticated,
        person: &Person,
        kind: (&'static str, &'static str),
        detail: String,
        phones: &[E164],
    ) {
        self.audit(client, Some(admin), kind.0, Some(&person.id), "removed", Some(detail)).await;
        self.tell(client, admin, person, phones, kind.1, "").await;
    }

    /// Password-only: 2-step sign-in off, remembered browsers forgotten, sign-in codes
    /// unlocked (phones stay).
    pub async fn reset(
        &self,
        client: &Client,
        admin: &Authenticated,
        id: &str,
        reason: &str,
        confirmed: bool,
    ) -> Result<Notice, AdminError> {
        let reason = self.check_change(admin, client.now, reason, confirmed)?;
        let person = self.subject(id).await?;
        self.p.sign_in_store.set_two_factor(&person.id, false, client.now).await?;
        let forgotten = self.p.accounts.forget_browsers(&person.id, None, client.now).await?;
        self.p.generations.bump(&person.id, client.now).await?;
        let codes = self.p.texter.codes();
        let was_locked = codes.second_step(person.id.as_str(), client.now).await?.is_locked();
        codes.unlock(person.id.as_str()).await?;
        let unlocked = if was_locked { ", sign-in codes unlocked" } else { "" };
        self.audit(
            client,
            Some(admin),
            "admin.reset",
            Some(&person.id),
            "password_only",
            Some(format!("{forgotten} browsers forgotten{unlocked}: {reason}")),
        )
        .await;
        self.tell(client, admin, &person, &person.phones, "text.two_factor_off_by_admin", "").await;
        Ok(Notice::info("admin.reset_done"))
    }

    /// Texts `phones` of `person` that an administrator changed their account: notice
    /// `text_id` in the person's language (else the administrator's), counted against the send
    /// limits like every text, and audited when refused.
    async fn tell(
        &self,
        client: &Client,
        admin: &Authenticated,
        person: &Person,
        phones: &[E164],
        text_id: &'static str,
        last4: &str,
    ) {
        let text = self.p.texter.notice(text_language(person, client), text_id, last4);
        let about = NoticeFor::by(&*self.p.audit, client, admin, &person.id);
        for phone in phones {
            self.p.texter.notify(&about, phone, &text).await;
        }
    }

    /// Whether the person's sign-in codes are locked (for the person page), by the id of a
    /// person already read.
    pub async fn second_step(&self, person: &UserId, now: i64) -> Result<SecondStep, AdminError> {
        Ok(self.p.texter.codes().second_step(person.as_str(), now).await?)
    }

    /// Unlocks a person's sign-in codes: the only way back once too many wrong codes locked
    /// them for good (`security.max_code_failures_before_reset`); it also ends a short lock.
    /// The count of wrong codes starts again; the person's phones are told.
    pub async fn unlock(
        &self,
        client: &Client,
        admin: &Authenticated,
        id: &str,
        reason: &str,
        confirmed: bool,
    ) -> Result<Notice, AdminError> {
        let reason = self.check_change(admin, client.now, reason, confirmed)?;
        let person = self.subject(id).await?;
        let codes = self.p.texter.codes();
        let state = codes.second_step(person.id.as_str(), client.now).await?;
        if !state.is_locked() {
            return Ok(Notice::info("admin.not_locked"));
        }
        codes.unlock(person.id.as_str()).await?;
        let lock = if state.reset_required { "until unlocked" } else { "for a while" };
        self.audit(
            client,
            Some(admin),
            "admin.unlocked",
            Some(&person.id),
            "unlocked",
            Some(format!("locked {lock} after {} wrong codes: {reason}", state.failures)),
        )
        .await;
        let phones = &person.phones;
        self.tell(client, admin, &person, phones, "text.second_step_unlocked_by_admin", "").await;
        Ok(Notice::info("admin.unlocked"))
    }

    /// The trail, with `person` and `actor` given as logins (resolved through the directory).
    pub async fn trail(
        &self,
        q: &TrailQuery,
        older_than: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, AdminError> {
        let resolve = |login: &str| {
            let login = login.trim().to_owned();
            async move {
                if login.is_empty() {
                    return Ok::<_, AdminError>(None);
                }
                let username = Username::parse(&login)
                    .map_err(|_| AdminError::BadFilter("admin.audit.unknown_login"))?;
                match self.p.directory.find_by_login(&username).await? {
                    Some(p) => Ok(Some(p.id.0)),
                    None => Err(AdminError::BadFilter("admin.audit.unknown_login")),
                }
            }
        };
        let kind = q.kind.trim();
        if kind.len() > 64 || !kind.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
        {
            return Err(AdminError::BadFilter("admin.audit.bad_kind"));
        }
        let filter = AuditFilter {
            person: resolve(&q.person).await?,
            actor: resolve(&q.actor).await?,
            kind: (!kind.is_empty()).then(|| kind.to_owned()),
            from: q.from,
            to: q.to,
        };
        Ok(self.p.trail.search(&filter, older_than, limit).await?)
    }
}

/// The language of a text an administrator's action sends: the person's own when the directory
/// records one, else the administrator's.
fn text_language(person: &Person, client: &Client) -> messages::Lang {
    person.language.unwrap_or(client.lang)
}

/// `YYYY-MM-DD` as Unix seconds at 00:00 UTC (days-from-civil), for the trail's date filters.
pub fn parse_date(input: &str) -> Option<i64> {
    let mut parts = input.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days_in_month = match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d > days_in_month {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

/// One CSV field: quoted, quotes doubled, and a leading `= + - @` defused so a spreadsheet
/// never runs a cell as a formula.
pub fn csv_field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_to_utc_midnight() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2023-11-14"), Some(1_699_920_000));
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_date("2001-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1+2"), "\"'-1+2\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn every_error_maps_to_a_catalog_message() {
        for e in [
            AdminError::Forbidden,
            AdminError::TermTooShort,
            AdminError::NoSuchPerson,
            AdminError::NoSuchPhone,
            AdminError::NoSuchApp,
            AdminError::ReasonRequired,
            AdminError::NotConfirmed,
            AdminError::ReauthRequired,
            AdminError::BadFilter("admin.audit.unknown_login"),
            AdminError::BadFilter("admin.audit.bad_kind"),
            AdminError::Unavailable,
        ] {
            assert!(messages::has(&e.notice().id), "{e:?}");
        }
    }
}
