//! Authenticator apps and recovery codes as the store keeps them.

use serde::{Deserialize, Serialize};

use crate::directory::UserId;

/// An authenticator app as stored. The secret is sealed (AEAD): it must be read back to verify
/// codes, so it cannot be hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredApp {
    pub id: String,
    pub user_id: UserId,
    pub name: String,
    pub sealed_secret: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// The newest time step accepted (Unix seconds / 30): a code of this step or an older one
    /// is never accepted again.
    pub last_step: i64,
    pub preferred: bool,
}

impl std::fmt::Debug for StoredApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredApp")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// An app as a sign-in flow and the pages name it (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRef {
    pub id: String,
    pub name: String,
}

/// Which second factors exist in this deployment (`policy.methods`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Methods {
    pub sms: bool,
    pub totp: bool,
    pub recovery_codes: bool,
}

impl Default for Methods {
    fn default() -> Self {
        Self { sms: true, totp: true, recovery_codes: true }
    }
}
