//! Retention, on SQLite and PostgreSQL: rows past their retention are deleted, younger ones
//! stay, the audit trail keeps what `security.audit_retention_days` says, and a table far
//! larger than one batch is emptied batch by batch.

#[macro_use]
mod common;

use common::{Backend, TestDb};
use server::db::Db;
use server::db::retention::Retention;

on_both!(
    rows_past_their_retention_go_and_younger_ones_stay,
    audit_retention_follows_the_setting,
    large_tables_are_pruned_in_batches,
);

const NOW: i64 = 1_700_000_000;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

async fn exec(db: &Db, sql: &str) {
    match db {
        Db::Sqlite(p, _) => sqlx::query(sql).execute(p).await.map(|_| ()).unwrap(),
        Db::Postgres(p, _) => sqlx::query(sql).execute(p).await.map(|_| ()).unwrap(),
    }
}

/// The values of `column` left in `table`, sorted.
async fn left(db: &Db, table: &str, column: &str) -> Vec<String> {
    let sql = format!("SELECT CAST({column} AS TEXT) FROM {table} ORDER BY 1");
    let rows: Vec<(String,)> = match db {
        Db::Sqlite(p, _) => sqlx::query_as(&sql).fetch_all(p).await.unwrap(),
        Db::Postgres(p, _) => sqlx::query_as(&sql).fetch_all(p).await.unwrap(),
    };
    rows.into_iter().map(|(v,)| v).collect()
}

async fn audit_event(db: &Db, at: i64) {
    exec(
        db,
        &format!(
            "INSERT INTO audit_events (at, kind, client_ip, user_agent, outcome)
             VALUES ({at}, 'sign_in.password', '192.0.2.1', 'test', 'rejected')"
        ),
    )
    .await;
}

/// The retention the default configuration gives.
fn defaults() -> Retention {
    config_with(&[]).retention()
}

fn config_with(extra: &[(&str, &str)]) -> server::config::Config {
    server::config::Config::load_layers(None, &env_with(extra)).expect("config")
}

