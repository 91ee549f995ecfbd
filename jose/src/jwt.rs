//! Verifying compact JWS tokens we issued. Signing lives on [`crate::SigningKey`].

use serde_json::Value;

use crate::{Alg, JoseError, VerifyingKey, b64url_decode};

/// Longer than any ID token we issue by far; bounds the work an attacker's input can cause.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Verifies a compact JWS against `keys` and returns its claims (a JSON object).
///
/// The key is picked by the header's `kid`, and the header's `alg` must be that key's: the
/// token never chooses how it is checked, so `none` and algorithm confusion cannot work.
/// Expiry, audience and issuer are the caller's to check.
pub fn verify_jwt(token: &str, keys: &[VerifyingKey]) -> Result<Value, JoseError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JoseError::TokenTooLarge { len: token.len(), max: MAX_TOKEN_LEN });
    }
    let segments: Vec<&str> = token.split('.').collect();
    let &[header, payload, signature] = segments.as_slice() else {
        return Err(JoseError::SegmentCount(segments.len()));
    };
    let signing_input = &token[..header.len() + 1 + payload.len()];

    let header = decode_object(header)
        .ok_or(JoseError::MalformedToken("the header is not a base64url JSON object"))?;
    // RFC 7515 §4.1.11: extensions listed in crit must be understood, and we know none.
    if header.contains_key("crit") {
        return Err(JoseError::MalformedToken("the header has crit extensions"));
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        None => return Err(JoseError::MalformedToken("the header has no alg")),
        Some(alg) if alg.eq_ignore_ascii_case("none") => return Err(JoseError::UnsecuredToken),
        Some(alg) => Alg::parse(alg).ok_or(JoseError::UnsupportedAlg)?,
    };
    let kid = header.get("kid").and_then(Value::as_str).ok_or(JoseError::MissingKid)?;
    let key = keys.iter().find(|key| key.kid() == kid).ok_or(JoseError::UnknownKid)?;
    if key.alg() != alg {
        return Err(JoseError::AlgMismatch { header: alg, key: key.alg() });
    }

    let signature = b64url_decode(signature)
        .map_err(|_| JoseError::MalformedToken("the signature is not base64url"))?;
    key.verify(signing_input.as_bytes(), &signature)?;

    // Only parsed once the signature shows we wrote it.
    let claims = decode_object(payload)
        .ok_or(JoseError::MalformedToken("the payload is not a base64url JSON object"))?;
    Ok(Value::Object(claims))
}

