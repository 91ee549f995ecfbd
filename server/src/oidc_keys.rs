//! The OpenID Connect provider's signing keys ([`TokenSigner`]): generated at first start (or
//! read from the operator's PEM files), stored sealed in the database, rotated.
//!
//! Rotation: a key signs for `oidc.key_rotation_days`; its successor is published
//! [`PUBLISH_AHEAD_SECS`] before it starts signing (relying parties that cache the JWKS already
//! know it), and a retired key stays published for `keep_secs` after its successor took over —
//! the longest anything it signed can still be presented (an ID token, an `id_token_hint` of
//! a sign-in that may still be going on).

use std::sync::Arc;

use async_trait::async_trait;
use domain::oidc::records::StoredKey;
use domain::ports::{OidcStore, TokenSigner, Unavailable};
use jose::{Alg, SigningKey, VerifyingKey};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// The next key is in the JWKS this long before it signs.
pub const PUBLISH_AHEAD_SECS: i64 = 2 * 86_400;
/// Keys are read from the database again at most this often (another instance may rotate).
const RELOAD_SECS: i64 = 60;

/// Makes a new key; `jose::SigningKey::generate` in production, fixture keys in tests.
pub type Generate = Arc<dyn Fn(Alg) -> Result<SigningKey, jose::JoseError> + Send + Sync>;

struct Loaded {
    key: Arc<SigningKey>,
    generation: i64,
    activates_at: i64,
}

struct Cache {
    read_at: i64,
    keys: Vec<Loaded>,
}

pub struct KeyRing {
    store: Arc<dyn OidcStore>,
    /// `security.hmac_keys`, newest first: keys are sealed under a key derived from the first
    /// and opened with any, so rotating them does not lose the signing keys.
    secrets: Vec<SecretString>,
    algs: Vec<Alg>,
    rotation_secs: i64,
    keep_secs: i64,
    /// Operator-supplied keys: the first signs (for its algorithm), all are published; nothing
    /// is generated, stored or rotated.
    operator: Vec<Arc<SigningKey>>,
    generate: Generate,
    cache: RwLock<Option<Cache>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("algs", &self.algs).finish_non_exhaustive()
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Unavailable {
    tracing::error!(error = %e, what, "OpenID Connect signing keys");
    Unavailable { kind: "keys" }
}

pub struct KeyRingParts {
    pub store: Arc<dyn OidcStore>,
    pub secrets: Vec<SecretString>,
    /// Every algorithm a client signs with (RS256 always).
    pub algs: Vec<Alg>,
    pub rotation_days: u32,
    pub keep_secs: i64,
    pub operator: Vec<SigningKey>,
    pub generate: Generate,
}

impl KeyRing {
    pub fn new(p: KeyRingParts) -> Self {
        let mut algs = p.algs;
        if !algs.contains(&Alg::RS256) {
            algs.push(Alg::RS256);
        }
        Self {
            store: p.store,
            secrets: p.secrets,
            algs,
            rotation_secs: i64::from(p.rotation_days) * 86_400,
            keep_secs: p.keep_secs,
            operator: p.operator.into_iter().map(Arc::new).collect(),
            generate: p.generate,
            cache: RwLock::new(None),
        }
    }

    /// Seals a key for the database.
    pub fn seal(secret: &SecretString, key: &SigningKey) -> Result<String, jose::JoseError> {
        Ok(jose::b64url(&jose::seal(secret.expose_secret().as_bytes(), key.pkcs8_der())?))
    }

    fn open(&self, stored: &StoredKey) -> Result<SigningKey, Unavailable> {
        let alg = Alg::parse(&stored.alg)
            .ok_or_else(|| unavailable("stored key", format!("unknown alg {}", stored.alg)))?;
        let sealed =
            jose::b64url_decode(&stored.sealed).map_err(|e| unavailable("stored key", e))?;
        for secret in &self.secrets {
            if let Ok(der) = jose::open(secret.expose_secret().as_bytes(), &sealed) {
                return SigningKey::from_pkcs8_der(alg, &der)
                    .map_err(|e| unavailable("stored key", e));
            }
        }
        Err(unavailable(
            "stored key",
            format!(
                "key {} cannot be opened with any of security.hmac_keys: was the first key removed?",
                stored.kid
            ),
        ))
    }

