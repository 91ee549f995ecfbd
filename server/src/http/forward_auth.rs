//! Forward authentication's HTTP side: what the proxies ask and how they are answered, which of
//! their headers are believed, the cookies on the apps' hosts. What is decided is in
//! `domain::forward_auth`.
//!
//! - `/api/authz/auth-request`: nginx `auth_request` (reads `X-Original-URL`): 200 with the
//!   `Remote-*` headers, 401 with `Location` (the proxy's `error_page` redirects), 403.
//! - `/api/authz/forward-auth`: Caddy `forward_auth`, Traefik (reads `X-Forwarded-Proto`,
//!   `-Host`, `-Uri`, `-Method`): 200, a redirect (302 for GET and HEAD, 303 otherwise) for a
//!   browser, 401 for a request that does not take HTML, 403.
//! - `/_latchkey/start`, `/_latchkey/callback`: on each app's host, routed to Latchkey by the
//!   proxy: the state cookie and the one-time code's exchange for the app host's cookie.
//! - `/forward-auth`: on Latchkey's host, where the journey signs the person in.
//!
//! Only requests from `server.trusted_proxies` are answered on the proxies' paths: anyone else
//! could name any host and path in those headers.

use std::net::SocketAddr;

use app::auth::{client_from, cookie_in as cookie};
use app::state::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use domain::client::Client;
use domain::forward_auth::apps::{
    CALLBACK_PATH, ProtectedApp, START_PATH, normalize_origin, split_url,
};
use domain::forward_auth::service::{Identity, JourneyError, Verdict};

use super::plain_page::{bare_page, page};
use crate::metrics::Metrics;

/// nginx `auth_request`.
pub const AUTH_REQUEST_PATH: &str = "/api/authz/auth-request";
/// Caddy `forward_auth`, Traefik `forwardAuth`.
pub const FORWARD_AUTH_PATH: &str = "/api/authz/forward-auth";
/// Latchkey's own address a journey goes through.
pub const JOURNEY_PATH: &str = "/forward-auth";
/// The state cookie lives as long as a journey may take.
const STATE_COOKIE_SECS: i64 = 600;

/// Paths proxies call with whatever method the app's request had: no page's CSRF rule applies
/// (they change nothing; `middleware/cross_site.rs`).
pub const CROSS_SITE_PATHS: &[&str] = &[AUTH_REQUEST_PATH, FORWARD_AUTH_PATH];

pub fn routes(state: &AppState, metrics: Metrics) -> Router<AppState> {
    Router::new()
        .route(AUTH_REQUEST_PATH, any(auth_request))
        .route(FORWARD_AUTH_PATH, any(forward_auth))
        .route(START_PATH, get(start))
        .route(CALLBACK_PATH, get(callback))
        .route(JOURNEY_PATH, get(journey))
        .layer(axum::Extension(metrics))
        .layer(axum::middleware::map_response_with_state(state.clone(), super::oidc::page_policy))
}

/// The connection's peer, if it is a configured proxy.
fn from_proxy(state: &AppState, extensions: &axum::http::Extensions) -> bool {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let trusted = peer.is_some_and(|ip| {
        state.session_policy.trusted_proxies.iter().any(|range| range.contains(ip))
    });
    if !trusted {
        tracing::warn!(
            peer = ?peer,
            "forward-auth request refused: it does not come from a proxy in server.trusted_proxies"
        );
    }
    trusted
}

fn who(state: &AppState, extensions: &axum::http::Extensions, headers: &HeaderMap) -> Client {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    client_from(peer, headers, &state.session_policy.trusted_proxies)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The first value of a list header a chain of proxies may have appended to.
fn first_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    header_str(headers, name).and_then(|v| v.split(',').next()).map(str::trim)
}

/// The origin of a request that came through a proxy to a path on the app's host: the host
/// the browser asked for (`X-Forwarded-Host`, else `Host`) and the scheme it used
/// (`X-Forwarded-Proto`, which the proxy must send: guessing http would break every cookie of
/// an https app).
fn origin_through_proxy(headers: &HeaderMap) -> Option<String> {
    let proto = first_value(headers, "x-forwarded-proto")?;
    let host = first_value(headers, "x-forwarded-host").or_else(|| header_str(headers, "host"))?;
    normalize_origin(proto, host)
}

fn refused(text: &'static str) -> Response {
    let mut response = (StatusCode::FORBIDDEN, text).into_response();
    no_store(&mut response);
    response
}

fn no_store(response: &mut Response) {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// What a check found, and the app it was for (for the metrics).
struct Checked<'a> {
    app: &'a ProtectedApp,
    verdict: Verdict,
}

