//! The body deadline. Request bodies are read in full, under a deadline, before a request may take one of the
//! `server.max_concurrent_requests` turns. Otherwise a client that sends its headers and then
//! trickles (or never sends) its body holds a turn for the whole request timeout: a few such
//! clients, costing them nothing, would stop everyone else being served.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The longest a request body may take to arrive. Bodies are form posts of a few hundred bytes
/// (at most `server.max_body_bytes`), which a slow phone link sends in well under a second.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// Buffers the body (already capped by the body limit outside this layer) within
/// [`BODY_DEADLINE`]: 408 when it does not arrive in time, 413 when it is over the limit.
pub async fn read_body_in_time(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(BODY_DEADLINE, axum::body::to_bytes(body, usize::MAX)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(Err(e)) if is_over_the_limit(&e) => {
            (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.").into_response()
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, path = %parts.uri.path(), "request body could not be read");
            (StatusCode::BAD_REQUEST, "The request body could not be read.").into_response()
        }
        Err(_) => {
            tracing::info!(path = %parts.uri.path(), "request body did not arrive in time");
            let mut response =
                (StatusCode::REQUEST_TIMEOUT, "The request body did not arrive in time.")
                    .into_response();
            // The rest of the body may still be on its way: this connection cannot be reused.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// Whether reading failed because the body limit (`RequestBodyLimitLayer`) cut it off; the
/// limit's error arrives wrapped once per body adapter on the way.
fn is_over_the_limit(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use tower::ServiceExt;
    use tower_http::limit::RequestBodyLimitLayer;

    fn app() -> Router {
        Router::new()
            .route("/", post(|body: String| async move { body }))
            .layer(axum::middleware::from_fn(read_body_in_time))
            .layer(RequestBodyLimitLayer::new(16))
    }

    fn chunked(chunks: Vec<&'static str>) -> Body {
        let stream = futures_util::stream::iter(
            chunks.into_iter().map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::from(c))),
        );
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn a_body_in_time_reaches_the_handler() {
        let res = app().oneshot(Request::post("/").body(chunked(vec!["a=", "1"])).unwrap());
        let res = res.await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(axum::body::to_bytes(res.into_body(), 64).await.unwrap(), "a=1");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413_even_without_a_length() {
        let body = chunked(vec!["0123456789", "0123456789"]);
        let res = app().oneshot(Request::post("/").body(body).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
