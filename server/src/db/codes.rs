//! The code engine's store: codes, send counters and second-step locks, on either database.

use async_trait::async_trait;
use domain::ports::Unavailable;
use domain::{
    codes::{
        CodeRules, Failure, LimitKind, NewCode, Purpose, SecondStep, SendKind, SendLimits,
        SendRequest, SendTicket, StoredCode,
    },
    ports::CodeStore,
};
use sqlx::Row;

use super::{Db, StoreError};

const TEN_MINUTES: i64 = 600;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Serialises send reservations on PostgreSQL, where READ COMMITTED would let two parallel
/// inserts both see the count below the limit. (SQLite writes one statement at a time anyway.)
const SEND_LOCK_KEY: i64 = 0x4c61_7463_686b_6579; // "Latchkey"

/// Inserts a code's send only if every limit allows it, in one statement so it is atomic. Each
/// count stops at its limit (`LIMIT` in a subquery): "fewer than N" needs at most N index
/// entries, so a send costs the same on a busy day as on a quiet one instead of growing with
/// every text the deployment (or a shared client IP) sent in the window. Notices count against
/// the number, the person and the global budget, but not toward the cooldown or the client IP
/// ([`SendKind`] says why).
const RESERVE_CODE: &str = "
    INSERT INTO sms_sends (user_id, number, client_ip, sent_at, failed, notice)
    SELECT $1, $2, $3, $4, FALSE, FALSE
    WHERE NOT EXISTS (SELECT 1 FROM sms_sends
                      WHERE number = $2 AND NOT failed AND NOT notice AND sent_at > $4 - $5)
      AND (SELECT COUNT(*) FROM (SELECT 1 FROM sms_sends
           WHERE number = $2 AND NOT failed AND sent_at > $4 - 600 LIMIT $6) AS n) < $6
      AND (SELECT COUNT(*) FROM (SELECT 1 FROM sms_sends
           WHERE user_id = $1 AND NOT failed AND sent_at > $4 - 86400 LIMIT $7) AS u) < $7
      AND (SELECT COUNT(*) FROM (SELECT 1 FROM sms_sends
           WHERE client_ip = $3 AND NOT notice AND sent_at > $4 - 3600 LIMIT $8) AS i) < $8
      AND (SELECT COUNT(*) FROM (SELECT 1 FROM sms_sends
           WHERE sent_at > $4 - 86400 LIMIT $9) AS g) < $9
    RETURNING id";

/// A security notice's send: the same statement without the cooldown and the per-IP limit
/// (their parameters are bound and unused, so both statements bind alike).
const RESERVE_NOTICE: &str = "
    INSERT INTO sms_sends (user_id, number, client_ip, sent_at, failed, notice)
    SELECT $1, $2, $3, $4, FALSE, TRUE
    WHERE $5 = $5 AND $8 = $8
      AND (SELECT COUNT(*) FROM (SELECT 1 FROM sms_sends
           WHERE number = $2 AND NOT failed AND sent_at > $4 - 600 LIMIT $6) AS n) < $6
      AND (SELECT COUNT(*) FROM (SELECT 1 FROM sms_sends
           WHERE user_id = $1 AND NOT failed AND sent_at > $4 - 86400 LIMIT $7) AS u) < $7
      AND (SELECT COUNT(*) FROM (SELECT 1 FROM sms_sends
           WHERE sent_at > $4 - 86400 LIMIT $9) AS g) < $9
    RETURNING id";

fn unavailable(e: impl Into<StoreError>) -> Unavailable {
    super::unavailable_in("code", e)
}

impl Db {
    /// Which limit refused a send, and in how many seconds it frees up.
    async fn explain_refusal(
        &self,
        req: &SendRequest<'_>,
        kind: SendKind,
        limits: &SendLimits,
    ) -> Result<(LimitKind, i64), StoreError> {
        let number = req.number.as_str();
        let now = req.now;
        // (kind, filter, window, limit); the first exhausted one is reported.
        let checks: [(LimitKind, &str, &str, i64, i64); 5] = [
            (
                LimitKind::Cooldown,
                "number = $1 AND NOT failed AND NOT notice",
                number,
                limits.cooldown_secs,
                1,
            ),
            (
                LimitKind::PerNumber,
                "number = $1 AND NOT failed",
                number,
                TEN_MINUTES,
                limits.per_number_per_10min.into(),
            ),
            (
                LimitKind::PerUser,
                "user_id = $1 AND NOT failed",
                req.user_id,
                DAY,
                limits.per_user_per_day.into(),
            ),
            (
                LimitKind::PerIp,
                "client_ip = $1 AND NOT notice",
                req.client_ip,
                HOUR,
                limits.per_ip_per_hour.into(),
            ),
            (LimitKind::Global, "$1 = $1", "", DAY, limits.global_per_day.into()),
        ];
        for (limit_kind, filter, value, window, limit) in checks {
            if kind == SendKind::Notice
                && matches!(limit_kind, LimitKind::Cooldown | LimitKind::PerIp)
            {
                continue;
            }
            let sql = format!(
                "SELECT COUNT(*), MIN(sent_at) FROM sms_sends WHERE {filter} AND sent_at > $2"
            );
            let (count, oldest): (i64, Option<i64>) = on_pool!(self, pool => {
                sqlx::query_as(&sql).bind(value).bind(now - window).fetch_one(pool).await
            })?;
            if count >= limit {
                let retry_after = match limit_kind {
                    // The newest send starts the cooldown.
                    LimitKind::Cooldown => {
                        let newest: (Option<i64>,) = on_pool!(self, pool => {
                            sqlx::query_as(&format!("SELECT MAX(sent_at) FROM sms_sends WHERE {filter} AND sent_at > $2"))
                                .bind(value)
                                .bind(now - window)
                                .fetch_one(pool)
                                .await
                        })?;
                        newest.0.unwrap_or(now) + window - now
                    }
                    // A slot frees when the oldest send in the window leaves it.
                    _ => oldest.unwrap_or(now) + window - now,
                };
                return Ok((limit_kind, retry_after.max(1)));
            }
        }
        // Freed between the insert and this look: ask again shortly.
        Ok((LimitKind::Global, 1))
    }

