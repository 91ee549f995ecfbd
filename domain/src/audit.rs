//! The audit trail: security events, stored in SQL, for people (their activity) and
//! administrators (the trail).

use async_trait::async_trait;

use super::client::Client;
use super::ports::Unavailable;

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

#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn record(&self, event: &AuditEvent) -> Result<(), Unavailable>;
    /// Events that involve `user_id` (as actor or subject), newest first, at most `limit`,
    /// only those older than event `older_than` when given (keyset paging: stable while new
    /// events arrive).
    async fn for_user(
        &self,
        user_id: &str,
        older_than: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, Unavailable>;
    /// Someone not signed in was refused `what` (an administrator page, operation or export).
    /// Not an event in the trail: anyone can cause any number of them, and a row each would let
    /// them grow the table at will. Counted where the log is measured (`MeteredAudit`).
    fn anonymous_refusal(&self, _what: &str) {}
}

/// What happened, for [`write`]: `actor` is (user id, login); `subject` whom it was done to,
/// when that is someone else.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub kind: &'static str,
    pub actor: Option<(&'a str, &'a str)>,
    pub subject: Option<&'a str>,
    pub outcome: &'a str,
    pub detail: Option<String>,
}

/// Records `entry` for the request from `client`. A write that fails must not stop what the
/// person is doing, but is loud in the log.
pub async fn write(log: &dyn AuditLog, client: &Client, entry: Entry<'_>) {
    let event = AuditEvent {
        at: client.now,
        kind: entry.kind,
        actor_id: entry.actor.map(|(id, _)| id.to_owned()),
        login: entry.actor.map(|(_, login)| login.to_owned()),
        subject_id: entry.subject.map(str::to_owned),
        client_ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        outcome: entry.outcome.to_owned(),
        detail: entry.detail,
    };
    if let Err(e) = log.record(&event).await {
        tracing::error!(kind = entry.kind, error = %e, "could not write an audit event");
    }
}
