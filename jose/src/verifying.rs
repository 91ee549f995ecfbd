//! Public keys: their JWK form, RFC 7638 thumbprints (our key ids) and signature checks.

use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use serde_json::{Map, Value, json};

use crate::{Alg, JoseError, b64url, b64url_decode};

/// The public half of a signing key: verifies tokens we issued, and is what the JWKS lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    alg: Alg,
    kid: String,
    public: PublicKey,
}

/// Big-endian integers and coordinates as JWK carries them (RFC 7518 §6, RFC 8037 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// x and y are 32 bytes each.
    P256 {
        x: Vec<u8>,
        y: Vec<u8>,
    },
    /// 32 bytes.
    Ed25519 {
        x: Vec<u8>,
    },
}

impl PublicKey {
    fn alg(&self) -> Alg {
        match self {
            PublicKey::Rsa { .. } => Alg::RS256,
            PublicKey::P256 { .. } => Alg::ES256,
            PublicKey::Ed25519 { .. } => Alg::EdDSA,
        }
    }

    /// RFC 7638: SHA-256 of the required members only, in lexicographic order, no whitespace.
    /// The values are base64url, so nothing needs escaping.
    pub(crate) fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicKey::Rsa { n, e } => {
                format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, b64url(e), b64url(n))
            }
            PublicKey::P256 { x, y } => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#, b64url(x), b64url(y))
            }
            PublicKey::Ed25519 { x } => {
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64url(x))
            }
        };
        b64url(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    fn parse_jwk(jwk: &Map<String, Value>) -> Result<PublicKey, JoseError> {
        let kty = jwk.get("kty").and_then(Value::as_str);
        match kty.ok_or(JoseError::InvalidJwk("no kty"))? {
            "RSA" => {
                let n = unsigned(member(jwk, "n")?);
                let e = unsigned(member(jwk, "e")?);
                // What ring verifies RS256 with; refusing here says why at load time.
                let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
                if !(2048..=8192).contains(&bits) {
                    return Err(JoseError::InvalidJwk(
                        "the RSA modulus must have 2048 to 8192 bits",
                    ));
                }
                Ok(PublicKey::Rsa { n, e })
            }
            "EC" => {
                if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                    return Err(JoseError::InvalidJwk("only the EC curve P-256 is supported"));
                }
                let (x, y) = (member(jwk, "x")?, member(jwk, "y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::InvalidJwk("P-256 x and y must be 32 bytes each"));
                }
                Ok(PublicKey::P256 { x, y })
            }
            "OKP" => {
                if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                    return Err(JoseError::InvalidJwk("only the OKP curve Ed25519 is supported"));
                }
                let x = member(jwk, "x")?;
                if x.len() != 32 {
                    return Err(JoseError::InvalidJwk("Ed25519 x must be 32 bytes"));
                }
                Ok(PublicKey::Ed25519 { x })
            }
            _ => Err(JoseError::InvalidJwk("kty must be RSA, EC or OKP")),
        }
    }
}

fn member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, JoseError> {
    let value = jwk.get(name).and_then(Value::as_str);
    let value = value.ok_or(JoseError::InvalidJwk("a required key member is missing"))?;
    b64url_decode(value).map_err(|_| JoseError::InvalidJwk("a key member is not base64url"))
}

/// JWA says no leading zero bytes; some producers add one, and the thumbprint must not care.
fn unsigned(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.drain(..zeros);
    bytes
}

impl VerifyingKey {
    pub(crate) fn new(public: PublicKey) -> VerifyingKey {
        VerifyingKey { alg: public.alg(), kid: public.thumbprint(), public }
    }

