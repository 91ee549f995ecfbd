//! `/readyz`: whether the database and the directory answer. The endpoint is for load
//! balancers, so it is unauthenticated and never waits for a turn; each answer is therefore
//! reused for [`READINESS_CACHE`], and only one check runs at a time (hits that arrive during a
//! check wait for it and share its answer): however often anyone asks, the dependencies are
//! asked at most once per window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use domain::{Probe, Unavailable};
use serde_json::json;

/// How long one readiness answer is reused.
pub const READINESS_CACHE: Duration = Duration::from_secs(2);

/// The dependencies to check, and the last answer with when it was found.
pub struct Readiness {
    database: Arc<dyn Probe>,
    directory: Arc<dyn Probe>,
    last: tokio::sync::Mutex<Option<(Instant, Checks)>>,
}

#[derive(Debug, Clone)]
struct Checks {
    database: Result<(), Unavailable>,
    directory: Result<(), Unavailable>,
}

impl Readiness {
    pub fn new(database: Arc<dyn Probe>, directory: Arc<dyn Probe>) -> Self {
        Self { database, directory, last: tokio::sync::Mutex::new(None) }
    }

    /// The answer found less than [`READINESS_CACHE`] ago, or a new one. The lock is held
    /// across the check: that is what makes concurrent hits share one.
    async fn checks(&self) -> Checks {
        let mut last = self.last.lock().await;
        if let Some((at, checks)) = last.as_ref()
            && at.elapsed() < READINESS_CACHE
        {
            return checks.clone();
        }
        let (database, directory) = tokio::join!(self.database.probe(), self.directory.probe());
        let checks = Checks { database, directory };
        *last = Some((Instant::now(), checks.clone()));
        checks
    }

    /// 200 when both answer; 503 with the failing ones named otherwise.
    pub async fn answer(&self) -> Response<Body> {
        let Checks { database, directory } = self.checks().await;
        let check = |r: &Result<(), Unavailable>| match r {
            Ok(()) => json!({ "ok": true }),
            Err(e) => json!({ "ok": false, "error": e.kind }),
        };
        let ready = database.is_ok() && directory.is_ok();
        let body = json!({
            "status": if ready { "ready" } else { "unavailable" },
            "checks": { "database": check(&database), "directory": check(&directory) },
        });
        let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A dependency that counts the times it is asked and takes a while to answer.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl Probe for Counting {
        async fn probe(&self) -> Result<(), Unavailable> {
            self.0.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(())
        }
    }

    #[tokio::test]
    async fn concurrent_hits_share_one_check_per_window() {
        let (db, dir) = (Arc::new(Counting::default()), Arc::new(Counting::default()));
        let readiness = Arc::new(Readiness::new(db.clone(), dir.clone()));
        let mut hits = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let r = readiness.clone();
            hits.spawn(async move { r.answer().await.status() });
        }
        while let Some(status) = hits.join_next().await {
            assert_eq!(status.unwrap(), StatusCode::OK);
        }
        assert_eq!((db.0.load(Ordering::SeqCst), dir.0.load(Ordering::SeqCst)), (1, 1));
    }
}
