//! The password throttle as an attacker meets it: logins the directory matches to one person in
//! other Unicode forms, parallel guesses, IPv6 clients hopping inside their /64, and timing that
//! must not tell an unknown login from a real one when the directory hashes slowly.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Backend;
use common::browser::*;
use domain::ports::ThrottleStore;
use domain::sign_in::throttle::{self, Rule};

on_both!(
    unicode_forms_of_a_login_share_its_counter,
    parallel_attempts_are_counted_before_any_is_checked,
    a_burst_within_the_free_attempts_is_admitted_whole,
    the_stores_judgement_is_the_rules,
    an_ipv6_client_is_one_client_across_its_64,
    an_unknown_login_answers_as_slowly_as_a_slow_hash,
);

/// `ａｌｉｃｅ` (full-width), `𝐚𝐥𝐢𝐜𝐞` (mathematical bold) and `ªlice` all find alice on a stock
/// slapd: each failure counts against alice, so the lock comes as configured.
async fn unicode_forms_of_a_login_share_its_counter(backend: Backend) {
    let s = setup(
        backend,
        &[
            ("LATCHKEY_SECURITY__LOGIN_FAILURES_BEFORE_DELAY", "2"),
            ("LATCHKEY_SECURITY__LOGIN_FAILURES_BEFORE_LOCK", "3"),
        ],
    )
    .await;
    let b = Browser::new(&s.app);
    for (i, variant) in ["ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", "ªlice"].into_iter().enumerate()
    {
        if i == 2 {
            // Two failures ask for a 2 s wait before the third try.
            tokio::time::sleep(Duration::from_millis(2_100)).await;
        }
        b.password(variant, "wrong-password").await;
        assert_eq!(notice_of(&b.sign_in_page().await), "sign_in.failed", "{variant}");
    }
    // Three failures: alice is locked, whichever form the next try uses.
    for login in ["alice", "ＡＬＩＣＥ"] {
        b.password(login, "alice-demo-pw").await;
        let page = b.sign_in_page().await;
        assert_eq!(notice_of(&page), "sign_in.throttled", "{login} must be locked: {page}");
        assert_eq!(signed_in_as(&b).await, None);
    }
    let kinds = audit_kinds(&s.app).await;
    assert!(
        kinds.iter().any(|(k, o)| k == "sign_in.locked" && o == "password_throttle"),
        "the lock is audited: {kinds:?}"
    );
    // The directory's spelling is the key: the rejections are all recorded against alice.
    let rejected: Vec<(String,)> = sqlx_rows(
        &s.app,
        "SELECT login FROM audit_events WHERE kind = 'sign_in.password' AND outcome = 'rejected'",
    )
    .await;
    assert_eq!(rejected, vec![("alice".to_owned(),); 3]);
}

