//! The code engine against its SQL store, on SQLite and on PostgreSQL: the rules of DESIGN.md,
//! including the concurrent cases that only a real database can show.

#[macro_use]
mod common;

use std::sync::Arc;

use common::{Backend, TestDb};
use domain::codes::{
    Channel, CodeEngine, CodeError, CodeHasher, CodeRules, IssuedCode, LimitKind, Purpose,
    SendLimits, SendRequest,
};
use domain::phone::{E164, PhonePolicy};
use domain::texting::TextOutcome;
use secrecy::SecretString;

on_both!(
    a_sent_code_verifies_once,
    wrong_codes_count_down_then_the_code_is_dead,
    expired_codes_are_refused,
    only_the_newest_code_of_a_flow_verifies,
    codes_are_bound_to_flow_and_purpose,
    repeated_failures_lock_the_second_step_and_a_resend_does_not_reset_them,
    the_cooldown_and_per_number_limits_hold,
    the_cooldown_is_per_flow_and_new_flows_meet_the_number_limit,
    per_user_per_ip_and_global_limits_hold,
    a_failed_send_does_not_count_against_the_person,
    parallel_verifications_consume_a_code_at_most_once,
    a_code_sent_before_a_key_rotation_verifies_once_after_it,
    parallel_sends_never_exceed_a_limit,
    after_the_failure_cap_only_an_administrator_unlocks_the_second_step,
    a_right_code_before_the_cap_starts_the_count_again,
    notices_count_against_the_number_the_person_and_the_global_budget,
    a_notice_a_limit_refuses_is_not_sent_and_is_audited,
    a_timed_out_text_still_counts_against_the_number_and_the_person,
    a_text_twilio_certainly_refused_is_given_back,
    a_send_reads_a_bounded_number_of_rows_whatever_was_sent,
    an_upgrade_carries_the_last_days_texts_into_the_counters,
    a_call_weighs_call_weight_on_the_global_budget_and_one_elsewhere,
);

const T0: i64 = 1_800_000_000;

fn rules(limits: SendLimits) -> CodeRules {
    CodeRules {
        length: 6,
        lifetime_secs: 300,
        max_attempts_per_code: 5,
        failures_before_lock: 10,
        lock_secs: 900,
        max_failures_before_reset: 100,
        limits,
    }
}

fn default_limits() -> SendLimits {
    SendLimits {
        cooldown_secs: 60,
        per_number_per_10min: 3,
        per_user_per_day: 10,
        per_ip_per_hour: 20,
        global_per_day: 1000,
        call_weight: 3,
    }
}

struct Fixture {
    engine: CodeEngine,
    _db: TestDb,
}

/// Sign-in codes, the common case, in one line each.
impl Fixture {
    async fn send(
        &self,
        flow: &str,
        user: &str,
        number: &E164,
        ip: &str,
        now: i64,
    ) -> Result<IssuedCode, CodeError> {
        self.engine.issue(flow, Purpose::SignIn, &req(user, number, ip, now)).await
    }

    async fn check(
        &self,
        flow: &str,
        user: &str,
        code: &str,
        now: i64,
    ) -> Result<String, CodeError> {
        self.engine.verify(flow, Purpose::SignIn, user, code, now).await
    }
}

async fn fixture(backend: Backend, limits: SendLimits) -> Fixture {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let hasher = CodeHasher::new(vec![SecretString::from(common::KEY.to_owned())]);
    Fixture { engine: CodeEngine::new(Arc::new(db), hasher, rules(limits)), _db: test_db }
}

fn phone(last: u32) -> E164 {
    PhonePolicy::from_directory(&format!("+1201555{last:04}")).unwrap()
}

fn req<'a>(user: &'a str, number: &'a E164, ip: &'a str, now: i64) -> SendRequest<'a> {
    SendRequest { user_id: user, number, client_ip: ip, now, channel: Channel::Text }
}

/// A code that is certainly wrong for `right`.
fn other_than(right: &str) -> String {
    right.chars().map(|c| if c == '9' { '0' } else { char::from(c as u8 + 1) }).collect()
}

async fn a_sent_code_verifies_once(backend: Backend) {
    let f = fixture(backend, default_limits()).await;
    let n = phone(100);
    let issued = f.send("flow-1", "u1", &n, "10.0.0.1", T0).await.unwrap();
    assert_eq!(issued.expires_at, T0 + 300);
    let code = issued.code.expose().to_owned();
    let number = f.check("flow-1", "u1", &code, T0 + 10).await.unwrap();
    assert_eq!(number, n.as_str());
    assert_eq!(
        f.check("flow-1", "u1", &code, T0 + 11).await,
        Err(CodeError::Used),
        "a replayed code is refused"
    );
}

