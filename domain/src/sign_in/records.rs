//! A sign-in flow and a remembered browser as the store keeps them.

use serde::{Deserialize, Serialize};

use super::flow::State;
use crate::authenticator::AppRef;
use crate::directory::UserId;
use crate::phone::E164;

/// The person as the flow remembers them between steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowPerson {
    pub user_id: UserId,
    pub dn: String,
    pub login: String,
    pub display_name: String,
    pub is_admin: bool,
    /// Preferred first.
    pub phones: Vec<E164>,
    /// Authenticator apps, preferred first.
    #[serde(default)]
    pub apps: Vec<AppRef>,
    /// Whether the person has unused recovery codes.
    #[serde(default)]
    pub recovery: bool,
    /// Set when the flow is a step up of a sign-in that exists (an app asked for the code
    /// level): the sign-in keeps its id and start when the code is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_up: Option<StepUpOf>,
}

/// The sign-in a step-up flow raises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUpOf {
    pub sid: String,
    pub signed_in_at: i64,
}

impl FlowPerson {
    pub fn ways(&self) -> super::flow::Ways {
        super::flow::Ways {
            phones: self.phones.len(),
            apps: self.apps.len(),
            recovery: self.recovery,
        }
    }
}

/// A sign-in flow as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    pub id: String,
    pub person: FlowPerson,
    pub state: State,
    /// When the last text was sent, for the resend countdown (Unix seconds).
    pub last_sent_at: Option<i64>,
    /// Optimistic concurrency: an update names the version it read.
    pub version: i64,
    pub expires_at: i64,
}

/// A "remember this browser" token to set as a cookie: `id.secret`.
#[derive(Debug, Clone)]
pub struct BrowserToken(pub String);

/// A trusted browser to store (the token itself never is, only its HMAC).
#[derive(Debug, Clone)]
pub struct NewTrustedBrowser<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub digest: &'a str,
    pub description: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}
