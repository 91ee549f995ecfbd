//! The forward-auth service: the per-request check, the journey to Latchkey and back, and the
//! app host's cookie. Storage is the OpenID Connect provider's (`ports::OidcStore`): an app
//! host's sign-in is a grant like an app's, so everything that ends grants (signing out, an
//! administrator's reset, forgetting browsers, a new session generation, "sign out of this
//! app") ends it too.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::apps::{CALLBACK_PATH, ProtectedApp, is_return_path};
use crate::audit;
use crate::authenticated::Authenticated;
use crate::authenticator::Authenticators;
use crate::client::Client;
use crate::codes::CodeHasher;
use crate::directory::UserId;
use crate::oidc::bearer;
use crate::oidc::decide::{self, Decision};
use crate::oidc::levels::{self, Level};
use crate::oidc::provider::{browser_session, with_query};
use crate::oidc::records::{Grant, GrantDetails, Taken, TokenDetails, TokenKind, TokenRecord};
use crate::ports::{AuditLog, Directory, OidcStore, SessionGenerations, Unavailable};
use crate::tokens::random_token;
use crate::verified::PhoneTrust;

/// A one-time code lives this long: the browser brings it straight from Latchkey.
const CODE_LIFETIME_SECS: i64 = 60;
/// An allowed check records the app session's last use at most this often: no write per
/// request.
const TOUCH_EVERY_SECS: i64 = 60;
/// Bytes of randomness in a code, a cookie and a state value (hex in transit).
const SECRET_BYTES: usize = 32;

pub struct ForwardAuthParts {
    pub apps: Vec<ProtectedApp>,
    /// Latchkey's `server.public_url`, without a trailing slash.
    pub issuer: String,
    pub store: Arc<dyn OidcStore>,
    pub generations: Arc<dyn SessionGenerations>,
    pub directory: Arc<dyn Directory>,
    pub phone_trust: PhoneTrust,
    /// Apps count as a second factor to step up with.
    pub authenticators: Arc<Authenticators>,
    pub audit: Arc<dyn AuditLog>,
    pub hasher: CodeHasher,
    /// A Latchkey sign-in's absolute limit: no app session outlives it.
    pub session_absolute_secs: i64,
    /// How long a journey waits for the person to sign in.
    pub journey_lifetime_secs: i64,
    /// Policy lets a person without a phone add one when an app needs the code level.
    pub can_enrol: bool,
}

pub struct ForwardAuth {
    /// By origin.
    apps: BTreeMap<String, ProtectedApp>,
    issuer: String,
    store: Arc<dyn OidcStore>,
    generations: Arc<dyn SessionGenerations>,
    directory: Arc<dyn Directory>,
    phone_trust: PhoneTrust,
    authenticators: Arc<Authenticators>,
    audit: Arc<dyn AuditLog>,
    hasher: CodeHasher,
    session_absolute_secs: i64,
    journey_lifetime_secs: i64,
    can_enrol: bool,
}

impl std::fmt::Debug for ForwardAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardAuth").field("apps", &self.apps.keys()).finish_non_exhaustive()
    }
}

/// Who the proxy tells the app is asking (`Remote-User`, `-Name`, `-Email`, `-Groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub login: String,
    pub name: String,
    pub email: String,
    pub groups: Vec<String>,
}

/// The answer to a proxy's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed(Identity),
    /// No usable sign-in for this app (none, ended, too old, below its level): the browser
    /// goes to this location, the app's own start path.
    SignIn(String),
    /// Signed in, but not in a group the app allows.
    Forbidden,
}

/// A browser's way from an app to Latchkey and back, kept in its Latchkey session while the
/// person signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journey {
    /// The app's origin.
    pub app: String,
    /// Where on the app's host it goes back to.
    pub rd: String,
    /// SHA-256 (hex) of the state cookie set on the app's host.
    pub binding: String,
    /// Unix seconds it set out.
    pub started_at: i64,
}

/// Where the browser goes from Latchkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Back to the app's callback, with a one-time code.
    ToApp(String),
    /// Sign in first (again, if the app wants a more recent sign-in).
    SignIn,
    /// Signed in with the password only and the app needs a code: only the code step.
    StepUp,
}

