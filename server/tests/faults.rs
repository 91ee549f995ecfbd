//! Faults and hostile input, full stack: the directory stopped in the middle of each flow, the
//! database locked, and junk in every field. Each ends with a clear message, nothing
//! half-written, and the same flow working once the fault is gone — without a restart.

#[macro_use]
mod common;

use common::Backend;
use common::browser::*;
use domain::{directory::Username, ports::Directory};
use server::directory::LdapDirectory;

on_both!(
    a_directory_outage_mid_sign_in_says_so_and_recovers,
    a_directory_outage_while_changing_phones_writes_nothing_and_recovers,
    junk_in_every_field_is_refused_cleanly,
);

async fn page_after(b: &Browser, endpoint: &str, form: &[(&str, &str)], page: &str) -> String {
    b.post_from(page, endpoint, form).await
}

async fn a_directory_outage_mid_sign_in_says_so_and_recovers(backend: Backend) {
    let mut s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    s.app.directory.stop();
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(notice_of(&page), "error.unavailable", "not 'wrong password'");
    assert_eq!(step_of(&page), "password");
    s.app.directory.restart().unwrap();

    // Password accepted, then the directory goes away: the code step needs no directory.
    b.password("alice", "alice-demo-pw").await;
    s.app.directory.stop();
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    s.app.directory.restart().unwrap();
    // Failed attempts during the outage did not count as wrong passwords.
    let kinds = audit_kinds(&s.app).await;
    assert!(!kinds.iter().any(|(k, o)| k == "sign_in.password" && o == "rejected"), "{kinds:?}");
}

async fn a_directory_outage_while_changing_phones_writes_nothing_and_recovers(backend: Backend) {
    let mut s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    b.submit("sign_in_code", &[("code", &code)]).await;

    // Adding: the code arrives, then the directory stops before it is typed.
    page_after(&b, "security_add_start", &[], "/security").await;
    page_after(
        &b,
        "security_add_number",
        &[("region", "US"), ("number", "2015550166")],
        "/security",
    )
    .await;
    let code = code_sent_to(&s.standin, "+12015550166");
    s.app.directory.stop();
    let page =
        page_after(&b, "security_add_verify", &[("code", &code), ("nickname", "")], "/security")
            .await;
    assert!(page.contains("data-notice=\"error.unavailable\""));
    s.app.directory.restart().unwrap();
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE], "nothing was written");
    // Back up: the same code still works (it was not used up by the failed try).
    let page =
        page_after(&b, "security_add_verify", &[("code", &code), ("nickname", "")], "/security")
            .await;
    assert_eq!(notice_of(&page), "security.phone_added");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE, "+12015550166"]);

    // Removing while the directory is down: refused, metadata kept, then it works.
    let key = form_key(&b.get("/security").await, "data-phone=\"•••• 0166\"");
    page_after(&b, "security_remove", &[("key", &key)], "/security").await;
    s.app.directory.stop();
    let page = page_after(&b, "security_remove_confirm", &[("key", &key)], "/security").await;
    assert!(page.contains("data-notice=\"error.unavailable\""), "the page says what happened");
    s.app.directory.restart().unwrap();
    assert_eq!(directory_phones(&s, "alice").await.len(), 2);
    let page = b.get("/security").await;
    assert!(page.contains("data-phone=\"•••• 0166\""), "its metadata is intact");
    page_after(&b, "security_remove", &[("key", &key)], "/security").await;
    let page = page_after(&b, "security_remove_confirm", &[("key", &key)], "/security").await;
    assert_eq!(notice_of(&page), "security.phone_removed");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE]);
}

async fn junk_in_every_field_is_refused_cleanly(backend: Backend) {
    let s = setup(backend, &[]).await;
    let long = "x".repeat(20_000);
    let junk: Vec<&str> = vec![
        "",
        " ",
        "\u{0}",
        "a\u{7}b\r\n",
        "*)(|(uid=*))",
        "cn=admin,dc=example,dc=org",
        "١٢٣٤٥٦",
        "🦀🦀🦀",
        &long,
    ];
    let b = Browser::new(&s.app);
    for j in &junk {
        for (endpoint, form) in [
            ("sign_in_password", vec![("username", *j), ("password", *j)]),
            ("sign_in_password", vec![("username", "bob"), ("password", *j)]),
            ("sign_in_code", vec![("code", *j)]),
            ("sign_in_choose_phone", vec![("phone", *j)]),
            ("sign_in_enrol_number", vec![("number", *j)]),
        ] {
            let res = b.post(endpoint, &form).await;
            assert!(
                res.status() == reqwest::StatusCode::FOUND || res.status().is_client_error(),
                "{endpoint} {:?} (len {}): {}",
                j.chars().take(20).collect::<String>(),
                j.len(),
                res.status()
            );
        }
    }
    // Invalid UTF-8 in a form body: a client error, not a crash.
    let res = b
        .http
        .post(format!("{}/api/sign_in_password", s.app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(b"username=%FF%FE&password=\xff\xfe".to_vec())
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_client_error() || res.status() == reqwest::StatusCode::FOUND,
        "{}",
        res.status()
    );
    // The server is fine; bob's junk passwords count as wrong ones (he is throttled now), and
    // alice, whose name was never tried, signs in as usual.
    let bob = Browser::new(&s.app);
    bob.password("bob", "bob-demo-pw").await;
    assert_eq!(notice_of(&bob.sign_in_page().await), "sign_in.throttled");
    let ok = Browser::new(&s.app);
    ok.password("alice", "alice-demo-pw").await;
    assert_eq!(step_of(&ok.sign_in_page().await), "code");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE]);
}