/// The race lives in the store: forty attempts on one key at once, each reading the count and
/// counting itself before any password is checked. Exactly the free attempts go ahead; the rest
/// are told to wait, and are not counted.
async fn parallel_attempts_are_counted_before_any_is_checked(backend: Backend) {
    let test_db = common::TestDb::new(backend).await;
    let db = Arc::new(test_db.open().await);
    let rule =
        Rule { free: 3, max_delay_secs: 60, lock_after: 10, lock_secs: 900, window_secs: 3600 };
    let now = 1_000_000;
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            throttle::admit(&*db as &dyn ThrottleStore, "login:alice", rule, now).await
        }));
    }
    let mut admitted = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task").expect("store") {
            Ok(count) => admitted.push(count),
            Err(wait) => {
                assert!(wait >= 1, "a refusal says how long to wait");
                refused += 1;
            }
        }
    }
    admitted.sort_unstable();
    assert_eq!(admitted, vec![1, 2, 3], "each admitted attempt saw the count before it");
    assert_eq!(refused, 37);
    let count = db.throttle_count("login:alice").await.unwrap().expect("counted");
    assert_eq!(count.attempts, 3, "refused attempts are not counted");

    // Two seconds on (the wait after three failures), one more goes ahead, and only one.
    let later = now + 2;
    let (a, b) = tokio::join!(
        throttle::admit(&*db as &dyn ThrottleStore, "login:alice", rule, later),
        throttle::admit(&*db as &dyn ThrottleStore, "login:alice", rule, later),
    );
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort();
    assert_eq!(outcomes, [Ok(4), Err(4)]);

    // Giving back (the directory did not answer) and clearing (the right password).
    db.give_back_attempt("login:alice").await.unwrap();
    assert_eq!(db.throttle_count("login:alice").await.unwrap().unwrap().attempts, 3);
    db.clear_attempts("login:alice").await.unwrap();
    assert_eq!(db.throttle_count("login:alice").await.unwrap(), None);
    db.give_back_attempt("login:nobody").await.unwrap(); // nothing to give back: no error

    // The right password at sign-in: the login starts again from zero (and is judged as a
    // login with no failures), the network gets one attempt back and never goes below zero,
    // other keys are untouched.
    let ip = "ip:192.0.2.7";
    for n in 1..=3 {
        let admitted = throttle::admit(&*db as &dyn ThrottleStore, "login:alice", rule, later);
        assert_eq!(admitted.await.unwrap(), Ok(n));
    }
    throttle::admit(&*db as &dyn ThrottleStore, ip, rule, later).await.unwrap().unwrap();
    throttle::admit(&*db as &dyn ThrottleStore, "login:bob", rule, later).await.unwrap().unwrap();
    db.password_accepted("login:alice", ip).await.unwrap();
    let count = |key: &'static str| {
        let db = db.clone();
        async move { db.throttle_count(key).await.unwrap().map_or(0, |c| c.attempts) }
    };
    assert_eq!((count("login:alice").await, count(ip).await, count("login:bob").await), (0, 0, 1));
    db.password_accepted("login:alice", ip).await.unwrap();
    assert_eq!(count(ip).await, 0, "a count never goes below zero");
    let admitted = throttle::admit(&*db as &dyn ThrottleStore, "login:alice", rule, later).await;
    assert_eq!(admitted.unwrap(), Ok(1), "a zeroed login counts from one again, with no wait");
}

/// An office behind one address: forty sign-ins at once, all within the network's free
/// attempts, all go ahead, each with its own count (a compare-and-set could lose every retry
/// and refuse a right password).
async fn a_burst_within_the_free_attempts_is_admitted_whole(backend: Backend) {
    let test_db = common::TestDb::new(backend).await;
    let db = Arc::new(test_db.open().await);
    let rule =
        Rule { free: 100, max_delay_secs: 60, lock_after: 200, lock_secs: 900, window_secs: 3600 };
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            throttle::admit(&*db as &dyn ThrottleStore, "ip:192.0.2.1", rule, 1_000_000).await
        }));
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.expect("task").expect("store").expect("admitted"));
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=40).collect::<Vec<u32>>());
}