    /// From a public JWK. Keeps its `kid` when it has one (a JWKS we did not write may use
    /// other ids), else uses the thumbprint. Refuses a JWK whose `alg` or `use` says it is
    /// not for this, and one carrying a private key.
    pub fn from_jwk(jwk: &Value) -> Result<VerifyingKey, JoseError> {
        let jwk = jwk.as_object().ok_or(JoseError::InvalidJwk("not a JSON object"))?;
        if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|m| jwk.contains_key(*m)) {
            return Err(JoseError::InvalidJwk(
                "it holds private key material; give the public JWK only",
            ));
        }
        if jwk.get("use").is_some_and(|u| u != "sig") {
            return Err(JoseError::InvalidJwk("its use is not \"sig\""));
        }
        let mut key = VerifyingKey::new(PublicKey::parse_jwk(jwk)?);
        let alg = jwk.get("alg").map(|alg| alg.as_str().and_then(Alg::parse));
        if alg.is_some_and(|alg| alg != Some(key.alg)) {
            return Err(JoseError::InvalidJwk("its alg does not fit its key type"));
        }
        match jwk.get("kid") {
            None => {}
            Some(Value::String(kid)) => key.kid.clone_from(kid),
            Some(_) => return Err(JoseError::InvalidJwk("kid is not a string")),
        }
        Ok(key)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// `{"kty","use":"sig","alg","kid", n,e | crv,x,y | crv,x}`, as the JWKS publishes it.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = match &self.public {
            PublicKey::Rsa { n, e } => json!({ "kty": "RSA", "n": b64url(n), "e": b64url(e) }),
            PublicKey::P256 { x, y } => {
                json!({ "kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y) })
            }
            PublicKey::Ed25519 { x } => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64url(x) }),
        };
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(self.alg.as_str());
        jwk["kid"] = json!(self.kid);
        jwk
    }

    /// Checks `signature` over `message` with this key's algorithm; constant time is ring's.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        let result = match &self.public {
            PublicKey::Rsa { n, e } => RsaPublicKeyComponents { n, e }.verify(
                &RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
            PublicKey::P256 { x, y } => {
                let point = [&[0x04][..], x, y].concat();
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature)
            }
            PublicKey::Ed25519 { x } => {
                UnparsedPublicKey::new(&ED25519, x).verify(message, signature)
            }
        };
        result.map_err(|_| JoseError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    const RFC_7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    #[test]
    fn rfc_7638_example_thumbprint() {
        // RFC 7638 §3.1; its JWK names its own kid, which from_jwk keeps.
        let jwk = json!({ "kty": "RSA", "n": RFC_7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29" });
        let key = VerifyingKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.kid(), "2011-04-29");
        assert_eq!(key.alg(), Alg::RS256);
        assert_eq!(key.public.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

        // Without a kid, the kid is the thumbprint; a leading zero in n changes nothing.
        let mut n = vec![0];
        n.extend(b64url_decode(RFC_7638_N).unwrap());
        let jwk = json!({ "kty": "RSA", "n": b64url(&n), "e": "AQAB" });
        let key = VerifyingKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!(key.public_jwk()["n"], RFC_7638_N);
    }

    #[test]
    fn rfc_8037_ed25519_thumbprint() {
        // RFC 8037 A.2 (public key) and A.3 (its thumbprint).
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" });
        let key = VerifyingKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(key.alg(), Alg::EdDSA);
    }

    #[test]
    fn public_jwks_have_exactly_the_published_members() {
        let key = fixtures::key(Alg::RS256);
        let jwk = key.public_jwk();
        let mut names: Vec<_> = jwk.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["n"].as_str().unwrap().len(), 342, "2048 bits, no leading zero");
        assert_eq!(
            (&jwk["kty"], &jwk["use"], &jwk["alg"]),
            (&json!("RSA"), &json!("sig"), &json!("RS256"))
        );

        let jwk = fixtures::key(Alg::ES256).public_jwk();
        let mut names: Vec<_> = jwk.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
        assert_eq!(
            (&jwk["kty"], &jwk["crv"], &jwk["alg"]),
            (&json!("EC"), &json!("P-256"), &json!("ES256"))
        );

        let jwk = fixtures::key(Alg::EdDSA).public_jwk();
        let mut names: Vec<_> = jwk.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
        assert_eq!(
            (&jwk["kty"], &jwk["crv"], &jwk["alg"]),
            (&json!("OKP"), &json!("Ed25519"), &json!("EdDSA"))
        );
    }

    #[test]
    fn a_published_jwk_verifies_what_the_private_key_signed() {
        for alg in [Alg::RS256, Alg::ES256, Alg::EdDSA] {
            let key = fixtures::key(alg);
            let verifying = VerifyingKey::from_jwk(&key.public_jwk()).unwrap();
            assert_eq!(verifying, key.verifying_key());
            let token = key.sign_jwt(&json!({ "sub": "alice" })).unwrap();
            let claims = crate::verify_jwt(&token, &[verifying]).unwrap();
            assert_eq!(claims, json!({ "sub": "alice" }), "{alg}");
        }
    }

    #[test]
    fn refuses_jwks_it_cannot_or_should_not_use() {
        let ed = |extra: Value| {
            let mut jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" });
            for (k, v) in extra.as_object().unwrap() {
                jwk[k] = v.clone();
            }
            jwk
        };
        let p256 = fixtures::key(Alg::ES256).public_jwk();
        let cases = [
            (json!("RSA"), "not a JSON object"),
            (json!({ "n": RFC_7638_N, "e": "AQAB" }), "no kty"),
            (json!({ "kty": "oct", "k": "AAAA" }), "private key material"),
            (json!({ "kty": "oct" }), "kty must be"),
            (json!({ "kty": "RSA", "e": "AQAB" }), "missing"),
            (json!({ "kty": "RSA", "n": "AQAB=", "e": "AQAB" }), "not base64url"),
            (json!({ "kty": "RSA", "n": b64url(&[0xff; 128]), "e": "AQAB" }), "2048 to 8192 bits"),
            (
                json!({ "kty": "EC", "crv": "P-384", "x": p256["x"], "y": p256["y"] }),
                "P-256 is supported",
            ),
            (json!({ "kty": "EC", "crv": "P-256", "x": p256["x"], "y": "AAAA" }), "32 bytes each"),
            (json!({ "kty": "OKP", "crv": "Ed448", "x": "AAAA" }), "Ed25519 is supported"),
            (json!({ "kty": "OKP", "crv": "Ed25519", "x": "AAAA" }), "must be 32 bytes"),
            (
                ed(json!({ "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A" })),
                "private key material",
            ),
            (ed(json!({ "use": "enc" })), "use is not"),
            (ed(json!({ "alg": "ES256" })), "alg does not fit"),
            (ed(json!({ "alg": "none" })), "alg does not fit"),
            (ed(json!({ "kid": 7 })), "kid is not a string"),
        ];
        for (jwk, expected) in cases {
            let err = VerifyingKey::from_jwk(&jwk).unwrap_err();
            assert!(matches!(err, JoseError::InvalidJwk(_)), "{jwk}: {err:?}");
            assert!(err.to_string().contains(expected), "{jwk}: {err}");
        }
        assert!(VerifyingKey::from_jwk(&ed(json!({ "use": "sig", "alg": "EdDSA" }))).is_ok());
    }
}
