//! The sign-in store (flows, password throttling, trusted browsers, phone settings) and the
//! audit log, on either database.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::codes::SecondStep;
use domain::directory::UserId;
use domain::phone::E164;
use domain::ports::{ThrottleCount, ThrottleStore, Unavailable};
use domain::sign_in::throttle::Rule;
use domain::{audit::AuditFilter, ports::AuditTrail};
use domain::{
    audit::{AuditEvent, StoredAuditEvent},
    ports::AuditLog,
};
use domain::{
    ports::SignInStore,
    sign_in::{FlowPerson, FlowRecord, NewTrustedBrowser},
};

use super::{Db, StoreError};

fn unavailable(e: impl Into<StoreError>) -> Unavailable {
    super::unavailable_in("sign-in", e)
}

fn corrupt(what: &str, e: serde_json::Error) -> Unavailable {
    tracing::error!(error = %e, what, "a stored sign-in flow cannot be read");
    Unavailable { kind: "database" }
}

/// One attempt counted if admitted (see [`ThrottleStore::count_if_admitted`]); no row when not.
/// $1 key, $2 now, $3 window, $4 free, $5 lock_after, $6 lock_secs, $7 max_delay_secs. Written
/// once; the dialects differ in the smaller-of function, a true literal and the shift's type.
const ADMIT: &str = "INSERT INTO login_failures (throttle_key, failures, last_failure_at)
     VALUES ($1, 1, $2)
     ON CONFLICT (throttle_key) DO UPDATE SET
       failures = CASE WHEN login_failures.last_failure_at < $2 - $3 THEN 1
                       ELSE login_failures.failures + 1 END,
       last_failure_at = $2
     WHERE login_failures.last_failure_at < $2 - $3
        OR CASE WHEN login_failures.failures >= $5 THEN login_failures.last_failure_at + $6 <= $2
                WHEN login_failures.failures < $4 THEN TRUE
                ELSE login_failures.last_failure_at
                     + MIN(ONE << (MIN(login_failures.failures - $4, 20) + 1), $7) <= $2 END
     RETURNING failures";

static ADMIT_SQLITE: LazyLock<String> =
    LazyLock::new(|| ADMIT.replace("MIN(", "min(").replace("ONE", "1").replace("TRUE", "1"));
static ADMIT_POSTGRES: LazyLock<String> =
    LazyLock::new(|| ADMIT.replace("MIN(", "LEAST(").replace("ONE", "1::bigint"));

/// The password throttle's counters (`login_failures`: `failures` counts attempts in a row that
/// did not succeed, `last_failure_at` when the last one started). Every change is one statement:
/// counting judges the stored count by the rule in the same upsert that adds to it (the `WHERE`
/// of `ON CONFLICT DO UPDATE` is [`Rule::admit`] in SQL), so parallel attempts each see the
/// count the one before them made and none loses a race.
#[async_trait]
impl ThrottleStore for Db {
    async fn throttle_count(&self, key: &str) -> Result<Option<ThrottleCount>, Unavailable> {
        let row: Option<(i32, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT failures, last_failure_at FROM login_failures WHERE throttle_key = $1",
            )
            .bind(key)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(row.map(|(attempts, last_at)| ThrottleCount {
            attempts: u32::try_from(attempts).unwrap_or(0),
            last_at,
        }))
    }

