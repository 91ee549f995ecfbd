//! The code engine against its SQL store, on SQLite and on PostgreSQL: the rules of DESIGN.md,
//! including the concurrent cases that only a real database can show.

#[macro_use]
mod common;

use std::sync::Arc;

use app::domain::codes::{
    CodeEngine, CodeError, CodeHasher, CodeRules, IssuedCode, LimitKind, Purpose, SendLimits,
    SendRequest,
};
use app::domain::phone::{E164, PhonePolicy};
use common::{Backend, TestDb};
use secrecy::SecretString;

on_both!(
    a_sent_code_verifies_once,
    wrong_codes_count_down_then_the_code_is_dead,
    expired_codes_are_refused,
    only_the_newest_code_of_a_flow_verifies,
    codes_are_bound_to_flow_and_purpose,
    repeated_failures_lock_the_second_step_and_a_resend_does_not_reset_them,
    the_cooldown_and_per_number_limits_hold,
    per_user_per_ip_and_global_limits_hold,
    a_failed_send_does_not_count_against_the_person,
    parallel_verifications_consume_a_code_at_most_once,
    parallel_sends_never_exceed_a_limit,
);

const T0: i64 = 1_800_000_000;

fn rules(limits: SendLimits) -> CodeRules {
    CodeRules {
        length: 6,
        lifetime_secs: 300,
        max_attempts_per_code: 5,
        failures_before_lock: 10,
        lock_secs: 900,
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
    SendRequest { user_id: user, number, client_ip: ip, now }
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
        Err(CodeError::Locked { retry_after: 900 }),
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
    // Three in ten minutes: the fourth waits until the first leaves the window.
    assert_eq!(
        f.send("f", "u1", &n, "ip", T0 + 180).await.unwrap_err(),
        CodeError::RateLimited { limit: LimitKind::PerNumber, retry_after: 420 }
    );
    assert!(f.send("f", "u1", &n, "ip", T0 + 601).await.is_ok());
}

async fn per_user_per_ip_and_global_limits_hold(backend: Backend) {
    let limits = SendLimits {
        cooldown_secs: 0,
        per_number_per_10min: 100,
        per_user_per_day: 3,
        per_ip_per_hour: 5,
        global_per_day: 7,
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
    assert_eq!(e, CodeError::RateLimited { limit: LimitKind::PerIp, retry_after: 3600 - 11 });
    assert_eq!(e.retry_after(), Some(3589));

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