async fn wrong_codes_count_down_then_the_code_is_dead(backend: Backend) {
    let f = fixture(backend, default_limits()).await;
    let n = phone(101);
    let issued = f.send("flow-1", "u1", &n, "ip", T0).await.unwrap();
    let right = issued.code.expose().to_owned();
    let wrong = other_than(&right);
    for remaining in (1..=4).rev() {
        assert_eq!(f.check("flow-1", "u1", &wrong, T0).await, Err(CodeError::Wrong { remaining }));
    }
    assert_eq!(f.check("flow-1", "u1", &wrong, T0).await, Err(CodeError::TooManyAttempts));
    // Five attempts used: even the right code no longer works.
    assert_eq!(f.check("flow-1", "u1", &right, T0).await, Err(CodeError::TooManyAttempts));
    // A malformed code is refused before it costs an attempt of a new code.
    assert_eq!(f.check("flow-1", "u1", "12ab56", T0).await, Err(CodeError::Malformed));
}

async fn expired_codes_are_refused(backend: Backend) {
    let f = fixture(backend, default_limits()).await;
    let n = phone(102);
    let issued = f.send("flow-1", "u1", &n, "ip", T0).await.unwrap();
    assert_eq!(
        f.check("flow-1", "u1", issued.code.expose(), T0 + 300).await,
        Err(CodeError::Expired)
    );
}

async fn only_the_newest_code_of_a_flow_verifies(backend: Backend) {
    let f = fixture(backend, SendLimits { cooldown_secs: 0, ..default_limits() }).await;
    let n = phone(103);
    let first = f.send("flow-1", "u1", &n, "ip", T0).await.unwrap();
    let second = f.send("flow-1", "u1", &n, "ip", T0 + 1).await.unwrap();
    if first.code != second.code {
        assert!(matches!(
            f.check("flow-1", "u1", first.code.expose(), T0 + 2).await,
            Err(CodeError::Wrong { .. })
        ));
    }
    assert!(f.check("flow-1", "u1", second.code.expose(), T0 + 2).await.is_ok());
}

async fn codes_are_bound_to_flow_and_purpose(backend: Backend) {
    let f = fixture(backend, default_limits()).await;
    let n = phone(104);
    let issued = f.engine.issue("flow-1", Purpose::Enrol, &req("u1", &n, "ip", T0)).await.unwrap();
    let code = issued.code.expose();
    assert_eq!(
        f.engine.verify("flow-2", Purpose::Enrol, "u1", code, T0).await,
        Err(CodeError::NoCode)
    );
    assert_eq!(f.check("flow-1", "u1", code, T0).await, Err(CodeError::NoCode));
    assert!(f.engine.verify("flow-1", Purpose::Enrol, "u1", code, T0).await.is_ok());
}

async fn repeated_failures_lock_the_second_step_and_a_resend_does_not_reset_them(backend: Backend) {
    let f = fixture(
        backend,
        SendLimits { cooldown_secs: 0, per_number_per_10min: 100, ..default_limits() },
    )
    .await;
    let n = phone(105);
    let mut failures = 0;
    let mut now = T0;
    // Two codes, each guessed wrong: the count runs across resends.
    for _ in 0..2 {
        let issued = f.send("flow-1", "u1", &n, "ip", now).await.unwrap();
        let wrong = other_than(issued.code.expose());
        for _ in 0..5 {
            if failures == 9 {
                break;
            }
            assert!(f.check("flow-1", "u1", &wrong, now).await.is_err());
            failures += 1;
        }
        now += 1;
    }
    assert_eq!(failures, 9);
    let issued = f.send("flow-1", "u1", &n, "ip", now).await.unwrap();
    let wrong = other_than(issued.code.expose());
    assert_eq!(
        f.check("flow-1", "u1", &wrong, now).await,
        Err(CodeError::Locked { retry_after: Some(900) }),
        "the tenth failure locks"
    );
    // Locked: even the right code, and even a new send, are refused until the lock ends.
    assert!(matches!(
        f.check("flow-1", "u1", issued.code.expose(), now + 1).await,
        Err(CodeError::Locked { .. })
    ));
    assert!(matches!(
        f.send("flow-2", "u1", &n, "ip", now + 1).await,
        Err(CodeError::Locked { .. })
    ));
    // Other people are not affected.
    assert!(f.send("flow-3", "u2", &phone(106), "ip", now + 1).await.is_ok());
    // After the lock, codes work again.
    let later = now + 901;
    let fresh = f.send("flow-4", "u1", &n, "ip", later).await.unwrap();
    assert!(f.check("flow-4", "u1", fresh.code.expose(), later).await.is_ok());
}