    async fn count_if_admitted(
        &self,
        key: &str,
        rule: Rule,
        now: i64,
    ) -> Result<Option<u32>, Unavailable> {
        // Rule::admit: counts older than the window start again at 1; otherwise the key waits
        // `lock_secs` from `lock_after` failures, nothing below `free`, else 2^(n - free + 1) s
        // (n - free at most 20) up to `max_delay_secs`.
        let counted: Option<i32> = on_pool!(self, pool => {
            sqlx::query_scalar(match self {
                Db::Sqlite(..) => ADMIT_SQLITE.as_str(),
                Db::Postgres(..) => ADMIT_POSTGRES.as_str(),
            })
            .bind(key)
            .bind(now)
            .bind(rule.window_secs)
            .bind(i32::try_from(rule.free).unwrap_or(i32::MAX))
            .bind(i32::try_from(rule.lock_after).unwrap_or(i32::MAX))
            .bind(rule.lock_secs)
            .bind(rule.max_delay_secs)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(counted.map(|n| u32::try_from(n).unwrap_or(0)))
    }

    async fn give_back_attempt(&self, key: &str) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE login_failures SET failures = failures - 1
                 WHERE throttle_key = $1 AND failures > 0",
            )
            .bind(key)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn password_accepted(&self, login_key: &str, ip_key: &str) -> Result<(), Unavailable> {
        // The login's row is zeroed rather than deleted so that both keys take one statement;
        // a zero counts as no failures (retention deletes the row once it is old).
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE login_failures
                 SET failures = CASE WHEN throttle_key = $1 THEN 0 ELSE failures - 1 END
                 WHERE throttle_key = $1 OR (throttle_key = $2 AND failures > 0)",
            )
            .bind(login_key)
            .bind(ip_key)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
                .bind(key)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(unavailable)
    }
}

/// A `sign_in_flows` row's stored JSON, read back.
fn flow_record(
    id: &str,
    person: &str,
    state: &str,
    last_sent_at: Option<i64>,
    version: i64,
    expires_at: i64,
) -> Result<FlowRecord, Unavailable> {
    let person: FlowPerson = serde_json::from_str(person).map_err(|e| corrupt("person", e))?;
    let state = serde_json::from_str(state).map_err(|e| corrupt("state", e))?;
    Ok(FlowRecord { id: id.to_owned(), person, state, last_sent_at, version, expires_at })
}

#[async_trait]
impl SignInStore for Db {
    async fn two_factor_enabled(&self, user_id: &UserId) -> Result<bool, Unavailable> {
        Db::two_factor_enabled(self, user_id.as_str()).await.map_err(unavailable)
    }

    async fn set_two_factor(
        &self,
        user_id: &UserId,
        on: bool,
        now: i64,
    ) -> Result<(), Unavailable> {
        Db::set_two_factor(self, user_id.as_str(), on, now).await.map_err(unavailable)
    }

    async fn add_phone_metadata(
        &self,
        user_id: &UserId,
        number: &E164,
        now: i64,
    ) -> Result<(), Unavailable> {
        self.ensure_phone_row(user_id.as_str(), number.as_str(), now).await.map_err(unavailable)
    }

    async fn phone_used(
        &self,
        user_id: &UserId,
        number: &str,
        now: i64,
    ) -> Result<(), Unavailable> {
        // A number from the directory may have no row yet: create it ("Unnamed", added now).
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO phone_settings (user_id, number, added_at, last_used_at) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (user_id, number) DO UPDATE SET last_used_at = $3",
            )
            .bind(user_id.as_str())
            .bind(number)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn create_flow(&self, flow: &FlowRecord, now: i64) -> Result<(), Unavailable> {
        let person = serde_json::to_string(&flow.person).map_err(|e| corrupt("person", e))?;
        let state = serde_json::to_string(&flow.state).map_err(|e| corrupt("state", e))?;
        // Expired flows of anyone go with about one new flow in 32: the table stays small
        // without a job, and most sign-ins do not pay for a second write.
        if rand::random_ratio(1, 32) {
            on_pool!(self, pool => {
                sqlx::query("DELETE FROM sign_in_flows WHERE expires_at < $1")
                    .bind(now)
                    .execute(pool)
                    .await
                    .map(|_| ())
            })
            .map_err(unavailable)?;
        }
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO sign_in_flows (id, user_id, person, state, last_sent_at, version, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&flow.id)
            .bind(flow.person.user_id.as_str())
            .bind(person)
            .bind(state)
            .bind(flow.last_sent_at)
            .bind(flow.version)
            .bind(now)
            .bind(flow.expires_at)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn load_flow(&self, id: &str, now: i64) -> Result<Option<FlowRecord>, Unavailable> {
        let row: Option<(String, String, Option<i64>, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT person, state, last_sent_at, version, expires_at FROM sign_in_flows
                 WHERE id = $1 AND expires_at > $2",
            )
            .bind(id)
            .bind(now)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        let Some((person, state, last_sent_at, version, expires_at)) = row else {
            return Ok(None);
        };
        Ok(Some(flow_record(id, &person, &state, last_sent_at, version, expires_at)?))
    }

    async fn load_flow_and_second_step(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<(FlowRecord, SecondStep)>, Unavailable> {
        type Row = (String, String, Option<i64>, i64, i64, Option<i32>, Option<i64>, Option<i64>);
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT f.person, f.state, f.last_sent_at, f.version, f.expires_at,
                        s.since_success, s.locked_until, s.reset_required_at
                 FROM sign_in_flows f LEFT JOIN second_step_failures s ON s.user_id = f.user_id
                 WHERE f.id = $1 AND f.expires_at > $2",
            )
            .bind(id)
            .bind(now)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        let Some((person, state, last_sent_at, version, expires_at, since, until, reset)) = row
        else {
            return Ok(None);
        };
        let flow = flow_record(id, &person, &state, last_sent_at, version, expires_at)?;
        let failures = since.map(|since_success| (since_success, until, reset));
        Ok(Some((flow, super::codes::second_step_of(failures, now))))
    }

    async fn update_flow(&self, flow: &FlowRecord, now: i64) -> Result<bool, Unavailable> {
        let state = serde_json::to_string(&flow.state).map_err(|e| corrupt("state", e))?;
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE sign_in_flows SET state = $3, last_sent_at = $4, version = version + 1
                 WHERE id = $1 AND version = $2 AND expires_at > $5",
            )
            .bind(&flow.id)
            .bind(flow.version)
            .bind(state)
            .bind(flow.last_sent_at)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(unavailable)?;
        Ok(updated == 1)
    }

