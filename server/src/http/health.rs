//! `/healthz`: the process is up and serving HTTP (liveness). Whether its dependencies answer is
//! `/readyz` (`readiness.rs`).

use axum::response::{IntoResponse, Json};
use serde_json::json;

/// The process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}