async fn the_cooldown_and_per_number_limits_hold(backend: Backend) {
    let f = fixture(backend, default_limits()).await;
    let n = phone(107);
    f.send("f", "u1", &n, "ip", T0).await.unwrap();
    assert_eq!(
        f.send("f", "u1", &n, "ip", T0 + 20).await.unwrap_err(),
        CodeError::RateLimited { limit: LimitKind::Cooldown, retry_after: 40 }
    );
    f.send("f", "u1", &n, "ip", T0 + 60).await.unwrap();
    f.send("f", "u1", &n, "ip", T0 + 120).await.unwrap();
    // Three in ten minutes: the fourth waits until the minute of the first has left the window
    // (counted in tenths of it: domain/src/codes/counters.rs).
    assert_eq!(
        f.send("f", "u1", &n, "ip", T0 + 180).await.unwrap_err(),
        CodeError::RateLimited { limit: LimitKind::PerNumber, retry_after: 479 }
    );
    assert!(f.send("f", "u1", &n, "ip", T0 + 658).await.is_err());
    assert!(f.send("f", "u1", &n, "ip", T0 + 659).await.is_ok());
}

/// The cooldown paces "send a new code" within one flow; a new flow's first text to the same
/// number (signing in again at once) goes out, and still counts against the number's ten
/// minutes, whoever's flow it is (issue 23).
async fn the_cooldown_is_per_flow_and_new_flows_meet_the_number_limit(backend: Backend) {
    let f = fixture(backend, default_limits()).await;
    let n = phone(111);
    f.send("first", "u1", &n, "ip", T0).await.unwrap();
    f.send("second", "u1", &n, "ip", T0 + 1).await.expect("a new flow is texted at once");
    // "Send a new code" in either flow waits for that flow's own cooldown.
    assert_eq!(
        f.send("first", "u1", &n, "ip", T0 + 20).await.unwrap_err(),
        CodeError::RateLimited { limit: LimitKind::Cooldown, retry_after: 40 }
    );
    assert_eq!(
        f.send("second", "u1", &n, "ip", T0 + 20).await.unwrap_err(),
        CodeError::RateLimited { limit: LimitKind::Cooldown, retry_after: 41 }
    );
    // The number's third text of ten minutes; a fourth flow, anyone's, waits for the number.
    f.send("third", "u1", &n, "ip", T0 + 2).await.unwrap();
    for (flow, user, ip) in [("fourth", "u1", "ip"), ("other", "u2", "ip-2")] {
        assert_eq!(
            f.send(flow, user, &n, ip, T0 + 3).await.unwrap_err(),
            CodeError::RateLimited { limit: LimitKind::PerNumber, retry_after: 659 - 3 },
            "{flow}"
        );
    }
}

async fn per_user_per_ip_and_global_limits_hold(backend: Backend) {
    let limits = SendLimits {
        cooldown_secs: 0,
        per_number_per_10min: 100,
        per_user_per_day: 3,
        per_ip_per_hour: 5,
        global_per_day: 7,
        call_weight: 3,
    };
    let f = fixture(backend, limits).await;
    for i in 0..3 {
        f.send("f", "u1", &phone(200 + i), "ip-a", T0 + i64::from(i)).await.unwrap();
    }
    let e = f.send("f", "u1", &phone(210), "ip-b", T0 + 5).await.unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::PerUser, .. }), "{e:?}");

    // SMS pumping from one IP: many people, many numbers.
    for i in 0..2 {
        f.send("f", &format!("p{i}"), &phone(300 + i), "ip-a", T0 + 10).await.unwrap();
    }
    let e = f.send("f", "p9", &phone(309), "ip-a", T0 + 11).await.unwrap_err();
    // All five in the hour's first tenth, which leaves the window at T0 + 360 + 3599.
    assert_eq!(e, CodeError::RateLimited { limit: LimitKind::PerIp, retry_after: 3959 - 11 });
    assert_eq!(e.retry_after(), Some(3948));

    for i in 0..2 {
        f.send("f", &format!("q{i}"), &phone(400 + i), &format!("ip-{i}"), T0 + 20).await.unwrap();
    }
    let e = f.send("f", "q9", &phone(409), "ip-z", T0 + 21).await.unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::Global, .. }), "{e:?}");
}

async fn a_failed_send_does_not_count_against_the_person(backend: Backend) {
    let f = fixture(backend, default_limits()).await;
    let n = phone(108);
    let issued = f.send("f", "u1", &n, "ip", T0).await.unwrap();
    f.engine.send_failed(issued.ticket).await.unwrap();
    // No cooldown after a text that never went out.
    assert!(f.send("f", "u1", &n, "ip", T0 + 1).await.is_ok());
}

