//! The HTTP side: `build_app` assembles the router (pages, server functions, health endpoints)
//! and the middleware every request passes through.

use std::sync::{Arc, OnceLock};

use app::domain::AppState;
use app::i18n::t;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::db::Db;
use crate::directory::LdapDirectory;
use crate::metrics::Metrics;
use crate::services::Services;

mod read_body;
mod readiness;

pub use read_body::BODY_DEADLINE;
pub use readiness::READINESS_CACHE;

/// Builds the whole application. Tests call this and drive it with `oneshot` or a real socket.
pub fn build_app(config: &Config, db: Db, directory: LdapDirectory) -> Result<Router, String> {
    let Services { state, metrics, logo } = crate::services::build(config, db.clone(), directory)?;
    let metrics_token = config
        .server
        .metrics_token
        .clone()
        .filter(|t| !secrecy::ExposeSecret::expose_secret(t).is_empty())
        .map(Arc::new);
    let leptos_options = state.leptos_options.clone();

    let routes = route_list();
    let shell = move || app::shell(leptos_options.clone());
    let readiness =
        Arc::new(readiness::Readiness::new(state.database.clone(), state.directory.clone()));
    let metrics_access = Arc::new(MetricsAccess {
        token: metrics_token,
        trusted_proxies: state.session_policy.trusted_proxies.iter().copied().collect(),
    });
    if metrics_access.token.is_none() && !metrics_access.trusted_proxies.is_empty() {
        // Behind a proxy on this machine every request comes from loopback, so without a token
        // nobody can be told apart from anybody: said once here, not at every refusal.
        tracing::warn!(
            "server.trusted_proxies is set and server.metrics_token is not: /metrics is refused to everyone; set server.metrics_token for Prometheus"
        );
    }

    Ok(Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(move || async move { readiness.answer().await }))
        .route("/admin/audit.csv", get(audit_csv))
        .route(app::domain::LOGO_PATH, get(move || serve_logo(logo.clone())))
        .route(
            "/metrics",
            get(
                move |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<
                    std::net::SocketAddr,
                >,
                      headers: HeaderMap| {
                    let (metrics, access) = (metrics.clone(), metrics_access.clone());
                    async move { serve_metrics(&metrics, &access, peer, &headers) }
                },
            ),
        )
        .leptos_routes_with_context(&state, routes, || {}, shell)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(middleware::from_fn(unreadable_requests_are_400))
        .layer(session_layer(config, &db))
        .layer(middleware::from_fn_with_state(Arc::new(public_origin(config)), refuse_cross_site))
        .layer(middleware::from_fn_with_state(config.is_https(), security_headers))
        .layer(middleware::from_fn_with_state(
            Arc::new(tokio::sync::Semaphore::new(config.server.max_concurrent_requests)),
            take_a_turn,
        ))
        // Inside the body limit, outside the turns: a slow body holds no turn.
        .layer(middleware::from_fn(read_body::read_body_in_time))
        .layer(RequestBodyLimitLayer::new(config.server.max_body_bytes))
        // Nothing may hold a connection forever: every dependency has its own, shorter timeout,
        // so this only catches a bug (a render that never completes) and says so.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(internal_error_page))
        .with_state(state))
}