/// The check both proxy endpoints share, once they read which origin and path the request is
/// for. `Err`: the answer to give as is (refused, or a dependency down).
async fn check<'a>(
    state: &'a AppState,
    metrics: &Metrics,
    target: Option<(String, String)>,
    headers: &HeaderMap,
) -> Result<Checked<'a>, Response> {
    let Some((origin, path)) = target else {
        metrics.forward_auth_check("unknown", "refused");
        tracing::warn!("forward-auth check without a readable address of the request");
        return Err(refused("The proxy did not say which address was asked for."));
    };
    let Some(app) = state.forward_auth.app(&origin) else {
        metrics.forward_auth_check("unknown", "refused");
        tracing::warn!(origin = %origin, "forward-auth check for a host that is no configured app");
        return Err(refused("This host is not an app Latchkey protects."));
    };
    let now = app::auth::now_secs();
    match state.forward_auth.check(app, &path, cookie(headers, app.cookie_name()), now).await {
        Ok(verdict) => Ok(Checked { app, verdict }),
        Err(e) => {
            metrics.forward_auth_check(&app.name, "unavailable");
            tracing::error!(error = %e, app = %app.name, "forward-auth check could not be answered");
            let mut response =
                (StatusCode::SERVICE_UNAVAILABLE, "Sign-in is unavailable.").into_response();
            no_store(&mut response);
            Err(response)
        }
    }
}

/// 200 with who is asking, for the proxy to pass on to the app.
fn allowed(identity: &Identity) -> Response {
    let mut response = StatusCode::OK.into_response();
    let groups: Vec<&str> = identity
        .groups
        .iter()
        .filter(|g| {
            // A comma would split one group into two in the list the app reads.
            let one = !g.contains(',');
            if !one {
                tracing::warn!(group = %g, "a group name with a comma is left out of Remote-Groups");
            }
            one
        })
        .map(String::as_str)
        .collect();
    let h = response.headers_mut();
    for (name, value) in [
        ("remote-user", identity.login.as_str()),
        ("remote-name", identity.name.as_str()),
        ("remote-email", identity.email.as_str()),
        ("remote-groups", &groups.join(",")),
    ] {
        h.insert(HeaderName::from_static(name), header_value(value));
    }
    no_store(&mut response);
    response
}

/// A directory value as a header value: UTF-8 kept (as obs-text), control characters (which
/// would end the header) dropped.
fn header_value(value: &str) -> HeaderValue {
    let clean: String = value.chars().filter(|c| !c.is_control()).collect();
    HeaderValue::from_bytes(clean.as_bytes()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn location(status: StatusCode, to: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    no_store(&mut response);
    response
}

/// nginx `auth_request`: the address in `X-Original-URL`; a sign-in is a 401 with `Location`.
async fn auth_request(
    State(state): State<AppState>,
    axum::Extension(metrics): axum::Extension<Metrics>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
) -> Response {
    let target = header_str(&headers, "x-original-url").and_then(split_url);
    let sign_in = |to: String| location(StatusCode::UNAUTHORIZED, &to);
    answer(&state, &metrics, &extensions, &headers, target, sign_in).await
}

/// A proxy's question about `target` (origin, path), answered and counted: `sign_in` says how
/// this proxy sends a browser to sign in.
async fn answer(
    state: &AppState,
    metrics: &Metrics,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
    target: Option<(String, String)>,
    sign_in: impl FnOnce(String) -> Response,
) -> Response {
    if !from_proxy(state, extensions) {
        return refused("Only a configured proxy may ask.");
    }
    let checked = match check(state, metrics, target, headers).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let app = &checked.app.name;
    match checked.verdict {
        Verdict::Allowed(identity) => {
            metrics.forward_auth_check(app, "allowed");
            allowed(&identity)
        }
        Verdict::SignIn(to) => {
            metrics.forward_auth_check(app, "redirected");
            sign_in(to)
        }
        Verdict::Forbidden => {
            metrics.forward_auth_check(app, "refused");
            refused("You are not allowed to use this app.")
        }
    }
}

/// Whether the request takes an HTML page (a browser navigating) rather than data (a script's
/// fetch): only then is a redirect to a sign-in page any use.
fn takes_html(headers: &HeaderMap) -> bool {
    if header_str(headers, "x-requested-with")
        .is_some_and(|v| v.eq_ignore_ascii_case("xmlhttprequest"))
    {
        return false;
    }
    match header_str(headers, "accept") {
        None => true,
        Some(accept) => accept.split(',').any(|part| {
            let mime = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            matches!(mime.as_str(), "text/html" | "text/*" | "*/*")
        }),
    }
}

/// Caddy `forward_auth`, Traefik: the address in `X-Forwarded-Proto/Host/Uri`.
async fn forward_auth(
    State(state): State<AppState>,
    axum::Extension(metrics): axum::Extension<Metrics>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
) -> Response {
    let target = origin_through_proxy(&headers).map(|origin| {
        let uri = header_str(&headers, "x-forwarded-uri").unwrap_or("/");
        (origin, uri.to_owned())
    });
    answer(&state, &metrics, &extensions, &headers, target, |to| {
        if !takes_html(&headers) {
            let mut response = (StatusCode::UNAUTHORIZED, "Sign in first.").into_response();
            no_store(&mut response);
            return response;
        }
        let method = header_str(&headers, "x-forwarded-method").unwrap_or("GET");
        // 303 makes the browser GET the sign-in page after a POST; 302 keeps GET a GET.
        let status = if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
            StatusCode::FOUND
        } else {
            StatusCode::SEE_OTHER
        };
        location(status, &to)
    })
    .await
}

/// A cookie on an app's host: host-only (no `Domain`), `Path=/`, HTTP only, `SameSite=Lax`
/// (the browser comes back from Latchkey by a top-level redirect), `Secure` over https.
fn app_cookie(app: &ProtectedApp, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if app.is_https() { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).ok()
}

/// A page on an app's host (no stylesheet: `/pkg/` there is the app's).
fn app_host_page(status: StatusCode, title: &str, text: &str) -> Response {
    let link = "<p class=\"mt-6\"><a href=\"/\">Open the app again</a></p>";
    let mut response = bare_page(status, title, text, link);
    no_store(&mut response);
    response
}

fn query_pairs(uri: &axum::http::Uri) -> Option<Vec<(String, String)>> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or("")).ok()?;
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    // A repeated parameter is refused: which one counts would be anyone's guess.
    if names.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    Some(pairs)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `/_latchkey/start` on an app's host: a state cookie there, then on to Latchkey.