async fn parallel_verifications_consume_a_code_at_most_once(backend: Backend) {
    let f = fixture(backend, default_limits()).await;
    let n = phone(109);
    let issued = f.send("flow-p", "u1", &n, "ip", T0).await.unwrap();
    let code = issued.code.expose().to_owned();
    let tries = (0..20).map(|_| {
        let (engine, code) = (f.engine.clone(), code.clone());
        tokio::spawn(
            async move { engine.verify("flow-p", Purpose::SignIn, "u1", &code, T0 + 1).await },
        )
    });
    let mut successes = 0;
    for t in tries {
        match t.await.unwrap() {
            Ok(_) => successes += 1,
            Err(CodeError::Used | CodeError::TooManyAttempts | CodeError::Locked { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(successes, 1);
}

/// The store compares digests (issue 19): it is given the typed code's under every key, so a
/// code sent before `security.hmac_keys` gained a newer key still verifies, once.
async fn a_code_sent_before_a_key_rotation_verifies_once_after_it(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = Arc::new(test_db.open().await);
    let engine = |keys: &[&str]| {
        let keys = keys.iter().map(|k| SecretString::from((*k).to_owned())).collect();
        CodeEngine::new(db.clone(), CodeHasher::new(keys), rules(default_limits()))
    };
    let n = phone(111);
    let issued =
        engine(&[common::KEY]).issue("flow-k", Purpose::SignIn, &req("u1", &n, "ip", T0)).await;
    let code = issued.unwrap().code.expose().to_owned();
    let verify = |keys: &[&str], code: String, now: i64| {
        let engine = engine(keys);
        async move { engine.verify("flow-k", Purpose::SignIn, "u1", &code, now).await }
    };
    // Under the newer key alone the code cannot match, and the attempt counts.
    let newer = "a-newer-integration-key-0123456789abcdef";
    assert_eq!(
        verify(&[newer], code.clone(), T0 + 1).await,
        Err(CodeError::Wrong { remaining: 4 })
    );
    let both = [newer, common::KEY];
    assert_eq!(verify(&both, code.clone(), T0 + 2).await.as_deref(), Ok(n.as_str()));
    assert_eq!(verify(&both, code.clone(), T0 + 3).await, Err(CodeError::Used), "used once");
    // A wrong code against a used one is only wrong; the right one after expiry is still used.
    assert_eq!(
        verify(&both, other_than(&code), T0 + 4).await,
        Err(CodeError::Wrong { remaining: 1 })
    );
    assert_eq!(verify(&both, code, T0 + 400).await, Err(CodeError::Used));
}

async fn parallel_sends_never_exceed_a_limit(backend: Backend) {
    let limits = SendLimits { cooldown_secs: 0, ..default_limits() };
    let f = fixture(backend, limits).await;
    let n = phone(110);
    let sends = (0..20).map(|i| {
        let (engine, n) = (f.engine.clone(), n.clone());
        tokio::spawn(async move {
            let user = format!("user-{i}");
            engine.issue("f", Purpose::SignIn, &req(&user, &n, &format!("ip-{i}"), T0)).await
        })
    });
    let mut sent = 0;
    for s in sends {
        match s.await.unwrap() {
            Ok(_) => sent += 1,
            Err(CodeError::RateLimited { limit: LimitKind::PerNumber, .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(sent, 3, "per number per 10 minutes");
}

/// Whatever was sent before and however high the limits are, each counter a send reads holds
/// at most eleven buckets within its window (domain/src/codes/counters.rs): 400 texts from
/// one address over an hour under limits far above them leave at most 11 rows for that address
/// and 2 for the day's budget, and the limits still hold exactly.
async fn a_send_reads_a_bounded_number_of_rows_whatever_was_sent(backend: Backend) {
    let limits = SendLimits {
        cooldown_secs: 0,
        per_number_per_10min: 100_000,
        per_user_per_day: 100_000,
        per_ip_per_hour: 400,
        global_per_day: 100_000,
        call_weight: 3,
    };
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let hasher = CodeHasher::new(vec![SecretString::from(common::KEY.to_owned())]);
    let engine = CodeEngine::new(Arc::new(db.clone()), hasher, rules(limits));
    for i in 0..400 {
        let n = phone(1000 + i % 50);
        let user = format!("p{}", i % 30);
        engine
            .issue("f", Purpose::SignIn, &req(&user, &n, "203.0.113.9", T0 + i64::from(i) * 9))
            .await
            .unwrap();
    }
    let rows = |pattern: &'static str| {
        let db = db.clone();
        async move {
            let sql = format!("SELECT COUNT(*) FROM send_counters WHERE counter LIKE '{pattern}'");
            let (n,): (i64,) = match &db {
                server::db::Db::Sqlite(p, _) => sqlx::query_as(&sql).fetch_one(p).await.unwrap(),
                server::db::Db::Postgres(p, _) => sqlx::query_as(&sql).fetch_one(p).await.unwrap(),
            };
            n
        }
    };
    assert!(rows("i:203.0.113.9").await <= 11, "one address: buckets, not sends");
    assert!(rows("g").await <= 2, "the day's budget: buckets, not sends");
    // The 401st within the hour is refused.
    let e = engine
        .issue("f", Purpose::SignIn, &req("p0", &phone(1000), "203.0.113.9", T0 + 3599))
        .await
        .unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::PerIp, .. }), "{e:?}");
}

/// An upgrade from the release that counted rows of `sms_sends`: the last day's texts become
/// counters (so nobody gets a fresh allowance by the upgrade), and the table goes.
async fn an_upgrade_carries_the_last_days_texts_into_the_counters(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = server::db::Db::connect(&server::config::DatabaseConfig {
        url: test_db.url.clone(),
        max_connections: 2,
        connect_timeout_secs: 5,
    })
    .await
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap();
    // The schema as the previous release left it, with its texts: three codes to one number a
    // minute or so ago, one that failed, and one from two days ago.
    let sends = format!(
        "INSERT INTO sms_sends (user_id, number, client_ip, sent_at, failed, notice) VALUES
         ('u-1', '+12015550123', '192.0.2.1', {a}, FALSE, FALSE),
         ('u-1', '+12015550123', '192.0.2.1', {b}, FALSE, FALSE),
         ('u-1', '+12015550123', '192.0.2.1', {c}, FALSE, TRUE),
         ('u-1', '+12015550123', '192.0.2.1', {d}, TRUE, FALSE),
         ('u-2', '+12015550777', '192.0.2.2', {old}, FALSE, FALSE)",
        a = now - 200,
        b = now - 100,
        c = now - 30,
        d = now - 20,
        old = now - 2 * 86_400
    );
    macro_rules! previous_release {
        ($pool:expr, $dir:literal) => {{
            let mut migrator = sqlx::migrate!($dir);
            let before: Vec<_> =
                migrator.migrations.iter().filter(|m| m.version < 10).cloned().collect();
            migrator.migrations = before.into();
            migrator.run($pool).await.unwrap();
            sqlx::query(&sends).execute($pool).await.unwrap();
        }};
    }
    match &db {
        server::db::Db::Sqlite(p, _) => previous_release!(p, "../migrations/sqlite"),
        server::db::Db::Postgres(p, _) => previous_release!(p, "../migrations/postgres"),
    }
    db.migrate().await.unwrap();

    let hasher = CodeHasher::new(vec![SecretString::from(common::KEY.to_owned())]);
    let engine = CodeEngine::new(Arc::new(db.clone()), hasher, rules(default_limits()));
    let n = PhonePolicy::from_directory("+12015550123").unwrap();
    // Three texts to the number in ten minutes (the notice among them; not the failed one).
    let e =
        engine.issue("f", Purpose::SignIn, &req("u-1", &n, "192.0.2.9", now)).await.unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::PerNumber, .. }), "{e:?}");
    // The two-day-old text counts for nothing.
    let other = PhonePolicy::from_directory("+12015550777").unwrap();
    assert!(
        engine.issue("g", Purpose::SignIn, &req("u-2", &other, "192.0.2.2", now)).await.is_ok()
    );
    let gone = match &db {
        server::db::Db::Sqlite(p, _) => {
            sqlx::query("SELECT 1 FROM sms_sends").fetch_all(p).await.is_err()
        }
        server::db::Db::Postgres(p, _) => {
            sqlx::query("SELECT 1 FROM sms_sends").fetch_all(p).await.is_err()
        }
    };
    assert!(gone, "sms_sends is dropped");
}

/// Guesses wrong for `user` until the second step locks until unlocked, sitting out each short
/// lock (the clock is the engine's `now`, not a sleep). Returns the failures counted and the
/// time reached.
async fn guess_until_locked_for_good(
    f: &Fixture,
    user: &str,
    n: &E164,
    mut now: i64,
) -> (u32, i64) {
    let mut failures = 0;
    for round in 0.. {
        assert!(round < 200, "never locked for good after {failures} failures");
        let flow = format!("flow-{round}");
        let issued = f.send(&flow, user, n, "ip", now).await.unwrap();
        let wrong = other_than(issued.code.expose());
        for _ in 0..5 {
            match f.check(&flow, user, &wrong, now).await {
                Err(CodeError::Wrong { .. } | CodeError::TooManyAttempts) => failures += 1,
                Err(CodeError::Locked { retry_after: Some(wait) }) => {
                    failures += 1;
                    assert_eq!(wait, 900);
                    now += wait + 1;
                    break;
                }
                Err(CodeError::Locked { retry_after: None }) => return (failures + 1, now),
                other => panic!("unexpected {other:?}"),
            }
        }
        now += 1;
    }
    unreachable!()
}

fn relaxed() -> SendLimits {
    SendLimits {
        cooldown_secs: 0,
        per_number_per_10min: 1000,
        per_user_per_day: 1000,
        per_ip_per_hour: 1000,
        global_per_day: 100_000,
        call_weight: 3,
    }
}

/// NIST SP 800-63B-4: at most 100 failures in a row. The short locks alone would allow ~50
/// guesses a day for ever.
async fn after_the_failure_cap_only_an_administrator_unlocks_the_second_step(backend: Backend) {
    let f = fixture(backend, relaxed()).await;
    let n = phone(500);
    let (failures, now) = guess_until_locked_for_good(&f, "u1", &n, T0).await;
    assert_eq!(failures, 100, "the hundredth wrong code locks until unlocked");
    let e = CodeError::Locked { retry_after: None };
    assert_eq!(e.message_id(), "otp.locked_until_unlocked");
    assert_eq!(e.retry_after(), None, "no wait would help");
    let state = f.engine.second_step("u1", now).await.unwrap();
    assert!(state.reset_required && state.is_locked(), "{state:?}");

    // A week later: still locked, for a new code and for the right code of one sent before.
    let later = now + 7 * 86_400;
    assert_eq!(f.send("after", "u1", &n, "ip", later).await.unwrap_err(), e);
    assert_eq!(f.check("flow-0", "u1", "123456", later).await, Err(e.clone()));
    // Other people are not affected.
    let other = f.send("other", "u2", &phone(501), "ip", later).await.unwrap();
    assert!(f.check("other", "u2", other.code.expose(), later).await.is_ok());

    // An administrator's unlock: codes work again, and the count starts from zero.
    f.engine.unlock("u1").await.unwrap();
    assert_eq!(f.engine.second_step("u1", later).await.unwrap(), Default::default());
    let fresh = f.send("fresh", "u1", &n, "ip", later).await.unwrap();
    assert!(f.check("fresh", "u1", fresh.code.expose(), later).await.is_ok());
    let (failures, _) = guess_until_locked_for_good(&f, "u1", &n, later + 10).await;
    assert_eq!(failures, 100);
}

/// The cap counts failures since the last right code: a right code starts the count again.
async fn a_right_code_before_the_cap_starts_the_count_again(backend: Backend) {
    let f = fixture(backend, relaxed()).await;
    let n = phone(502);
    let mut now = T0;
    // 95 wrong codes, across nine short locks.
    let mut failures = 0;
    let mut round = 0;
    while failures < 95 {
        let flow = format!("f{round}");
        round += 1;
        let issued = f.send(&flow, "u1", &n, "ip", now).await.unwrap();
        let wrong = other_than(issued.code.expose());
        for _ in 0..5.min(95 - failures) {
            failures += 1;
            if let Err(CodeError::Locked { retry_after }) = f.check(&flow, "u1", &wrong, now).await
            {
                now += retry_after.expect("a short lock") + 1;
                break;
            }
        }
        now += 1;
    }
    assert_eq!(f.engine.second_step("u1", now).await.unwrap().failures, 95);
    let right = f.send("right", "u1", &n, "ip", now).await.unwrap();
    assert!(f.check("right", "u1", right.code.expose(), now).await.is_ok());
    assert_eq!(f.engine.second_step("u1", now).await.unwrap().failures, 0);
    // Ten more wrong codes: the short lock, not the lock for good.
    let (failures, _) = guess_until_locked_for_good(&f, "u1", &n, now + 1).await;
    assert_eq!(failures, 100, "counted from the right code");
}

/// Security notices are texts: they count against the number, the person and the global
/// budget (the circuit breaker), but neither wait for nor start a number's cooldown.
async fn notices_count_against_the_number_the_person_and_the_global_budget(backend: Backend) {
    let limits = SendLimits {
        cooldown_secs: 60,
        per_number_per_10min: 3,
        per_user_per_day: 5,
        per_ip_per_hour: 2,
        global_per_day: 8,
        call_weight: 3,
    };
    let f = fixture(backend, limits).await;
    let notice = |user: &'static str, n: E164, now: i64| {
        let engine = f.engine.clone();
        async move { engine.reserve_notice(&req(user, &n, "admin-ip", now)).await }
    };
    // A code, then at once a notice to the same number: no cooldown for the notice, and the
    // notice starts none for the next code. Nor do notices use up the client's IP allowance.
    let a = phone(600);
    f.send("f", "u1", &a, "admin-ip", T0).await.unwrap();
    notice("u1", a.clone(), T0 + 1).await.unwrap();
    notice("u1", a.clone(), T0 + 2).await.unwrap();
    // Three texts to the number in ten minutes: the fourth, code or notice, waits.
    assert!(matches!(
        notice("u1", a.clone(), T0 + 3).await,
        Err(CodeError::RateLimited { limit: LimitKind::PerNumber, .. })
    ));
    assert!(matches!(
        f.send("f", "u1", &a, "admin-ip", T0 + 61).await,
        Err(CodeError::RateLimited { limit: LimitKind::PerNumber, .. })
    ));
    // The person: five texts a day, codes and notices together.
    notice("u1", phone(601), T0 + 4).await.unwrap();
    notice("u1", phone(602), T0 + 5).await.unwrap();
    assert!(matches!(
        notice("u1", phone(603), T0 + 6).await,
        Err(CodeError::RateLimited { limit: LimitKind::PerUser, .. })
    ));
    assert!(matches!(
        f.send("f", "u1", &phone(604), "other-ip", T0 + 7).await,
        Err(CodeError::RateLimited { limit: LimitKind::PerUser, .. })
    ));
    // The global budget: eight texts a day, five used. Notices use up the rest …
    for (i, user) in ["u2", "u3", "u4"].into_iter().enumerate() {
        notice(user, phone(610 + i as u32), T0 + 10).await.unwrap();
    }
    assert!(matches!(
        notice("u5", phone(620), T0 + 11).await,
        Err(CodeError::RateLimited { limit: LimitKind::Global, .. })
    ));
    // … and a code for someone else is refused: the circuit breaker holds for every text.
    let e = f.send("g", "u6", &phone(621), "fresh-ip", T0 + 12).await.unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::Global, .. }), "{e:?}");
}

