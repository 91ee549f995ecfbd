//! The OpenID Connect provider: authorization (deciding with [`super::decide`], waiting for a
//! sign-in, issuing codes), the token endpoint (codes, refresh tokens), userinfo, revocation,
//! RP-initiated logout, and people's app sessions. Storage is the [`OidcStore`] port, keys the
//! [`TokenSigner`] port; the HTTP side (`server/src/http/oidc/`) only reads requests and
//! writes answers.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::claims::{PersonClaims, Scopes, claims_for};
use super::decide::{self, Decision, Refusal};
use super::levels::{self, Level};
use super::pkce;
use super::records::{
    Grant, GrantDetails, GrantsOf, PendingRequest, Taken, TokenDetails, TokenKind, TokenRecord,
};
use super::request::{self, AuthorizeError, AuthorizeRequest, ClientInfo, RawAuthorize};
use crate::audit;
use crate::authenticated::Authenticated;
use crate::authenticator::Authenticators;
use crate::client::Client;
use crate::codes::CodeHasher;
use crate::directory::{Person, UserId};
use crate::forward_auth::apps::ProtectedApp;
use crate::ports::{AuditLog, Directory, OidcStore, SessionGenerations, TokenSigner, Unavailable};
use crate::tokens::random_token;
use crate::verified::PhoneTrust;

/// A code lives at most this long (the issue: 60 s).
const CODE_LIFETIME_SECS: i64 = 60;

/// A registered app, as configured.
pub struct RegisteredClient {
    pub info: ClientInfo,
    pub secret: Option<SecretString>,
    /// "RS256", "ES256" or "EdDSA".
    pub signing_alg: String,
}

#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// `server.public_url` without a trailing slash.
    pub issuer: String,
    pub default_acr: String,
    pub access_token_secs: i64,
    pub id_token_secs: i64,
    pub refresh_token_secs: i64,
    /// How long an authorization request waits for the person to sign in.
    pub request_lifetime_secs: i64,
    /// A Latchkey sign-in's absolute limit: no grant outlives it.
    pub session_absolute_secs: i64,
    pub enrol_at_sign_in: bool,
}

pub struct ProviderParts {
    pub settings: ProviderSettings,
    pub clients: Vec<RegisteredClient>,
    pub store: Arc<dyn OidcStore>,
    pub signer: Arc<dyn TokenSigner>,
    pub directory: Arc<dyn Directory>,
    pub generations: Arc<dyn SessionGenerations>,
    pub phone_trust: PhoneTrust,
    /// Apps count as a second factor to step up with.
    pub authenticators: Arc<Authenticators>,
    pub audit: Arc<dyn AuditLog>,
    /// HMAC keys for codes' and tokens' digests.
    pub hasher: CodeHasher,
    /// The apps behind a forward-auth proxy: their grants live here too (listed, ended), and
    /// the browser is sent to their origins.
    pub protected_apps: Vec<ProtectedApp>,
}

pub struct OidcProvider {
    settings: ProviderSettings,
    /// The origins of every registered redirect and post-logout URI, for `form-action`.
    app_origins: Vec<String>,
    clients: BTreeMap<String, RegisteredClient>,
    store: Arc<dyn OidcStore>,
    signer: Arc<dyn TokenSigner>,
    directory: Arc<dyn Directory>,
    generations: Arc<dyn SessionGenerations>,
    phone_trust: PhoneTrust,
    authenticators: Arc<Authenticators>,
    audit: Arc<dyn AuditLog>,
    hasher: CodeHasher,
    /// Forward-auth apps' names by their grants' client id.
    protected_names: BTreeMap<String, String>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.settings.issuer)
            .field("clients", &self.clients.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Where the browser goes after the authorization endpoint (or after a sign-in resumed it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Back to the app: with a code, or with an error the app is told about.
    ToApp(String),
    /// Sign in first; the request waits under `request_id`.
    SignIn { request_id: String, login_hint: Option<String> },
    /// Signed in below the level the app asks for: only the code step (`enrol`: adding and
    /// proving a phone first, for a person who has none).
    StepUp { request_id: String, enrol: bool },
}

/// The authorization endpoint cannot redirect: an error page says this (English, for the
/// person and the log; it names no secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error(
        "the sign-in for this app took too long or was already used: go back to the app and start again"
    )]
    RequestGone,
    #[error("a service is unavailable")]
    Unavailable,
}

impl From<Unavailable> for PageError {
    fn from(_: Unavailable) -> Self {
        PageError::Unavailable
    }
}

impl From<crate::directory::DirectoryError> for PageError {
    fn from(_: crate::directory::DirectoryError) -> Self {
        PageError::Unavailable
    }
}

/// A token endpoint's (or revocation endpoint's) error answer (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub status: u16,
    pub error: &'static str,
    pub description: &'static str,
    /// `invalid_client` after a Basic attempt: answer with `WWW-Authenticate: Basic`.
    pub basic_challenge: bool,
}

impl TokenError {
    fn new(error: &'static str, description: &'static str) -> Self {
        Self { status: 400, error, description, basic_challenge: false }
    }

    fn invalid_client(basic: bool) -> Self {
        Self {
            status: 401,
            error: "invalid_client",
            description: "client authentication failed",
            basic_challenge: basic,
        }
    }

    fn unavailable() -> Self {
        Self {
            status: 503,
            error: "temporarily_unavailable",
            description: "a service is unavailable",
            basic_challenge: false,
        }
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }
}

