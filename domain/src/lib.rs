//! The domain: what Latchkey does — signing in, the security page's changes, administrators'
//! actions, the code engine and its limits, phone-number policy — independent of the web
//! framework, SQL and LDAP (a fact of this crate's `Cargo.toml`, checked by `make lint`).
//!
//! The world reaches it through [`ports`]: narrow traits the `server` crate's adapters
//! implement (SQL stores, the LDAP directory, the SMS sender). The services are built once at
//! start-up and reach pages through the app's state.

/// A store or the directory not answering becomes the error type's `Unavailable` (the adapter
/// has logged why, where it converted its own error).
macro_rules! unavailable_from {
    ($error:ty) => {
        impl From<$crate::ports::Unavailable> for $error {
            fn from(_: $crate::ports::Unavailable) -> Self {
                <$error>::Unavailable
            }
        }

        impl From<$crate::directory::DirectoryError> for $error {
            fn from(_: $crate::directory::DirectoryError) -> Self {
                <$error>::Unavailable
            }
        }
    };
}

pub mod admin;
pub mod audit;
pub mod authenticated;
pub mod authenticator;
pub mod client;
pub mod client_ip;
pub mod codes;
pub mod directory;
pub mod forward_auth;
pub mod notice;
pub mod oidc;
pub mod percent;
pub mod phone;
pub mod ports;
pub mod security;
pub mod sessions;
pub mod sign_in;
pub mod sms;
pub mod texting;
pub mod tokens;
pub mod verified;
pub mod voice;

pub use ports::{DemoOutbox, DemoText, Probe, Unavailable};

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
