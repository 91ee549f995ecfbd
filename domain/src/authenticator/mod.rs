//! Second factors beside phones: authenticator apps (RFC 6238 TOTP, secrets sealed at rest) and
//! recovery codes (single use, keyed hashes only). [`Authenticators`] is what the sign-in, the
//! security page and the administrators' pages share: every code typed goes through the second
//! step's failure lock ([`CodeEngine::guarded`]), like a texted one.

pub mod records;
pub mod recovery;
pub mod totp;

pub use records::{AppRef, Methods, StoredApp};
pub use recovery::RecoveryStatus;
pub use totp::{Check, TotpSecret};

use std::sync::Arc;

use crate::codes::{CodeEngine, CodeError, CodeHasher};
use crate::directory::UserId;
use crate::ports::{AuthenticatorStore, SecretSealer, Unavailable};
use crate::tokens::random_token;

/// Longest app name, in characters.
pub const MAX_APP_NAME: usize = 40;
/// Most apps a person may have (each is a way in; a hundred would be a mistake or an attack).
pub const MAX_APPS: usize = 10;

/// A person's second factors other than phones, as one read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Factors {
    pub apps: Vec<StoredApp>,
    pub recovery: RecoveryStatus,
}

/// An app being added: its secret sealed for the person's session until they type a code.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Sealed, bound to the person: safe to keep in the session.
    pub sealed: String,
    /// Base32 in groups of four, for typing.
    pub grouped: String,
    /// `otpauth://…`, what the QR code carries.
    pub uri: String,
}

/// Why adding an app did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolError {
    #[error("the code is not the app's")]
    Code(CodeError),
    #[error("the name is too long")]
    NameTooLong,
    #[error("too many apps")]
    TooMany,
    #[error("the enrolment expired")]
    Expired,
    #[error("unavailable")]
    Unavailable,
}

unavailable_from!(EnrolError);

pub struct AuthenticatorParts {
    pub store: Arc<dyn AuthenticatorStore>,
    pub sealer: Arc<dyn SecretSealer>,
    /// The failure lock shared with texted codes, and the keys recovery codes are hashed with.
    pub codes: CodeEngine,
    pub hasher: CodeHasher,
    pub methods: Methods,
    /// The name apps show above the code (`branding.product_name`).
    pub issuer: String,
}

pub struct Authenticators {
    p: AuthenticatorParts,
}

impl std::fmt::Debug for Authenticators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticators").field("methods", &self.p.methods).finish_non_exhaustive()
    }
}

fn app_context(user_id: &UserId, app_id: &str) -> String {
    format!("totp:{}:{app_id}", user_id.as_str())
}

fn pending_context(user_id: &UserId) -> String {
    format!("totp-pending:{}", user_id.as_str())
}

fn recovery_kind(user_id: &UserId) -> String {
    format!("recovery:{}", user_id.as_str())
}

impl Authenticators {
    pub fn new(p: AuthenticatorParts) -> Self {
        Self { p }
    }

    pub fn methods(&self) -> Methods {
        self.p.methods
    }

    /// The person's apps and recovery codes, as far as `policy.methods` lets them count.
    pub async fn factors(&self, user_id: &UserId) -> Result<Factors, Unavailable> {
        let m = self.p.methods;
        if !m.totp && !m.recovery_codes {
            return Ok(Factors::default());
        }
        let (apps, recovery) = self.p.store.factors(user_id).await?;
        Ok(self.factors_of(apps, recovery))
    }

    /// [`Self::factors`], given the person's apps and recovery codes already read.
    pub fn factors_of(&self, apps: Vec<StoredApp>, recovery: RecoveryStatus) -> Factors {
        let m = self.p.methods;
        Factors {
            apps: if m.totp { apps } else { Vec::new() },
            recovery: if m.recovery_codes { recovery } else { RecoveryStatus::default() },
        }
    }

    /// One app of the person (as `policy.methods` lets it count), read alone: what checking
    /// its code needs, without the rest of [`Self::factors`].
    pub async fn app(
        &self,
        user_id: &UserId,
        app_id: &str,
    ) -> Result<Option<StoredApp>, Unavailable> {
        if !self.p.methods.totp {
            return Ok(None);
        }
        self.p.store.app(user_id, app_id).await
    }