/// What cannot go on, for a page of its own (English; names no secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JourneyError {
    #[error("this address is not an app Latchkey protects")]
    UnknownApp,
    #[error("the sign-in link is incomplete or damaged: open the app again")]
    Invalid,
    #[error("you are signed in as {login}, but {app} is only for members of certain groups")]
    NotAllowed { app: String, login: String },
    #[error(
        "{app} needs a code sent to your phone, and your account has no phone: add one on your security page"
    )]
    NoSecondFactor { app: String },
    #[error("the sign-in for this app took too long or was already used: open the app again")]
    Gone,
    #[error("a service is unavailable")]
    Unavailable,
}

unavailable_from!(JourneyError);

/// The callback's outcome: the app host's cookie and where to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landing {
    pub cookie_value: String,
    /// Seconds the cookie may live: until the Latchkey sign-in's absolute end.
    pub cookie_max_age: i64,
    /// A path on the app's host.
    pub location: String,
}

/// A value of ours in transit (code, cookie, state): 64 lowercase hex digits. Anything else is
/// refused before any work.
fn is_secret_shape(value: &str) -> bool {
    crate::tokens::is_token_of(value, SECRET_BYTES)
}

/// The binding a state cookie stands for.
pub fn binding_of(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// What an app session's grant allows at a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judged {
    Pass,
    SignIn,
    Forbidden,
}

/// Judges a live app session for `app`, given the person's current session generation. Pure.
/// Sign in (or step up) again for: another app's cookie (hosts changed in the configuration),
/// sessions ended since (a reset, "sign out of all other browsers"), a level raised in the
/// configuration, a sign-in older than the app allows. Refused: a person outside the app's
/// groups (as the directory said when the app was reached).
fn judge(app: &ProtectedApp, grant: &Grant, generation: i64, now: i64) -> Judged {
    let level = Level::from_acr(&grant.details.acr).unwrap_or(Level::Password);
    let too_old =
        app.max_age_secs.is_some_and(|max| now.saturating_sub(grant.details.auth_time) > max);
    if grant.client_id != app.id || generation > grant.generation || level < app.level || too_old {
        return Judged::SignIn;
    }
    let in_group = app.allowed_groups.is_empty()
        || grant.details.groups.iter().any(|g| app.allowed_groups.contains(g));
    if in_group { Judged::Pass } else { Judged::Forbidden }
}

impl ForwardAuth {
    pub fn new(p: ForwardAuthParts) -> Self {
        ForwardAuth {
            apps: p.apps.into_iter().map(|a| (a.origin.clone(), a)).collect(),
            issuer: p.issuer,
            store: p.store,
            generations: p.generations,
            directory: p.directory,
            phone_trust: p.phone_trust,
            authenticators: p.authenticators,
            audit: p.audit,
            hasher: p.hasher,
            session_absolute_secs: p.session_absolute_secs,
            journey_lifetime_secs: p.journey_lifetime_secs,
            can_enrol: p.can_enrol,
        }
    }

    /// The app at `origin` (canonical), if one is configured there.
    pub fn app(&self, origin: &str) -> Option<&ProtectedApp> {
        self.apps.get(origin)
    }

    pub fn apps(&self) -> impl Iterator<Item = &ProtectedApp> {
        self.apps.values()
    }

    async fn audit(
        &self,
        client: &Client,
        kind: &'static str,
        user: Option<(&UserId, &str)>,
        outcome: &str,
        detail: String,
    ) {
        audit::write_by(&*self.audit, client, kind, user, outcome, Some(detail)).await;
    }

