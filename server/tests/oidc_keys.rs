//! The provider's signing keys on both databases: created once when instances start together,
//! sealed under `security.hmac_keys` (and still opened after those rotate), rotated with the
//! next key published ahead, and a retired key kept in the JWKS while what it signed can still
//! be presented — checked with the `openidconnect` crate's ID token verifier.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Backend, TestDb};
use domain::ports::{OidcStore, TokenSigner};
use jose::Alg;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, IssuerUrl, Nonce};
use secrecy::SecretString;
use server::oidc_keys::{KeyRing, KeyRingParts, PUBLISH_AHEAD_SECS};

const ISSUER: &str = "https://sso.example.org";
const DAY: i64 = 86_400;

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// A ring whose "generated" keys are fixture keys, first `first` then the second fixture, and
/// which counts how often it generated.
fn ring(
    store: Arc<dyn OidcStore>,
    secrets: &[&str],
    rotation_days: u32,
    keep_secs: i64,
    second_first: bool,
) -> (KeyRing, Arc<AtomicUsize>) {
    let made = Arc::new(AtomicUsize::new(0));
    let counter = made.clone();
    let ring = KeyRing::new(KeyRingParts {
        store,
        secrets: secrets.iter().map(|s| secret(s)).collect(),
        algs: vec![Alg::RS256],
        rotation_days,
        keep_secs,
        operator: Vec::new(),
        generate: Arc::new(move |alg| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            Ok(if (n == 0) != second_first {
                jose::fixtures::key(alg)
            } else {
                jose::fixtures::second_key(alg)
            })
        }),
    });
    (ring, made)
}

fn now() -> i64 {
    domain::now_ms() / 1000
}

fn id_token_claims(iat: i64) -> serde_json::Value {
    serde_json::json!({
        "iss": ISSUER, "aud": "app", "sub": "alice-id", "iat": iat,
        "exp": now() + 30 * DAY, "nonce": "n-1",
    })
}

/// Whether a relying party that fetched `jwks` accepts `token`.
fn relying_party_accepts(jwks: &serde_json::Value, token: &str) -> bool {
    let keys: CoreJsonWebKeySet = serde_json::from_value(jwks.clone()).expect("a JWKS");
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new("app".into()),
        IssuerUrl::new(ISSUER.into()).unwrap(),
        keys,
    );
    let token: CoreIdToken = token.parse().expect("an ID token");
    token.claims(&verifier, &Nonce::new("n-1".into())).is_ok()
}

async fn keys_are_created_once_when_instances_start_together(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db: Arc<dyn OidcStore> = Arc::new(test_db.open().await);
    let keys = "integration-test-key-0123456789abcdef";
    // Two instances, each of which would make a different key.
    let (a, _) = ring(db.clone(), &[keys], 90, DAY, false);
    let (b, _) = ring(db.clone(), &[keys], 90, DAY, true);
    let t = now();
    let (ra, rb) = tokio::join!(a.ensure(t), b.ensure(t));
    ra.expect("instance A");
    rb.expect("instance B");
    assert_eq!(db.signing_keys().await.unwrap().len(), 1, "one RS256 key, whoever won");
    let (ka, kb) =
        (a.current(Alg::RS256, t).await.unwrap(), b.current(Alg::RS256, t).await.unwrap());
    assert_eq!(ka.kid(), kb.kid(), "both instances sign with the same key");
    assert_eq!(a.jwks().await.unwrap(), b.jwks().await.unwrap());
    // A third start finds it and makes nothing.
    let (c, made) = ring(db.clone(), &[keys], 90, DAY, false);
    c.ensure(t).await.unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 0);
}

async fn keys_are_sealed_and_survive_an_hmac_key_rotation(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db: Arc<dyn OidcStore> = Arc::new(test_db.open().await);
    let old = "old-hmac-key-0123456789abcdef-0123456789";
    let new = "new-hmac-key-0123456789abcdef-0123456789";
    let (a, _) = ring(db.clone(), &[old], 90, DAY, false);
    let t = now();
    a.ensure(t).await.unwrap();
    let stored = db.signing_keys().await.unwrap();
    let fixture = jose::fixtures::key(Alg::RS256);
    let der_b64 = jose::b64url(fixture.pkcs8_der());
    assert!(!stored[0].sealed.contains(&der_b64[..40]), "the private key is not stored in clear");
    // The operator puts a new key first and keeps the old one: the signing key still opens.
    let (b, made) = ring(db.clone(), &[new, old], 90, DAY, true);
    b.ensure(t).await.expect("opened with the older hmac key");
    assert_eq!(made.load(Ordering::SeqCst), 0);
    assert_eq!(b.current(Alg::RS256, t).await.unwrap().kid(), fixture.kid());
    // Without the key it was sealed under, it says so instead of signing with something else.
    let (c, _) = ring(db.clone(), &[new], 90, DAY, true);
    assert!(c.ensure(t).await.is_err());
}

async fn rotation_publishes_ahead_and_keeps_the_retired_key_while_needed(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db: Arc<dyn OidcStore> = Arc::new(test_db.open().await);
    let keep = 2 * 3600;
    let (keys, _) = ring(db.clone(), &["integration-test-key-0123456789abcdef"], 10, keep, false);
    let t0 = now();
    keys.ensure(t0).await.unwrap();
    let first = keys.current(Alg::RS256, t0).await.unwrap();
    let token = first.sign_jwt(&id_token_claims(t0)).unwrap();
    assert!(relying_party_accepts(&keys.jwks().await.unwrap(), &token));

    // Shortly before the rotation the next key is published, but the first still signs.
    let ahead = t0 + 10 * DAY - PUBLISH_AHEAD_SECS + 1;
    keys.ensure(ahead).await.unwrap();
    let jwks = keys.jwks().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "the next key is published ahead");
    assert_eq!(keys.current(Alg::RS256, ahead).await.unwrap().kid(), first.kid());

    // After the rotation the new key signs; a token of the retired key still verifies.
    let after = t0 + 10 * DAY + 10;
    keys.ensure(after).await.unwrap();
    let second = keys.current(Alg::RS256, after).await.unwrap();
    assert_ne!(second.kid(), first.kid(), "the next key signs now");
    let jwks = keys.jwks().await.unwrap();
    assert!(relying_party_accepts(&jwks, &token), "the retired key's token still verifies");
    assert!(keys.verify_own(&token).await.unwrap().is_some(), "and works as an id_token_hint");
    let newer = second.sign_jwt(&id_token_claims(after)).unwrap();
    assert!(relying_party_accepts(&jwks, &newer));

    // Once nothing it signed can be presented, the retired key leaves the JWKS.
    let later = t0 + 10 * DAY + keep + 20;
    keys.ensure(later).await.unwrap();
    let jwks = keys.jwks().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert!(!relying_party_accepts(&jwks, &token), "its tokens no longer verify");
    assert!(relying_party_accepts(&jwks, &newer));
}

on_both!(
    keys_are_created_once_when_instances_start_together,
    keys_are_sealed_and_survive_an_hmac_key_rotation,
    rotation_publishes_ahead_and_keeps_the_retired_key_while_needed,
);
