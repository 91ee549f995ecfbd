//! Request turns: at most `server.max_concurrent_requests` pages and server functions are
//! served at once; the rest wait, first come first served.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// At most `server.max_concurrent_requests` pages and server functions at once; the rest wait
/// their turn (the semaphore is first come, first served) within the request timeout. More
/// renders in flight than that add no throughput on a few cores, only memory (each holds its
/// page, its session and its connections) and tail latency. Health checks, metrics and static
/// files never queue behind pages.
pub async fn take_a_turn(
    State(turns): State<Arc<tokio::sync::Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if ["/healthz", "/readyz", "/metrics", app::state::LOGO_PATH].contains(&path)
        || path.starts_with("/pkg/")
    {
        return next.run(request).await;
    }
    // `Err` only for a closed semaphore, which this never is.
    let _turn = turns.acquire().await.ok();
    next.run(request).await
}
