//! The signed-in person as a session keeps them, and how they proved who they are.

use serde::{Deserialize, Serialize};

use crate::directory::UserId;

/// How the person proved who they are, for the session and later "recent sign-in" checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    Password,
    PasswordAndSms,
    /// The password, then a code spoken by a voice call to one of the person's phones (a
    /// landline's only way, or "call me instead").
    PasswordAndCall,
    PasswordAndRememberedBrowser,
    /// The password, then a code to a number the person gave during this sign-in (policy
    /// `required`, no phone yet): the code proves the new phone, not that the person is who
    /// they say — no factor they had before was used.
    PasswordAndNewPhone,
    /// The password, then the code of an authenticator app.
    PasswordAndApp,
    /// The password, then a recovery code.
    PasswordAndRecoveryCode,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::PasswordAndSms => "password_and_sms",
            AuthMethod::PasswordAndCall => "password_and_call",
            AuthMethod::PasswordAndRememberedBrowser => "password_and_remembered_browser",
            AuthMethod::PasswordAndNewPhone => "password_and_new_phone",
            AuthMethod::PasswordAndApp => "password_and_app",
            AuthMethod::PasswordAndRecoveryCode => "password_and_recovery_code",
        }
    }
}

/// A signed-in person, as the session keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authenticated {
    pub user_id: UserId,
    pub login: String,
    pub display_name: String,
    pub is_admin: bool,
    pub method: AuthMethod,
    /// Unix seconds of the last time the person proved who they are (password, code).
    pub authenticated_at: i64,
    /// Unix seconds the session was signed in (for the absolute timeout).
    pub signed_in_at: i64,
    /// This sign-in's id, random: the OpenID Connect `sid` of the apps it signed in to, whose
    /// grants end with it. Empty in sessions signed in before it existed (they sign in again
    /// before an app is granted anything).
    #[serde(default)]
    pub sid: String,
}
