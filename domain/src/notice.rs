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
}

impl Notice {
    pub fn error(id: MessageId) -> Self {
        Self { id: id.to_owned(), retry_after: None, error: true }
    }

    pub fn info(id: MessageId) -> Self {
        Self { id: id.to_owned(), retry_after: None, error: false }
    }

    pub fn wait(id: MessageId, retry_after: i64) -> Self {
        Self { id: id.to_owned(), retry_after: Some(retry_after.max(1)), error: true }
    }
}
