//! Ports: the narrow async traits the domain needs from the outside world.

use async_trait::async_trait;

/// A dependency did not answer. `kind` is a short word safe for a health endpoint or a page
/// ("unreachable", "timeout", "refused", "query"), never a password, a URL with credentials or
/// a protocol dump: the adapter logs those where it converts its own error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct Unavailable {
    pub kind: &'static str,
}

/// A dependency that can say whether it is answering (the database, the directory).
#[async_trait]
pub trait Probe: Send + Sync {
    async fn probe(&self) -> Result<(), Unavailable>;
}

/// A text the demo SMS provider delivered to the demo phone page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoText {
    pub to: String,
    pub body: String,
    /// Unix seconds.
    pub sent_at: i64,
}

/// The demo phone's inbox. Only exists when the demo SMS provider is in use.
#[async_trait]
pub trait DemoOutbox: Send + Sync {
    /// The newest `limit` texts, newest first.
    async fn recent(&self, limit: u32) -> Result<Vec<DemoText>, Unavailable>;
}
