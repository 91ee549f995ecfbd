//! The code engine's store: codes, send counters and second-step locks, on either database.

use async_trait::async_trait;
use domain::ports::Unavailable;
use domain::{
    codes::{
        CodeRules, Failure, LimitKind, NewCode, Purpose, SecondStep, SendPlan, SendTicket,
        StoredCode,
    },
    ports::CodeStore,
};

use super::{Db, StoreError};

/// Serialises send reservations on PostgreSQL, where READ COMMITTED would let two parallel
/// reservations both read a counter below its limit. (SQLite writes one statement at a time.)
const SEND_LOCK_KEY: i64 = 0x4c61_7463_686b_6579; // "Latchkey"

fn unavailable(e: impl Into<StoreError>) -> Unavailable {
    super::unavailable_in("code", e)
}

/// The buckets of every counter of `plan` that still count, one indexed range per counter.
fn read_counters_sql(plan: &SendPlan) -> String {
    (0..plan.counters.len())
        .map(|i| {
            format!(
                "SELECT counter, bucket, sends FROM send_counters WHERE counter = ${} AND bucket >= ${}",
                2 * i + 1,
                2 * i + 2
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The send's weight (1; a call's `call_weight` on the global budget) in the newest bucket of
/// every counter of `plan`, only if every counter has room for it: one statement, so that on
/// SQLite (one writer at a time) it is atomic on its own. Each counter binds its key, its
/// oldest counted bucket, its newest bucket, its limit and the weight. The rows
/// to add are selected before any is written (the SELECT reads the table it inserts into), so
/// every condition sees the counters as they were. Returns one row per counter when it added.
fn reserve_sql(plan: &SendPlan) -> String {
    let n = plan.counters.len();
    let p = |i: usize, k: usize| format!("${}", 5 * i + k);
    // The weight is cast so that PostgreSQL knows its type in a SELECT without a table.
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!("SELECT {} AS k, {} AS b, CAST({} AS BIGINT) AS w", p(i, 1), p(i, 3), p(i, 5))
        })
        .collect();
    let room: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "(SELECT COALESCE(SUM(sends), 0) FROM send_counters WHERE counter = {} AND bucket >= {}) + {} <= {}",
                p(i, 1),
                p(i, 2),
                p(i, 5),
                p(i, 4)
            )
        })
        .collect();
    format!(
        "INSERT INTO send_counters (counter, bucket, sends)
         SELECT k, b, w FROM ({}) AS adds WHERE {}
         ON CONFLICT (counter, bucket) DO UPDATE SET sends = send_counters.sends + excluded.sends
         RETURNING counter",
        rows.join(" UNION ALL "),
        room.join(" AND ")
    )
}

impl Db {
    /// Adds the send to the plan's counters if each has room: of 20 parallel sends at a limit
    /// of 3, exactly 3 fit. On refusal, reads the counters to say which limit and when.
    async fn try_reserve(
        &self,
        plan: &SendPlan,
    ) -> Result<Result<SendTicket, (LimitKind, i64)>, StoreError> {
        let sql = reserve_sql(plan);
        macro_rules! reserve {
            ($executor:expr) => {{
                let mut query = sqlx::query(&sql);
                for (key, oldest, newest, max, weight) in plan.adds() {
                    query = query.bind(key).bind(oldest).bind(newest).bind(max).bind(weight);
                }
                query.fetch_all($executor).await?.len()
            }};
        }
        // A refusal that the read below does not confirm (a send given back in between) is
        // tried once more.
        for _ in 0..2 {
            let added = match self {
                Db::Sqlite(_, shared) => {
                    let mut lease = shared.conns.lease().await?;
                    reserve!(&mut *lease)
                }
                Db::Postgres(_, conns) => {
                    let mut lease = conns.lease().await?;
                    let mut tx = sqlx::Connection::begin(&mut *lease).await?;
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(SEND_LOCK_KEY)
                        .execute(&mut *tx)
                        .await?;
                    let added = reserve!(&mut *tx);
                    tx.commit().await?;
                    added
                }
            };
            if added == plan.counters.len() {
                return Ok(Ok(plan.ticket()));
            }
            let read = read_counters_sql(plan);
            let rows: Vec<(String, i64, i64)> = on_pool!(self, pool => {
                let mut query = sqlx::query_as(&read);
                for (key, oldest) in plan.reads() {
                    query = query.bind(key).bind(oldest);
                }
                query.fetch_all(pool).await
            })?;
            if let Err(refusal) = plan.judge(&rows) {
                return Ok(Err(refusal));
            }
        }
        Ok(Err((LimitKind::Global, 1)))
    }