fn env_with(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("LATCHKEY_DIRECTORY__URL", "ldap://localhost:389"),
        ("LATCHKEY_DIRECTORY__BIND_DN", "cn=latchkey,ou=services,dc=example,dc=org"),
        ("LATCHKEY_DIRECTORY__BIND_PASSWORD", "pw"),
        ("LATCHKEY_DIRECTORY__BASE_DN", "ou=people,dc=example,dc=org"),
        ("LATCHKEY_SECURITY__HMAC_KEYS", common::KEY),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

async fn rows_past_their_retention_go_and_younger_ones_stay(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let r = defaults();
    assert_eq!(r.audit_secs, 365 * DAY, "a year by default");

    // Audit events: a year and a day old goes, a day short of a year stays.
    audit_event(&db, NOW - 366 * DAY).await;
    audit_event(&db, NOW - 364 * DAY).await;
    // Password-throttle counts: read for a day (the account window), then dead.
    for (key, last) in [("login:old", NOW - DAY - HOUR), ("login:young", NOW - DAY + HOUR)] {
        exec(
            &db,
            &format!(
                "INSERT INTO login_failures (throttle_key, failures, last_failure_at)
                 VALUES ('{key}', 3, {last})"
            ),
        )
        .await;
    }
    // Codes: an hour after they expire (they live 10 minutes at most).
    for (flow, expires) in [("old", NOW - 2 * HOUR), ("young", NOW - HOUR / 2), ("live", NOW + 60)]
    {
        exec(
            &db,
            &format!(
                "INSERT INTO otp_codes (flow_id, purpose, user_id, number, digest, created_at, expires_at)
                 VALUES ('{flow}', 'sign_in', 'u-1', '+12015550123', 'd', {}, {expires})",
                expires - 300
            ),
        )
        .await;
    }
    // Send counters: the per-person and global limits count a day, in buckets of a tenth of
    // it; a bucket goes once none of its seconds is within a day.
    for (counter, bucket) in [("u:old", NOW - DAY - DAY / 10 - 60), ("u:young", NOW - DAY - 60)] {
        exec(
            &db,
            &format!(
                "INSERT INTO send_counters (counter, bucket, sends) VALUES ('{counter}', {bucket}, 1)"
            ),
        )
        .await;
    }
    // Sign-in flows: once expired.
    for (id, expires) in [("old", NOW - 1), ("live", NOW + 600)] {
        exec(
            &db,
            &format!(
                "INSERT INTO sign_in_flows (id, user_id, person, state, created_at, expires_at)
                 VALUES ('{id}', 'u-1', '{{}}', '{{}}', {}, {expires})",
                expires - 900
            ),
        )
        .await;
    }
    // Remembered browsers: expired or forgotten ones are never read again.
    for (id, expires, revoked) in [
        ("expired", NOW - 1, "NULL".to_owned()),
        ("forgotten", NOW + DAY, (NOW - 60).to_string()),
        ("kept", NOW + DAY, "NULL".to_owned()),
    ] {
        exec(
            &db,
            &format!(
                "INSERT INTO trusted_browsers (id, user_id, digest, description, created_at, last_used_at, expires_at, revoked_at)
                 VALUES ('{id}', 'u-1', 'd', 'Firefox', {NOW}, {NOW}, {expires}, {revoked})"
            ),
        )
        .await;
    }

    // OpenID Connect: waiting requests once expired; grants past their sign-in or revoked;
    // codes and tokens once expired (a used refresh token stays until then, to catch reuse).
    for (id, expires) in [("old", NOW - 1), ("live", NOW + 600)] {
        exec(
            &db,
            &format!(
                "INSERT INTO oidc_requests (id, client_id, request, created_at, expires_at)
                 VALUES ('{id}', 'app', '{{}}', {}, {expires})",
                expires - 900
            ),
        )
        .await;
    }
    for (id, expires, revoked) in [
        ("ended", NOW - 1, "NULL".to_owned()),
        ("revoked", NOW + DAY, (NOW - 60).to_string()),
        ("live", NOW + DAY, "NULL".to_owned()),
    ] {
        exec(
            &db,
            &format!(
                "INSERT INTO oidc_grants (id, client_id, user_id, sid, generation, details, created_at, last_used_at, expires_at, revoked_at)
                 VALUES ('{id}', 'app', 'u-1', 's', 0, '{{}}', {NOW}, {NOW}, {expires}, {revoked})"
            ),
        )
        .await;
    }
    for (digest, expires, used) in [
        ("expired", NOW - 1, "NULL".to_owned()),
        ("used-refresh", NOW + DAY, (NOW - 60).to_string()),
        ("live", NOW + 60, "NULL".to_owned()),
    ] {
        exec(
            &db,
            &format!(
                "INSERT INTO oidc_tokens (digest, kind, grant_id, details, created_at, expires_at, used_at)
                 VALUES ('{digest}', 'refresh', 'live', '{{}}', {NOW}, {expires}, {used})"
            ),
        )
        .await;
    }

    let pruned = db.prune(&r, NOW).await.unwrap();
    assert_eq!(left(&db, "oidc_requests", "id").await, ["live"]);
    assert_eq!(left(&db, "oidc_grants", "id").await, ["live"]);
    assert_eq!(left(&db, "oidc_tokens", "digest").await, ["live", "used-refresh"]);
    assert_eq!(left(&db, "audit_events", "at").await, [(NOW - 364 * DAY).to_string()]);
    assert_eq!(left(&db, "login_failures", "throttle_key").await, ["login:young"]);
    assert_eq!(left(&db, "otp_codes", "flow_id").await, ["live", "young"]);
    assert_eq!(left(&db, "send_counters", "counter").await, ["u:young"]);
    assert_eq!(left(&db, "sign_in_flows", "id").await, ["live"]);
    assert_eq!(left(&db, "trusted_browsers", "id").await, ["kept"]);
    assert_eq!(pruned.total(), 11, "{pruned:?}");

    // A second pass finds nothing more.
    assert_eq!(db.prune(&r, NOW).await.unwrap().total(), 0);
}

async fn audit_retention_follows_the_setting(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let r = config_with(&[("LATCHKEY_SECURITY__AUDIT_RETENTION_DAYS", "30")]).retention();
    for days in [400, 31, 29, 1] {
        audit_event(&db, NOW - days * DAY).await;
    }
    db.prune(&r, NOW).await.unwrap();
    let kept = [NOW - 29 * DAY, NOW - DAY].map(|t| t.to_string());
    assert_eq!(left(&db, "audit_events", "at").await, kept);
    // The default keeps more: nothing further goes at a year.
    db.prune(&defaults(), NOW).await.unwrap();
    assert_eq!(left(&db, "audit_events", "at").await, kept);
    // Zero days would delete the trail as it is written: refused at start-up.
    let env = env_with(&[("LATCHKEY_SECURITY__AUDIT_RETENTION_DAYS", "0")]);
    let e = server::config::Config::load_layers(None, &env).expect_err("0 days is refused");
    assert!(
        e.problems.iter().any(|p| p.contains("security.audit_retention_days")),
        "{:?}",
        e.problems
    );
}

async fn large_tables_are_pruned_in_batches(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    // 2 500 old events and 3 young ones, pruned 100 at a time.
    let values: Vec<String> = (0..2_500)
        .map(|i| format!("({}, 'k', '192.0.2.1', 'ua', 'o')", NOW - 2 * DAY - i))
        .collect();
    for chunk in values.chunks(500) {
        exec(
            &db,
            &format!(
                "INSERT INTO audit_events (at, kind, client_ip, user_agent, outcome) VALUES {}",
                chunk.join(", ")
            ),
        )
        .await;
    }
    for i in 0..3 {
        audit_event(&db, NOW - i).await;
    }
    let r = Retention { audit_secs: DAY, batch: 100, ..defaults() };
    let pruned = db.prune(&r, NOW).await.unwrap();
    assert_eq!(pruned.audit_events, 2_500);
    assert_eq!(left(&db, "audit_events", "at").await.len(), 3);
}