mod texter {
    //! The texter between the code engine and the Twilio stand-in.

    use super::*;
    use app::i18n::Lang;
    use devkit::twilio_standin::{Fault, StandinAccount, TwilioStandin};
    use domain::client::Client;
    use domain::directory::UserId;
    use domain::ports::AuditLog;
    use domain::texting::{NoticeFor, Texter};
    use server::config::TwilioConfig;
    use server::sms::TwilioSender;

    pub struct Setup {
        pub texter: Texter,
        pub db: server::db::Db,
        pub standin: TwilioStandin,
        _db: TestDb,
    }

    pub async fn setup(backend: Backend, limits: SendLimits) -> Setup {
        let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
        let cfg = TwilioConfig {
            account_sid: standin.account.account_sid.clone(),
            auth_token: Some(SecretString::from(standin.account.auth_token.clone())),
            api_key_sid: String::new(),
            api_key_secret: None,
            from: "+15017122661".into(),
            messaging_service_sid: String::new(),
            base_url: standin.url.clone(),
            timeout_secs: 1,
            ..TwilioConfig::default()
        };
        let test_db = TestDb::new(backend).await;
        let db = test_db.open().await;
        let hasher = CodeHasher::new(vec![SecretString::from(common::KEY.to_owned())]);
        let engine = CodeEngine::new(Arc::new(db.clone()), hasher, rules(limits));
        let sms = Arc::new(TwilioSender::new(&cfg).unwrap());
        let texter = Texter::new(engine, sms, None, "Latchkey".into(), "127.0.0.1".into());
        Setup { texter, db, standin, _db: test_db }
    }

