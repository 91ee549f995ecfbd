//! The few pages served outside the app's own (the OpenID Connect provider's errors and logout
//! confirmation, forward authentication's errors): plain HTML with the site's stylesheet and no
//! script, since they must work wherever an app or a proxy sent the person.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Text for HTML (element content and quoted attribute values).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A page with a title, a sentence saying what happened and what to do, and `extra` (HTML the
/// caller built from escaped parts: a form, a link).
pub fn page(status: StatusCode, title: &str, text: &str, extra: &str) -> Response {
    page_styled(status, title, text, extra, "<link rel=\"stylesheet\" href=\"/pkg/latchkey.css\">")
}

/// [`page`] without the site's stylesheet: for a page on an app's host, where `/pkg/` is the
/// app's.
pub fn bare_page(status: StatusCode, title: &str, text: &str, extra: &str) -> Response {
    page_styled(status, title, text, extra, "")
}

fn page_styled(status: StatusCode, title: &str, text: &str, extra: &str, style: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>{style}</head>\
         <body class=\"min-h-screen bg-slate-50 text-slate-900 dark:bg-slate-950 dark:text-slate-100\">\
         <main class=\"mx-auto max-w-lg p-6\"><h1 class=\"text-2xl font-semibold\">{title}</h1>\
         <p class=\"mt-4\">{text}</p>{extra}</main></body></html>",
        title = esc(title),
        text = esc(text),
    );
    (status, Html(body)).into_response()
}