impl From<Unavailable> for TokenError {
    fn from(_: Unavailable) -> Self {
        TokenError::unavailable()
    }
}

impl From<crate::directory::DirectoryError> for TokenError {
    fn from(_: crate::directory::DirectoryError) -> Self {
        TokenError::unavailable()
    }
}

/// The token endpoint's form (RFC 6749 §4.1.3, §6), all optional: each check names what is
/// missing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// The revocation endpoint's form (RFC 7009 §2.1).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RevokeRequest {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// The end-session endpoint's parameters (RP-Initiated Logout 1.0 §2).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
    pub logout_hint: Option<String>,
    pub ui_locales: Option<String>,
}

/// What the end-session endpoint does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logout {
    /// The hint names this browser's sign-in: sign out, then go to `redirect` (if any).
    SignOut { redirect: Option<String> },
    /// Nobody is signed in here: nothing to end; go to `redirect` (if any).
    NothingToEnd { redirect: Option<String> },
    /// No hint, or one for another sign-in: ask the person first. `client_id`: the app the
    /// request names (by hint or parameter), for the confirmation to carry.
    Confirm { app: Option<String>, client_id: Option<String>, redirect: Option<String> },
}

/// An app a person is signed in to, for the security and admin pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSession {
    pub client_id: String,
    pub name: String,
    pub since: i64,
    pub last_used: i64,
    pub acr: String,
}

/// Access-token failures at userinfo (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    #[error("the access token is missing, expired or revoked")]
    InvalidToken,
    #[error("a service is unavailable")]
    Unavailable,
}

impl From<Unavailable> for BearerError {
    fn from(_: Unavailable) -> Self {
        BearerError::Unavailable
    }
}

impl From<crate::directory::DirectoryError> for BearerError {
    fn from(_: crate::directory::DirectoryError) -> Self {
        BearerError::Unavailable
    }
}

/// A secret compared in constant time (SHA-256 first, so lengths do not show either).
fn same_secret(given: &str, expected: &SecretString) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.expose_secret().as_bytes());
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `scheme://authority` of an absolute http(s) URI (configuration checked its form), without
/// user info; `None` for anything else, so nothing odd reaches a policy header.
fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let ok = !authority.is_empty()
        && authority.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    ok.then(|| format!("{scheme}://{authority}"))
}

/// `uri` with `pairs` added to its query (application/x-www-form-urlencoded).
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        out.push(sep);
        out.push_str(&crate::percent::encode(k));
        out.push('=');
        out.push_str(&crate::percent::encode(v));
        sep = '&';
    }
    out
}

/// What [`decide::decide`] needs of the browser's sign-in, for an app that requires `required`
/// (shared with forward authentication). Only a step up needs to know whether there is a phone
/// to text, so only then is the directory asked.
pub(crate) async fn browser_session<E>(
    directory: &dyn Directory,
    phone_trust: &PhoneTrust,
    authenticators: &Authenticators,
    user: &Authenticated,
    remembered_satisfies_code: bool,
    required: Level,
) -> Result<decide::Session, E>
where
    E: From<Unavailable> + From<crate::directory::DirectoryError>,
{
    let level = levels::achieved(user.method, remembered_satisfies_code);
    // A second factor to step up with: a phone that receives codes, or an app.
    let has_phone = level < required
        && (!authenticators.factors(&user.user_id).await?.apps.is_empty()
            || match directory.find_by_id(&user.user_id).await? {
                Some(person) => !phone_trust.usable(&person).await?.is_empty(),
                None => false,
            });
    Ok(decide::Session { level, auth_time: user.authenticated_at, has_phone })
}

/// The audit kind of an ended app session: a forward-auth app's is `forward_auth.logout`.
fn logout_kind(client_id: &str) -> &'static str {
    if client_id.starts_with(crate::forward_auth::apps::CLIENT_ID_PREFIX) {
        "forward_auth.logout"
    } else {
        "oidc.logout"
    }
}

impl OidcProvider {
    pub fn new(p: ProviderParts) -> Self {
        let mut app_origins: Vec<String> = p
            .clients
            .iter()
            .flat_map(|c| c.info.redirect_uris.iter().chain(&c.info.post_logout_redirect_uris))
            .filter_map(|uri| origin_of(uri))
            .chain(p.protected_apps.iter().map(|a| a.origin.clone()))
            .collect();
        app_origins.sort();
        app_origins.dedup();
        Self {
            settings: p.settings,
            app_origins,
            clients: p.clients.into_iter().map(|c| (c.info.id.clone(), c)).collect(),
            store: p.store,
            signer: p.signer,
            directory: p.directory,
            generations: p.generations,
            phone_trust: p.phone_trust,
            authenticators: p.authenticators,
            audit: p.audit,
            hasher: p.hasher,
            protected_names: p.protected_apps.into_iter().map(|a| (a.id, a.name)).collect(),
        }
    }

