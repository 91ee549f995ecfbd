//! PEM as operators hand it over: one private key, possibly after `EC PARAMETERS` (what
//! `openssl ecparam -genkey` writes) or next to certificates, which are skipped.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::JoseError;

pub(crate) const PKCS8: &str = "PRIVATE KEY";
pub(crate) const PKCS1: &str = "RSA PRIVATE KEY";
pub(crate) const SEC1: &str = "EC PRIVATE KEY";

/// The one private key block: its label and DER.
pub(crate) fn private_key(text: &str) -> Result<(&str, Zeroizing<Vec<u8>>), JoseError> {
    let mut blocks = Vec::new();
    let mut open: Option<(&str, Zeroizing<String>)> = None;
    for line in text.lines().map(str::trim) {
        match &mut open {
            None => {
                if let Some(label) = armor(line, "BEGIN") {
                    // Sized up front: growing would leave unzeroed copies of the key behind.
                    open = Some((label, Zeroizing::new(String::with_capacity(text.len()))));
                }
            }
            Some((label, body)) => {
                if let Some(end) = armor(line, "END") {
                    if end != *label {
                        return Err(JoseError::Pem("the END line does not match the BEGIN line"));
                    }
                    blocks.extend(open.take());
                } else if line.contains(':') {
                    // RFC 1421 headers: only legacy OpenSSL encryption puts them in a key.
                    return Err(JoseError::Pem(
                        "encrypted keys are not supported; decrypt with `openssl pkcs8 -topk8 -nocrypt`",
                    ));
                } else {
                    body.push_str(line);
                }
            }
        }
    }
    if open.is_some() {
        return Err(JoseError::Pem("a BEGIN line has no END line"));
    }
    let mut keys = blocks.iter().filter(|(label, _)| [PKCS8, PKCS1, SEC1].contains(label));
    let (label, body) = match (keys.next(), keys.next()) {
        (Some(key), None) => key,
        (Some(_), Some(_)) => return Err(JoseError::Pem("more than one private key")),
        (None, _) => {
            return Err(match blocks.iter().find(|(label, _)| *label != "EC PARAMETERS") {
                Some((label, _)) => JoseError::PemLabel((*label).to_owned()),
                None => JoseError::Pem("no -----BEGIN PRIVATE KEY----- block"),
            });
        }
    };
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| JoseError::Pem("the body is not valid base64"))?;
    Ok((*label, Zeroizing::new(der)))
}

/// `-----BEGIN LABEL-----` → `LABEL`.
fn armor<'a>(line: &'a str, kind: &str) -> Option<&'a str> {
    line.strip_prefix("-----")?.strip_suffix("-----")?.strip_prefix(kind)?.strip_prefix(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "MAkGByqGSM49AgE=";

    fn pem(label: &str, body: &str) -> String {
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    }

    #[test]
    fn finds_the_key_among_parameters_certificates_and_chatter() {
        let text = format!(
            "Bag Attributes: whatever\n{}{}\n{}",
            pem("EC PARAMETERS", "BggqhkjOPQMBBw=="),
            pem("CERTIFICATE", "AAAA"),
            pem(SEC1, "  MAkG\r\n  ByqGSM49AgE=  ")
        );
        let (label, der) = private_key(&text).unwrap();
        assert_eq!(label, SEC1);
        assert_eq!(der.as_slice(), STANDARD.decode(BODY).unwrap());
    }

    #[test]
    fn refuses_what_is_not_one_plain_private_key() {
        let cases = [
            ("", "no -----BEGIN"),
            ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "no -----BEGIN"),
            (&pem("EC PARAMETERS", "BggqhkjOPQMBBw=="), "no -----BEGIN"),
            (&pem(PKCS8, "not base64!"), "not valid base64"),
            (&pem(PKCS8, "MAkGByqGSM49AgE"), "not valid base64"),
            (&format!("-----BEGIN {PKCS8}-----\n{BODY}\n"), "no END line"),
            (
                &format!("-----BEGIN {PKCS8}-----\n{BODY}\n-----END {PKCS1}-----\n"),
                "does not match",
            ),
            (
                &pem(PKCS1, "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA"),
                "openssl pkcs8 -topk8 -nocrypt",
            ),
            (&(pem(PKCS8, BODY) + &pem(SEC1, BODY)), "more than one"),
        ];
        for (text, expected) in cases {
            let err = private_key(text).unwrap_err();
            assert!(matches!(err, JoseError::Pem(_)), "{text:?}: {err:?}");
            assert!(err.to_string().contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn names_a_label_it_does_not_take() {
        for label in ["ENCRYPTED PRIVATE KEY", "CERTIFICATE", "PUBLIC KEY", "OPENSSH PRIVATE KEY"] {
            let err = private_key(&pem(label, BODY)).unwrap_err();
            assert!(matches!(&err, JoseError::PemLabel(l) if l == label), "{err:?}");
            assert!(err.to_string().contains("openssl pkcs8 -topk8 -nocrypt"), "{err}");
        }
    }
}