    async fn delete_flow(&self, id: &str) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM sign_in_flows WHERE id = $1").bind(id).execute(pool).await.map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn finish_flow(&self, flow: &FlowRecord, now: i64) -> Result<bool, Unavailable> {
        let deleted = on_pool!(self, pool => {
            sqlx::query("DELETE FROM sign_in_flows WHERE id = $1 AND version = $2 AND expires_at > $3")
                .bind(&flow.id)
                .bind(flow.version)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(unavailable)?;
        Ok(deleted == 1)
    }

    async fn add_trusted_browser(&self, b: &NewTrustedBrowser<'_>) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO trusted_browsers (id, user_id, digest, description, created_at, last_used_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $5, $6)",
            )
            .bind(b.id)
            .bind(b.user_id)
            .bind(b.digest)
            .bind(b.description)
            .bind(b.created_at)
            .bind(b.expires_at)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn trusted_browser_digest(
        &self,
        id: &str,
        user_id: &UserId,
        now: i64,
    ) -> Result<Option<String>, Unavailable> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT digest FROM trusted_browsers
                 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3",
            )
            .bind(id)
            .bind(user_id.as_str())
            .bind(now)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(row.map(|(d,)| d))
    }

    async fn trusted_browser_used(&self, id: &str, now: i64) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE trusted_browsers SET last_used_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(unavailable)
    }
}

#[async_trait]
impl AuditLog for Db {
    async fn record(&self, e: &AuditEvent) -> Result<(), Unavailable> {
        self.record_all(std::slice::from_ref(e)).await
    }