fn decode_object(segment: &str) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice(&b64url_decode(segment).ok()?).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{b64url, fixtures};

    const ALGS: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

    fn claims() -> Value {
        json!({ "iss": "https://latchkey.example", "sub": "alice", "aud": "app", "exp": 1 })
    }

    fn all_keys() -> Vec<VerifyingKey> {
        ALGS.iter()
            .flat_map(|&alg| [fixtures::key(alg), fixtures::second_key(alg)])
            .map(|key| key.verifying_key())
            .collect()
    }

    /// Re-encodes one segment of `token` after `change` (0 header, 1 payload, 2 signature).
    fn tamper(token: &str, index: usize, change: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut bytes = b64url_decode(&segments[index]).unwrap();
        change(&mut bytes);
        segments[index] = b64url(&bytes);
        segments.join(".")
    }

    fn with_header(token: &str, header: Value) -> String {
        tamper(token, 0, |bytes| *bytes = header.to_string().into_bytes())
    }

    #[test]
    fn every_alg_round_trips_among_several_keys() {
        let keys = all_keys();
        for alg in ALGS {
            for key in [fixtures::key(alg), fixtures::second_key(alg)] {
                let token = key.sign_jwt(&claims()).unwrap();
                assert_eq!(verify_jwt(&token, &keys).unwrap(), claims(), "{alg}");
                let header = decode_object(token.split('.').next().unwrap()).unwrap();
                assert_eq!(
                    Value::Object(header),
                    json!({ "alg": alg.as_str(), "typ": "JWT", "kid": key.kid() })
                );
            }
        }
    }

    #[test]
    fn a_flipped_signature_bit_fails() {
        for alg in ALGS {
            let token = fixtures::key(alg).sign_jwt(&claims()).unwrap();
            for at in [0, 31, 63] {
                let bad = tamper(&token, 2, |sig| sig[at] ^= 0x01);
                assert!(
                    matches!(verify_jwt(&bad, &all_keys()), Err(JoseError::BadSignature)),
                    "{alg} {at}"
                );
            }
            let short = tamper(&token, 2, |sig| sig.truncate(sig.len() - 1));
            assert!(
                matches!(verify_jwt(&short, &all_keys()), Err(JoseError::BadSignature)),
                "{alg}"
            );
        }
    }

    #[test]
    fn a_changed_payload_or_header_fails() {
        for alg in ALGS {
            let key = fixtures::key(alg);
            let token = key.sign_jwt(&claims()).unwrap();
            let payload = b64url(json!({ "sub": "mallory" }).to_string().as_bytes());
            let mut parts: Vec<&str> = token.split('.').collect();
            parts[1] = &payload;
            let forged = parts.join(".");
            assert!(
                matches!(verify_jwt(&forged, &all_keys()), Err(JoseError::BadSignature)),
                "{alg}"
            );

            let header = json!({ "alg": alg.as_str(), "typ": "at+jwt", "kid": key.kid() });
            let forged = with_header(&token, header);
            assert!(
                matches!(verify_jwt(&forged, &all_keys()), Err(JoseError::BadSignature)),
                "{alg}"
            );
        }
    }

    #[test]
    fn a_signature_by_another_key_under_this_kid_fails() {
        let key = fixtures::key(Alg::ES256);
        let token = fixtures::second_key(Alg::ES256).sign_jwt(&claims()).unwrap();
        let token = with_header(&token, json!({ "alg": "ES256", "typ": "JWT", "kid": key.kid() }));
        assert!(matches!(verify_jwt(&token, &all_keys()), Err(JoseError::BadSignature)));
    }

    #[test]
    fn alg_none_is_refused_whatever_else_the_token_says() {
        let key = fixtures::key(Alg::RS256);
        let token = key.sign_jwt(&claims()).unwrap();
        for none in ["none", "None", "NONE"] {
            let header = json!({ "alg": none, "typ": "JWT", "kid": key.kid() });
            let unsigned = with_header(&token, header);
            let unsigned = format!("{}.", &unsigned[..unsigned.rfind('.').unwrap()]);
            assert!(
                matches!(verify_jwt(&unsigned, &all_keys()), Err(JoseError::UnsecuredToken)),
                "{none}"
            );
        }
    }

    #[test]
    fn a_header_alg_other_than_the_keys_is_refused() {
        let key = fixtures::key(Alg::RS256);
        let token = key.sign_jwt(&claims()).unwrap();
        for alg in [Alg::ES256, Alg::EdDSA] {
            let header = json!({ "alg": alg.as_str(), "typ": "JWT", "kid": key.kid() });
            let err = verify_jwt(&with_header(&token, header), &all_keys()).unwrap_err();
            assert!(
                matches!(err, JoseError::AlgMismatch { header, key: Alg::RS256 } if header == alg),
                "{err:?}"
            );
        }
        // The classic confusion: HS256 "signed" with the public key. Not an alg we know at all.
        let header = json!({ "alg": "HS256", "typ": "JWT", "kid": key.kid() });
        let err = verify_jwt(&with_header(&token, header), &all_keys()).unwrap_err();
        assert!(matches!(err, JoseError::UnsupportedAlg), "{err:?}");
    }

    #[test]
    fn the_kid_must_name_one_of_the_keys() {
        let key = fixtures::key(Alg::EdDSA);
        let token = key.sign_jwt(&claims()).unwrap();
        let others: Vec<_> = all_keys().into_iter().filter(|k| k.kid() != key.kid()).collect();
        assert!(matches!(verify_jwt(&token, &others), Err(JoseError::UnknownKid)));
        assert!(matches!(verify_jwt(&token, &[]), Err(JoseError::UnknownKid)));
        let no_kid = with_header(&token, json!({ "alg": "EdDSA", "typ": "JWT" }));
        assert!(matches!(verify_jwt(&no_kid, &all_keys()), Err(JoseError::MissingKid)));
    }

    #[test]
    fn malformed_tokens_get_specific_errors() {
        let token = fixtures::key(Alg::EdDSA).sign_jwt(&claims()).unwrap();
        let (rest, _) = token.rsplit_once('.').unwrap();
        assert!(matches!(verify_jwt(rest, &all_keys()), Err(JoseError::SegmentCount(2))));
        let four = format!("{token}.AAAA");
        assert!(matches!(verify_jwt(&four, &all_keys()), Err(JoseError::SegmentCount(4))));
        assert!(matches!(verify_jwt("", &all_keys()), Err(JoseError::SegmentCount(1))));

        let huge = "A".repeat(MAX_TOKEN_LEN + 1);
        let err = verify_jwt(&huge, &all_keys()).unwrap_err();
        assert!(
            matches!(err, JoseError::TokenTooLarge { len, max: MAX_TOKEN_LEN } if len == MAX_TOKEN_LEN + 1)
        );
        let huge = format!("{}.{}.{}", "e".repeat(MAX_TOKEN_LEN), "e", "e");
        assert!(matches!(verify_jwt(&huge, &all_keys()), Err(JoseError::TokenTooLarge { .. })));

        let malformed = |token: &str, expected: &str| {
            let err = verify_jwt(token, &all_keys()).unwrap_err();
            assert!(
                matches!(err, JoseError::MalformedToken(m) if m.contains(expected)),
                "{token}: {err:?}"
            );
        };
        malformed("a.b.c", "header");
        malformed("!!.b.c", "header");
        malformed(&with_header(&token, json!(["EdDSA"])), "header");
        malformed(&with_header(&token, json!({ "typ": "JWT" })), "no alg");
        let kid = fixtures::key(Alg::EdDSA).kid().to_owned();
        malformed(
            &with_header(&token, json!({ "alg": "EdDSA", "kid": kid, "crit": ["exp"] })),
            "crit",
        );
        malformed(&format!("{rest}.not*base64"), "signature");

        // A validly signed payload that is not an object is still refused.
        let key = fixtures::key(Alg::EdDSA);
        let header = b64url(json!({ "alg": "EdDSA", "kid": key.kid() }).to_string().as_bytes());
        let input = format!("{header}.{}", b64url(b"[1,2]"));
        let token = format!("{input}.{}", b64url(&key.sign(input.as_bytes()).unwrap()));
        malformed(&token, "payload");
    }
}