    /// The proxy's question for one request to `app`: may the browser holding `cookie` see
    /// `path`? One read; a write at most once a minute per app session (its last use).
    pub async fn check(
        &self,
        app: &ProtectedApp,
        path: &str,
        cookie: Option<&str>,
        now: i64,
    ) -> Result<Verdict, Unavailable> {
        let path = if is_return_path(path) { path } else { "/" };
        let sign_in = || Verdict::SignIn(app.start_location(path));
        let Some(value) = cookie.filter(|v| is_secret_shape(v)) else {
            return Ok(sign_in());
        };
        let kind = TokenKind::ForwardSession;
        for digest in self.hasher.bearer_digests(kind.as_str(), value) {
            let Some((grant, generation)) =
                self.store.live_grant_by_token(&digest, kind, now).await?
            else {
                continue;
            };
            match judge(app, &grant, generation, now) {
                Judged::Pass => {}
                Judged::SignIn => return Ok(sign_in()),
                Judged::Forbidden => return Ok(Verdict::Forbidden),
            }
            if now - grant.last_used_at >= TOUCH_EVERY_SECS
                && let Err(e) = self.store.touch_grant(&grant.id, now).await
            {
                tracing::warn!(error = %e, "an app session's last use could not be recorded");
            }
            let d = grant.details;
            return Ok(Verdict::Allowed(Identity {
                login: d.login,
                name: d.name.unwrap_or_default(),
                email: d.email.unwrap_or_default(),
                groups: d.groups,
            }));
        }
        Ok(sign_in())
    }

    /// The start on the app's host: a new state value for the browser's cookie there, and the
    /// Latchkey address the journey continues at. `None`: `origin` is no configured app.
    pub fn start(&self, origin: &str, rd: Option<&str>) -> Option<(String, String)> {
        let app = self.app(origin)?;
        let rd = rd.filter(|rd| is_return_path(rd)).unwrap_or("/");
        let state = random_token(SECRET_BYTES);
        let to = with_query(
            &format!("{}/forward-auth", self.issuer),
            &[("app", &app.origin), ("rd", rd), ("binding", &binding_of(&state))],
        );
        Some((state, to))
    }

    /// The journey a request to Latchkey's `/forward-auth` describes, checked.
    pub fn journey(
        &self,
        app: Option<&str>,
        rd: Option<&str>,
        binding: Option<&str>,
        now: i64,
    ) -> Result<Journey, JourneyError> {
        let app = app.ok_or(JourneyError::Invalid)?;
        let app = crate::forward_auth::apps::split_url(app)
            .filter(|(_, path)| path == "/")
            .and_then(|(origin, _)| self.app(&origin))
            .ok_or(JourneyError::UnknownApp)?;
        let rd = rd.filter(|rd| is_return_path(rd)).ok_or(JourneyError::Invalid)?;
        let binding = binding.filter(|b| is_secret_shape(b)).ok_or(JourneyError::Invalid)?;
        Ok(Journey {
            app: app.origin.clone(),
            rd: rd.to_owned(),
            binding: binding.to_owned(),
            started_at: now,
        })
    }

    /// Decides a journey: back to the app with a code, or sign in / step up first.
    /// `resumed`: the person just signed in (or stepped up) for it.
    pub async fn decide(
        &self,
        journey: &Journey,
        browser: Option<&Authenticated>,
        resumed: bool,
        client: &Client,
    ) -> Result<Next, JourneyError> {
        if client.now.saturating_sub(journey.started_at) > self.journey_lifetime_secs {
            return Err(JourneyError::Gone);
        }
        let app = self.app(&journey.app).ok_or(JourneyError::Gone)?;
        // A session from before sign-ins had ids cannot be tied to an app: sign in again.
        let browser = browser.filter(|user| !user.sid.is_empty());
        let session = match browser {
            None => None,
            Some(user) => Some(
                browser_session::<JourneyError>(
                    &*self.directory,
                    &self.phone_trust,
                    &self.authenticators,
                    user,
                    app.remembered_satisfies_code,
                    app.level,
                )
                .await?,
            ),
        };
        let decision = decide::decide(decide::Facts {
            session,
            required: app.level,
            prompt: decide::Prompt::default(),
            max_age: app.max_age_secs,
            // As for an OpenID Connect request: a sign-in made for this journey is fresh.
            requested_at: if resumed { i64::MIN } else { journey.started_at + 1 },
            now: client.now,
            can_enrol: self.can_enrol,
        });
        match (decision, browser) {
            (Decision::Issue, Some(user)) => self.issue(app, journey, user, client).await,
            (Decision::StepUp | Decision::Enrol, Some(_)) => Ok(Next::StepUp),
            (Decision::Refuse(_), Some(user)) => {
                let who = Some((&user.user_id, user.login.as_str()));
                let detail = format!("{} no_second_factor", app.id);
                self.audit(client, "forward_auth.authorize", who, "refused", detail).await;
                Err(JourneyError::NoSecondFactor { app: app.name.clone() })
            }
            _ => Ok(Next::SignIn),
        }
    }

