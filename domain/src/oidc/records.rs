//! What the OpenID Connect provider keeps, as its store exchanges it (`ports::OidcStore`).
//! Codes and tokens are kept only as HMACs of their value; nothing here is a secret except the
//! sealed signing keys, which are encrypted.

use serde::{Deserialize, Serialize};

use crate::directory::UserId;

/// A signing key as stored: the private key sealed (PKCS#8, AES-256-GCM), base64.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub alg: String,
    /// Counts up per algorithm; (alg, generation) is unique, so of several instances creating
    /// the same key at once exactly one wins.
    pub generation: i64,
    pub kid: String,
    pub sealed: String,
    /// Published in the JWKS from here on.
    pub created_at: i64,
    /// Signs from here on (until the next generation activates).
    pub activates_at: i64,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("alg", &self.alg)
            .field("generation", &self.generation)
            .field("kid", &self.kid)
            .field("activates_at", &self.activates_at)
            .finish_non_exhaustive()
    }
}

/// An authorization request waiting while the person signs in. `request` is the validated
/// request as JSON ([`super::request::AuthorizeRequest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    pub id: String,
    pub client_id: String,
    pub request: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a grant says about the sign-in it came from: the claims its tokens carry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GrantDetails {
    pub scopes: Vec<String>,
    /// The acr value the app asked for (echoed), and what the sign-in achieved.
    pub acr: String,
    pub amr: Vec<String>,
    pub auth_time: i64,
    pub login: String,
    /// Forward authentication only: what the proxy passes to the app (`Remote-Name`,
    /// `Remote-Email`, `Remote-Groups`), as the directory said when the app was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// A person's sign-in to one app: its tokens live and die with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: UserId,
    /// The Latchkey sign-in (browser session) it came from; the ID token's `sid`.
    pub sid: String,
    /// The person's session generation when granted: a later one ends the grant.
    pub generation: i64,
    pub details: GrantDetails,
    pub created_at: i64,
    pub last_used_at: i64,
    /// Never later than the Latchkey sign-in's absolute end.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Code,
    Access,
    Refresh,
    /// Forward authentication: the one-time code a browser brings to an app's host.
    ForwardCode,
    /// Forward authentication: the app host's cookie.
    ForwardSession,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Code => "code",
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
            TokenKind::ForwardCode => "forward_code",
            TokenKind::ForwardSession => "forward_session",
        }
    }
}

/// What a code remembers beyond its grant, for the token response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// Scopes of this token (a refresh may narrow them).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Forward authentication: SHA-256 (hex) of the state cookie the browser got on the app's
    /// host when it set out; the code is only good with that cookie (no login CSRF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_binding: Option<String>,
}

/// A code or token, by the HMAC of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub digest: String,
    pub kind: TokenKind,
    pub grant_id: String,
    pub details: TokenDetails,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// The outcome of using a single-use value (a code, a refresh token).
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per use of a code or token, moved once: boxing buys nothing"
)]
pub enum Taken {
    /// First use, within its lifetime, its grant live: now marked used.
    Fresh(TokenRecord, Grant),
    /// Used before: whoever holds it may have stolen it. The caller revokes the grant.
    Reused(Grant),
    /// Unknown, expired, or its grant revoked.
    Unknown,
}

/// Which grants to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantsOf<'a> {
    Person(&'a UserId),
    /// One Latchkey sign-in (signing out of Latchkey).
    SignIn(&'a str),
    /// One app of one person ("sign out of this app").
    PersonAtClient(&'a UserId, &'a str),
}