    /// Starts adding an app: a new secret, sealed for the session, with what the page shows.
    pub fn start_enrolment(
        &self,
        user_id: &UserId,
        account: &str,
    ) -> Result<Enrolment, Unavailable> {
        let secret = TotpSecret::generate();
        let sealed = self.p.sealer.seal(&pending_context(user_id), secret.expose_bytes())?;
        Ok(Enrolment {
            sealed,
            grouped: secret.grouped(),
            uri: secret.uri(&self.p.issuer, account),
        })
    }

    /// What the page shows again for an enrolment in progress (after a wrong code, say).
    pub fn resume_enrolment(
        &self,
        user_id: &UserId,
        account: &str,
        sealed: &str,
    ) -> Result<Enrolment, EnrolError> {
        let secret = self.open_pending(user_id, sealed)?;
        Ok(Enrolment {
            sealed: sealed.to_owned(),
            grouped: secret.grouped(),
            uri: secret.uri(&self.p.issuer, account),
        })
    }

    fn open_pending(&self, user_id: &UserId, sealed: &str) -> Result<TotpSecret, EnrolError> {
        let (bytes, _) = self
            .p
            .sealer
            .open(&pending_context(user_id), sealed)
            .map_err(|_| EnrolError::Expired)?;
        TotpSecret::from_bytes(bytes).ok_or(EnrolError::Expired)
    }

    /// Finishes adding an app: the person typed one of its codes. The code's time step is
    /// recorded as used, so the code that proved the app cannot also sign in. Returns the app.
    pub async fn finish_enrolment(
        &self,
        user_id: &UserId,
        sealed_pending: &str,
        name: &str,
        code: &str,
        now: i64,
    ) -> Result<StoredApp, EnrolError> {
        let name = clean_name(name)?;
        let secret = self.open_pending(user_id, sealed_pending)?;
        let step = match secret.check(code, now) {
            Check::Right { step } => step,
            Check::Malformed => return Err(EnrolError::Code(CodeError::Malformed)),
            Check::Wrong => return Err(EnrolError::Code(CodeError::AppCodeWrong)),
        };
        let existing = self.p.store.factors(user_id).await?.0;
        if existing.len() >= MAX_APPS {
            return Err(EnrolError::TooMany);
        }
        let id = random_token(8);
        let name = name.unwrap_or_else(|| default_app_name(existing.len() + 1));
        let app = StoredApp {
            sealed_secret: self.p.sealer.seal(&app_context(user_id, &id), secret.expose_bytes())?,
            id,
            user_id: user_id.clone(),
            name,
            created_at: now,
            last_used_at: None,
            last_step: step,
            preferred: false,
        };
        self.p.store.add_app(&app).await?;
        Ok(app)
    }

    /// Checks a code from app `app` of the person, under the second step's failure lock. A
    /// right code of a step already used is refused (replay), and counts as a failure.
    pub async fn verify_app(
        &self,
        user_id: &UserId,
        app: &StoredApp,
        input: &str,
        now: i64,
    ) -> Result<(), CodeError> {
        self.p
            .codes
            .guarded(user_id.as_str(), now, async {
                let secret = self.open_app(app).await?;
                match secret.check(input, now) {
                    Check::Malformed => Err(CodeError::Malformed),
                    Check::Wrong => Err(CodeError::AppCodeWrong),
                    Check::Right { step } => {
                        if self.p.store.use_app_step(user_id, &app.id, step, now).await? {
                            Ok(())
                        } else {
                            Err(CodeError::AppCodeReused)
                        }
                    }
                }
            })
            .await
    }

    /// The app's secret; sealed again under the newest key when an older one opened it, so a
    /// rotated-out key stops being needed once each app was used.
    async fn open_app(&self, app: &StoredApp) -> Result<TotpSecret, CodeError> {
        let context = app_context(&app.user_id, &app.id);
        let (bytes, stale) = self.p.sealer.open(&context, &app.sealed_secret).map_err(|e| {
            tracing::error!(app = %app.id, error = %e, "an authenticator app's secret does not open under any key in security.hmac_keys");
            CodeError::Unavailable
        })?;
        let secret = TotpSecret::from_bytes(bytes).ok_or(CodeError::Unavailable)?;
        if stale {
            // Best effort: a failure leaves it sealed under the old key, which still opens.
            let resealed = match self.p.sealer.seal(&context, secret.expose_bytes()) {
                Ok(sealed) => self.p.store.reseal_app(&app.user_id, &app.id, &sealed).await,
                Err(e) => Err(e),
            };
            if let Err(e) = resealed {
                tracing::warn!(error = %e, "an app's secret could not be sealed again");
            }
        }
        Ok(secret)
    }

