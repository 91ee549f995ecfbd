//! The OpenID Connect provider's endpoints: HTTP in, HTTP out. What they decide is in
//! `domain::oidc::provider`; the sign-in they wait for is the sign-in page's, which resumes
//! the waiting request when its last step is done (`app/src/pages/sign_in/api.rs`).

use std::net::SocketAddr;

use app::auth::{Browser, client_from};
use app::state::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::plain_page::{esc, page};
use axum::routing::get;
use base64::Engine as _;
use domain::client::Client;
use domain::notice::Notice;
use domain::oidc::provider::{
    BearerError, Logout, LogoutRequest, Next, PageError, RevokeRequest, TokenError, TokenRequest,
};
use domain::oidc::request::RawAuthorize;
use serde_json::Value;

/// The provider's routes. Their CSRF story is their own (see `middleware/cross_site.rs`):
/// apps post to them from other origins by design.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize).post(authorize))
        .route("/oidc/token", axum::routing::post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/oidc/revoke", axum::routing::post(revoke))
        .route("/oidc/logout", get(logout).post(logout))
        .layer(axum::middleware::map_response_with_state(state.clone(), page_policy))
}

/// Paths that take cross-site posts (apps' forms and servers).
pub const CROSS_SITE_PATHS: &[&str] =
    &["/oidc/authorize", "/oidc/token", "/oidc/userinfo", "/oidc/revoke", "/oidc/logout"];

/// Who is asking: the connection's peer (absent when a test drives the router directly).
fn who(state: &AppState, extensions: &axum::http::Extensions, headers: &HeaderMap) -> Client {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    client_from(peer, headers, &state.session_policy.trusted_proxies)
}

fn json(status: StatusCode, body: Value) -> Response {
    // Token and userinfo answers are never cached (RFC 6749 §5.1).
    let mut response = (status, axum::Json(body)).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn discovery(State(state): State<AppState>) -> Response {
    let mut response = axum::Json(state.oidc.discovery()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    response
}

async fn jwks(State(state): State<AppState>) -> Response {
    match state.oidc.signer().jwks().await {
        Ok(keys) => {
            let mut response = axum::Json(keys).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
            response
        }
        Err(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "The signing keys are unavailable.").into_response()
        }
    }
}

/// The parameters of a GET (query) or POST (form) request; a repeated parameter is refused
/// (OAuth 2.0 §3.1), as is anything that is not a form.
fn parameters<T: serde::de::DeserializeOwned + Default>(
    method: &Method,
    query: Option<&str>,
    body: &[u8],
) -> Result<T, &'static str> {
    let raw: &[u8] = if method == Method::POST { body } else { query.unwrap_or("").as_bytes() };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(raw).map_err(|_| "the request's parameters cannot be read")?;
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err("a parameter is repeated");
    }
    serde_urlencoded::from_bytes(raw).map_err(|_| "the request's parameters cannot be read")
}

/// The provider's own pages (errors, the logout confirmation): the site's stylesheet, no
/// script, and forms that may end at the registered apps (the confirmation redirects to a
/// post-logout URI).
pub(super) async fn page_policy(State(state): State<AppState>, mut response: Response) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let mut form_action = String::from("'self'");
    for origin in state.oidc.app_origins() {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    let policy = format!(
        "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action {form_action}"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn page_error(e: &PageError) -> Response {
    match e {
        PageError::Unavailable => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in unavailable",
            "A service Latchkey needs is not answering. Try again in a minute.",
            "",
        ),
        other => page(
            StatusCode::BAD_REQUEST,
            "This app's sign-in request cannot be used",
            &other.to_string(),
            "",
        ),
    }
}

async fn authorize(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    let client = who(&state, &extensions, &headers);
    let Some(browser) = Browser::of(&extensions) else {
        return page_error(&PageError::Unavailable);
    };
    let raw: RawAuthorize = match parameters(&method, uri.query(), &body) {
        Ok(raw) => raw,
        Err(reason) => {
            tracing::info!(reason, "authorization request unreadable");
            return page_error(&PageError::Invalid(reason));
        }
    };
    let user = match browser.signed_in(&state, client.now).await {
        Ok(user) => user,
        Err(_) => return page_error(&PageError::Unavailable),
    };
    match state.oidc.authorize(&raw, user.as_ref(), &client).await {
        Ok(next) => follow(&state, &browser, &client, user.as_ref(), next).await,
        Err(e) => page_error(&e),
    }
}

/// Acts on the provider's decision: back to the app, or to the sign-in page with the request
/// waiting in the session.
async fn follow(
    state: &AppState,
    browser: &Browser,
    client: &Client,
    user: Option<&domain::authenticated::Authenticated>,
    next: Next,
) -> Response {
    match app::oidc::next_location(state, browser, client, user, next).await {
        Ok(location) => Redirect::to(&location).into_response(),
        Err(e) => page_error(&e),
    }
}

/// `Authorization: Basic` with id and secret each form-encoded first (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unform = |s: &str| -> Option<String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={s}")).ok()?;
        pairs.into_iter().next().map(|(_, v)| v)
    };
    Some((unform(id)?, unform(secret)?))
}

