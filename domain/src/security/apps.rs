//! The security page's authenticator apps and recovery codes: adding an app (a secret shown as
//! a QR code and as text, proved by one of its codes), naming, preferring and removing apps,
//! and a new set of recovery codes. Every change needs a recent sign-in and tells the person's
//! phones, like changes to phones.

use crate::authenticated::Authenticated;
use crate::authenticator::{EnrolError, Enrolment, StoredApp};
use crate::client::Client;
use crate::notice::Notice;
use crate::texting::NoticeFor;

use super::{RemovalPlan, SecurityError, SecurityService};

/// An app as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppView {
    pub id: String,
    pub name: String,
    pub preferred: bool,
    pub added_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<&StoredApp> for AppView {
    fn from(a: &StoredApp) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            preferred: a.preferred,
            added_at: a.created_at,
            last_used_at: a.last_used_at,
        }
    }
}

impl From<EnrolError> for SecurityError {
    fn from(e: EnrolError) -> Self {
        match e {
            EnrolError::Code(e) => SecurityError::Code(e),
            EnrolError::NameTooLong => SecurityError::NicknameTooLong,
            EnrolError::TooMany => SecurityError::TooManyApps,
            EnrolError::Expired => SecurityError::OutOfOrder,
            EnrolError::Unavailable => SecurityError::Unavailable,
        }
    }
}

impl SecurityService {
    fn require_method(&self, on: bool) -> Result<(), SecurityError> {
        if on { Ok(()) } else { Err(SecurityError::MethodOff) }
    }

    /// Texts the person's second-factor phones `text_id` (a change to their credentials).
    async fn tell_phones(&self, client: &Client, user: &Authenticated, text_id: &'static str) {
        let Ok(person) = self.person(user).await else {
            return;
        };
        let Ok(phones) = self.p.phone_trust.usable(&person).await else {
            return;
        };
        let text = self.p.texter.notice(client.lang, text_id, "");
        for phone in &phones {
            self.p.texter.notify(&NoticeFor::own(&*self.p.audit, client, user), phone, &text).await;
        }
    }

    /// Starts adding an app: a new secret, sealed for the session (`Enrolment::sealed`).
    pub fn start_app(&self, user: &Authenticated, now: i64) -> Result<Enrolment, SecurityError> {
        self.require_method(self.p.authenticators.methods().totp)?;
        self.require_recent(user, now)?;
        Ok(self.p.authenticators.start_enrolment(&user.user_id, &user.login)?)
    }

    /// The enrolment in progress again (the page after a wrong code).
    pub fn resume_app(
        &self,
        user: &Authenticated,
        sealed: &str,
    ) -> Result<Enrolment, SecurityError> {
        Ok(self.p.authenticators.resume_enrolment(&user.user_id, &user.login, sealed)?)
    }

    /// Finishes adding an app with one of its codes.
    pub async fn finish_app(
        &self,
        client: &Client,
        user: &Authenticated,
        sealed: &str,
        name: &str,
        code: &str,
    ) -> Result<Notice, SecurityError> {
        self.require_method(self.p.authenticators.methods().totp)?;
        let app = self
            .p
            .authenticators
            .finish_enrolment(&user.user_id, sealed, name, code, client.now)
            .await?;
        self.audit(client, user, "app.added", "added", Some(app.name.clone())).await;
        self.tell_phones(client, user, "text.app_added").await;
        Ok(Notice::info("security.app_added"))
    }

    pub(super) async fn find_app(
        &self,
        user: &Authenticated,
        id: &str,
    ) -> Result<StoredApp, SecurityError> {
        self.p.authenticators.app(&user.user_id, id).await?.ok_or(SecurityError::NoSuchApp)
    }

    pub async fn rename_app(
        &self,
        client: &Client,
        user: &Authenticated,
        id: &str,
        name: &str,
    ) -> Result<Notice, SecurityError> {
        if !self.p.authenticators.rename_app(&user.user_id, id, name).await? {
            return Err(SecurityError::NoSuchApp);
        }
        self.audit(client, user, "app.renamed", "renamed", None).await;
        Ok(Notice::info("security.app_renamed"))
    }

    pub async fn prefer_app(
        &self,
        client: &Client,
        user: &Authenticated,
        id: &str,
    ) -> Result<Notice, SecurityError> {
        if !self.p.authenticators.prefer_app(&user.user_id, id, client.now).await? {
            return Err(SecurityError::NoSuchApp);
        }
        self.audit(client, user, "app.preferred", "preferred", None).await;
        Ok(Notice::info("security.app_preferred"))
    }

    /// What removing app `id` would do (for the confirmation), or why it may not.
    pub async fn plan_app_removal(
        &self,
        client: &Client,
        user: &Authenticated,
        id: &str,
    ) -> Result<RemovalPlan, SecurityError> {
        self.require_recent(user, client.now)?;
        let app = self.find_app(user, id).await?;
        // The person's second factors (phones that receive codes, and apps) less this one.
        let (count, two_factor_on) = self.factor_count(user).await?;
        let left = count.saturating_sub(1);
        let below = left < self.p.settings.min_credentials;
        if below && self.p.settings.policy_required {
            return Err(SecurityError::RequiredByPolicy);
        }
        Ok(RemovalPlan {
            key: app.id,
            label: app.name,
            turns_off_two_factor: below && two_factor_on,
        })
    }

    /// Removes an app the person confirmed (everything checked again).
    pub async fn remove_app(
        &self,
        client: &Client,
        user: &Authenticated,
        id: &str,
    ) -> Result<Notice, SecurityError> {
        let plan = self.plan_app_removal(client, user, id).await?;
        if !self.p.authenticators.remove_app(&user.user_id, id).await? {
            return Err(SecurityError::NoSuchApp);
        }
        // A session that saw this app's code must not outlive its removal.
        self.p.generations.bump(&user.user_id, client.now).await?;
        if plan.turns_off_two_factor {
            self.p.sign_in_store.set_two_factor(&user.user_id, false, client.now).await?;
            self.audit(client, user, "two_factor.off", "app_removed", None).await;
        }
        self.audit(client, user, "app.removed", "removed", Some(plan.label)).await;
        self.tell_phones(client, user, "text.app_removed").await;
        Ok(Notice::info(if plan.turns_off_two_factor {
            "security.app_removed_two_factor_off"
        } else {
            "security.app_removed"
        }))
    }

    /// Seals a new set for the page that shows it once (see [`Authenticators::seal_codes`]).
    ///
    /// [`Authenticators::seal_codes`]: crate::authenticator::Authenticators::seal_codes
    pub fn seal_codes(
        &self,
        user: &Authenticated,
        codes: &[String],
    ) -> Result<String, SecurityError> {
        Ok(self.p.authenticators.seal_codes(&user.user_id, codes)?)
    }

    /// The set sealed by [`Self::seal_codes`]; empty when it does not open.
    pub fn open_codes(&self, user: &Authenticated, sealed: &str) -> Vec<String> {
        self.p.authenticators.open_codes(&user.user_id, sealed)
    }

    /// A new set of recovery codes (the old set void), to be shown once.
    pub async fn new_recovery_codes(
        &self,
        client: &Client,
        user: &Authenticated,
    ) -> Result<Vec<String>, SecurityError> {
        self.require_method(self.p.authenticators.methods().recovery_codes)?;
        self.require_recent(user, client.now)?;
        let codes = self.p.authenticators.new_recovery_codes(&user.user_id, client.now).await?;
        self.audit(client, user, "recovery_codes.generated", "generated", None).await;
        self.tell_phones(client, user, "text.recovery_codes_generated").await;
        Ok(codes)
    }
}