    /// A grant for `app` and its one-time code; the callback address with the code.
    async fn issue(
        &self,
        app: &ProtectedApp,
        journey: &Journey,
        user: &Authenticated,
        client: &Client,
    ) -> Result<Next, JourneyError> {
        let who = Some((&user.user_id, user.login.as_str()));
        let Some(person) = self.directory.find_by_id(&user.user_id).await? else {
            return Err(JourneyError::Gone);
        };
        let groups = self.directory.groups(&person).await?;
        if !app.allowed_groups.is_empty() && !groups.iter().any(|g| app.allowed_groups.contains(g))
        {
            let detail = format!("{} not_in_allowed_groups", app.id);
            self.audit(client, "forward_auth.authorize", who, "refused", detail).await;
            return Err(JourneyError::NotAllowed {
                app: app.name.clone(),
                login: person.login.clone(),
            });
        }
        let generation = self.generations.generation(&user.user_id).await?;
        let level = levels::achieved(user.method, app.remembered_satisfies_code);
        let grant = Grant {
            id: random_token(16),
            client_id: app.id.clone(),
            user_id: user.user_id.clone(),
            sid: user.sid.clone(),
            generation,
            details: GrantDetails {
                scopes: Vec::new(),
                acr: level.acr().to_owned(),
                amr: levels::amr(user.method).into_iter().map(str::to_owned).collect(),
                auth_time: user.authenticated_at,
                login: person.login.clone(),
                name: Some(person.display_name.clone()),
                email: person.mail.clone(),
                groups,
            },
            created_at: client.now,
            last_used_at: client.now,
            expires_at: user.signed_in_at + self.session_absolute_secs,
            revoked_at: None,
        };
        let code = random_token(SECRET_BYTES);
        let record = TokenRecord {
            digest: bearer::digest(&self.hasher, TokenKind::ForwardCode, &code),
            kind: TokenKind::ForwardCode,
            grant_id: grant.id.clone(),
            details: TokenDetails {
                redirect_uri: Some(journey.rd.clone()),
                browser_binding: Some(journey.binding.clone()),
                ..TokenDetails::default()
            },
            created_at: client.now,
            expires_at: client.now + CODE_LIFETIME_SECS,
            used_at: None,
        };
        self.store.create_grant(&grant, &record).await?;
        let detail = format!("{} {}", app.id, level.acr());
        self.audit(client, "forward_auth.authorize", who, "granted", detail).await;
        Ok(Next::ToApp(with_query(&format!("{}{CALLBACK_PATH}", app.origin), &[("code", &code)])))
    }

