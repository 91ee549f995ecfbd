//! The HTTP side: `build_app` takes the services (`services.rs`, built once) and assembles the
//! router around them: the routes (health, readiness, metrics and logo each in a file of their
//! own under `http/`, the app's pages and server functions) and the middleware every request
//! passes through (`http/middleware/`, one per file), in the order written down in it.

use std::sync::{Arc, OnceLock};

use app::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::db::Db;
use crate::directory::LdapDirectory;
use crate::services::Services;
use middleware::{
    body_deadline, carried, cross_site, panic_page, security_headers, session, turns,
    unreadable_400,
};

pub mod assets;
pub mod forward_auth;
mod health;
mod logo;
mod metrics;
mod middleware;
pub mod oidc;
mod plain_page;
mod readiness;

pub use middleware::body_deadline::BODY_DEADLINE;
pub use readiness::READINESS_CACHE;

/// Builds the whole application. Tests call this and drive it with `oneshot` or a real socket.
pub fn build_app(config: &Config, db: Db, directory: LdapDirectory) -> Result<Router, String> {
    let Services { state, metrics: counted, logo: configured_logo } =
        crate::services::build(config, db.clone(), directory)?;
    let leptos_options = state.leptos_options.clone();
    let routes = route_list();
    let shell = move || app::shell(leptos_options.clone());
    let readiness =
        Arc::new(readiness::Readiness::new(state.database.clone(), state.directory.clone()));
    let forward_auth_routes = forward_auth::routes(&state, counted.clone());
    let metrics_route =
        metrics::endpoint(config, counted, state.session_policy.trusted_proxies.clone());
    let browser_assets = Arc::new(assets::Assets::embedded(config.site_root_override()));
    let files_and_404 = leptos_axum::file_and_error_handler::<AppState, _>(app::shell);

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
    // 10. the notice cookie: what the next page view says (`middleware/carried.rs`);
    // 11. the flow cookie: the sign-in in progress (`middleware/carried.rs`);
    // 12. unreadable server-function arguments answer 400 (`middleware/unreadable_400.rs`);
    // 13. one look at who is signed in per request, taken in turns (`app::auth::SignInLook`);
    // then the routes: health, readiness, the audit export (`app/src/pages/admin/export.rs`),
    // logo, metrics, the OpenID Connect provider (`http/oidc.rs`), forward authentication
    // (`http/forward_auth.rs`), the app's pages and server functions, and as fallback the
    // browser assets built into the binary (`http/assets.rs`), then files under the site root,
    // then the 404 page.
    Ok(Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(move || async move { readiness.answer().await }))
        .route("/admin/audit.csv", get(app::pages::admin::export::audit_csv))
        .route(app::state::LOGO_PATH, get(move || logo::serve_logo(configured_logo.clone())))
        .route("/metrics", metrics_route)
        .merge(oidc::routes(&state))
        .merge(forward_auth_routes)
        .leptos_routes_with_context(&state, routes, || {}, shell)
        .fallback(move |uri: Uri, state: State<AppState>, request: Request<Body>| {
            let (browser_assets, files_and_404) = (browser_assets.clone(), files_and_404.clone());
            async move {
                match browser_assets.serve(request.method(), uri.path(), request.headers()) {
                    Some(asset) => asset,
                    None => files_and_404(uri, state, request).await,
                }
            }
        })
        .layer(from_fn(app::auth::one_look_per_request))
        .layer(from_fn(unreadable_400::unreadable_requests_are_400))
        .layer(from_fn_with_state(
            Arc::new(app::flow::FlowCookie::new(
                config.is_https(),
                crate::services::FLOW_LIFETIME_SECS,
            )),
            carried::carry::<app::flow::FlowCookie>,
        ))
        .layer(from_fn_with_state(
            Arc::new(app::flash::NoticeCookie::new(
                config.is_https(),
                config.security.hmac_keys.clone().into(),
            )),
            carried::carry::<app::flash::NoticeCookie>,
        ))
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
