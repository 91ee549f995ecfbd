//! The one error shape pages render: a stable message id plus safe parameters, nothing else.
//!
//! Adapter errors (LDAP, SQL, Twilio) are logged with their source chain where they are converted
//! into this type; the browser only ever sees the id.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::i18n;

/// The message id of a request that could not be read; the server answers it with 400.
pub const BAD_REQUEST: &str = "error.bad_request";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{id}")]
pub struct AppError {
    /// Message id from the catalog (`i18n`).
    pub id: String,
    /// Seconds to wait before trying again, for rate limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(id: i18n::MessageId) -> Self {
        Self { id: id.to_owned(), retry_after: None }
    }

    pub fn internal() -> Self {
        Self::new("error.internal")
    }

    pub fn unavailable() -> Self {
        Self::new("error.unavailable")
    }

    pub fn not_found() -> Self {
        Self::new("error.not_found")
    }

    /// The sentence to show for this error.
    pub fn text(&self) -> &'static str {
        i18n::t(&self.id)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The request never completed: the browser is offline or the server is down.
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                Self::new("error.network")
            }
            // The request itself could not be read (a missing field, invalid UTF-8, a number
            // that is not one): the caller's fault, answered 400 by the server.
            ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::Deserialization(_) => Self::new(BAD_REQUEST),
            ServerFnErrorErr::Serialization(_)
            | ServerFnErrorErr::Registration(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_)
            | ServerFnErrorErr::MiddlewareError(_)
            | ServerFnErrorErr::ServerError(_) => Self::internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constructor_names_a_catalog_message() {
        for e in [AppError::internal(), AppError::unavailable(), AppError::not_found()] {
            assert!(i18n::has(&e.id), "{} is not in the catalog", e.id);
        }
        let transport = AppError::from_server_fn_error(ServerFnErrorErr::Request("x".into()));
        assert_eq!(transport.id, "error.network");
        assert!(i18n::has(&transport.id));
        let unreadable = AppError::from_server_fn_error(ServerFnErrorErr::Args("bad".into()));
        assert_eq!(unreadable.id, BAD_REQUEST);
        assert!(i18n::has(BAD_REQUEST));
    }
}
