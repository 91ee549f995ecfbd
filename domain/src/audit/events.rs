//! Audit events as written and as read back, and the filters the trail is read with.

/// One security event. `kind` is a stable dotted name (`sign_in.success`); `outcome` a short
/// word (`accepted`, `rejected`, `sent`, …); `detail` never holds a secret or a full number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: i64,
    pub kind: &'static str,
    /// Who acted (the person signing in, or an administrator).
    pub actor_id: Option<String>,
    pub login: Option<String>,
    /// Whom it was done to, when that is someone else (administrator actions).
    pub subject_id: Option<String>,
    pub client_ip: String,
    pub user_agent: String,
    pub outcome: String,
    pub detail: Option<String>,
}

/// A stored event, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditEvent {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub actor_id: Option<String>,
    pub login: Option<String>,
    pub subject_id: Option<String>,
    pub client_ip: String,
    pub user_agent: String,
    pub outcome: String,
    pub detail: Option<String>,
}

/// Which events to read from the trail. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events by or about this person (actor or subject).
    pub person: Option<String>,
    /// Events by this actor.
    pub actor: Option<String>,
    /// Events whose kind starts with this (`sign_in` matches `sign_in.success`).
    pub kind: Option<String>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub to: Option<i64>,
}
