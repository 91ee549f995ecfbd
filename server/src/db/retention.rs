//! Retention: rows that no limit, flow or page will read again are deleted, so the tables that
//! every sign-in writes to do not grow for ever. The audit trail is kept for
//! `security.audit_retention_days`; everything else goes once it is outside every window it is
//! read in. Each table is pruned by one statement run in batches: SQLite has one writer at a
//! time, and a single delete of a year of rows would hold the write lock (and every sign-in
//! behind it) for as long as it takes.

use std::time::Duration;

use super::{Db, StoreError};

/// How long each kind of row is kept, in seconds, and how many rows one statement deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Audit events older than this go (`security.audit_retention_days`).
    pub audit_secs: i64,
    /// The longest password-throttle window: a count older than that is ignored (it starts
    /// again), so its row is dead.
    pub login_failure_secs: i64,
    /// The longest send-limit window (a day, or the cooldown if longer): a counter's bucket
    /// whose every second is older than it counts for no limit.
    pub send_counter_secs: i64,
    /// Rows per delete statement.
    pub batch: u32,
}

/// An hour after a code expired it goes. Codes live at most 10 minutes, so by then every
/// older code of the same flow has expired too: deleting the newest never lets an older one
/// be the newest that verifies.
const CODE_GRACE_SECS: i64 = 3600;

/// A pause between batches, so writes waiting for the database get it between them.
const BETWEEN_BATCHES: Duration = Duration::from_millis(20);

/// Rows deleted from each table in one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub audit_events: u64,
    pub login_failures: u64,
    pub otp_codes: u64,
    pub send_counters: u64,
    pub sign_in_flows: u64,
    pub trusted_browsers: u64,
    pub oidc_requests: u64,
    pub oidc_tokens: u64,
    pub oidc_grants: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.audit_events
            + self.login_failures
            + self.otp_codes
            + self.send_counters
            + self.sign_in_flows
            + self.trusted_browsers
            + self.oidc_requests
            + self.oidc_tokens
            + self.oidc_grants
    }
}

impl Db {
    /// Deletes, at `now` (unix seconds), every row past its retention.
    pub async fn prune(&self, r: &Retention, now: i64) -> Result<Pruned, StoreError> {
        Ok(Pruned {
            audit_events: self
                .delete_in_batches(
                    "DELETE FROM audit_events WHERE id IN
                     (SELECT id FROM audit_events WHERE at < $1 LIMIT $2)",
                    &[now - r.audit_secs],
                    r.batch,
                )
                .await?,
            login_failures: self
                .delete_in_batches(
                    "DELETE FROM login_failures WHERE throttle_key IN
                     (SELECT throttle_key FROM login_failures
                      WHERE last_failure_at < $1 AND (blocked_until IS NULL OR blocked_until < $2)
                      LIMIT $3)",
                    &[now - r.login_failure_secs, now],
                    r.batch,
                )
                .await?,
            otp_codes: self
                .delete_in_batches(
                    "DELETE FROM otp_codes WHERE id IN
                     (SELECT id FROM otp_codes WHERE expires_at < $1 LIMIT $2)",
                    &[now - CODE_GRACE_SECS],
                    r.batch,
                )
                .await?,
            // A bucket is a tenth of its window wide (domain/src/codes/counters.rs).
            send_counters: self
                .delete_in_batches(
                    "DELETE FROM send_counters WHERE (counter, bucket) IN
                     (SELECT counter, bucket FROM send_counters WHERE bucket < $1 LIMIT $2)",
                    &[now - r.send_counter_secs - r.send_counter_secs / 10],
                    r.batch,
                )
                .await?,
            // Also deleted now and then when a flow starts; this catches quiet periods.
            sign_in_flows: self
                .delete_in_batches(
                    "DELETE FROM sign_in_flows WHERE id IN
                     (SELECT id FROM sign_in_flows WHERE expires_at < $1 LIMIT $2)",
                    &[now],
                    r.batch,
                )
                .await?,
            // Expired or forgotten browsers are never read again (neither listed nor accepted).
            trusted_browsers: self
                .delete_in_batches(
                    "DELETE FROM trusted_browsers WHERE id IN
                     (SELECT id FROM trusted_browsers WHERE expires_at < $1 OR revoked_at < $1
                      LIMIT $2)",
                    &[now],
                    r.batch,
                )
                .await?,
            // Authorization requests nobody finished signing in for.
            oidc_requests: self
                .delete_in_batches(
                    "DELETE FROM oidc_requests WHERE id IN
                     (SELECT id FROM oidc_requests WHERE expires_at < $1 LIMIT $2)",
                    &[now],
                    r.batch,
                )
                .await?,
            // Expired codes and tokens; a used refresh token stays until it expires, so its
            // reuse is still recognised (and revokes its family) until then.
            oidc_tokens: self
                .delete_in_batches(
                    "DELETE FROM oidc_tokens WHERE digest IN
                     (SELECT digest FROM oidc_tokens WHERE expires_at < $1 LIMIT $2)",
                    &[now],
                    r.batch,
                )
                .await?,
            // Grants past their sign-in's end or revoked (their tokens are already gone).
            oidc_grants: self
                .delete_in_batches(
                    "DELETE FROM oidc_grants WHERE id IN
                     (SELECT id FROM oidc_grants WHERE expires_at < $1 OR revoked_at < $1 LIMIT $2)",
                    &[now],
                    r.batch,
                )
                .await?,
        })
    }

    /// Runs `sql` (binding `params` as `$1`, `$2`, …, then the batch size) until it deletes
    /// less than a batch; returns how many rows went.
    async fn delete_in_batches(
        &self,
        sql: &str,
        params: &[i64],
        batch: u32,
    ) -> Result<u64, StoreError> {
        let batch = batch.max(1);
        let mut deleted = 0;
        loop {
            let n = on_pool!(self, pool => {
                let mut query = sqlx::query(sql);
                for p in params {
                    query = query.bind(*p);
                }
                query.bind(i64::from(batch)).execute(pool).await.map(|r| r.rows_affected())
            })?;
            deleted += n;
            if n < u64::from(batch) {
                return Ok(deleted);
            }
            tokio::time::sleep(BETWEEN_BATCHES).await;
        }
    }
}

/// Prunes at start-up and then every hour, for as long as the server runs. A failed pass is
/// logged and tried again at the next hour.
pub async fn prune_every_hour(db: Db, retention: Retention) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let now = domain::now_ms() / 1000;
        match db.prune(&retention, now).await {
            Ok(pruned) if pruned.total() > 0 => tracing::info!(?pruned, "pruned old rows"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not prune old rows; trying again in an hour")
            }
        }
    }
}