    /// A new set of recovery codes, replacing (voiding) the old set in one transaction. The
    /// codes are returned once, to be shown once.
    pub async fn new_recovery_codes(
        &self,
        user_id: &UserId,
        now: i64,
    ) -> Result<Vec<String>, Unavailable> {
        let codes = recovery::generate();
        let kind = recovery_kind(user_id);
        let digests: Vec<String> = codes
            .iter()
            .filter_map(|c| recovery::normalize(c))
            .filter_map(|c| self.p.hasher.bearer_digests(&kind, &c).into_iter().next())
            .collect();
        self.p.store.replace_recovery_codes(user_id, &digests, now).await?;
        Ok(codes)
    }

    /// A new set, sealed for the one page view that shows it (kept in the session between the
    /// form's post and that page: never in the clear at rest).
    pub fn seal_codes(&self, user_id: &UserId, codes: &[String]) -> Result<String, Unavailable> {
        let context = format!("recovery-show:{}", user_id.as_str());
        self.p.sealer.seal(&context, codes.join("\n").as_bytes())
    }

    /// The set [`Self::seal_codes`] sealed; empty when it does not open.
    pub fn open_codes(&self, user_id: &UserId, sealed: &str) -> Vec<String> {
        let context = format!("recovery-show:{}", user_id.as_str());
        match self.p.sealer.open(&context, sealed) {
            Ok((bytes, _)) => String::from_utf8_lossy(&bytes).lines().map(str::to_owned).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Uses one recovery code, under the second step's failure lock: of parallel uses of one
    /// code exactly one wins (the store marks it used in the statement that checks it was
    /// not). Returns how many are left.
    pub async fn use_recovery_code(
        &self,
        user_id: &UserId,
        input: &str,
        now: i64,
    ) -> Result<u32, CodeError> {
        self.p
            .codes
            .guarded(user_id.as_str(), now, async {
                let code = recovery::normalize(input).ok_or(CodeError::RecoveryCodeMalformed)?;
                let digests = self.p.hasher.bearer_digests(&recovery_kind(user_id), &code);
                self.p
                    .store
                    .use_recovery_code(user_id, &digests, now)
                    .await?
                    .ok_or(CodeError::RecoveryCodeWrong)
            })
            .await
    }

    pub async fn rename_app(
        &self,
        user_id: &UserId,
        app_id: &str,
        name: &str,
    ) -> Result<bool, EnrolError> {
        let name = clean_name(name)?.unwrap_or_else(|| default_app_name(1));
        Ok(self.p.store.rename_app(user_id, app_id, &name).await?)
    }

    pub async fn remove_app(&self, user_id: &UserId, app_id: &str) -> Result<bool, Unavailable> {
        self.p.store.remove_app(user_id, app_id).await
    }

    pub async fn prefer_app(
        &self,
        user_id: &UserId,
        app_id: &str,
        now: i64,
    ) -> Result<bool, Unavailable> {
        self.p.store.prefer_app(user_id, app_id, now).await
    }

    /// Removes every app and recovery code of the person (an administrator's reset); how many
    /// of each.
    pub async fn remove_all(&self, user_id: &UserId) -> Result<(u64, u64), Unavailable> {
        self.p.store.remove_all(user_id).await
    }

    /// Per person of `user_ids`: apps and unused recovery codes (the administrators' list).
    pub async fn counts(
        &self,
        user_ids: &[UserId],
    ) -> Result<std::collections::HashMap<String, (u32, u32)>, Unavailable> {
        self.p.store.counts(user_ids).await
    }

    pub async fn remove_recovery_codes(&self, user_id: &UserId) -> Result<u64, Unavailable> {
        self.p.store.remove_recovery_codes(user_id).await
    }
}

/// Trimmed, control characters dropped, at most [`MAX_APP_NAME`] characters; `None` when empty.
pub fn clean_name(input: &str) -> Result<Option<String>, EnrolError> {
    let name: String = input.trim().chars().filter(|c| !c.is_control()).collect();
    if name.chars().count() > MAX_APP_NAME {
        return Err(EnrolError::NameTooLong);
    }
    Ok((!name.is_empty()).then_some(name))
}

pub fn default_app_name(n: usize) -> String {
    format!("Authenticator app {n}")
}
