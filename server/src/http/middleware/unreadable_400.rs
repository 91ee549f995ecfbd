//! A server function whose arguments could not be read answers 400, not the 500 server_fn
//! gives every error.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::i18n::t;

/// server_fn answers every error 500; a request whose arguments could not be read is the
/// caller's fault, so say 400 (the body, a JSON `AppError`, names it).
pub async fn unreadable_requests_are_400(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, t("error.internal")).into_response();
    };
    let marker = format!("\"{}\"", app::error::BAD_REQUEST);
    if bytes.windows(marker.len()).any(|w| w == marker.as_bytes()) {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, Body::from(bytes))
}
