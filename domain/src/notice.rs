//! Something to tell the person, by message id: what every flow answers with.

use messages::MessageId;
use serde::{Deserialize, Serialize};

/// Something to tell the person, by message id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub retry_after: Option<i64>,
    /// False for good news ("code sent"), true for problems.
    pub error: bool,
    /// The `{n}` of the message ("3 recovery codes left"), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl Notice {
    pub fn error(id: MessageId) -> Self {
        Self { id: id.to_owned(), retry_after: None, error: true, count: None }
    }

    pub fn info(id: MessageId) -> Self {
        Self { id: id.to_owned(), retry_after: None, error: false, count: None }
    }

    /// Good news with a number in it.
    pub fn counted(id: MessageId, n: u32) -> Self {
        Self { id: id.to_owned(), retry_after: None, error: false, count: Some(n) }
    }

    pub fn wait(id: MessageId, retry_after: i64) -> Self {
        Self { id: id.to_owned(), retry_after: Some(retry_after.max(1)), error: true, count: None }
    }
}
