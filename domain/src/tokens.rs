//! Random tokens (flow ids, remembered-browser ids and secrets) from the operating system.

/// A URL-safe random token of `bytes` random bytes (hex), from the OS.
pub fn random_token(bytes: usize) -> String {
    hex::encode(random_bytes(bytes))
}

/// Whether `text` has the form [`random_token`] gives a token of `bytes` random bytes (lowercase
/// hex, twice as long): what a value a browser or an app brings back must be before it is used.
pub fn is_token_of(text: &str, bytes: usize) -> bool {
    text.len() == 2 * bytes && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `n` random bytes from the OS.
pub fn random_bytes(n: usize) -> Vec<u8> {
    use rand::TryRngCore;
    let mut buf = vec![0u8; n];
    rand::rngs::OsRng
        .try_fill_bytes(&mut buf)
        .unwrap_or_else(|e| panic!("the OS has no randomness: {e}"));
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let a = random_token(16);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_token(16));
        assert!(is_token_of(&a, 16));
        assert!(!is_token_of(&a, 15) && !is_token_of("0123456789ABCDEF0123456789ABCDEF", 16));
    }
}