    /// Makes sure every algorithm has a signing key and the next one is published in time;
    /// removes keys nothing can present any more. At start-up and whenever the cache is old.
    pub async fn ensure(&self, now: i64) -> Result<(), Unavailable> {
        if !self.operator.is_empty() {
            return Ok(());
        }
        let mut stored = self.store.signing_keys().await?;
        let mut changed = false;
        for &alg in &self.algs {
            let mine: Vec<&StoredKey> = stored.iter().filter(|k| k.alg == alg.as_str()).collect();
            // Published ahead by two days, or half the rotation period if that is shorter.
            let ahead = PUBLISH_AHEAD_SECS.min(self.rotation_secs / 2);
            let next = match mine.last() {
                None => Some((1, now)),
                Some(newest)
                    if self.rotation_secs > 0
                        && newest.activates_at + self.rotation_secs - ahead <= now =>
                {
                    Some((
                        newest.generation + 1,
                        (newest.activates_at + self.rotation_secs).max(now),
                    ))
                }
                Some(_) => None,
            };
            if let Some((generation, activates_at)) = next {
                self.create(alg, generation, activates_at, now).await?;
                changed = true;
            }
        }
        if changed {
            stored = self.store.signing_keys().await?;
        }
        // A key whose successor took over more than keep_secs ago signed nothing still usable.
        for key in &stored {
            let successor = stored
                .iter()
                .filter(|k| {
                    k.alg == key.alg && k.generation > key.generation && k.activates_at <= now
                })
                .map(|k| k.activates_at)
                .min();
            if successor.is_some_and(|took_over| took_over + self.keep_secs < now) {
                tracing::info!(kid = %key.kid, "a retired signing key is no longer published");
                self.store.delete_signing_key(&key.kid).await?;
                changed = true;
            }
        }
        if changed {
            stored = self.store.signing_keys().await?;
        }
        let mut keys = Vec::with_capacity(stored.len());
        for s in &stored {
            keys.push(Loaded {
                key: Arc::new(self.open(s)?),
                generation: s.generation,
                activates_at: s.activates_at,
            });
        }
        *self.cache.write().await = Some(Cache { read_at: now, keys });
        Ok(())
    }

    async fn create(
        &self,
        alg: Alg,
        generation: i64,
        activates_at: i64,
        now: i64,
    ) -> Result<(), Unavailable> {
        let generate = self.generate.clone();
        // RSA generation takes a while: off the async threads.
        let key = tokio::task::spawn_blocking(move || generate(alg))
            .await
            .map_err(|e| unavailable("key generation", e))?
            .map_err(|e| unavailable("key generation", e))?;
        let secret = self.secrets.first().ok_or_else(|| unavailable("sealing", "no hmac key"))?;
        let sealed = Self::seal(secret, &key).map_err(|e| unavailable("sealing", e))?;
        let added = self
            .store
            .add_signing_key(&StoredKey {
                alg: alg.as_str().to_owned(),
                generation,
                kid: key.kid().to_owned(),
                sealed,
                created_at: now,
                activates_at,
            })
            .await?;
        if added {
            tracing::info!(
                alg = alg.as_str(),
                generation,
                kid = key.kid(),
                "created a signing key"
            );
        }
        Ok(())
    }

    /// The keys, read again when the cache is older than [`RELOAD_SECS`].
    async fn keys(&self) -> Result<Vec<(Arc<SigningKey>, i64, i64)>, Unavailable> {
        if !self.operator.is_empty() {
            // The first listed signs: it gets the highest "generation".
            return Ok(self
                .operator
                .iter()
                .enumerate()
                .map(|(i, k)| (k.clone(), -i64::try_from(i).unwrap_or(i64::MAX), 0))
                .collect());
        }
        let now = domain::now_ms() / 1000;
        let fresh = matches!(&*self.cache.read().await, Some(c) if now - c.read_at < RELOAD_SECS);
        if !fresh {
            self.ensure(now).await?;
        }
        let cache = self.cache.read().await;
        Ok(cache
            .as_ref()
            .map(|c| c.keys.iter().map(|l| (l.key.clone(), l.generation, l.activates_at)).collect())
            .unwrap_or_default())
    }

    /// The key that signs for `alg` at `now`: the newest one already active.
    pub async fn current(&self, alg: Alg, now: i64) -> Result<Arc<SigningKey>, Unavailable> {
        let keys = self.keys().await?;
        keys.iter()
            .filter(|(k, _, activates_at)| k.alg() == alg && *activates_at <= now)
            .max_by_key(|(_, generation, _)| *generation)
            .map(|(k, _, _)| k.clone())
            .ok_or_else(|| unavailable("signing", format!("no active {} key", alg.as_str())))
    }
}

#[async_trait]
impl TokenSigner for KeyRing {
    async fn sign(&self, alg: &str, claims: &Value) -> Result<String, Unavailable> {
        let alg = Alg::parse(alg).ok_or_else(|| unavailable("signing", format!("alg {alg}")))?;
        let now = domain::now_ms() / 1000;
        let key = self.current(alg, now).await?;
        key.sign_jwt(claims).map_err(|e| unavailable("signing", e))
    }

    async fn jwks(&self) -> Result<Value, Unavailable> {
        let keys: Vec<Value> = self.keys().await?.iter().map(|(k, _, _)| k.public_jwk()).collect();
        Ok(json!({ "keys": keys }))
    }

    async fn verify_own(&self, token: &str) -> Result<Option<Value>, Unavailable> {
        let keys: Vec<VerifyingKey> =
            self.keys().await?.iter().map(|(k, _, _)| k.verifying_key()).collect();
        Ok(jose::verify_jwt(token, &keys).ok())
    }

    fn half_hash(&self, alg: &str, access_token: &str) -> String {
        jose::half_hash(Alg::parse(alg).unwrap_or(Alg::RS256), access_token)
    }
}