/// The longest any request may take.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The app's routes, generated once per process. Generating them renders the app with resource
/// loading switched off through a process-wide flag in leptos_server: a page rendering on
/// another thread at that moment would wait forever (leptos issue #4773). Once, before anything
/// serves, it cannot meet a request — also when tests build many apps in one process.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// A bug must not reach a person as a dropped connection: log it, answer a plain 500 page.
fn internal_error_page(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
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

fn session_layer(config: &Config, db: &Db) -> SessionManagerLayer<crate::db::SqlSessionStore> {
    let https = config.is_https();
    // `__Host-` makes the browser refuse the cookie unless it is Secure, host-only and for
    // path `/`: nobody on a sibling subdomain can plant or read it.
    let name = if https { "__Host-latchkey" } else { "latchkey" };
    let idle = time::Duration::seconds(
        i64::try_from(config.security.session_idle_timeout_secs).unwrap_or(i64::MAX),
    );
    SessionManagerLayer::new(db.session_store())
        .with_name(name)
        .with_http_only(true)
        .with_secure(https)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

/// `scheme://host[:port]` of the configured public URL.
fn public_origin(config: &Config) -> String {
    url::Url::parse(&config.server.public_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// At most `server.max_concurrent_requests` pages and server functions at once; the rest wait
/// their turn (the semaphore is first come, first served) within the request timeout. More
/// renders in flight than that add no throughput on a few cores, only memory (each holds its
/// page, its session and its connections) and tail latency. Health checks, metrics and static
/// files never queue behind pages.
async fn take_a_turn(
    State(turns): State<Arc<tokio::sync::Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if ["/healthz", "/readyz", "/metrics", app::domain::LOGO_PATH].contains(&path)
        || path.starts_with("/pkg/")
    {
        return next.run(request).await;
    }
    // `Err` only for a closed semaphore, which this never is.
    let _turn = turns.acquire().await.ok();
    next.run(request).await
}

/// server_fn answers every error 500; a request whose arguments could not be read is the
/// caller's fault, so say 400 (the body, a JSON `AppError`, names it).
async fn unreadable_requests_are_400(request: Request, next: Next) -> Response {
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

/// CSRF defence for every state-changing request: browsers say where a request comes from
/// (`Sec-Fetch-Site`, else `Origin`); anything not from our own origin is refused. Requests
/// with neither header do not come from a browser page, so they cannot carry a victim's cookie
/// on an attacker's behalf.
async fn refuse_cross_site(
    State(origin): State<Arc<String>>,
    request: Request,
    next: Next,
) -> Response {
    if is_safe_method(request.method()) || is_same_origin(request.headers(), &origin) {
        return next.run(request).await;
    }
    tracing::warn!(
        method = %request.method(),
        path = %request.uri().path(),
        "refused a cross-site request"
    );
    (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response()
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn is_same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        // "none": the person typed the URL or used a bookmark.
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(header::ORIGIN) {
        Some(value) => value.to_str().is_ok_and(|v| v == origin),
        None => true,
    }
}

async fn security_headers(State(https): State<bool>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // same-origin keeps the Referer that no-JavaScript form posts need to come back to their page.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages set their own policy with the response's script nonce; everything else (server
    // function answers, assets, errors) gets a policy that allows nothing to run.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        );
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        // Pages can show personal data: no cache may keep them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The trail's filters as the audit page's query string carries them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct AuditQuery {
    person: String,
    actor: String,
    kind: String,
    from: String,
    to: String,
}

/// Most rows one CSV export holds; narrow the filters for more.
const CSV_MAX_ROWS: u32 = 10_000;

/// The audit trail as CSV, for administrators only (checked against the directory, like every
/// admin server function; a refusal is audited).
async fn audit_csv(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<AuditQuery>,
) -> Response<Body> {
    use app::domain::admin::{TrailQuery, csv_field, parse_date};
    let client =
        app::auth::client_from(Some(peer), &headers, &state.session_policy.trusted_proxies);
    let now = client.now;
    // The same checks as every page: timeouts, and sessions ended elsewhere.
    let user = match app::auth::current_user_in(&state, &session, now).await {
        Ok(user) => user,
        Err(_) => {
            return (StatusCode::SERVICE_UNAVAILABLE, t("error.unavailable")).into_response();
        }
    };
    if state.admin.authorize(&client, user.as_ref(), "audit export").await.is_err() {
        return (StatusCode::FORBIDDEN, t("admin.forbidden")).into_response();
    }
    let date =
        |s: &str| if s.trim().is_empty() { Ok(None) } else { parse_date(s).map(Some).ok_or(()) };
    let (Ok(from), Ok(to)) = (date(&q.from), date(&q.to)) else {
        return (StatusCode::BAD_REQUEST, t("admin.audit.bad_date")).into_response();
    };
    let events = match state
        .admin
        .trail(
            &TrailQuery { person: q.person, actor: q.actor, kind: q.kind, from, to },
            None,
            CSV_MAX_ROWS,
        )
        .await
    {
        Ok(events) => events,
        Err(e) => {
            let status = if e == app::domain::admin::AdminError::Unavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_REQUEST
            };
            return (status, t(&e.notice().id)).into_response();
        }
    };
    let mut csv = String::from(
        "id,time_utc,unix_time,kind,outcome,actor_id,actor_login,subject_id,subject_login,client_ip,user_agent,detail\r\n",
    );
    let logins = state.admin.subject_logins(&events).await;
    for e in events {
        let subject_login =
            e.subject_id.as_ref().and_then(|id| logins.get(id)).cloned().unwrap_or_default();
        let fields = [
            e.id.to_string(),
            app::components::time::format_utc_date_time(e.at),
            e.at.to_string(),
            e.kind,
            e.outcome,
            e.actor_id.unwrap_or_default(),
            e.login.unwrap_or_default(),
            e.subject_id.unwrap_or_default(),
            subject_login,
            e.client_ip,
            e.user_agent,
            e.detail.unwrap_or_default(),
        ];
        csv.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        csv.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"latchkey-audit.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response()
}

/// The process is up and serving HTTP.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Who may read `/metrics`.
struct MetricsAccess {
    token: Option<Arc<secrecy::SecretString>>,
    trusted_proxies: Arc<[app::domain::client_ip::IpRange]>,
}

impl MetricsAccess {
    /// A Prometheus that sends the configured bearer token; without a token, a client on this
    /// machine — unless proxies are configured: behind a proxy on this machine every request
    /// comes from loopback, so then nobody is let in without the token.
    fn allows(&self, client: std::net::IpAddr, headers: &HeaderMap) -> bool {
        match &self.token {
            Some(token) => headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|given| {
                    constant_time_eq(
                        given.as_bytes(),
                        secrecy::ExposeSecret::expose_secret(&**token).as_bytes(),
                    )
                }),
            None => self.trusted_proxies.is_empty() && client.is_loopback(),
        }
    }
}

/// The metrics, for those [`MetricsAccess`] lets in: they tell who signs in how often, which is
/// nobody else's business.
fn serve_metrics(
    metrics: &Metrics,
    access: &MetricsAccess,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
) -> Response {
    // The client as everything else sees it: through a trusted proxy, the forwarded address.
    let forwarded = app::domain::client_ip::forwarded_for(
        headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes()),
    );
    let client =
        app::domain::client_ip::client_ip(peer.ip(), Some(&forwarded), &access.trusted_proxies);
    if !access.allows(client, headers) {
        if access.token.is_some() || access.trusted_proxies.is_empty() {
            tracing::warn!(client = %client, "refused /metrics (see server.metrics_token)");
        }
        return (
            StatusCode::FORBIDDEN,
            "Metrics need server.metrics_token (Authorization: Bearer …).",
        )
            .into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.render())
        .into_response()
}

/// Equal bytes, in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The configured logo; an SVG may not run script or load anything, even opened on its own.
async fn serve_logo(logo: Option<Arc<crate::branding::Logo>>) -> Response {
    let Some(logo) = logo else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, logo.content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            ),
        ],
        logo.bytes.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_go_to_this_machine_or_to_the_token_holder() {
        let m = Metrics::default();
        let (local, remote) = ("127.0.0.1:9".parse().unwrap(), "203.0.113.5:9".parse().unwrap());
        let status = |token: Option<&str>,
                      proxies: &[&str],
                      peer,
                      pairs: &[(&'static str, &'static str)]| {
            let access = MetricsAccess {
                token: token.map(|t| Arc::new(secrecy::SecretString::from(t.to_owned()))),
                trusted_proxies: proxies
                    .iter()
                    .map(|r| app::domain::client_ip::IpRange::parse(r).unwrap())
                    .collect::<Vec<_>>()
                    .into(),
            };
            serve_metrics(&m, &access, peer, &headers(pairs)).status()
        };
        assert_eq!(status(None, &[], local, &[]), StatusCode::OK);
        assert_eq!(status(None, &[], remote, &[]), StatusCode::FORBIDDEN);
        let right = [("authorization", "Bearer s3cret-token")];
        assert_eq!(status(Some("s3cret-token"), &[], remote, &right), StatusCode::OK);
        let wrong = [("authorization", "Bearer s3cret-tokem")];
        assert_eq!(status(Some("s3cret-token"), &[], remote, &wrong), StatusCode::FORBIDDEN);
        assert_eq!(
            status(Some("s3cret-token"), &[], local, &[]),
            StatusCode::FORBIDDEN,
            "token set: always"
        );
        // Behind a proxy on this machine loopback proves nothing: without a token, nobody.
        let proxy = ["127.0.0.0/8"];
        assert_eq!(status(None, &proxy, local, &[]), StatusCode::FORBIDDEN);
        let forwarded = [("x-forwarded-for", "127.0.0.1")];
        assert_eq!(status(None, &proxy, local, &forwarded), StatusCode::FORBIDDEN);
        assert_eq!(status(Some("s3cret-token"), &proxy, local, &right), StatusCode::OK);
        assert_eq!(status(Some("s3cret-token"), &proxy, local, &[]), StatusCode::FORBIDDEN);
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    const ORIGIN: &str = "https://security.example.org";

    #[test]
    fn same_origin_requests_pass() {
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "same-origin")]), ORIGIN));
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "none")]), ORIGIN));
        assert!(is_same_origin(&headers(&[("origin", ORIGIN)]), ORIGIN));
        // No browser provenance at all: not a browser, so no ambient cookie to abuse.
        assert!(is_same_origin(&headers(&[]), ORIGIN));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "cross-site")]), ORIGIN));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "same-site")]), ORIGIN));
        assert!(!is_same_origin(&headers(&[("origin", "https://evil.example")]), ORIGIN));
        assert!(!is_same_origin(&headers(&[("origin", "null")]), ORIGIN));
        // Sec-Fetch-Site wins over a forged-looking Origin.
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site"), ("origin", ORIGIN)]),
            ORIGIN
        ));
    }

    #[test]
    fn only_unsafe_methods_are_checked() {
        assert!(is_safe_method(&Method::GET));
        assert!(is_safe_method(&Method::HEAD));
        assert!(!is_safe_method(&Method::POST));
        assert!(!is_safe_method(&Method::DELETE));
    }
}
