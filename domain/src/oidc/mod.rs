//! The OpenID Connect provider. Its rules are pure (no I/O, no async), each tested beside it:
//!
//! - [`levels`]: the two levels (password; password + code), their `acr` values (with Gluu's
//!   `twilio_sms` as an alias), the level a request asks for and a sign-in reached, and the
//!   `amr` values that say what really happened.
//! - [`request`]: checking an authorization request — which errors may redirect back to the
//!   app and which must not — into an [`request::AuthorizeRequest`] kept while the person
//!   signs in.
//! - [`decide`]: given this browser's sign-in and the request, what happens next: issue a code,
//!   sign in, step up to the code, enrol a phone, or refuse.
//! - [`claims`]: scopes, and which claims each releases.
//! - [`pkce`]: RFC 7636, S256 only.
//!
//! [`provider`] is the service that applies them over the ports (`ports::OidcStore`, the token
//! signer, the directory), exchanging [`records`]. The server holds the rest: the HTTP
//! endpoints (discovery, authorize, token, userinfo, JWKS, end-session), the SQL storage of
//! requests, codes and tokens (keyed hashes only), and the signing keys.

pub mod bearer;
pub mod claims;
pub mod decide;
pub mod levels;
pub mod pkce;
pub mod provider;
pub mod records;
pub mod request;
