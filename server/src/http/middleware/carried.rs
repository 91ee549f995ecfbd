//! Values that travel in cookies of their own rather than in the session (`app::carried`): the
//! notice for the next page view (sealed, `app::flash`) and the sign-in in progress
//! (`app::flow`). This layer, once per cookie, reads the one the browser brought into the
//! request's `Carried` value and puts whatever the request made of it on the answer. An answer
//! that is a server error changes nothing, as the session layer does not save on one: a notice
//! waits for a page that could be shown, a flow goes on as it was.

use std::sync::Arc;

use app::carried::{Carried, CarriedCookie};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

pub async fn carry<C: CarriedCookie>(
    State(cookie): State<Arc<C>>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = app::auth::now_secs();
    let brought = app::auth::cookie_in(request.headers(), cookie.name());
    let value = brought.and_then(|value| cookie.open(value, now));
    let carried = Carried::brought(value, brought.is_some());
    request.extensions_mut().insert(carried.clone());
    let mut response = next.run(request).await;
    if !response.status().is_server_error()
        && let Some(set) = carried.set_cookie(&*cookie, now)
    {
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    response
}
