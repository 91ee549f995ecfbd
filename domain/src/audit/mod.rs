//! The audit trail: security events, stored in SQL, for people (their activity) and
//! administrators (the trail).

pub mod events;

pub use events::*;

use crate::ports::AuditLog;

use super::client::Client;

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
    let kind = entry.kind;
    if let Err(e) = log.record(&event(client, entry)).await {
        tracing::error!(kind, error = %e, "could not write an audit event");
    }
}

/// [`write`] of the entries of one decision, in one write where the store can: one statement
/// fewer on the sign-in's last step than an entry at a time.
pub async fn write_all(log: &dyn AuditLog, client: &Client, entries: Vec<Entry<'_>>) {
    let events: Vec<AuditEvent> = entries.into_iter().map(|e| event(client, e)).collect();
    if let Err(e) = log.record_all(&events).await {
        let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
        tracing::error!(?kinds, error = %e, "could not write audit events");
    }
}

fn event(client: &Client, entry: Entry<'_>) -> AuditEvent {
    AuditEvent {
        at: client.now,
        kind: entry.kind,
        actor_id: entry.actor.map(|(id, _)| id.to_owned()),
        login: entry.actor.map(|(_, login)| login.to_owned()),
        subject_id: entry.subject.map(str::to_owned),
        client_ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        outcome: entry.outcome.to_owned(),
        detail: entry.detail,
    }
}

/// [`write`] of an event a person's own request caused (no subject), `user` as (id, login).
pub async fn write_by(
    log: &dyn AuditLog,
    client: &Client,
    kind: &'static str,
    user: Option<(&crate::directory::UserId, &str)>,
    outcome: &str,
    detail: Option<String>,
) {
    let actor = user.map(|(id, login)| (id.as_str(), login));
    write(log, client, Entry { kind, actor, subject: None, outcome, detail }).await;
}