    /// An app's name by client id: a registered client's or a forward-auth app's.
    fn app_name(&self, client_id: &str) -> Option<&str> {
        self.clients
            .get(client_id)
            .map(|c| c.info.name.as_str())
            .or_else(|| self.protected_names.get(client_id).map(String::as_str))
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The origins (`scheme://host[:port]`) the provider sends browsers back to.
    pub fn app_origins(&self) -> &[String] {
        &self.app_origins
    }

    /// Whether any app is configured: a registered client or a forward-auth app.
    pub fn has_apps(&self) -> bool {
        !self.clients.is_empty() || !self.protected_names.is_empty()
    }

    /// The configured apps, by id.
    pub fn clients(&self) -> impl Iterator<Item = &ClientInfo> {
        self.clients.values().map(|c| &c.info)
    }

    pub fn client(&self, id: &str) -> Option<&ClientInfo> {
        self.clients.get(id).map(|c| &c.info)
    }

    pub fn signer(&self) -> &dyn TokenSigner {
        &*self.signer
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

    /// The discovery document (OpenID Connect Discovery 1.0 §3).
    pub fn discovery(&self) -> Value {
        let issuer = &self.settings.issuer;
        let at = |path: &str| format!("{issuer}{path}");
        json!({
            "issuer": issuer,
            "authorization_endpoint": at("/oidc/authorize"),
            "token_endpoint": at("/oidc/token"),
            "userinfo_endpoint": at("/oidc/userinfo"),
            "jwks_uri": at("/oidc/jwks"),
            "revocation_endpoint": at("/oidc/revoke"),
            "end_session_endpoint": at("/oidc/logout"),
            "scopes_supported": super::claims::SUPPORTED_SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": levels::supported_acrs(),
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp",
                "at_hash", "name", "preferred_username", "locale", "email", "email_verified",
                "phone_number", "phone_number_verified", "groups"
            ],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
            "ui_locales_supported": ["en", "es"],
        })
    }

    /// The authorization endpoint: checks the request and decides. `browser`: who is signed in
    /// in this browser, if anyone.
    pub async fn authorize(
        &self,
        raw: &RawAuthorize,
        browser: Option<&Authenticated>,
        client: &Client,
    ) -> Result<Next, PageError> {
        let info = raw.client_id.as_deref().and_then(|id| self.client(id));
        let request = match request::validate(raw, info, &self.settings.default_acr) {
            Ok(request) => request,
            Err(AuthorizeError::NoRedirect { reason }) => {
                tracing::info!(reason, "authorization request refused without redirect");
                self.audit(client, "oidc.authorize", None, "refused", Some(reason.to_owned()))
                    .await;
                return Err(PageError::Invalid(reason));
            }
            Err(AuthorizeError::Redirect { redirect_uri, error, description, state }) => {
                let detail = format!("{} {error}", raw.client_id.as_deref().unwrap_or(""));
                self.audit(client, "oidc.authorize", None, "refused", Some(detail)).await;
                return Ok(Next::ToApp(self.error_redirect(
                    &redirect_uri,
                    error,
                    description,
                    state.as_deref(),
                )));
            }
        };
        let pending = PendingRequest {
            id: random_token(16),
            client_id: request.client_id.clone(),
            request: serde_json::to_string(&request).map_err(|e| {
                tracing::error!(error = %e, "an authorization request does not serialise");
                PageError::Unavailable
            })?,
            created_at: client.now,
            expires_at: client.now + self.settings.request_lifetime_secs,
        };
        self.decide(&request, &pending, browser, client, false).await
    }

    /// After a sign-in (or step-up) the request `request_id` waits for: decides again.
    pub async fn resume(
        &self,
        request_id: &str,
        browser: Option<&Authenticated>,
        client: &Client,
    ) -> Result<Next, PageError> {
        let pending =
            self.store.load_request(request_id, client.now).await?.ok_or(PageError::RequestGone)?;
        let request: AuthorizeRequest = serde_json::from_str(&pending.request).map_err(|e| {
            tracing::error!(error = %e, "a stored authorization request does not read back");
            PageError::RequestGone
        })?;
        self.decide(&request, &pending, browser, client, true).await
    }

    async fn decide(
        &self,
        request: &AuthorizeRequest,
        pending: &PendingRequest,
        browser: Option<&Authenticated>,
        client: &Client,
        stored: bool,
    ) -> Result<Next, PageError> {
        let registered = self.clients.get(&request.client_id).ok_or(PageError::RequestGone)?;
        // A session from before sign-ins had ids cannot be tied to an app: sign in again.
        let browser = browser.filter(|user| !user.sid.is_empty());
        let required = request.requested.level;
        let session = match browser {
            None => None,
            Some(user) => Some(
                browser_session::<PageError>(
                    &*self.directory,
                    &self.phone_trust,
                    &self.authenticators,
                    user,
                    registered.info.remembered_satisfies_code,
                    required,
                )
                .await?,
            ),
        };
        let decision = decide::decide(decide::Facts {
            session,
            required,
            prompt: request.prompt,
            max_age: request.max_age,
            // Whole seconds cannot order a sign-in and a request in the same second. At the
            // request, only a later sign-in counts (so prompt=login always asks); when a sign-in
            // resumes the request, it was made for it, so it counts.
            requested_at: if stored { i64::MIN } else { pending.created_at + 1 },
            now: client.now,
            can_enrol: self.settings.enrol_at_sign_in,
        });
        let wait = |next: Next| async {
            if !stored {
                self.store.save_request(pending).await?;
            }
            Ok::<_, PageError>(next)
        };
        match (decision, browser) {
            (Decision::Issue, Some(user)) => {
                let to = self.issue(request, registered, user, client).await?;
                if stored {
                    self.store.delete_request(&pending.id).await?;
                }
                Ok(Next::ToApp(to))
            }
            (Decision::Refuse(refusal), _) => {
                if stored {
                    self.store.delete_request(&pending.id).await?;
                }
                self.refused(request, refusal, browser, client).await
            }
            (Decision::StepUp, Some(_)) => {
                wait(Next::StepUp { request_id: pending.id.clone(), enrol: false }).await
            }
            (Decision::Enrol, Some(_)) => {
                wait(Next::StepUp { request_id: pending.id.clone(), enrol: true }).await
            }
            // SignIn, or (impossible) a decision that needs a session without one.
            _ => {
                wait(Next::SignIn {
                    request_id: pending.id.clone(),
                    login_hint: request.login_hint.clone(),
                })
                .await
            }
        }
    }

    async fn refused(
        &self,
        request: &AuthorizeRequest,
        refusal: Refusal,
        browser: Option<&Authenticated>,
        client: &Client,
    ) -> Result<Next, PageError> {
        let description = match refusal {
            Refusal::LoginRequired => "the person must sign in",
            Refusal::InteractionRequired => "the person must prove a second factor",
            Refusal::UnmetAuthenticationRequirements => {
                "the person cannot reach the authentication level asked for"
            }
        };
        let who = browser.map(|u| (&u.user_id, u.login.as_str()));
        let detail = format!("{} {}", request.client_id, refusal.error_code());
        self.audit(client, "oidc.authorize", who, "refused", Some(detail)).await;
        Ok(Next::ToApp(self.error_redirect(
            &request.redirect_uri,
            refusal.error_code(),
            description,
            request.state.as_deref(),
        )))
    }

    fn error_redirect(
        &self,
        redirect_uri: &str,
        error: &str,
        description: &str,
        state: Option<&str>,
    ) -> String {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(state) = state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.settings.issuer));
        with_query(redirect_uri, &pairs)
    }

    /// Issues a code for `user`: a grant (the person's sign-in to this app) and its code.
    async fn issue(
        &self,
        request: &AuthorizeRequest,
        registered: &RegisteredClient,
        user: &Authenticated,
        client: &Client,
    ) -> Result<String, PageError> {
        let who = Some((&user.user_id, user.login.as_str()));
        let Some(person) = self.directory.find_by_id(&user.user_id).await? else {
            return Ok(self.error_redirect(
                &request.redirect_uri,
                "access_denied",
                "the person is no longer in the directory",
                request.state.as_deref(),
            ));
        };
        if !registered.info.allowed_groups.is_empty() {
            let groups = self.directory.groups(&person).await?;
            if !groups.iter().any(|g| registered.info.allowed_groups.contains(g)) {
                let detail = format!("{} not_in_allowed_groups", request.client_id);
                self.audit(client, "oidc.authorize", who, "refused", Some(detail)).await;
                return Ok(self.error_redirect(
                    &request.redirect_uri,
                    "access_denied",
                    "the person is not in a group allowed to use this app",
                    request.state.as_deref(),
                ));
            }
        }
        let generation = self.generations.generation(&user.user_id).await?;
        let level = levels::achieved(user.method, registered.info.remembered_satisfies_code);
        // The acr is the value the app asked for when the sign-in reached it (an app configured
        // for Gluu gets `twilio_sms` back); otherwise the level reached.
        let acr = if level >= request.requested.level {
            request.requested.acr.clone()
        } else {
            level.acr().to_owned()
        };
        let grant = Grant {
            id: random_token(16),
            client_id: request.client_id.clone(),
            user_id: user.user_id.clone(),
            sid: user.sid.clone(),
            generation,
            details: GrantDetails {
                scopes: request.scopes.iter().map(str::to_owned).collect(),
                acr: acr.clone(),
                amr: levels::amr(user.method).into_iter().map(str::to_owned).collect(),
                auth_time: user.authenticated_at,
                login: person.login.clone(),
                ..GrantDetails::default()
            },
            created_at: client.now,
            last_used_at: client.now,
            expires_at: user.signed_in_at + self.settings.session_absolute_secs,
            revoked_at: None,
        };
        let code = random_token(32);
        let record = TokenRecord {
            digest: self.digest(TokenKind::Code, &code),
            kind: TokenKind::Code,
            grant_id: grant.id.clone(),
            details: TokenDetails {
                redirect_uri: Some(request.redirect_uri.clone()),
                nonce: request.nonce.clone(),
                code_challenge: request.code_challenge.clone(),
                scopes: grant.details.scopes.clone(),
                browser_binding: None,
            },
            created_at: client.now,
            expires_at: client.now + CODE_LIFETIME_SECS,
            used_at: None,
        };
        self.store.create_grant(&grant, &record).await?;
        let detail = format!("{} {acr}", request.client_id);
        self.audit(client, "oidc.authorize", who, "granted", Some(detail)).await;
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = &request.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.settings.issuer));
        Ok(with_query(&request.redirect_uri, &pairs))
    }

    /// The stored digest of a bearer value (under the newest HMAC key).
    fn digest(&self, kind: TokenKind, value: &str) -> String {
        super::bearer::digest(&self.hasher, kind, value)
    }

    /// Authenticates the client of a token or revocation request (RFC 6749 §2.3.1; `basic`
    /// already form-decoded by the HTTP side).
    fn authenticate(
        &self,
        basic: Option<(&str, &str)>,
        client_id: Option<&str>,
        client_secret: Option<&str>,
    ) -> Result<&RegisteredClient, TokenError> {
        match (basic, client_secret) {
            (Some(_), Some(_)) => Err(TokenError::new(
                "invalid_request",
                "use one client authentication method, not two",
            )),
            (Some((id, secret)), None) => {
                if client_id.is_some_and(|body_id| body_id != id) {
                    return Err(TokenError::new(
                        "invalid_request",
                        "client_id in the body differs from the authenticated client",
                    ));
                }
                self.check_secret(id, secret, true)
            }
            (None, Some(secret)) => {
                let id = client_id
                    .ok_or_else(|| TokenError::new("invalid_request", "client_id is missing"))?;
                self.check_secret(id, secret, false)
            }
            (None, None) => {
                let id = client_id.ok_or_else(|| TokenError::invalid_client(false))?;
                match self.clients.get(id) {
                    Some(c) if c.secret.is_none() => Ok(c),
                    _ => Err(TokenError::invalid_client(false)),
                }
            }
        }
    }

    fn check_secret(
        &self,
        id: &str,
        secret: &str,
        basic: bool,
    ) -> Result<&RegisteredClient, TokenError> {
        match self.clients.get(id) {
            Some(c) if c.secret.as_ref().is_some_and(|s| same_secret(secret, s)) => Ok(c),
            _ => Err(TokenError::invalid_client(basic)),
        }
    }

    /// Whether `grant` still stands: the person's sessions were not ended since it was given.
    async fn grant_stands(&self, grant: &Grant, now: i64) -> Result<bool, Unavailable> {
        let current = self.generations.generation(&grant.user_id).await?;
        if current > grant.generation {
            self.store.revoke_grant(&grant.id, now).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Uses a single-use value under any HMAC key.
    async fn take(&self, kind: TokenKind, value: &str, now: i64) -> Result<Taken, Unavailable> {
        super::bearer::take(&*self.store, &self.hasher, kind, value, now).await
    }

    async fn live(
        &self,
        kind: TokenKind,
        value: &str,
        now: i64,
    ) -> Result<Option<(TokenRecord, Grant)>, Unavailable> {
        if value.is_empty() || value.len() > 256 {
            return Ok(None);
        }
        for digest in self.hasher.bearer_digests(kind.as_str(), value) {
            if let Some(found) = self.store.live_token(&digest, kind, now).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The token endpoint.
    pub async fn token(
        &self,
        form: &TokenRequest,
        basic: Option<(&str, &str)>,
        client: &Client,
    ) -> Result<Value, TokenError> {
        let registered =
            self.authenticate(basic, form.client_id.as_deref(), form.client_secret.as_deref());
        let registered = match registered {
            Ok(c) => c,
            Err(e) => {
                let detail = format!("{} {}", form.client_id.as_deref().unwrap_or(""), e.error);
                self.audit(client, "oidc.token", None, "refused", Some(detail)).await;
                return Err(e);
            }
        };
        let result = match form.grant_type.as_deref() {
            Some("authorization_code") => self.exchange_code(form, registered, client).await,
            Some("refresh_token") => self.refresh(form, registered, client).await,
            Some(_) => Err(TokenError::new(
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            )),
            None => Err(TokenError::new("invalid_request", "grant_type is missing")),
        };
        if let Err(e) = &result {
            let detail = format!("{} {} {}", registered.info.id, e.error, e.description);
            self.audit(client, "oidc.token", None, "refused", Some(detail)).await;
        }
        result
    }

    async fn exchange_code(
        &self,
        form: &TokenRequest,
        registered: &RegisteredClient,
        client: &Client,
    ) -> Result<Value, TokenError> {
        let code = form
            .code
            .as_deref()
            .ok_or_else(|| TokenError::new("invalid_request", "code is missing"))?;
        let invalid = |description| TokenError::new("invalid_grant", description);
        let (token, grant) = match self.take(TokenKind::Code, code, client.now).await? {
            Taken::Fresh(token, grant) => (token, grant),
            Taken::Reused(grant) => {
                // A second use: whoever holds the code may have stolen it. Everything the first
                // use issued ends (RFC 6749 §4.1.2).
                self.store.revoke_grant(&grant.id, client.now).await?;
                let who = Some((&grant.user_id, grant.details.login.as_str()));
                let detail = Some(format!("{} code_reused", grant.client_id));
                self.audit(client, "oidc.token", who, "revoked", detail).await;
                return Err(invalid("the code was already used; what it issued is revoked"));
            }
            Taken::Unknown => return Err(invalid("the code is unknown, expired or used")),
        };
        if grant.client_id != registered.info.id {
            return Err(invalid("the code was issued to another client"));
        }
        if token.details.redirect_uri.as_deref() != form.redirect_uri.as_deref() {
            return Err(invalid("redirect_uri differs from the authorization request's"));
        }
        match (&token.details.code_challenge, form.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) => {
                if !pkce::verifier_is_valid(verifier) || !pkce::s256_matches(verifier, challenge) {
                    return Err(invalid("the PKCE code_verifier does not match"));
                }
            }
            (Some(_), None) => return Err(invalid("code_verifier is missing")),
            // A verifier for a request without a challenge: a downgrade attempt (RFC 9700).
            (None, Some(_)) => return Err(invalid("code_verifier without a code_challenge")),
            (None, None) => {}
        }
        if !self.grant_stands(&grant, client.now).await? {
            return Err(invalid("the person's sign-in has ended"));
        }
        let scopes = token.details.scopes.clone();
        self.tokens(registered, &grant, scopes, token.details.nonce.as_deref(), client).await
    }

    async fn refresh(
        &self,
        form: &TokenRequest,
        registered: &RegisteredClient,
        client: &Client,
    ) -> Result<Value, TokenError> {
        let invalid = |description| TokenError::new("invalid_grant", description);
        if !registered.info.refresh_tokens {
            return Err(TokenError::new(
                "unauthorized_client",
                "refresh tokens are not enabled for this client",
            ));
        }
        let value = form
            .refresh_token
            .as_deref()
            .ok_or_else(|| TokenError::new("invalid_request", "refresh_token is missing"))?;
        let (token, grant) = match self.take(TokenKind::Refresh, value, client.now).await? {
            Taken::Fresh(token, grant) => (token, grant),
            Taken::Reused(grant) => {
                // An old refresh token again: the family is compromised (RFC 9700 §4.14.2).
                self.store.revoke_grant(&grant.id, client.now).await?;
                let who = Some((&grant.user_id, grant.details.login.as_str()));
                let detail = Some(format!("{} refresh_reused", grant.client_id));
                self.audit(client, "oidc.token", who, "revoked", detail).await;
                return Err(invalid("the refresh token was already used; its family is revoked"));
            }
            Taken::Unknown => return Err(invalid("the refresh token is unknown or expired")),
        };
        if grant.client_id != registered.info.id {
            return Err(invalid("the refresh token was issued to another client"));
        }
        if !self.grant_stands(&grant, client.now).await? {
            return Err(invalid("the person's sign-in has ended"));
        }
        // A refresh may narrow the scopes, never widen them (RFC 6749 §6).
        let scopes = match form.scope.as_deref() {
            None => token.details.scopes.clone(),
            Some(asked) => {
                let asked: Vec<String> =
                    asked.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                if asked.iter().any(|s| !token.details.scopes.contains(s)) {
                    return Err(TokenError::new(
                        "invalid_scope",
                        "a refresh cannot add scopes the sign-in did not grant",
                    ));
                }
                asked
            }
        };
        self.tokens(registered, &grant, scopes, None, client).await
    }

    /// A token response: an access token, an ID token, and a refresh token when the client
    /// has them on.
    async fn tokens(
        &self,
        registered: &RegisteredClient,
        grant: &Grant,
        scopes: Vec<String>,
        nonce: Option<&str>,
        client: &Client,
    ) -> Result<Value, TokenError> {
        let now = client.now;
        let access = random_token(32);
        let access_expires = (now + self.settings.access_token_secs).min(grant.expires_at);
        let details = TokenDetails { scopes: scopes.clone(), ..TokenDetails::default() };
        self.store
            .add_token(&TokenRecord {
                digest: self.digest(TokenKind::Access, &access),
                kind: TokenKind::Access,
                grant_id: grant.id.clone(),
                details: details.clone(),
                created_at: now,
                expires_at: access_expires,
                used_at: None,
            })
            .await?;
        let refresh = if registered.info.refresh_tokens {
            let refresh = random_token(32);
            self.store
                .add_token(&TokenRecord {
                    digest: self.digest(TokenKind::Refresh, &refresh),
                    kind: TokenKind::Refresh,
                    grant_id: grant.id.clone(),
                    details,
                    created_at: now,
                    // The family lives refresh_token_secs from the sign-in to this app, and
                    // never past the Latchkey sign-in it came from: rotation does not extend it.
                    expires_at: (grant.created_at + self.settings.refresh_token_secs)
                        .min(grant.expires_at),
                    used_at: None,
                })
                .await?;
            Some(refresh)
        } else {
            None
        };
        self.store.touch_grant(&grant.id, now).await?;
        let person = self.directory.find_by_id(&grant.user_id).await?;
        let Some(person) = person else {
            self.store.revoke_grant(&grant.id, now).await?;
            return Err(TokenError::new(
                "invalid_grant",
                "the person is no longer in the directory",
            ));
        };
        let scopes = Scopes::from_granted(&scopes);
        let mut claims = claims_for(&scopes, &self.person_claims(&person, &scopes).await?);
        let alg = registered.signing_alg.as_str();
        let protocol = json!({
            "iss": self.settings.issuer,
            "aud": registered.info.id,
            "azp": registered.info.id,
            "exp": now + self.settings.id_token_secs,
            "iat": now,
            "auth_time": grant.details.auth_time,
            "acr": grant.details.acr,
            "amr": grant.details.amr,
            "sid": grant.sid,
            "at_hash": self.signer.half_hash(alg, &access),
        });
        if let Value::Object(protocol) = protocol {
            claims.extend(protocol);
        }
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), Value::String(nonce.to_owned()));
        }
        let id_token = self.signer.sign(alg, &Value::Object(claims)).await?;
        let who = Some((&grant.user_id, grant.details.login.as_str()));
        let what = if refresh.is_some() { "issued_with_refresh" } else { "issued" };
        self.audit(client, "oidc.token", who, what, Some(registered.info.id.clone())).await;
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": access_expires - now,
            "id_token": id_token,
            "scope": scopes.as_string(),
        });
        if let (Some(refresh), Value::Object(map)) = (refresh, &mut body) {
            map.insert("refresh_token".into(), Value::String(refresh));
        }
        Ok(body)
    }

    async fn person_claims(
        &self,
        person: &Person,
        scopes: &Scopes,
    ) -> Result<PersonClaims, Unavailable> {
        let groups = if scopes.contains("groups") {
            self.directory.groups(person).await.map_err(|_| Unavailable { kind: "directory" })?
        } else {
            Vec::new()
        };
        // Only a number Latchkey verified is released (as phone_number_verified): with
        // policy.trust_unverified_directory_phones a usable number may not be one.
        let phone = if scopes.contains("phone") {
            let verified = self.phone_trust.records(&person.id).await?;
            self.phone_trust
                .usable(person)
                .await?
                .into_iter()
                .find(|n| verified.iter().any(|v| v.number == n.as_str()))
                .map(|n| n.as_str().to_owned())
        } else {
            None
        };
        Ok(PersonClaims {
            sub: person.id.as_str().to_owned(),
            login: person.login.clone(),
            name: person.display_name.clone(),
            email: person.mail.clone(),
            phone,
            groups,
            locale: person.language.map(|l| l.code().to_owned()),
        })
    }

    /// The userinfo endpoint: the claims the access token's scopes release.
    pub async fn userinfo(
        &self,
        access_token: &str,
        client: &Client,
    ) -> Result<Value, BearerError> {
        let (token, grant) = self
            .live(TokenKind::Access, access_token, client.now)
            .await?
            .ok_or(BearerError::InvalidToken)?;
        if !self.grant_stands(&grant, client.now).await? {
            return Err(BearerError::InvalidToken);
        }
        let person =
            self.directory.find_by_id(&grant.user_id).await?.ok_or(BearerError::InvalidToken)?;
        let scopes = Scopes::from_granted(&token.details.scopes);
        let claims = claims_for(&scopes, &self.person_claims(&person, &scopes).await?);
        let who = Some((&grant.user_id, grant.details.login.as_str()));
        self.audit(client, "oidc.userinfo", who, "answered", Some(grant.client_id.clone())).await;
        Ok(Value::Object(claims))
    }

    /// The revocation endpoint (RFC 7009). A token this client does not hold, or an unknown
    /// one, is answered like a revoked one: the answer tells nothing about other clients' tokens.
    pub async fn revoke(
        &self,
        form: &RevokeRequest,
        basic: Option<(&str, &str)>,
        client: &Client,
    ) -> Result<(), TokenError> {
        let registered =
            self.authenticate(basic, form.client_id.as_deref(), form.client_secret.as_deref())?;
        let value = form
            .token
            .as_deref()
            .ok_or_else(|| TokenError::new("invalid_request", "token is missing"))?;
        // The hint only orders the look-ups (RFC 7009 §2.1).
        let order = match form.token_type_hint.as_deref() {
            Some("access_token") => [TokenKind::Access, TokenKind::Refresh],
            _ => [TokenKind::Refresh, TokenKind::Access],
        };
        for kind in order {
            if let Some((token, grant)) = self.live(kind, value, client.now).await? {
                if grant.client_id != registered.info.id {
                    break;
                }
                match kind {
                    // A refresh token ends its grant, and so the access tokens it issued.
                    TokenKind::Refresh => self.store.revoke_grant(&grant.id, client.now).await?,
                    _ => self.store.delete_token(&token.digest).await?,
                }
                let who = Some((&grant.user_id, grant.details.login.as_str()));
                let detail = Some(format!("{} {}", grant.client_id, kind.as_str()));
                self.audit(client, "oidc.revoke", who, "revoked", detail).await;
                break;
            }
        }
        Ok(())
    }

    /// The end-session endpoint (RP-Initiated Logout 1.0). `browser`: who is signed in here.
    pub async fn end_session(
        &self,
        req: &LogoutRequest,
        browser: Option<&Authenticated>,
    ) -> Result<Logout, PageError> {
        let hint = match req.id_token_hint.as_deref() {
            Some(token) if token.len() <= 8192 => self.signer.verify_own(token).await?,
            Some(_) => None,
            None => None,
        };
        let hint = hint.filter(|claims| claims["iss"] == self.settings.issuer.as_str());
        if req.id_token_hint.is_some() && hint.is_none() {
            tracing::info!("an id_token_hint this provider did not sign (or not for it)");
        }
        let hint_client = hint.as_ref().and_then(|c| c["aud"].as_str().map(str::to_owned));
        let client_id = match (hint_client, req.client_id.as_deref()) {
            (Some(a), Some(b)) if a != b => {
                return Err(PageError::Invalid("client_id and id_token_hint name different apps"));
            }
            (Some(a), _) => Some(a),
            (None, b) => b.map(str::to_owned),
        };
        let registered = match client_id.as_deref() {
            Some(id) => Some(
                self.clients.get(id).ok_or(PageError::Invalid("unknown client_id at logout"))?,
            ),
            None => None,
        };
        let redirect = match (req.post_logout_redirect_uri.as_deref(), registered) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(PageError::Invalid(
                    "post_logout_redirect_uri needs an id_token_hint or a client_id",
                ));
            }
            (Some(uri), Some(c)) => {
                if !c.info.post_logout_redirect_uris.iter().any(|u| u == uri) {
                    return Err(PageError::Invalid(
                        "post_logout_redirect_uri is not registered for this app",
                    ));
                }
                let mut pairs = Vec::new();
                if let Some(state) = req.state.as_deref() {
                    pairs.push(("state", state));
                }
                Some(with_query(uri, &pairs))
            }
        };
        let browser = browser.filter(|u| !u.sid.is_empty());
        let Some(user) = browser else {
            return Ok(Logout::NothingToEnd { redirect });
        };
        let hint_matches = hint.as_ref().is_some_and(|claims| {
            claims["sid"] == user.sid.as_str() && claims["sub"] == user.user_id.as_str()
        });
        if hint_matches {
            Ok(Logout::SignOut { redirect })
        } else {
            Ok(Logout::Confirm {
                app: registered.map(|c| c.info.name.clone()),
                client_id: registered.map(|c| c.info.id.clone()),
                redirect,
            })
        }
    }

    /// Latchkey's own sign-out (or an end-session logout): every app this sign-in reached.
    pub async fn signed_out(&self, user: &Authenticated, client: &Client) {
        if user.sid.is_empty() {
            return;
        }
        match self.store.revoke_grants(GrantsOf::SignIn(&user.sid), client.now).await {
            Ok(grants) => {
                for g in grants {
                    let who = Some((&user.user_id, user.login.as_str()));
                    let kind = logout_kind(&g.client_id);
                    self.audit(client, kind, who, "revoked", Some(g.client_id)).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "app sessions could not be ended at sign-out"),
        }
    }

    /// This sign-in moved its person's session generation on and stays signed in ("sign out of
    /// all other browsers", a change made on the security page): its app sessions stay too.
    pub async fn kept_signed_in(&self, user: &Authenticated, generation: i64) {
        if user.sid.is_empty() {
            return;
        }
        if let Err(e) = self.store.restamp_grants(&user.sid, generation).await {
            tracing::error!(error = %e, "this sign-in's app sessions could not follow it");
        }
    }

    /// Ends every app session of a person (an administrator's reset, forgetting browsers).
    pub async fn end_all(&self, user_id: &UserId, login: &str, client: &Client, why: &str) {
        match self.store.revoke_grants(GrantsOf::Person(user_id), client.now).await {
            Ok(grants) => {
                for g in grants {
                    let kind = logout_kind(&g.client_id);
                    let detail = Some(format!("{} {why}", g.client_id));
                    self.audit(client, kind, Some((user_id, login)), "revoked", detail).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "app sessions could not be ended"),
        }
    }

    /// The apps a person is signed in to.
    pub async fn apps(&self, user_id: &UserId, now: i64) -> Result<Vec<AppSession>, Unavailable> {
        let grants = self.store.live_grants(user_id, now).await?;
        // A grant from before the person's sessions were last ended (a reset, "sign out of all
        // other browsers", a phone removed) is refused at its next use: not listed either.
        let generation = self.generations.generation(user_id).await?;
        let mut seen = std::collections::BTreeSet::new();
        Ok(grants
            .into_iter()
            .filter(|g| g.generation >= generation)
            // Newest first: one line per app, its latest sign-in.
            .filter(|g| seen.insert(g.client_id.clone()))
            .map(|g| AppSession {
                name: self.app_name(&g.client_id).unwrap_or(&g.client_id).to_owned(),
                client_id: g.client_id,
                since: g.created_at,
                last_used: g.last_used_at,
                acr: g.details.acr,
            })
            .collect())
    }

    /// "Sign out of this app": ends every grant of the person at `client_id`.
    pub async fn sign_out_of_app(
        &self,
        user_id: &UserId,
        login: &str,
        client_id: &str,
        client: &Client,
    ) -> Result<bool, Unavailable> {
        let grants = self
            .store
            .revoke_grants(GrantsOf::PersonAtClient(user_id, client_id), client.now)
            .await?;
        if !grants.is_empty() {
            let detail = Some(client_id.to_owned());
            let kind = logout_kind(client_id);
            self.audit(client, kind, Some((user_id, login)), "app_signed_out", detail).await;
        }
        Ok(!grants.is_empty())
    }

    /// The level the app of a waiting request asks for, and its name, for the sign-in page.
    pub async fn waiting_app(&self, request_id: &str, now: i64) -> Option<(String, Level)> {
        let pending = self.store.load_request(request_id, now).await.ok().flatten()?;
        let request: AuthorizeRequest = serde_json::from_str(&pending.request).ok()?;
        let name = self.clients.get(&request.client_id)?.info.name.clone();
        Some((name, request.requested.level))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_form_encoded() {
        assert_eq!(
            with_query("https://app.example/cb", &[("code", "a b"), ("state", "x&y=z")]),
            "https://app.example/cb?code=a%20b&state=x%26y%3Dz"
        );
        assert_eq!(
            with_query("https://app.example/cb?tenant=1", &[("code", "c")]),
            "https://app.example/cb?tenant=1&code=c"
        );
    }

    #[test]
    fn app_origins_are_scheme_and_authority_only() {
        assert_eq!(origin_of("https://app.example/cb?x=1").as_deref(), Some("https://app.example"));
        assert_eq!(origin_of("http://127.0.0.1:9/cb").as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(origin_of("https://[::1]:8443/").as_deref(), Some("https://[::1]:8443"));
        assert_eq!(origin_of("https://user@app.example/"), None, "no user info in a header");
        assert_eq!(origin_of("javascript://x"), None);
        assert_eq!(origin_of("https://a.example;script-src *"), None);
    }

    #[test]
    fn secrets_compare_whole() {
        let s = SecretString::from("correct horse battery staple 0123456789".to_owned());
        assert!(same_secret("correct horse battery staple 0123456789", &s));
        assert!(!same_secret("correct horse battery staple 012345678", &s));
        assert!(!same_secret("", &s));
    }
}
