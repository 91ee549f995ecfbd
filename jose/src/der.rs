//! Just enough DER to tell which algorithm a private key is for, say precisely why one is
//! refused, and wrap the legacy PKCS#1 and SEC1 forms in PKCS#8. ring parses and validates the
//! keys themselves, strictly, afterwards.

use zeroize::Zeroizing;

use crate::{Alg, JoseError};

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
/// `[0]` in SEC1's ECPrivateKey: the curve.
const EXPLICIT_0: u8 = 0xa0;

const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];

/// PKCS#8 AlgorithmIdentifiers, whole: rsaEncryption with NULL parameters, ecPublicKey on
/// P-256, and Ed25519 (no parameters, RFC 8410).
const ALG_ID_RSA: &[u8] =
    &[0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
const ALG_ID_P256: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];
#[cfg(test)]
const ALG_ID_ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// ring's RSA signing limit; larger keys would fail there with a vaguer message.
const RSA_MAX_BITS: usize = 4096;

/// Reads tag-length-value items. Lenient about non-minimal lengths: this only routes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn read(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (bytes, after) = rest.split_at(count);
            rest = after;
            bytes.iter().fold(0, |len, &b| (len << 8) | usize::from(b))
        };
        if rest.len() < len {
            return None;
        }
        let (value, rest) = rest.split_at(len);
        self.0 = rest;
        Some((tag, value))
    }

    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        self.read().filter(|&(t, _)| t == tag).map(|(_, value)| value)
    }

    fn peek_tag(&self) -> Option<u8> {
        self.0.first().copied()
    }
}

fn malformed(what: &str) -> JoseError {
    JoseError::InvalidKey(format!("malformed {what} DER"))
}

/// Which algorithm a PKCS#8 private key is for, refusing what we cannot sign with.
pub(crate) fn pkcs8_alg(der: &[u8]) -> Result<Alg, JoseError> {
    let bad = || malformed("PKCS#8");
    let body = Reader(der).expect(SEQUENCE).ok_or_else(bad)?;
    let mut body = Reader(body);
    body.expect(INTEGER).ok_or_else(bad)?;
    let mut alg_id = Reader(body.expect(SEQUENCE).ok_or_else(bad)?);
    let private_key = body.expect(OCTET_STRING).ok_or_else(bad)?;
    let oid = alg_id.expect(OID).ok_or_else(bad)?;
    match oid {
        OID_RSA_ENCRYPTION => {
            check_rsa_size(private_key)?;
            Ok(Alg::RS256)
        }
        OID_EC_PUBLIC_KEY => {
            let curve = alg_id.expect(OID).ok_or_else(bad)?;
            check_p256(curve)?;
            Ok(Alg::ES256)
        }
        OID_ED25519 => Ok(Alg::EdDSA),
        OID_ED448 => Err(unsupported("Ed448 keys are not supported; use Ed25519")),
        OID_RSASSA_PSS => Err(unsupported(
            "RSA-PSS keys are not supported; use a plain RSA (rsaEncryption) key for RS256",
        )),
        _ => {
            Err(unsupported("the key is not RSA, EC P-256 or Ed25519 (for RS256, ES256 or EdDSA)"))
        }
    }
}

fn unsupported(message: &str) -> JoseError {
    JoseError::UnsupportedKey(message.to_owned())
}

/// Reads the modulus size from a PKCS#1 RSAPrivateKey, so a short key gets a message with its
/// size rather than ring's "TooSmall".
fn check_rsa_size(pkcs1: &[u8]) -> Result<(), JoseError> {
    let bad = || malformed("PKCS#1");
    let mut key = Reader(Reader(pkcs1).expect(SEQUENCE).ok_or_else(bad)?);
    key.expect(INTEGER).ok_or_else(bad)?;
    let modulus = key.expect(INTEGER).ok_or_else(bad)?;
    let bits = match modulus.iter().position(|&b| b != 0) {
        Some(i) => (modulus.len() - i) * 8 - modulus[i].leading_zeros() as usize,
        None => 0,
    };
    if bits < 2048 {
        return Err(JoseError::RsaTooSmall { bits });
    }
    if bits > RSA_MAX_BITS {
        return Err(JoseError::UnsupportedKey(format!(
            "the RSA key has {bits} bits; ring signs with at most {RSA_MAX_BITS}"
        )));
    }
    Ok(())
}

fn check_p256(curve: &[u8]) -> Result<(), JoseError> {
    let name = match curve {
        OID_P256 => return Ok(()),
        OID_P384 => "P-384",
        OID_P521 => "P-521",
        OID_SECP256K1 => "secp256k1",
        _ => "an unknown curve",
    };
    Err(JoseError::UnsupportedKey(format!(
        "the EC key is on {name}; only P-256 (ES256) is supported"
    )))
}