    pub async fn code(s: &Setup, user: &str, n: &E164, now: i64) -> Result<TextOutcome, CodeError> {
        s.texter.send_code("flow", Purpose::SignIn, &req(user, n, "ip", now), Lang::En).await
    }

    pub fn client(now: i64) -> Client {
        Client { ip: "192.0.2.7".into(), user_agent: "test".into(), now, lang: Lang::En }
    }

    pub async fn notify(s: &Setup, person: &str, n: &E164, now: i64) {
        let client = client(now);
        let person = UserId(person.to_owned());
        let about = NoticeFor {
            audit: &s.db,
            client: &client,
            person: &person,
            actor: ("admin-1", "carol"),
        };
        s.texter.notify(&about, n, "A notice").await;
    }

    pub async fn events(s: &Setup, person: &str) -> Vec<(String, String, String)> {
        s.db.for_user(person, None, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.outcome, e.detail.unwrap_or_default()))
            .collect()
    }

    pub fn stall() -> Fault {
        Fault::Stall { millis: 2_500 }
    }
}

/// A notice a limit refuses goes nowhere, and the refusal is in the audit trail (the action
/// that sent it is not failed: `notify` has nothing to return).
async fn a_notice_a_limit_refuses_is_not_sent_and_is_audited(backend: Backend) {
    let limits = SendLimits { global_per_day: 2, ..default_limits() };
    let s = texter::setup(backend, limits).await;
    texter::notify(&s, "u1", &phone(700), T0).await;
    texter::notify(&s, "u1", &phone(701), T0).await;
    assert_eq!(s.standin.texts().len(), 2);
    assert!(texter::events(&s, "u1").await.is_empty(), "sent notices are not audited");
    texter::notify(&s, "u1", &phone(702), T0 + 1).await;
    assert_eq!(s.standin.texts().len(), 2, "the budget is spent: no third text");
    let events = texter::events(&s, "u1").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (kind, outcome, detail) = &events[0];
    assert_eq!((kind.as_str(), outcome.as_str()), ("security.notice", "rejected"));
    assert!(detail.contains("0702") && detail.contains("Global"), "{detail}");
    assert!(!detail.contains("+1201"), "numbers are masked: {detail}");
    // The codes are refused too: the notices used the day's budget.
    let e = texter::code(&s, "u9", &phone(703), T0 + 2).await.unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::Global, .. }), "{e:?}");
}