async fn start(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if !from_proxy(&state, &extensions) {
        return refused("Only a configured proxy may ask.");
    }
    let Some(pairs) = query_pairs(&uri) else {
        return app_host_page(StatusCode::BAD_REQUEST, "Cannot sign in", "The address is damaged.");
    };
    let origin = origin_through_proxy(&headers);
    let Some((app, (value, to))) = origin.as_deref().and_then(|origin| {
        let app = state.forward_auth.app(origin)?;
        Some((app, state.forward_auth.start(origin, param(&pairs, "rd"))?))
    }) else {
        tracing::warn!(origin = ?origin, "forward-auth start on a host that is no configured app");
        return app_host_page(
            StatusCode::BAD_REQUEST,
            "Cannot sign in",
            "This host is not an app Latchkey protects.",
        );
    };
    let mut response = location(StatusCode::FOUND, &to);
    if let Some(cookie) = app_cookie(app, app.state_cookie_name(), &value, STATE_COOKIE_SECS) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `/_latchkey/callback` on an app's host: the one-time code for the app host's cookie.
async fn callback(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if !from_proxy(&state, &extensions) {
        return refused("Only a configured proxy may ask.");
    }
    let client = who(&state, &extensions, &headers);
    let Some(origin) = origin_through_proxy(&headers) else {
        tracing::warn!("forward-auth callback without X-Forwarded-Proto or a host");
        return app_host_page(
            StatusCode::BAD_REQUEST,
            "Cannot sign in",
            "This host is not an app Latchkey protects.",
        );
    };
    let Some(app) = state.forward_auth.app(&origin) else {
        tracing::warn!(origin = %origin, "forward-auth callback on a host that is no configured app");
        return app_host_page(
            StatusCode::BAD_REQUEST,
            "Cannot sign in",
            "This host is not an app Latchkey protects.",
        );
    };
    let pairs = query_pairs(&uri).unwrap_or_default();
    let state_value = cookie(&headers, app.state_cookie_name());
    let landed =
        state.forward_auth.land(&origin, param(&pairs, "code"), state_value, &client).await;
    // The state cookie is spent either way.
    let spent = app_cookie(app, app.state_cookie_name(), "", 0);
    let mut response = match landed {
        Ok(landing) => {
            let mut response =
                location(StatusCode::SEE_OTHER, &format!("{origin}{}", landing.location));
            let cookie =
                app_cookie(app, app.cookie_name(), &landing.cookie_value, landing.cookie_max_age);
            if let Some(cookie) = cookie {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(JourneyError::Unavailable) => app_host_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in unavailable",
            "A service Latchkey needs is not answering. Try again in a minute.",
        ),
        Err(e) => app_host_page(StatusCode::BAD_REQUEST, "Cannot sign in", &capitalised(&e)),
    };
    if let Some(spent) = spent {
        response.headers_mut().append(header::SET_COOKIE, spent);
    }
    response
}

fn capitalised(e: &JourneyError) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        + "."
}

/// `/forward-auth` on Latchkey's host: signs the person in (or steps them up) and sends the
/// browser back to the app's callback with a one-time code.
async fn journey(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    browser: app::auth::Browser,
    uri: axum::http::Uri,
) -> Response {
    let client = who(&state, &extensions, &headers);
    let pairs = query_pairs(&uri).unwrap_or_default();
    let journey = match state.forward_auth.journey(
        param(&pairs, "app"),
        param(&pairs, "rd"),
        param(&pairs, "binding"),
        client.now,
    ) {
        Ok(journey) => journey,
        Err(e) => return journey_error(&e),
    };
    let user = match browser.signed_in(&state, client.now).await {
        Ok(user) => user,
        Err(_) => return journey_error(&JourneyError::Unavailable),
    };
    match app::forward_auth::go(&state, &browser, &client, user.as_ref(), &journey, false).await {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => journey_error(&e),
    }
}

fn journey_error(e: &JourneyError) -> Response {
    let (status, title) = match e {
        JourneyError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Sign-in unavailable"),
        JourneyError::NotAllowed { .. } | JourneyError::NoSecondFactor { .. } => {
            (StatusCode::FORBIDDEN, "You cannot use this app")
        }
        _ => (StatusCode::BAD_REQUEST, "Cannot sign in to this app"),
    };
    let extra = match e {
        JourneyError::NoSecondFactor { .. } => {
            "<p class=\"mt-6\"><a class=\"btn btn-primary\" href=\"/security\">Open your security page</a></p>"
        }
        _ => "<p class=\"mt-6\"><a class=\"btn\" href=\"/\">Go to your account</a></p>",
    };
    let text = match e {
        JourneyError::Unavailable => {
            "A service Latchkey needs is not answering. Try again in a minute.".to_owned()
        }
        other => capitalised(other),
    };
    let mut response = page(status, title, &text, extra);
    no_store(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn browsers_navigating_take_html_and_scripts_do_not() {
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(takes_html(&headers(&[("accept", chrome)])));
        assert!(takes_html(&headers(&[])));
        assert!(takes_html(&headers(&[("accept", "*/*")])));
        assert!(!takes_html(&headers(&[("accept", "application/json")])));
        assert!(!takes_html(&headers(&[
            ("accept", chrome),
            ("x-requested-with", "XMLHttpRequest")
        ])));
    }

    #[test]
    fn the_origin_through_a_proxy_needs_its_scheme() {
        let h = headers(&[("x-forwarded-proto", "https"), ("host", "Wiki.Example.org")]);
        assert_eq!(origin_through_proxy(&h).as_deref(), Some("https://wiki.example.org"));
        let h = headers(&[
            ("x-forwarded-proto", "http, https"),
            ("x-forwarded-host", "app-a.localhost:8080, inner:1"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert_eq!(origin_through_proxy(&h).as_deref(), Some("http://app-a.localhost:8080"));
        assert_eq!(origin_through_proxy(&headers(&[("host", "wiki.example.org")])), None);
        let h = headers(&[("x-forwarded-proto", "https"), ("host", "evil.example/x")]);
        assert_eq!(origin_through_proxy(&h), None);
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let h = headers(&[("cookie", "latchkey-fa-state=s; latchkey-fa=v1"), ("cookie", "x=y")]);
        assert_eq!(cookie(&h, "latchkey-fa"), Some("v1"));
        assert_eq!(cookie(&h, "latchkey-fa-state"), Some("s"));
        assert_eq!(cookie(&h, "x"), Some("y"));
        assert_eq!(cookie(&h, "latchkey"), None);
    }

    #[test]
    fn app_host_cookies_are_host_only_and_secure_over_https() {
        use domain::oidc::levels::Level;
        let https = ProtectedApp::new("Wiki", "https://wiki.example.org", Level::Code).unwrap();
        let cookie = app_cookie(&https, https.cookie_name(), "v", 60).unwrap();
        assert_eq!(
            cookie.to_str().unwrap(),
            "__Host-latchkey-fa=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        let http = ProtectedApp::new("A", "http://app-a.localhost:8080", Level::Code).unwrap();
        let cookie = app_cookie(&http, http.state_cookie_name(), "s", 600).unwrap();
        assert_eq!(
            cookie.to_str().unwrap(),
            "latchkey-fa-state=s; Path=/; Max-Age=600; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn header_values_never_break_a_header() {
        assert_eq!(header_value("José Núñez").as_bytes(), "José Núñez".as_bytes());
        assert_eq!(header_value("a\r\nSet-Cookie: x=y").as_bytes(), b"aSet-Cookie: x=y");
    }
}