/// The store judges in SQL what [`Rule::admit`] judges in Rust: for stored counts across every
/// branch (free, escalating, capped, locked, aged out) and times around each wait's end, the
/// store admits exactly when the rule does, with the same count, and counts nothing otherwise.
async fn the_stores_judgement_is_the_rules(backend: Backend) {
    let test_db = common::TestDb::new(backend).await;
    let db = test_db.open().await;
    let rule =
        Rule { free: 3, max_delay_secs: 30, lock_after: 10, lock_secs: 900, window_secs: 3600 };
    let last_at = 1_000_000;
    let mut checked = 0;
    for attempts in 1..=12u32 {
        for after in [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 29, 30, 31, 899, 900, 3600, 3601] {
            let key = format!("login:grid-{attempts}-{after}");
            // The stored count as earlier attempts left it (counted under a rule that admits all).
            let lax = Rule { free: u32::MAX, lock_after: u32::MAX, ..rule };
            for _ in 0..attempts {
                db.count_if_admitted(&key, lax, last_at).await.unwrap().expect("admitted");
            }
            let stored = db.throttle_count(&key).await.unwrap().expect("stored");
            assert_eq!((stored.attempts, stored.last_at), (attempts, last_at));
            let now = last_at + after;
            let expected = rule.admit(Some(stored), now).ok();
            let got = db.count_if_admitted(&key, rule, now).await.unwrap();
            assert_eq!(got, expected, "{attempts} attempts, {after} s later");
            let after_call = db.throttle_count(&key).await.unwrap().unwrap();
            if got.is_none() {
                assert_eq!(after_call, stored, "a refusal counts nothing");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 12 * 18);
}

/// Behind a trusted proxy, every address of one IPv6 /64 is one client for the network limit.
async fn an_ipv6_client_is_one_client_across_its_64(backend: Backend) {
    let s = setup(
        backend,
        &[
            ("LATCHKEY_SERVER__TRUSTED_PROXIES", r#"["127.0.0.0/8"]"#),
            ("LATCHKEY_SECURITY__IP_FAILURES_BEFORE_LOCK", "6"),
        ],
    )
    .await;
    let from = |ip: &str| {
        let mut b = Browser::new(&s.app);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", ip.parse().unwrap());
        b.http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(b.jar.clone())
            .default_headers(headers)
            .build()
            .unwrap();
        b
    };
    // Three failures (the network's free half), each from another address and another login.
    for i in 1..=3 {
        let b = from(&format!("2001:db8:1:2::{i}"));
        b.password(&format!("nobody-{i}"), "wrong").await;
        assert_eq!(notice_of(&b.sign_in_page().await), "sign_in.failed");
    }
    // A fourth address in the same /64 must wait, even with bob's right password.
    let same = from("2001:db8:1:2:ffff:ffff:ffff:fffe");
    same.password("bob", "bob-demo-pw").await;
    assert_eq!(notice_of(&same.sign_in_page().await), "sign_in.throttled");
    // The neighbouring /64 is someone else.
    let other = from("2001:db8:1:3::1");
    assert_eq!(other.password("bob", "bob-demo-pw").await, "/");
}

/// A directory that hashes slowly (SHA-512 crypt, four million rounds: about a second) makes a
/// real entry's refusal slow; an unknown login's decoy bind hashes nothing. The answer floor
/// follows the real binds, so the unknown login waits as long.
async fn an_unknown_login_answers_as_slowly_as_a_slow_hash(backend: Backend) {
    let mut seed = common::demo_seed();
    seed.push_str(&format!(
        "dn: uid=slowhash,{people}\nobjectClass: inetOrgPerson\nuid: slowhash\ncn: Slow Hash\nsn: Hash\nuserPassword: {{CRYPT}}{SLOW_HASH}\n\n",
        people = devkit::slapd::PEOPLE_DN,
    ));
    // A second of hashing can take several on a busy machine: the directory's own timeout must
    // not turn the slow refusal into "unavailable".
    let settings = [
        ("LATCHKEY_SECURITY__LOGIN_FAILURES_BEFORE_DELAY", "5"),
        ("LATCHKEY_DIRECTORY__TIMEOUT_SECS", "30"),
    ];
    let s = setup_seeded(backend, &settings, &seed).await;
    let timed = |login: &'static str, password: &'static str| {
        let b = Browser::new(&s.app);
        async move {
            let started = Instant::now();
            b.password(login, password).await;
            let took = started.elapsed();
            assert_eq!(notice_of(&b.sign_in_page().await), "sign_in.failed", "{login}");
            took
        }
    };
    // The hash really is slow here (otherwise the test proves nothing).
    let real = [timed("slowhash", "wrong-1").await, timed("slowhash", "wrong-2").await];
    let fastest_real = real.iter().min().copied().unwrap();
    // Well above the 300 ms floor a fixed floor would give, or the test proves nothing.
    assert!(fastest_real >= Duration::from_millis(600), "the slow hash took {fastest_real:?}");
    let unknown = timed("nobody-at-all", "wrong").await;
    assert!(
        unknown >= fastest_real.mul_f64(0.8),
        "an unknown login answered in {unknown:?}, a real one in {real:?}"
    );
}

/// `slow-pw-123` as SHA-512 crypt with 4 000 000 rounds (about a second on this machine kind).
const SLOW_HASH: &str = "$6$rounds=4000000$latchkeytestsalt$iFPJkmRw4GDk4ltoODVA1z6N1XasGzZg4238xHxLu3pokb28aqs5iwcCQW7NQ6jk2ba/JI8PILvgNrSR7JFJ6/";

async fn sqlx_rows(app: &common::TestApp, sql: &str) -> Vec<(String,)> {
    use server::db::Db;
    match &app.db {
        Db::Sqlite(pool, _) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Db::Postgres(pool, _) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    }
}