    /// The callback on the app's host: the one-time `code`, good only with the state cookie of
    /// the browser that set out for it, becomes the app host's cookie. A code used twice ends
    /// the app session it made (someone else may hold it).
    pub async fn land(
        &self,
        origin: &str,
        code: Option<&str>,
        state: Option<&str>,
        client: &Client,
    ) -> Result<Landing, JourneyError> {
        let app = self.app(origin).ok_or(JourneyError::UnknownApp)?;
        let code = code.filter(|c| is_secret_shape(c)).ok_or(JourneyError::Invalid)?;
        let kind = TokenKind::ForwardCode;
        let taken = bearer::take(&*self.store, &self.hasher, kind, code, client.now).await?;
        let (record, grant) = match taken {
            Taken::Fresh(record, grant) => (record, grant),
            Taken::Reused(grant) => {
                self.store.revoke_grant(&grant.id, client.now).await?;
                let who = Some((&grant.user_id, grant.details.login.as_str()));
                let detail = format!("{} code_reused", app.id);
                self.audit(client, "forward_auth.callback", who, "refused", detail).await;
                return Err(JourneyError::Gone);
            }
            Taken::Unknown => {
                tracing::info!(app = %app.id, "forward-auth callback with an unknown or expired code");
                return Err(JourneyError::Gone);
            }
        };
        let who = Some((&grant.user_id, grant.details.login.as_str()));
        let bound = record.details.browser_binding.as_deref();
        let same_browser = state.filter(|s| is_secret_shape(s)).map(binding_of);
        if grant.client_id != app.id || bound.is_none() || same_browser.as_deref() != bound {
            // The code was made for another browser (or app): whoever brought it must not be
            // signed in as the person it was made for.
            self.store.revoke_grant(&grant.id, client.now).await?;
            let detail = format!("{} wrong_browser", app.id);
            self.audit(client, "forward_auth.callback", who, "refused", detail).await;
            return Err(JourneyError::Gone);
        }
        let value = random_token(SECRET_BYTES);
        let session = TokenRecord {
            digest: bearer::digest(&self.hasher, TokenKind::ForwardSession, &value),
            kind: TokenKind::ForwardSession,
            grant_id: grant.id.clone(),
            details: TokenDetails::default(),
            created_at: client.now,
            expires_at: grant.expires_at,
            used_at: None,
        };
        self.store.add_token(&session).await?;
        let detail = format!("{} {}", app.id, grant.details.acr);
        self.audit(client, "forward_auth.callback", who, "signed_in", detail).await;
        let location = record.details.redirect_uri.filter(|rd| is_return_path(rd));
        Ok(Landing {
            cookie_value: value,
            cookie_max_age: (grant.expires_at - client.now).max(0),
            location: location.unwrap_or_else(|| "/".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_transit_have_one_shape() {
        assert!(is_secret_shape(&random_token(SECRET_BYTES)));
        assert!(!is_secret_shape(&random_token(SECRET_BYTES).to_uppercase()));
        assert!(!is_secret_shape(&random_token(16)));
        assert!(!is_secret_shape(&format!("{}'", &random_token(SECRET_BYTES)[1..])));
        assert!(!is_secret_shape(""));
    }

    #[test]
    fn an_app_session_is_judged_by_app_generation_level_age_and_groups() {
        let mut app = ProtectedApp::new("Wiki", "https://wiki.example.org", Level::Code).unwrap();
        app.max_age_secs = Some(3600);
        app.allowed_groups = vec!["staff".into()];
        let grant = Grant {
            id: "g".into(),
            client_id: app.id.clone(),
            user_id: UserId("u".into()),
            sid: "s".into(),
            generation: 3,
            details: GrantDetails {
                acr: Level::Code.acr().into(),
                auth_time: 10_000,
                login: "alice".into(),
                groups: vec!["everyone".into(), "staff".into()],
                ..GrantDetails::default()
            },
            created_at: 10_000,
            last_used_at: 10_000,
            expires_at: 50_000,
            revoked_at: None,
        };
        let now = 10_000 + 3600;
        assert_eq!(judge(&app, &grant, 3, now), Judged::Pass, "an hour old is within an hour");
        assert_eq!(judge(&app, &grant, 3, now + 1), Judged::SignIn, "older than max_age");
        assert_eq!(judge(&app, &grant, 4, now), Judged::SignIn, "sessions ended since");
        assert_eq!(judge(&app, &grant, 2, now), Judged::Pass, "restamped ahead is fine");
        let password = Grant {
            details: GrantDetails { acr: Level::Password.acr().into(), ..grant.details.clone() },
            ..grant.clone()
        };
        assert_eq!(judge(&app, &password, 3, now), Judged::SignIn, "step up to the code");
        let other =
            Grant { client_id: "forward-auth:https://other.example".into(), ..grant.clone() };
        assert_eq!(judge(&app, &other, 3, now), Judged::SignIn, "another app's session");
        let outsider = Grant {
            details: GrantDetails { groups: vec!["everyone".into()], ..grant.details.clone() },
            ..grant.clone()
        };
        assert_eq!(judge(&app, &outsider, 3, now), Judged::Forbidden);
        app.allowed_groups.clear();
        app.max_age_secs = None;
        assert_eq!(judge(&app, &outsider, 3, now + 86_400), Judged::Pass, "no groups, no limit");
    }

    #[test]
    fn a_binding_is_the_states_sha256() {
        assert_eq!(
            binding_of("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