    /// Runs `sql` (`$1` flow, `$2` purpose, `$3` the attempt limit, then `extra`'s `now` and
    /// digests) for the newest code's row.
    async fn stored_code(
        &self,
        sql: &str,
        flow_id: &str,
        purpose: Purpose,
        max: u32,
        extra: Option<(i64, &[String])>,
    ) -> Result<Option<StoredCode>, StoreError> {
        type Row = (String, String, i64, Option<i64>, i32, Option<i32>);
        let row: Option<Row> = on_pool!(self, pool => {
            let mut query =
                sqlx::query_as(sql).bind(flow_id).bind(purpose.as_str()).bind(i64::from(max));
            if let Some((now, digests)) = extra {
                query = query.bind(now);
                for digest in digests {
                    query = query.bind(digest.as_str());
                }
            }
            query.fetch_optional(pool).await
        })?;
        Ok(row.map(|(number, digest, expires_at, used_at, attempts, used_attempt)| StoredCode {
            number,
            digest,
            expires_at,
            used_at,
            attempts: u32::try_from(attempts).unwrap_or(0),
            exhausted: false,
            used_now: used_attempt == Some(attempts),
        }))
    }
}

/// The statement that counts an attempt and, when `digest` is one of the `keys` parameters
/// after `$4` (now), uses the code. SET's right-hand sides read the row as it was before the
/// update, so both CASEs decide on the same old values.
fn attempt_sql(keys: usize) -> String {
    let list = if keys == 0 {
        "NULL".to_owned()
    } else {
        (0..keys).map(|i| format!("${}", i + 5)).collect::<Vec<_>>().join(", ")
    };
    let usable = format!("used_at IS NULL AND expires_at > $4 AND digest IN ({list})");
    format!(
        "UPDATE otp_codes SET attempts = attempts + 1,
             used_at = CASE WHEN {usable} THEN $4 ELSE used_at END,
             used_attempt = CASE WHEN {usable} THEN attempts + 1 ELSE used_attempt END
         WHERE id = {NEWEST} AND attempts < $3
         RETURNING number, digest, expires_at, used_at, attempts, used_attempt"
    )
}

/// A `second_step_failures` row (`since_success, locked_until, reset_required_at`) as of `now`;
/// no row is no failures.
pub(super) fn second_step_of(row: Option<(i32, Option<i64>, Option<i64>)>, now: i64) -> SecondStep {
    row.map_or_else(SecondStep::default, |(since_success, until, reset_required_at)| SecondStep {
        locked_until: until.filter(|&until| until > now),
        reset_required: reset_required_at.is_some(),
        failures: u32::try_from(since_success).unwrap_or(0),
    })
}

const NEWEST: &str = "(SELECT MAX(id) FROM otp_codes WHERE flow_id = $1 AND purpose = $2)";

#[async_trait]
impl CodeStore for Db {
    async fn reserve_send(
        &self,
        plan: &SendPlan,
    ) -> Result<Result<SendTicket, (LimitKind, i64)>, Unavailable> {
        self.try_reserve(plan).await.map_err(unavailable)
    }

