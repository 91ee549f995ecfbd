//! The HTTP side: `build_app` assembles the router (pages, server functions, health endpoints)
//! and the middleware every request passes through.

use std::sync::{Arc, OnceLock};

use app::domain::AppState;
use app::i18n::t;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::db::Db;
use crate::directory::LdapDirectory;
use crate::metrics::Metrics;
use crate::services::Services;
use middleware::{
    body_deadline, cross_site, panic_page, security_headers, session, turns, unreadable_400,
};

mod middleware;
mod readiness;

pub use middleware::body_deadline::BODY_DEADLINE;
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

    // The layers, as a request meets them (the last `.layer` is the outermost):
    //  1. catch-panic: a panic becomes a plain 500 page (`middleware/panic_page.rs`);
    //  2. trace: a span per request;
    //  3. timeout: 503 after `REQUEST_TIMEOUT`;
    //  4. body limit: `server.max_body_bytes`, 413 beyond;
    //  5. body deadline: the whole body read within `BODY_DEADLINE`, 408 otherwise
    //     (`middleware/body_deadline.rs`);
    //  6. turns: at most `server.max_concurrent_requests` pages at once (`middleware/turns.rs`);
    //  7. security headers on the answer (`middleware/security_headers.rs`);
    //  8. cross-site refusal: 403 for state changes from another origin (`middleware/cross_site.rs`);
    //  9. the session cookie (`middleware/session.rs`);
    // 10. unreadable server-function arguments answer 400 (`middleware/unreadable_400.rs`);
    // then the routes: health, readiness, audit export, logo, metrics, the app's pages and server
    // functions, and static files with the 404 page as fallback.
    Ok(Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(move || async move { readiness.answer().await }))
        .route("/admin/audit.csv", get(app::pages::admin::export::audit_csv))
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
        .layer(from_fn(unreadable_400::unreadable_requests_are_400))
        .layer(session::session_layer(config, &db))
        .layer(from_fn_with_state(
            Arc::new(cross_site::public_origin(config)),
            cross_site::refuse_cross_site,
        ))
        .layer(from_fn_with_state(config.is_https(), security_headers::security_headers))
        .layer(from_fn_with_state(
            Arc::new(tokio::sync::Semaphore::new(config.server.max_concurrent_requests)),
            turns::take_a_turn,
        ))
        // Inside the body limit, outside the turns: a slow body holds no turn.
        .layer(from_fn(body_deadline::read_body_in_time))
        .layer(RequestBodyLimitLayer::new(config.server.max_body_bytes))
        // Nothing may hold a connection forever: every dependency has its own, shorter timeout,
        // so this only catches a bug (a render that never completes) and says so.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(panic_page::internal_error_page))
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
    use axum::http::HeaderValue;

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
}