    async fn try_reserve(
        &self,
        req: &SendRequest<'_>,
        kind: SendKind,
        limits: &SendLimits,
    ) -> Result<Option<i64>, StoreError> {
        let statement = match kind {
            SendKind::Code => RESERVE_CODE,
            SendKind::Notice => RESERVE_NOTICE,
        };
        // The same statement and bindings on either driver's executor.
        macro_rules! reserve {
            ($executor:expr) => {
                sqlx::query(statement)
                    .bind(req.user_id)
                    .bind(req.number.as_str())
                    .bind(req.client_ip)
                    .bind(req.now)
                    .bind(limits.cooldown_secs)
                    .bind(i64::from(limits.per_number_per_10min))
                    .bind(i64::from(limits.per_user_per_day))
                    .bind(i64::from(limits.per_ip_per_hour))
                    .bind(i64::from(limits.global_per_day))
                    .fetch_optional($executor)
                    .await?
                    .map(|row| row.get::<i64, _>(0))
            };
        }
        match self {
            Db::Sqlite(pool) => Ok(reserve!(pool)),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(SEND_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                let id = reserve!(&mut *tx);
                tx.commit().await?;
                Ok(id)
            }
        }
    }

    async fn stored_code(
        &self,
        sql: &str,
        flow_id: &str,
        purpose: Purpose,
        max: u32,
    ) -> Result<Option<StoredCode>, StoreError> {
        let row: Option<(i64, String, String, i64, Option<i64>, i32)> = on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(flow_id)
                .bind(purpose.as_str())
                .bind(i64::from(max))
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|(id, number, digest, expires_at, used_at, attempts)| StoredCode {
            id,
            number,
            digest,
            expires_at,
            used_at,
            attempts: u32::try_from(attempts).unwrap_or(0),
            exhausted: false,
        }))
    }
}

const NEWEST: &str = "(SELECT MAX(id) FROM otp_codes WHERE flow_id = $1 AND purpose = $2)";

#[async_trait]
impl CodeStore for Db {
    async fn reserve_send(
        &self,
        req: &SendRequest<'_>,
        kind: SendKind,
        limits: &SendLimits,
    ) -> Result<Result<SendTicket, (LimitKind, i64)>, Unavailable> {
        match self.try_reserve(req, kind, limits).await.map_err(unavailable)? {
            Some(id) => Ok(Ok(SendTicket(id))),
            None => Ok(Err(self.explain_refusal(req, kind, limits).await.map_err(unavailable)?)),
        }
    }

    async fn mark_send_failed(&self, ticket: SendTicket) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE sms_sends SET failed = TRUE WHERE id = $1")
                .bind(ticket.0)
                .execute(pool)
                .await
                .map(|_| ())
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

    async fn count_attempt(
        &self,
        flow_id: &str,
        purpose: Purpose,
        max_attempts: u32,
    ) -> Result<Option<StoredCode>, Unavailable> {
        // Counted first, atomically: parallel guesses each use up one attempt.
        let counted = format!(
            "UPDATE otp_codes SET attempts = attempts + 1 WHERE id = {NEWEST} AND attempts < $3
             RETURNING id, number, digest, expires_at, used_at, attempts"
        );
        if let Some(code) =
            self.stored_code(&counted, flow_id, purpose, max_attempts).await.map_err(unavailable)?
        {
            return Ok(Some(code));
        }
        // Not counted: either there is no code, or its attempts are used up.
        let exhausted = format!(
            "SELECT id, number, digest, expires_at, used_at, attempts FROM otp_codes
             WHERE id = {NEWEST} AND attempts >= $3"
        );
        Ok(self
            .stored_code(&exhausted, flow_id, purpose, max_attempts)
            .await
            .map_err(unavailable)?
            .map(|code| StoredCode { exhausted: true, ..code }))
    }

    async fn consume(&self, code_id: i64, now: i64) -> Result<bool, Unavailable> {
        let affected = on_pool!(self, pool => {
            sqlx::query("UPDATE otp_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
                .bind(code_id)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(unavailable)?;
        Ok(affected == 1)
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
        Ok(row.map_or_else(SecondStep::default, |(since_success, until, reset_required_at)| {
            SecondStep {
                locked_until: until.filter(|&until| until > now),
                reset_required: reset_required_at.is_some(),
                failures: u32::try_from(since_success).unwrap_or(0),
            }
        }))
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