/// PKCS#1 RSAPrivateKey → PKCS#8.
pub(crate) fn pkcs8_from_pkcs1(pkcs1: &[u8]) -> Zeroizing<Vec<u8>> {
    wrap_pkcs8(ALG_ID_RSA, pkcs1)
}

/// SEC1 ECPrivateKey → PKCS#8. The ECPrivateKey goes in unchanged: PKCS#8 carries exactly
/// that structure, and ring accepts its `[0]` curve when it names P-256 (checked here first).
pub(crate) fn pkcs8_from_sec1(sec1: &[u8]) -> Result<Zeroizing<Vec<u8>>, JoseError> {
    let bad = || malformed("SEC1 EC private key");
    let mut key = Reader(Reader(sec1).expect(SEQUENCE).ok_or_else(bad)?);
    key.expect(INTEGER).ok_or_else(bad)?;
    key.expect(OCTET_STRING).ok_or_else(bad)?;
    if key.peek_tag() == Some(EXPLICIT_0) {
        let params = key.expect(EXPLICIT_0).ok_or_else(bad)?;
        let curve = Reader(params).expect(OID).ok_or_else(bad)?;
        check_p256(curve)?;
    }
    Ok(wrap_pkcs8(ALG_ID_P256, sec1))
}

/// A raw 32-byte Ed25519 seed → PKCS#8 v1 (RFC 8410: the key is an OCTET STRING inside the
/// OCTET STRING).
#[cfg(test)]
pub(crate) fn pkcs8_from_ed25519_seed(seed: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    let mut inner = Zeroizing::new(Vec::with_capacity(34));
    inner.extend_from_slice(&[OCTET_STRING, 32]);
    inner.extend_from_slice(seed);
    wrap_pkcs8(ALG_ID_ED25519, &inner)
}

/// `SEQUENCE { INTEGER 0, algorithm, OCTET STRING key }`, written into one buffer sized up front
/// so no copy of the key is left behind by a reallocation.
fn wrap_pkcs8(algorithm: &[u8], key: &[u8]) -> Zeroizing<Vec<u8>> {
    let content_len = 3 + algorithm.len() + header_len(key.len()) + key.len();
    let mut out = Zeroizing::new(Vec::with_capacity(header_len(content_len) + content_len));
    push_header(&mut out, SEQUENCE, content_len);
    out.extend_from_slice(&[INTEGER, 1, 0]);
    out.extend_from_slice(algorithm);
    push_header(&mut out, OCTET_STRING, key.len());
    out.extend_from_slice(key);
    out
}

fn header_len(len: usize) -> usize {
    match len {
        0..0x80 => 2,
        0x80..0x100 => 3,
        0x100..0x1_0000 => 4,
        _ => 5,
    }
}

fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_written_in_minimal_der() {
        for (len, expected) in [
            (0, vec![0x04, 0x00]),
            (0x7f, vec![0x04, 0x7f]),
            (0x80, vec![0x04, 0x81, 0x80]),
            (0xff, vec![0x04, 0x81, 0xff]),
            (0x100, vec![0x04, 0x82, 0x01, 0x00]),
            (0x1_0000, vec![0x04, 0x83, 0x01, 0x00, 0x00]),
        ] {
            let mut out = Vec::new();
            push_header(&mut out, OCTET_STRING, len);
            assert_eq!(out, expected, "{len}");
            assert_eq!(header_len(len), expected.len(), "{len}");
            let mut data = out.clone();
            data.resize(out.len() + len, 0);
            assert_eq!(Reader(&data).read().map(|(_, v)| v.len()), Some(len));
        }
    }

    #[test]
    fn the_reader_refuses_truncated_input() {
        assert_eq!(Reader(&[0x30, 0x03, 0x02, 0x01]).read(), None);
        assert_eq!(Reader(&[0x30, 0x81]).read(), None);
        assert_eq!(Reader(&[0x30]).read(), None);
        assert_eq!(Reader(&[0x30, 0x80]).read(), None, "indefinite length");
    }

    #[test]
    fn the_ed25519_seed_wrapping_is_the_rfc_8410_layout() {
        // The fixed 16-byte prefix every Ed25519 PKCS#8 v1 key has (RFC 8410 §7), then the seed.
        let der = pkcs8_from_ed25519_seed(&[0xd4; 32]);
        assert_eq!(
            der[..16],
            [
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
        assert_eq!(der.len(), 48);
        assert_eq!(pkcs8_alg(&der).unwrap(), Alg::EdDSA);
    }
}