/// SQLite locked by another writer past the busy timeout: a clean "try again", then recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_locked_database_fails_cleanly_and_recovers() {
    let s = setup(Backend::Sqlite, &[]).await;
    let server::db::Db::Sqlite(pool, _) = &s.app.db else { unreachable!() };
    let mut lock = pool.acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut *lock).await.unwrap();
    let b = Browser::new(&s.app);
    let res = b.post("sign_in_password", &[("username", "bob"), ("password", "bob-demo-pw")]).await;
    assert!(
        res.status().is_server_error() || res.status() == reqwest::StatusCode::FOUND,
        "{}",
        res.status()
    );
    sqlx::query("ROLLBACK").execute(&mut *lock).await.unwrap();
    drop(lock);
    let b = Browser::new(&s.app);
    assert_eq!(b.password("bob", "bob-demo-pw").await, "/", "works again at once");
}

/// A connection to the PostgreSQL server as its administrator, and the test database's name.
async fn postgres_admin(s: &Setup) -> (sqlx::PgPool, String) {
    let name = s.app.config.database.url.rsplit('/').next().unwrap().to_owned();
    let admin_url = std::env::var("LATCHKEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    (sqlx::PgPool::connect(&admin_url).await.unwrap(), name)
}

/// PostgreSQL refusing connections (every session of the database cut, new ones refused):
/// requests fail with a clear answer, and work again as soon as it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_going_away_fails_cleanly_and_recovers() {
    let s = setup(Backend::Postgres, &[]).await;
    let (admin, name) = postgres_admin(&s).await;
    let cut = |allow: bool| {
        let (admin, name) = (admin.clone(), name.clone());
        async move {
            sqlx::query(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {allow}"))
                .execute(&admin)
                .await
                .unwrap();
            if !allow {
                sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                )
                .bind(&name)
                .execute(&admin)
                .await
                .unwrap();
            }
        }
    };
    cut(false).await;
    let b = Browser::new(&s.app);
    let res = b.post("sign_in_password", &[("username", "bob"), ("password", "bob-demo-pw")]).await;
    assert!(
        res.status().is_server_error() || res.status() == reqwest::StatusCode::FOUND,
        "{}",
        res.status()
    );
    let ready = b.http.get(format!("{}/readyz", s.app.url)).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    cut(true).await;
    let b = Browser::new(&s.app);
    assert_eq!(b.password("bob", "bob-demo-pw").await, "/", "works again without a restart");
}

/// PostgreSQL restarted between two requests (every backend of the database terminated while
/// the pool's connections sat idle, connections allowed again at once): the next requests are
/// served, none fails — a connection idle past `PING_AFTER_IDLE` is pinged before it is lent,
/// and a dead one replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_between_requests_fails_no_request() {
    let s = setup(Backend::Postgres, &[]).await;
    let (admin, name) = postgres_admin(&s).await;
    let b = Browser::new(&s.app);
    assert_eq!(b.password("bob", "bob-demo-pw").await, "/");
    assert!(signed_in_as(&b).await.is_some());
    // Waits (up to 5 s) until each backend is gone, as after a restart.
    let gone: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1",
    )
    .bind(&name)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(!gone.is_empty() && gone.iter().all(|g| *g), "the app's connections were open");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    // Signed-in page views (the session read first) and a new sign-in (writes), all served.
    assert!(signed_in_as(&b).await.is_some(), "still signed in, no error");
    assert_eq!(Browser::new(&s.app).password("bob", "bob-demo-pw").await, "/");
    let res = b.http.get(format!("{}/security", s.app.url)).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
}

/// An administrator's removal while the directory is down: refused with a clear message, the
/// metadata untouched; done once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_directory_outage_during_an_admin_removal() {
    let mut s = setup(Backend::Sqlite, &[]).await;
    let admin = Browser::new(&s.app);
    admin.password("carol", "carol-demo-pw").await;
    let code = code_sent_to(&s.standin, "+447400123456");
    admin.submit("sign_in_code", &[("code", &code)]).await;
    let d = LdapDirectory::new(s.app.config.directory.clone());
    let dave = d.find_by_login(&Username::parse("dave").unwrap()).await.unwrap().unwrap();
    let person = format!("/admin/person/{}", dave.id.as_str());
    let key = form_key(&admin.get(&person).await, "data-number=\"+447400654321\"");
    let form =
        [("id", dave.id.as_str()), ("key", key.as_str()), ("reason", "lost"), ("confirm", "yes")];
    s.app.directory.stop();
    let page = page_after(&admin, "admin_remove_phone", &form, "/admin").await;
    assert!(
        page.contains("error.unavailable") || page.contains("not answering"),
        "says what happened"
    );
    s.app.directory.restart().unwrap();
    assert_eq!(directory_phones(&s, "dave").await.len(), 2, "nothing removed");
    page_after(&admin, "admin_remove_phone", &form, "/admin").await;
    assert_eq!(directory_phones(&s, "dave").await, vec!["+12015550142"]);
}
