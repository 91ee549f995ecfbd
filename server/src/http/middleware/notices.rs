//! The notice for the next page view travels in a sealed cookie (`app::flash`): this layer opens
//! the one the browser brought into the request's `Flash`, and puts whatever the request made
//! of it on the answer. An answer that is a server error changes nothing, as the session layer
//! does not save on one: the notice waits for a page that could be shown.

use std::sync::Arc;

use app::flash::{Flash, NoticeCookie};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

pub async fn carry_notices(
    State(cookie): State<Arc<NoticeCookie>>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = app::auth::now_secs();
    let brought = app::auth::cookie_in(request.headers(), cookie.name);
    let notice = brought.and_then(|value| match cookie.open(value, now) {
        Ok(notice) => Some(notice),
        Err(e) => {
            tracing::info!(reason = %e, "a notice cookie was ignored");
            None
        }
    });
    let flash = Flash::brought(notice, brought.is_some());
    request.extensions_mut().insert(flash.clone());
    let mut response = next.run(request).await;
    if !response.status().is_server_error()
        && let Some(set) = flash.set_cookie(&cookie, now)
    {
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    response
}
