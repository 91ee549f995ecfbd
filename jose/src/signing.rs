//! Private signing keys: generated, loaded from what we store (PKCS#8) or from an operator's
//! PEM, and used to sign compact JWTs.

use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::verifying::{PublicKey, VerifyingKey};
use crate::{Alg, JoseError, b64url, der, pem};

/// A private signing key, with its PKCS#8 form for storage. `Debug` shows the alg and kid only.
pub struct SigningKey {
    pair: Pair,
    pkcs8: Zeroizing<Vec<u8>>,
    public: VerifyingKey,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg())
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new key. RS256 is 2048-bit RSA from the `rsa` crate, since ring cannot generate RSA
    /// keys (seconds in a debug build; it happens once, at first start); the others are ring's.
    pub fn generate(alg: Alg) -> Result<SigningKey, JoseError> {
        let rng = SystemRandom::new();
        match alg {
            Alg::RS256 => {
                use rsa::pkcs8::EncodePrivateKey as _;
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                    .map_err(|e| JoseError::KeyGeneration(e.to_string()))?;
                let der =
                    key.to_pkcs8_der().map_err(|e| JoseError::KeyGeneration(e.to_string()))?;
                SigningKey::from_pkcs8_der(alg, der.as_bytes())
            }
            Alg::ES256 => {
                let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| JoseError::Random)?;
                SigningKey::from_pkcs8_der(alg, der.as_ref())
            }
            Alg::EdDSA => {
                let der = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| JoseError::Random)?;
                SigningKey::from_pkcs8_der(alg, der.as_ref())
            }
        }
    }

    /// From PKCS#8 DER, as stored. The key must be for `alg`.
    pub fn from_pkcs8_der(alg: Alg, der: &[u8]) -> Result<SigningKey, JoseError> {
        let found = der::pkcs8_alg(der)?;
        if found != alg {
            return Err(JoseError::KeyAlgMismatch { expected: alg, found });
        }
        // ring's reasons are fixed words ("InconsistentComponents", ...), never key bytes.
        let rejected = |e: ring::error::KeyRejected| {
            JoseError::InvalidKey(format!("ring refused the {alg} key: {e}"))
        };
        let (pair, public) = match alg {
            Alg::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                let PublicKeyComponents { n, e } =
                    PublicKeyComponents::<Vec<u8>>::from(pair.public());
                (Pair::Rsa(pair), PublicKey::Rsa { n, e })
            }
            Alg::ES256 => {
                let rng = SystemRandom::new();
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(rejected)?;
                // Uncompressed point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let (x, y) = point[1..].split_at(32);
                let public = PublicKey::P256 { x: x.to_vec(), y: y.to_vec() };
                (Pair::Ecdsa(pair), public)
            }
            Alg::EdDSA => {
                // "Maybe unchecked" takes PKCS#8 v1, which is what `openssl genpkey` writes;
                // v2 documents still get their public key checked against the private one.
                let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?;
                let x = pair.public_key().as_ref().to_vec();
                (Pair::Ed25519(pair), PublicKey::Ed25519 { x })
            }
        };
        Ok(SigningKey {
            pair,
            pkcs8: Zeroizing::new(der.to_vec()),
            public: VerifyingKey::new(public),
        })
    }

    /// From PEM as an operator supplies it: `PRIVATE KEY` (PKCS#8, any of the three),
    /// `RSA PRIVATE KEY` (PKCS#1) or `EC PRIVATE KEY` (SEC1, P-256). The alg follows the key.
    pub fn from_pem(pem: &str) -> Result<SigningKey, JoseError> {
        let (label, der) = pem::private_key(pem)?;
        let pkcs8 = match label {
            pem::PKCS1 => der::pkcs8_from_pkcs1(&der),
            pem::SEC1 => der::pkcs8_from_sec1(&der)?,
            _ => der,
        };
        SigningKey::from_pkcs8_der(der::pkcs8_alg(&pkcs8)?, &pkcs8)
    }

    /// PKCS#8 DER: what to store (sealed) and reload with [`SigningKey::from_pkcs8_der`].
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn alg(&self) -> Alg {
        self.public.alg()
    }

    /// The RFC 7638 thumbprint of the public JWK.
    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    pub fn public_jwk(&self) -> Value {
        self.public.public_jwk()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }

    /// A compact JWS of `claims` (a JSON object) with header `{"alg","typ":"JWT","kid"}`.
    pub fn sign_jwt(&self, claims: &Value) -> Result<String, JoseError> {
        if !claims.is_object() {
            return Err(JoseError::ClaimsNotObject);
        }
        // Written out rather than built as a map, so the header's bytes never depend on
        // serde_json's map ordering features elsewhere in the workspace.
        let header =
            format!(r#"{{"alg":"{}","typ":"JWT","kid":{}}}"#, self.alg(), Value::from(self.kid()));
        let signing_input =
            format!("{}.{}", b64url(header.as_bytes()), b64url(claims.to_string().as_bytes()));
        let signature = self.sign(signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", b64url(&signature)))
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| JoseError::Sign)?;
                Ok(signature)
            }
            Pair::Ecdsa(pair) => {
                let signature = pair.sign(&rng, message).map_err(|_| JoseError::Sign)?;
                Ok(signature.as_ref().to_vec())
            }
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{fixtures, verify_jwt};

    const ALGS: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

    #[test]
    fn rfc_8037_ed25519_signature() {
        // RFC 8037 A.1 (private key d), A.2 (public x), A.3 (thumbprint), A.4 (signature).
        let d = b64url_decode_32("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
        let key =
            SigningKey::from_pkcs8_der(Alg::EdDSA, &der::pkcs8_from_ed25519_seed(&d)).unwrap();
        assert_eq!(key.public_jwk()["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");

        let signing_input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let signature = key.sign(signing_input.as_bytes()).unwrap();
        assert_eq!(
            b64url(&signature),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
        key.verifying_key().verify(signing_input.as_bytes(), &signature).unwrap();

        // And the same key through our own JWT path.
        let token = key.sign_jwt(&json!({ "sub": "alice" })).unwrap();
        assert_eq!(verify_jwt(&token, &[key.verifying_key()]).unwrap(), json!({ "sub": "alice" }));
    }

    fn b64url_decode_32(s: &str) -> [u8; 32] {
        crate::b64url_decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn fixture_kids_match_thumbprints_computed_with_openssl() {
        // Expected values: the public numbers printed by `openssl rsa -modulus` / `openssl pkey
        // -pubout`, put into RFC 7638's canonical JSON and hashed with `openssl dgst -sha256`.
        // This checks every loading path against an independent reading of the same files:
        // PKCS#8 RSA, PKCS#1, PKCS#8 P-256, SEC1 after EC PARAMETERS, PKCS#8 v1 Ed25519.
        let expected = [
            (fixtures::key(Alg::RS256), "a6F1_2iaobX8xu5TMbOeovNlZJJ_v2wf3rhQHDk4bcc"),
            (fixtures::second_key(Alg::RS256), "wOdEmvrT-kHmsvhbEAI8c423qiBTyMh9FR0xvZ7l5Es"),
            (fixtures::key(Alg::ES256), "joSKeLFfNx5sZ4_50nCc1FtEIPwTY2Fm38N-XduDwN4"),
            (fixtures::second_key(Alg::ES256), "LQKeVKcSnah3HilFpxLiw_lHS4Xd-GvwpOKk3iEb7ws"),
            (fixtures::key(Alg::EdDSA), "L5HqjKjrks06wmnq--2AULoI1A67xIxrGIk0pkfo8Os"),
            (fixtures::second_key(Alg::EdDSA), "c_6hh1x9VpZiLV9CNWx1IovQ76_VensJ2oTSNfPjmCY"),
        ];
        for (key, kid) in expected {
            assert_eq!(key.kid(), kid, "{key:?}");
        }
    }

    #[test]
    fn deterministic_signatures_match_openssl() {
        // RS256 and Ed25519 signatures are deterministic, so these tokens, signed with the
        // fixture keys by `openssl dgst -sha256 -sign` and `openssl pkeyutl -sign -rawin` over
        // the same header and payload, must come out byte for byte.
        let claims = json!({ "iss": "https://latchkey.example", "sub": "alice" });
        let rs256 = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImE2RjFfMmlhb2JYOHh1NVRNYk9lb3ZObFpKSl92MndmM3JoUUhEazRiY2MifQ.eyJpc3MiOiJodHRwczovL2xhdGNoa2V5LmV4YW1wbGUiLCJzdWIiOiJhbGljZSJ9.J5kQXmlzJYuBzxoQCnGoWJvZSWA6yMGJkHjNPp_5uv3EKuElT3zswKy1puqVsCeGA8-G3BEQK6-yrJu5J6ZaQo7qkahvSmvsSPHkVNhtf0w2xEhNaUSpmQHjjPsulDfRXOyRYFAqB_9yGnOJjy0ZLDRXD_OeibrN2VTlp5226NS6vW5xIg3t2RfZWQj03enJ-trGisue9uSc-6PchVHGcWjeDLmlpqOlfmwzYBc3amxPNXXsWC-_V1jDf-it_Ps-SAv8cu4rLNkUtzhjLLzrqg2WcLtTC1cTiU6DmfE_PSqhjMDCnpCmUlzlo-3BEih8IKZfujw_kGcWBdqd8uCBEg";
        let eddsa = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6Ikw1SHFqS2pya3MwNndtbnEtLTJBVUxvSTFBNjd4SXhyR0lrMHBrZm84T3MifQ.eyJpc3MiOiJodHRwczovL2xhdGNoa2V5LmV4YW1wbGUiLCJzdWIiOiJhbGljZSJ9.jCOUNEXe4DRHNlbv-j6K3LApz501o0mzNPJbw1GBLOAbYqwT6l_uo7s9LwicrtMC6n4d_A0pVt-6kU5nlkmkAQ";
        assert_eq!(fixtures::key(Alg::RS256).sign_jwt(&claims).unwrap(), rs256);
        assert_eq!(fixtures::key(Alg::EdDSA).sign_jwt(&claims).unwrap(), eddsa);
    }

    #[test]
    fn an_openssl_es256_token_verifies() {
        // Signed with `openssl dgst -sha256 -sign es256.pem`; the DER signature's r and s were
        // left-padded to 32 bytes each (JWS's fixed form).
        let token = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImpvU0tlTEZmTng1c1o0XzUwbkNjMUZ0RUlQd1RZMkZtMzhOLVhkdUR3TjQifQ.eyJpc3MiOiJodHRwczovL2xhdGNoa2V5LmV4YW1wbGUiLCJzdWIiOiJhbGljZSJ9.s0ghVjG8QB7AQcNQsqPtZxOrwVIenVjuhQBSUINbc1qoAzrjxxkqkpYJUs400iGRouXqmqn75VjMmP34QIL3WA";
        let key = fixtures::key(Alg::ES256).verifying_key();
        let claims = verify_jwt(token, &[key]).unwrap();
        assert_eq!(claims, json!({ "iss": "https://latchkey.example", "sub": "alice" }));
        // Ours are in the same 64-byte form.
        let ours = fixtures::key(Alg::ES256).sign_jwt(&claims).unwrap();
        let signature = ours.rsplit('.').next().unwrap();
        assert_eq!(crate::b64url_decode(signature).unwrap().len(), 64);
    }

    #[test]
    fn stored_pkcs8_reloads_to_the_same_key() {
        for alg in ALGS {
            for key in [fixtures::key(alg), fixtures::second_key(alg)] {
                let reloaded = SigningKey::from_pkcs8_der(alg, key.pkcs8_der()).unwrap();
                assert_eq!(reloaded.kid(), key.kid());
                assert_eq!(reloaded.alg(), alg);
                // The stored form is always PKCS#8, whatever PEM it came from.
                assert_eq!(der::pkcs8_alg(key.pkcs8_der()).unwrap(), alg);
            }
        }
    }

    #[test]
    fn from_pkcs8_der_refuses_another_algs_key() {
        let ed = fixtures::key(Alg::EdDSA);
        let err = SigningKey::from_pkcs8_der(Alg::RS256, ed.pkcs8_der()).unwrap_err();
        assert!(
            matches!(err, JoseError::KeyAlgMismatch { expected: Alg::RS256, found: Alg::EdDSA }),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "the key is an EdDSA key, not RS256");
        assert!(matches!(
            SigningKey::from_pkcs8_der(Alg::EdDSA, b"\x30\x03\x02\x01\x00"),
            Err(JoseError::InvalidKey(_))
        ));
    }

    #[test]
    fn from_pem_says_why_a_key_is_refused() {
        let rsa_1024 = SigningKey::from_pem(fixtures::RSA_1024_PEM).unwrap_err();
        assert!(matches!(rsa_1024, JoseError::RsaTooSmall { bits: 1024 }), "{rsa_1024:?}");
        assert_eq!(rsa_1024.to_string(), "the RSA key has 1024 bits; at least 2048 are required");

        let p384 = SigningKey::from_pem(fixtures::P384_PEM).unwrap_err();
        assert!(matches!(p384, JoseError::UnsupportedKey(_)), "{p384:?}");
        assert_eq!(
            p384.to_string(),
            "unsupported key: the EC key is on P-384; only P-256 (ES256) is supported"
        );

        // The same P-384 key as SEC1 (`openssl ec`) names its curve in [0].
        let sec1_p384 = "-----BEGIN EC PRIVATE KEY-----\nMIGkAgEBBDA8LNXceHOe19Do/mMtYRPsh17A8P6puWC17DtkWAuLVBvE6LuGs1vb\nuFXqOD49WMOgBwYFK4EEACKhZANiAATx98J9/OI0R8w+DZ2uoAMDUtHkGW7tj5Eg\nCIGuoA3uwaxfo/qgbxAO4Ac6vu65cT8p3AQwoAkwB1cy0cxQ3Ftcoi8qyEWSpdPt\nm8frIYUg9PM6RwoKL2VZCR+wFa/sXao=\n-----END EC PRIVATE KEY-----\n";
        let err = SigningKey::from_pem(sec1_p384).unwrap_err();
        assert!(err.to_string().contains("on P-384"), "{err}");

        let garbage = SigningKey::from_pem("hello").unwrap_err();
        assert!(matches!(garbage, JoseError::Pem(_)), "{garbage:?}");
        let cert =
            SigningKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(matches!(cert, JoseError::PemLabel(_)), "{cert:?}");
        let not_der =
            SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .unwrap_err();
        assert_eq!(not_der.to_string(), "invalid key: malformed PKCS#8 DER");
        // A PKCS#1 body under the PKCS#8 label: the structure is wrong, not the key.
        let pkcs1 = fixtures::SECOND_RS256_PEM.replace("RSA PRIVATE KEY", "PRIVATE KEY");
        assert!(matches!(SigningKey::from_pem(&pkcs1), Err(JoseError::InvalidKey(_))));
    }

    #[test]
    fn debug_shows_no_key_material() {
        for alg in ALGS {
            let key = fixtures::key(alg);
            let shown = format!("{key:?}");
            assert_eq!(shown, format!("SigningKey {{ alg: {alg}, kid: {:?}, .. }}", key.kid()));
            let shown = format!("{key:#?}");
            assert!(!shown.contains("pkcs8") && !shown.contains("pair"), "{shown}");
        }
    }

    #[test]
    fn keys_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<SigningKey>();
        shareable::<VerifyingKey>();
    }

    #[test]
    fn claims_must_be_an_object() {
        let key = fixtures::key(Alg::EdDSA);
        for claims in [json!([1]), json!("sub"), json!(null)] {
            assert!(matches!(key.sign_jwt(&claims), Err(JoseError::ClaimsNotObject)));
        }
    }

    #[test]
    fn generates_es256_and_eddsa_keys() {
        for alg in [Alg::ES256, Alg::EdDSA] {
            let key = SigningKey::generate(alg).unwrap();
            let other = SigningKey::generate(alg).unwrap();
            assert_eq!(key.alg(), alg);
            assert_ne!(key.kid(), other.kid());
            let reloaded = SigningKey::from_pkcs8_der(alg, key.pkcs8_der()).unwrap();
            assert_eq!(reloaded.kid(), key.kid());
            let token = key.sign_jwt(&json!({ "sub": "alice" })).unwrap();
            assert!(verify_jwt(&token, &[reloaded.verifying_key()]).is_ok());
            assert!(matches!(
                verify_jwt(&token, &[other.verifying_key()]),
                Err(JoseError::UnknownKid)
            ));
        }
    }

    #[test]
    #[ignore = "2048-bit RSA generation takes seconds in a debug build; run with --ignored"]
    fn generates_rs256_keys() {
        let key = SigningKey::generate(Alg::RS256).unwrap();
        assert_eq!(key.alg(), Alg::RS256);
        assert_eq!(key.public_jwk()["n"].as_str().unwrap().len(), 342);
        let reloaded = SigningKey::from_pkcs8_der(Alg::RS256, key.pkcs8_der()).unwrap();
        let token = key.sign_jwt(&json!({ "sub": "alice" })).unwrap();
        assert!(verify_jwt(&token, &[reloaded.verifying_key()]).is_ok());
    }
}