fn token_error(e: &TokenError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = json(status, e.body());
    if e.basic_challenge {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"latchkey\""));
    }
    response
}

/// The form of a token or revocation request; the answer to send instead when it is not one.
fn read_form<T: serde::de::DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, &'static str> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err("send the parameters as application/x-www-form-urlencoded");
    }
    parameters(&Method::POST, None, body)
}

fn invalid_request(description: &'static str) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        serde_json::json!({ "error": "invalid_request", "error_description": description }),
    )
}

async fn token(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let client = who(&state, &extensions, &headers);
    let form: TokenRequest = match read_form(&headers, &body) {
        Ok(form) => form,
        Err(description) => return invalid_request(description),
    };
    let basic = basic_credentials(&headers);
    if headers.contains_key(header::AUTHORIZATION) && basic.is_none() {
        return token_error(&TokenError {
            status: 401,
            error: "invalid_client",
            description: "the Authorization header is not readable Basic credentials",
            basic_challenge: true,
        });
    }
    let basic = basic.as_ref().map(|(id, secret)| (id.as_str(), secret.as_str()));
    match state.oidc.token(&form, basic, &client).await {
        Ok(body) => json(StatusCode::OK, body),
        Err(e) => token_error(&e),
    }
}

async fn userinfo(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    method: Method,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let client = who(&state, &extensions, &headers);
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    // RFC 6750 §2.2: also in a POSTed form.
    let from_form = (method == Method::POST)
        .then(|| serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).ok())
        .flatten()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "access_token").map(|(_, v)| v));
    let challenge = |error: &str| {
        let mut response = json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({ "error": error, "error_description": "a valid access token is required" }),
        );
        let value = format!("Bearer realm=\"latchkey\", error=\"{error}\"");
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    };
    let token = match (from_header, from_form) {
        (Some(t), None) | (None, Some(t)) => t,
        (Some(_), Some(_)) => return challenge("invalid_request"),
        (None, None) => {
            let mut response = StatusCode::UNAUTHORIZED.into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"latchkey\""),
            );
            return response;
        }
    };
    match state.oidc.userinfo(&token, &client).await {
        Ok(claims) => json(StatusCode::OK, claims),
        Err(BearerError::InvalidToken) => challenge("invalid_token"),
        Err(BearerError::Unavailable) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "error": "temporarily_unavailable" }),
        ),
    }
}