/// A text Twilio did not answer in time may have gone out: it still counts against the
/// number and the person, so a stalling provider cannot be turned into unlimited texts.
async fn a_timed_out_text_still_counts_against_the_number_and_the_person(backend: Backend) {
    let limits = SendLimits { cooldown_secs: 0, per_user_per_day: 2, ..default_limits() };
    let s = texter::setup(backend, limits).await;
    let n = phone(710);
    for i in 0..2 {
        s.standin.fail_next(1, texter::stall());
        let outcome = texter::code(&s, "u1", &n, T0 + i).await.unwrap();
        assert!(
            matches!(outcome, TextOutcome::NotSent(domain::sms::SmsError::Timeout { .. })),
            "{outcome:?}"
        );
    }
    let e = texter::code(&s, "u1", &phone(711), T0 + 2).await.unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::PerUser, .. }), "{e:?}");
    // The same for a 5xx, and for the number: three texts in ten minutes, whatever became of them.
    let s = texter::setup(backend, SendLimits { cooldown_secs: 0, ..default_limits() }).await;
    s.standin.fail_next(1, devkit::twilio_standin::Fault::Error { status: 500, code: 20500 });
    assert!(matches!(texter::code(&s, "u2", &n, T0).await, Ok(TextOutcome::NotSent(_))));
    s.standin.fail_next(1, texter::stall());
    assert!(matches!(texter::code(&s, "u2", &n, T0 + 1).await, Ok(TextOutcome::NotSent(_))));
    assert!(matches!(texter::code(&s, "u2", &n, T0 + 2).await, Ok(TextOutcome::Sent)));
    let e = texter::code(&s, "u2", &n, T0 + 3).await.unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::PerNumber, .. }), "{e:?}");
    // A notice that timed out counts too.
    let s = texter::setup(backend, SendLimits { per_user_per_day: 1, ..default_limits() }).await;
    s.standin.fail_next(1, texter::stall());
    texter::notify(&s, "u3", &phone(712), T0).await;
    let e = texter::code(&s, "u3", &phone(713), T0 + 1).await.unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::PerUser, .. }), "{e:?}");
    let events = texter::events(&s, "u3").await;
    assert!(events.iter().any(|(k, o, _)| k == "security.notice" && o == "failed"), "{events:?}");
}