    async fn mark_send_failed(&self, ticket: SendTicket) -> Result<(), Unavailable> {
        if ticket.give_back.is_empty() {
            return Ok(());
        }
        let buckets: Vec<String> = (0..ticket.give_back.len())
            .map(|i| format!("(counter = ${} AND bucket = ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        let sql = format!(
            "UPDATE send_counters SET sends = sends - 1 WHERE sends > 0 AND ({})",
            buckets.join(" OR ")
        );
        on_pool!(self, pool => {
            let mut query = sqlx::query(&sql);
            for (key, bucket) in &ticket.give_back {
                query = query.bind(key.as_str()).bind(*bucket);
            }
            query.execute(pool).await.map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn insert_code(&self, code: &NewCode<'_>) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO otp_codes (flow_id, purpose, user_id, number, digest, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(code.flow_id)
            .bind(code.purpose.as_str())
            .bind(code.user_id)
            .bind(code.number.as_str())
            .bind(code.digest)
            .bind(code.created_at)
            .bind(code.expires_at)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn attempt_code(
        &self,
        flow_id: &str,
        purpose: Purpose,
        max_attempts: u32,
        digests: &[String],
        now: i64,
    ) -> Result<Option<StoredCode>, Unavailable> {
        // Counted first, atomically: parallel guesses each use up one attempt, and the one
        // that finds the code right and unused is the one that uses it.
        let counted = attempt_sql(digests.len());
        if let Some(code) = self
            .stored_code(&counted, flow_id, purpose, max_attempts, Some((now, digests)))
            .await
            .map_err(unavailable)?
        {
            return Ok(Some(code));
        }
        // Not counted: either there is no code, or its attempts are used up.
        let exhausted = format!(
            "SELECT number, digest, expires_at, used_at, attempts, used_attempt FROM otp_codes
             WHERE id = {NEWEST} AND attempts >= $3"
        );
        Ok(self
            .stored_code(&exhausted, flow_id, purpose, max_attempts, None)
            .await
            .map_err(unavailable)?
            .map(|code| StoredCode { exhausted: true, used_now: false, ..code }))
    }

    async fn second_step(&self, user_id: &str, now: i64) -> Result<SecondStep, Unavailable> {
        let row: Option<(i32, Option<i64>, Option<i64>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT since_success, locked_until, reset_required_at FROM second_step_failures
                 WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(second_step_of(row, now))
    }

    async fn record_failure(
        &self,
        user_id: &str,
        now: i64,
        rules: &CodeRules,
    ) -> Result<Failure, Unavailable> {
        // Both counts in one atomic statement: `consecutive` starts again after each short
        // lock, `since_success` only after a right code (or an administrator's unlock).
        let (consecutive, since_success): (i32, i32) = on_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO second_step_failures (user_id, consecutive, locked_until, since_success)
                 VALUES ($1, 1, NULL, 1)
                 ON CONFLICT (user_id) DO UPDATE SET
                     consecutive = second_step_failures.consecutive + 1,
                     since_success = second_step_failures.since_success + 1
                 RETURNING consecutive, since_success",
            )
            .bind(user_id)
            .fetch_one(pool)
            .await
        })
        .map_err(unavailable)?;
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        if count(since_success) >= rules.max_failures_before_reset {
            // The first to reach the cap records when; a parallel one keeps that time.
            on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE second_step_failures
                     SET consecutive = 0, reset_required_at = COALESCE(reset_required_at, $2)
                     WHERE user_id = $1",
                )
                .bind(user_id)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ())
            })
            .map_err(unavailable)?;
            return Ok(Failure::ResetRequired);
        }
        if count(consecutive) < rules.failures_before_lock {
            return Ok(Failure::Counted);
        }
        let until = now + rules.lock_secs;
        on_pool!(self, pool => {
            sqlx::query("UPDATE second_step_failures SET consecutive = 0, locked_until = $2 WHERE user_id = $1")
                .bind(user_id)
                .bind(until)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(unavailable)?;
        Ok(Failure::LockedUntil(until))
    }

    async fn reset_failures(&self, user_id: &str) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM second_step_failures WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(unavailable)
    }
}