async fn revoke(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let client = who(&state, &extensions, &headers);
    let form: RevokeRequest = match read_form(&headers, &body) {
        Ok(form) => form,
        Err(description) => return invalid_request(description),
    };
    let basic = basic_credentials(&headers);
    let basic = basic.as_ref().map(|(id, secret)| (id.as_str(), secret.as_str()));
    match state.oidc.revoke(&form, basic, &client).await {
        Ok(()) => json(StatusCode::OK, serde_json::json!({})),
        Err(e) => token_error(&e),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct LogoutForm {
    #[serde(flatten)]
    request: LogoutRequestFields,
    /// Set by the confirmation page's button.
    confirm: Option<String>,
}

/// [`LogoutRequest`]'s fields, for `#[serde(flatten)]` with the confirmation flag.
#[derive(Debug, Default, serde::Deserialize)]
struct LogoutRequestFields {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    logout_hint: Option<String>,
    ui_locales: Option<String>,
}

async fn logout(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    let client = who(&state, &extensions, &headers);
    let Some(browser) = Browser::of(&extensions) else {
        return page_error(&PageError::Unavailable);
    };
    let form: LogoutForm = match parameters(&method, uri.query(), &body) {
        Ok(form) => form,
        Err(reason) => return page_error(&PageError::Invalid(reason)),
    };
    let f = form.request;
    let request = LogoutRequest {
        id_token_hint: f.id_token_hint,
        post_logout_redirect_uri: f.post_logout_redirect_uri,
        state: f.state,
        client_id: f.client_id,
        logout_hint: f.logout_hint,
        ui_locales: f.ui_locales,
    };
    let user = match browser.signed_in(&state, client.now).await {
        Ok(user) => user,
        Err(_) => return page_error(&PageError::Unavailable),
    };
    // The confirmation page's own post: only from this site (it ends a sign-in).
    let confirmed = method == Method::POST
        && form.confirm.as_deref() == Some("yes")
        && crate::http::middleware::cross_site::is_same_origin(&headers, state.oidc.issuer());
    let decision = match state.oidc.end_session(&request, user.as_ref()).await {
        Ok(decision) => decision,
        Err(e) => return page_error(&e),
    };
    let redirect = match decision {
        Logout::SignOut { redirect } => {
            sign_out(&state, &browser, &client, user.as_ref()).await;
            redirect
        }
        Logout::NothingToEnd { redirect } => redirect,
        Logout::Confirm { redirect, .. } if confirmed => {
            sign_out(&state, &browser, &client, user.as_ref()).await;
            redirect
        }
        Logout::Confirm { app, client_id, .. } => {
            return confirm_page(&request, client_id.as_deref(), app.as_deref());
        }
    };
    Redirect::to(redirect.as_deref().unwrap_or("/sign-in")).into_response()
}

async fn sign_out(
    state: &AppState,
    browser: &Browser,
    client: &Client,
    user: Option<&domain::authenticated::Authenticated>,
) {
    if let Some(user) = user {
        state.oidc.signed_out(user, client).await;
        state.sign_in.sign_out(client, user).await;
    }
    // A step up in progress ends with the sign-in it would have raised.
    if let Err(e) = browser.flow.cancel(&state.sign_in).await {
        tracing::error!(error = %e, "a sign-in in progress could not be ended at logout");
    }
    if let Err(e) = browser.session.flush().await {
        tracing::error!(error = %e, "session could not be ended at logout");
        return;
    }
    browser.flash.set(Some(Notice::info("sign_in.signed_out")));
}

fn confirm_page(request: &LogoutRequest, client_id: Option<&str>, app: Option<&str>) -> Response {
    let mut hidden = String::new();
    for (name, value) in [
        ("post_logout_redirect_uri", &request.post_logout_redirect_uri),
        ("state", &request.state),
        ("client_id", &client_id.map(str::to_owned)),
    ] {
        if let Some(value) = value {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                esc(value)
            ));
        }
    }
    let text = match app {
        Some(app) => format!("{app} asks to sign you out. This ends your sign-in here and in every app you reached through it."),
        None => "An app asks to sign you out. This ends your sign-in here and in every app you reached through it.".to_owned(),
    };
    let form = format!(
        "<form method=\"post\" action=\"/oidc/logout\" class=\"mt-6 flex gap-3\">{hidden}\
         <button type=\"submit\" name=\"confirm\" value=\"yes\" class=\"btn btn-primary\">Sign out</button>\
         <a href=\"/\" class=\"btn\">Stay signed in</a></form>"
    );
    page(StatusCode::OK, "Sign out?", &text, &form)
}