/// Twilio's own refusal (a 4xx with its error code) means nothing was sent: the send is given
/// back, so a wrong number does not use up the person's day.
async fn a_text_twilio_certainly_refused_is_given_back(backend: Backend) {
    let limits = SendLimits { per_user_per_day: 1, ..default_limits() };
    let s = texter::setup(backend, limits).await;
    let magic_invalid = PhonePolicy::from_directory("+15005550001").unwrap();
    let outcome = texter::code(&s, "u1", &magic_invalid, T0).await.unwrap();
    assert!(matches!(outcome, TextOutcome::NotSent(_)), "{outcome:?}");
    assert!(matches!(texter::code(&s, "u1", &phone(720), T0 + 1).await, Ok(TextOutcome::Sent)));
}

/// Issue 21: a code by call counts as `call_weight` sends of the global budget (the store adds
/// the weight, in one statement, only when it fits) and as one send everywhere else, shared
/// with texts.
async fn a_call_weighs_call_weight_on_the_global_budget_and_one_elsewhere(backend: Backend) {
    let limits = SendLimits {
        cooldown_secs: 0,
        per_number_per_10min: 3,
        per_user_per_day: 100,
        per_ip_per_hour: 100,
        global_per_day: 7,
        call_weight: 3,
    };
    let f = fixture(backend, limits).await;
    let call = |flow: &'static str, n: E164, now: i64| {
        let engine = f.engine.clone();
        async move {
            let req = SendRequest { channel: Channel::Call, ..req("u1", &n, "ip", now) };
            engine.issue(flow, Purpose::SignIn, &req).await
        }
    };
    let global =
        |e: CodeError| matches!(e, CodeError::RateLimited { limit: LimitKind::Global, .. });
    call("a", phone(800), T0).await.unwrap();
    call("b", phone(801), T0 + 1).await.unwrap();
    // 6 of 7 spent: another call (3) does not fit, a text (1) does, then nothing.
    assert!(global(call("c", phone(802), T0 + 2).await.unwrap_err()));
    f.send("c", "u1", &phone(802), "ip", T0 + 3).await.unwrap();
    assert!(global(f.send("d", "u1", &phone(803), "ip", T0 + 4).await.unwrap_err()));

    // The number's three in ten minutes: calls and texts together.
    let f = fixture(backend, SendLimits { global_per_day: 1000, ..limits }).await;
    let n = phone(810);
    let call = |flow: &'static str, now: i64| {
        let engine = f.engine.clone();
        let n = n.clone();
        async move {
            let req = SendRequest { channel: Channel::Call, ..req("u1", &n, "ip", now) };
            engine.issue(flow, Purpose::SignIn, &req).await
        }
    };
    call("a", T0).await.unwrap();
    f.send("a", "u1", &n, "ip", T0 + 1).await.unwrap();
    let last = call("a", T0 + 2).await.unwrap();
    let e = f.send("a", "u1", &n, "ip", T0 + 3).await.unwrap_err();
    assert!(matches!(e, CodeError::RateLimited { limit: LimitKind::PerNumber, .. }), "{e:?}");
    // One code per flow: the last call's code is the one that verifies.
    assert!(f.check("a", "u1", last.code.expose(), T0 + 4).await.is_ok());
}
