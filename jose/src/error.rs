use crate::Alg;

/// What went wrong, in one line an operator can act on. Messages never carry key material, and
/// never echo what a token's sender wrote (only fixed descriptions and our own values).
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    // Loading keys.
    #[error("not a PEM private key: {0}")]
    Pem(&'static str),
    #[error(
        "PEM label \"{0}\" is not supported: expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY \
         (convert with `openssl pkcs8 -topk8 -nocrypt`)"
    )]
    PemLabel(String),
    #[error("the RSA key has {bits} bits; at least 2048 are required")]
    RsaTooSmall { bits: usize },
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    #[error("the key is an {found} key, not {expected}")]
    KeyAlgMismatch { expected: Alg, found: Alg },
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("invalid JWK: {0}")]
    InvalidJwk(&'static str),
    #[error("RSA key generation failed: {0}")]
    KeyGeneration(String),

    // Signing and verifying tokens.
    #[error("JWT claims must be a JSON object")]
    ClaimsNotObject,
    #[error("signing failed")]
    Sign,
    #[error("the token is {len} bytes long; the limit is {max}")]
    TokenTooLarge { len: usize, max: usize },
    #[error("the token has {0} dot-separated segments; a compact JWS has 3")]
    SegmentCount(usize),
    #[error("malformed token: {0}")]
    MalformedToken(&'static str),
    #[error("unsecured token (alg \"none\") refused")]
    UnsecuredToken,
    #[error("the token's alg is not one we accept (RS256, ES256, EdDSA)")]
    UnsupportedAlg,
    #[error("the token header says {header} but its key is {key}")]
    AlgMismatch { header: Alg, key: Alg },
    #[error("the token header has no kid")]
    MissingKid,
    #[error("no key matches the token's kid")]
    UnknownKid,
    #[error("the token's signature does not verify")]
    BadSignature,

    // Plumbing.
    #[error("invalid base64url")]
    Base64,
    #[error("the system random number generator failed")]
    Random,
    #[error("the sealing secret is empty")]
    EmptySecret,
    #[error("encryption failed")]
    Encrypt,
    #[error("cannot decrypt: wrong secret, or the data was altered")]
    Decrypt,
}