    async fn record_all(&self, events: &[AuditEvent]) -> Result<(), Unavailable> {
        if events.is_empty() {
            return Ok(());
        }
        // One multi-row statement: atomic, and its rows take their ids in this order.
        let sql = audit_insert(events.len());
        on_pool!(self, pool => {
            let mut query = sqlx::query(sql.as_ref());
            for e in events {
                query = query
                    .bind(e.at)
                    .bind(e.kind)
                    .bind(e.actor_id.as_deref())
                    .bind(e.login.as_deref())
                    .bind(e.subject_id.as_deref())
                    .bind(&e.client_ip)
                    .bind(&e.user_agent)
                    .bind(&e.outcome)
                    .bind(e.detail.as_deref());
            }
            query.execute(pool).await.map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn for_user(
        &self,
        user_id: &str,
        older_than: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, Unavailable> {
        let filter = AuditFilter { person: Some(user_id.to_owned()), ..AuditFilter::default() };
        self.search(&filter, older_than, limit).await
    }

    async fn newest_by(
        &self,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<StoredAuditEvent>, Unavailable> {
        // The person's events newest first (index `audit_events_actor`), not the whole trail.
        let row: Option<AuditRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, at, kind, actor_id, login, subject_id, client_ip, user_agent, outcome, detail
                 FROM audit_events
                 WHERE actor_id = $1 AND kind = $2
                 ORDER BY at DESC, id DESC LIMIT 1",
            )
            .bind(user_id)
            .bind(kind)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(row.map(stored_event))
    }
}

/// The audit insert up to its rows, as a literal so that the one-row statement can be `concat!`ed.
macro_rules! audit_insert_head {
    () => {
        "INSERT INTO audit_events (at, kind, actor_id, login, subject_id, client_ip, user_agent, outcome, detail) VALUES "
    };
}
const AUDIT_INSERT: &str = audit_insert_head!();
/// [`AUDIT_INSERT`] of one row: nearly every audit write, so not built each time.
const AUDIT_INSERT_ONE: &str =
    concat!(audit_insert_head!(), "($1, $2, $3, $4, $5, $6, $7, $8, $9)");

/// `INSERT INTO audit_events … VALUES ($1, …, $9), ($10, …)` for `rows` events.
fn audit_insert(rows: usize) -> std::borrow::Cow<'static, str> {
    use std::fmt::Write as _;
    if rows == 1 {
        return AUDIT_INSERT_ONE.into();
    }
    let mut sql = String::from(AUDIT_INSERT);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 1..=9 {
            let sep = if col == 1 { "" } else { ", " };
            let _ = write!(sql, "{sep}${}", row * 9 + col);
        }
        sql.push(')');
    }
    sql.into()
}

type AuditRow = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
);

#[async_trait]
impl AuditTrail for Db {
    async fn search(
        &self,
        f: &AuditFilter,
        older_than: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, Unavailable> {
        // Kinds are [a-z._]: only `_` needs escaping for LIKE.
        let kind = f.kind.as_ref().map(|k| format!("{}%", k.replace('_', "\\_")));
        let rows: Vec<AuditRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, at, kind, actor_id, login, subject_id, client_ip, user_agent, outcome, detail
                 FROM audit_events
                 WHERE (CAST($1 AS TEXT) IS NULL OR actor_id = $1 OR subject_id = $1)
                   AND (CAST($2 AS TEXT) IS NULL OR actor_id = $2)
                   AND (CAST($3 AS TEXT) IS NULL OR kind LIKE $3 ESCAPE '\\')
                   AND (CAST($4 AS BIGINT) IS NULL OR at >= $4)
                   AND (CAST($5 AS BIGINT) IS NULL OR at < $5)
                   AND id < $6
                 ORDER BY id DESC LIMIT $7",
            )
            .bind(f.person.as_deref())
            .bind(f.actor.as_deref())
            .bind(kind.as_deref())
            .bind(f.from)
            .bind(f.to)
            .bind(older_than.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(rows.into_iter().map(stored_event).collect())
    }
}

fn stored_event(r: AuditRow) -> StoredAuditEvent {
    StoredAuditEvent {
        id: r.0,
        at: r.1,
        kind: r.2,
        actor_id: r.3,
        login: r.4,
        subject_id: r.5,
        client_ip: r.6,
        user_agent: r.7,
        outcome: r.8,
        detail: r.9,
    }
}

#[cfg(test)]
mod tests {
    use super::audit_insert;

    #[test]
    fn an_audit_insert_numbers_nine_parameters_a_row() {
        let columns = "INSERT INTO audit_events (at, kind, actor_id, login, subject_id, client_ip, user_agent, outcome, detail) VALUES ";
        assert_eq!(audit_insert(1), format!("{columns}($1, $2, $3, $4, $5, $6, $7, $8, $9)"));
        assert!(audit_insert(2).starts_with(&format!("{columns}($1, $2,")));
        assert!(audit_insert(2).ends_with("$9), ($10, $11, $12, $13, $14, $15, $16, $17, $18)"));
    }
}
