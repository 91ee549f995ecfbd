//! What a panic in a handler becomes (the `CatchPanicLayer`'s answer): a plain 500 page and a
//! log line, never a dropped connection.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use app::i18n::t;

/// A bug must not reach a person as a dropped connection: log it, answer a plain 500 page.
pub fn internal_error_page(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = detail, "a request handler panicked");
    let mut response = (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::response::Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title}</title>\
             <body style=\"font-family:system-ui;max-width:40rem;margin:4rem auto;padding:0 1rem\">\
             <h1>{title}</h1><p>{text}</p><p><a href=\"/\">{back}</a></p></body></html>",
            title = t("error.title"),
            text = t("error.internal"),
            back = t("not_found.back"),
        )),
    )
        .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
