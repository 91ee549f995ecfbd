//! Signing keys at rest: AES-256-GCM under a key derived from a server secret.
//!
//! Format (stable: stored keys must keep opening): `nonce (12) || ciphertext || tag (16)`, the
//! AES key being HKDF-SHA256(salt: empty, ikm: secret, info: [`INFO`]), no associated data.
//! Nonces are random: 96 bits is ample for the few seals one secret ever makes.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::JoseError;

/// Binds the derived key to this one purpose; a new format gets a new string.
const INFO: &[u8] = b"latchkey oidc signing keys v1";
const TAG_LEN: usize = 16;

fn cipher(secret: &[u8], info: &[u8]) -> Result<LessSafeKey, JoseError> {
    if secret.is_empty() {
        return Err(JoseError::EmptySecret);
    }
    let prk = Salt::new(HKDF_SHA256, &[]).extract(secret);
    let info = [info];
    let okm = prk
        .expand(&info, &AES_256_GCM)
        // Only fails for outputs longer than 255 hashes; ours is one AES key.
        .map_err(|_| JoseError::Encrypt)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

/// Encrypts `plaintext` under `secret`; two seals of the same input differ.
pub fn seal(secret: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, JoseError> {
    seal_for(INFO, secret, b"", plaintext)
}

/// Decrypts what [`seal`] wrote; [`JoseError::Decrypt`] for a wrong secret or any change.
pub fn open(secret: &[u8], sealed: &[u8]) -> Result<Vec<u8>, JoseError> {
    open_for(INFO, secret, b"", sealed)
}

/// [`seal`] for another purpose: `info` derives a key of its own from `secret` (so one server
/// secret serves several purposes without their ciphertexts opening for each other), and `aad`
/// is bound to the ciphertext: opening needs the same `aad`.
pub fn seal_for(
    info: &[u8],
    secret: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, JoseError> {
    let cipher = cipher(secret, info)?;
    let mut nonce = [0; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| JoseError::Random)?;
    let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(plaintext);
    let tag = cipher
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut sealed[NONCE_LEN..],
        )
        // Only fails past GCM's 64 GiB limit.
        .map_err(|_| JoseError::Encrypt)?;
    sealed.extend_from_slice(tag.as_ref());
    Ok(sealed)
}

/// Decrypts what [`seal_for`] wrote with the same `info` and `aad`.
pub fn open_for(
    info: &[u8],
    secret: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, JoseError> {
    let cipher = cipher(secret, info)?;
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(JoseError::Decrypt);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| JoseError::Decrypt)?;
    let mut buffer = ciphertext.to_vec();
    let len = cipher
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| JoseError::Decrypt)?
        .len();
    buffer.truncate(len);
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a server secret of reasonable length";

    #[test]
    fn purposes_and_contexts_do_not_open_for_each_other() {
        let sealed = seal_for(b"purpose a", SECRET, b"alice", b"secret").unwrap();
        assert_eq!(open_for(b"purpose a", SECRET, b"alice", &sealed).unwrap(), b"secret");
        assert!(open_for(b"purpose a", SECRET, b"bob", &sealed).is_err());
        assert!(open_for(b"purpose b", SECRET, b"alice", &sealed).is_err());
        assert!(open(SECRET, &sealed).is_err());
    }

    #[test]
    fn round_trips_with_a_fresh_nonce_each_time() {
        for plaintext in [&b""[..], b"x", &[7; 1217]] {
            let first = seal(SECRET, plaintext).unwrap();
            let second = seal(SECRET, plaintext).unwrap();
            assert_eq!(first.len(), NONCE_LEN + plaintext.len() + TAG_LEN);
            assert_ne!(first, second);
            assert_ne!(first[..NONCE_LEN], second[..NONCE_LEN]);
            assert_eq!(open(SECRET, &first).unwrap(), plaintext);
            assert_eq!(open(SECRET, &second).unwrap(), plaintext);
        }
    }

    #[test]
    fn opens_what_an_independent_implementation_sealed() {
        // Written by Python's `cryptography` (HKDF(SHA256, 32, salt=None, info=INFO), AESGCM,
        // nonce 000102…0b): pins the format, so keys stored by one release open in the next.
        let sealed = crate::b64url_decode(
            "AAECAwQFBgcICQoLAM9fcYRTl445uAcbyUXGKcdcV8Jvzn6qeT7ccDYeV7H1p8kl3g",
        )
        .unwrap();
        assert_eq!(open(SECRET, &sealed).unwrap(), b"PKCS#8 goes here, say");
    }

    #[test]
    fn a_wrong_secret_or_any_altered_byte_fails_cleanly() {
        let sealed = seal(SECRET, b"private key").unwrap();
        assert!(matches!(open(b"another secret", &sealed), Err(JoseError::Decrypt)));
        for at in [0, NONCE_LEN - 1, NONCE_LEN, sealed.len() - TAG_LEN, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[at] ^= 0x80;
            assert!(matches!(open(SECRET, &altered), Err(JoseError::Decrypt)), "byte {at}");
        }
        for len in [0, NONCE_LEN + TAG_LEN - 1, sealed.len() - 1] {
            assert!(matches!(open(SECRET, &sealed[..len]), Err(JoseError::Decrypt)), "{len}");
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(matches!(open(SECRET, &longer), Err(JoseError::Decrypt)));
    }

    #[test]
    fn an_empty_secret_is_refused() {
        assert!(matches!(seal(b"", b"x"), Err(JoseError::EmptySecret)));
        let sealed = seal(SECRET, b"x").unwrap();
        assert!(matches!(open(b"", &sealed), Err(JoseError::EmptySecret)));
    }
}
