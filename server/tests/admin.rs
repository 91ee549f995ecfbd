//! Administrators, full stack: authorization of every admin server function and the CSV export,
//! people search (paged, on a large directory), removing a phone, resetting to password-only,
//! and the audit trail, on SQLite and PostgreSQL with the directory checked after each action.

#[macro_use]
mod common;

use common::Backend;
use common::browser::*;
use domain::{directory::Username, ports::Directory};
use reqwest::StatusCode;
use server::directory::LdapDirectory;

on_both!(
    every_admin_function_refuses_anonymous_and_ordinary_people,
    an_administrator_of_a_person_that_does_not_exist_gets_a_clear_answer,
    an_administrator_removes_a_phone_with_a_reason,
    reset_to_password_only,
    admin_changes_need_a_recent_sign_in,
    the_audit_trail_filters_and_exports_csv,
    texts_on_an_administrators_action_speak_the_persons_language,
    codes_locked_for_good_stay_locked_until_an_administrator_unlocks_them,
    resetting_to_password_only_unlocks_codes_too,
    the_status_page_is_for_administrators_only,
);

const CAROL_PHONE: &str = "+447400123456";

/// Calls a server function the way the hydrated page does (no HTML redirect): status and body.
async fn call(b: &Browser, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let res = b
        .http
        .post(format!("{}/api/{endpoint}", b.base))
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
        .expect("post");
    (res.status(), res.text().await.expect("body"))
}

async fn sign_in_with_code(s: &Setup, login: &str, password: &str, phone: &str) -> Browser {
    let b = Browser::new(&s.app);
    let before = s.standin.texts().len();
    if b.password(login, password).await != "/" {
        let page = b.sign_in_page().await;
        if step_of(&page) == "choose-method" {
            b.submit("sign_in_choose_phone", &[("phone", "0")]).await;
        }
        assert!(s.standin.texts().len() > before, "a code was texted");
        let code = code_sent_to(&s.standin, phone);
        assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    }
    b
}

async fn person_id(s: &Setup, login: &str) -> String {
    let directory = LdapDirectory::new(s.app.config.directory.clone());
    directory.find_by_login(&Username::parse(login).unwrap()).await.unwrap().unwrap().id.0
}

/// The notice the admin pages would show next (read through the people page's server function).
async fn admin_notice(b: &Browser) -> String {
    let (status, body) = call(b, "admin_people", &[("q", ""), ("page", "0")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["notice"]["id"].as_str().unwrap_or("none").to_owned()
}

fn key_for(person_html: &str, number: &str) -> String {
    form_key(person_html, &format!("data-number=\"{number}\""))
}

async fn every_admin_function_refuses_anonymous_and_ordinary_people(backend: Backend) {
    let s = setup(backend, &[]).await;
    let dave = person_id(&s, "dave").await;
    let anonymous = Browser::new(&s.app);
    let ordinary = sign_in_with_code(&s, "alice", "alice-demo-pw", ALICE_PHONE).await;
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("admin_people", vec![("q", "dave"), ("page", "0")]),
        ("admin_person", vec![("id", &dave)]),
        (
            "admin_remove_phone",
            vec![("id", &dave), ("key", "x"), ("reason", "r"), ("confirm", "yes")],
        ),
        ("admin_reset", vec![("id", &dave), ("reason", "r"), ("confirm", "yes")]),
        (
            "admin_remove_app",
            vec![("id", &dave), ("app_id", "x"), ("reason", "r"), ("confirm", "yes")],
        ),
        ("admin_void_recovery_codes", vec![("id", &dave), ("reason", "r"), ("confirm", "yes")]),
        (
            "admin_audit",
            vec![("person", ""), ("actor", ""), ("kind", ""), ("from", ""), ("to", "")],
        ),
    ];
    let denied = || async {
        audit_kinds(&s.app)
            .await
            .into_iter()
            .filter(|(k, o)| k == "admin.denied" && o == "refused")
            .count()
    };
    // Anonymous refusals are counted, not audited: anyone could grow the trail at will (20 CSV
    // requests wrote 20 rows).
    let anonymous_csv_requests = 20;
    for (who, csv_requests) in [(&anonymous, anonymous_csv_requests), (&ordinary, 1)] {
        for (endpoint, form) in &calls {
            let (status, body) = call(who, endpoint, form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{endpoint}: {body}");
            assert!(body.contains("admin.forbidden"), "{endpoint}: {body}");
        }
        for _ in 0..csv_requests {
            let csv = who.http.get(format!("{}/admin/audit.csv", s.app.url)).send().await.unwrap();
            assert_eq!(csv.status(), StatusCode::FORBIDDEN);
        }
        // The pages themselves say so, with a real 403.
        let page = who.http.get(format!("{}/admin", s.app.url)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        assert!(page.text().await.unwrap().contains("Only administrators can see this."));
        if std::ptr::eq(who, &anonymous) {
            assert_eq!(denied().await, 0, "no audit row for an anonymous refusal");
        }
    }
    let metrics = anonymous.http.get(format!("{}/metrics", s.app.url)).send().await.unwrap();
    let counted: u64 = metrics
        .text()
        .await
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("latchkey_admin_refusals_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(counted, (calls.len() + anonymous_csv_requests + 1) as u64, "counted in metrics");
    // Nothing changed, and every refusal of a signed-in person is in the audit trail.
    assert_eq!(directory_phones(&s, "dave").await.len(), 2);
    assert_eq!(denied().await, calls.len() + 2);
    // The navigation shows Admin only to administrators.
    assert!(!ordinary.get("/").await.contains("href=\"/admin\""));
    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    assert!(admin.get("/").await.contains("href=\"/admin\""));
}

async fn an_administrator_of_a_person_that_does_not_exist_gets_a_clear_answer(backend: Backend) {
    let s = setup(backend, &[]).await;
    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    for id in ["00000000-0000-0000-0000-000000000000", "*)(uid=*", "ünïcode", ""] {
        let (status, body) = call(&admin, "admin_person", &[("id", id)]).await;
        assert!(body.contains("admin.no_such_person"), "{id:?}: {status} {body}");
        let form = [("id", id), ("key", "abc"), ("reason", "gone"), ("confirm", "yes")];
        assert_eq!(call(&admin, "admin_remove_phone", &form).await.0, StatusCode::OK);
        assert_eq!(admin_notice(&admin).await, "admin.no_such_person");
        let form = [("id", id), ("reason", "gone"), ("confirm", "yes")];
        assert_eq!(call(&admin, "admin_reset", &form).await.0, StatusCode::OK);
        assert_eq!(admin_notice(&admin).await, "admin.no_such_person");
    }
    let page = admin.get("/admin/person/nobody-here").await;
    assert!(page.contains("There is no such person in the directory."));
}

async fn an_administrator_removes_a_phone_with_a_reason(backend: Backend) {
    let s = setup(backend, &[]).await;
    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    let list = admin.get("/admin?q=dav").await;
    assert!(list.contains("data-login=\"dave\""));
    let dave = person_id(&s, "dave").await;
    let page = admin.get(&format!("/admin/person/{dave}")).await;
    assert!(page.contains("+447400654321"), "administrators see whole numbers");
    let key = key_for(&page, "+447400654321");

    let mut form = vec![("id", dave.as_str()), ("key", key.as_str()), ("reason", "lost phone")];
    call(&admin, "admin_remove_phone", &form).await;
    assert_eq!(admin_notice(&admin).await, "admin.not_confirmed");
    form.push(("confirm", "yes"));
    form[2] = ("reason", "   ");
    call(&admin, "admin_remove_phone", &form).await;
    assert_eq!(admin_notice(&admin).await, "admin.reason_required");
    assert_eq!(directory_phones(&s, "dave").await.len(), 2, "nothing removed yet");

    form[2] = ("reason", "lost phone, ticket 4711");
    call(&admin, "admin_remove_phone", &form).await;
    assert_eq!(admin_notice(&admin).await, "admin.phone_removed");
    assert_eq!(directory_phones(&s, "dave").await, vec!["+12015550142"]);
    // The remaining phone is told; the audit event names actor, subject and reason.
    assert!(
        s.standin.texts().iter().any(|t| t.to == "+12015550142" && t.body.contains("ending 4321"))
    );
    let sql =
        "SELECT actor_id, subject_id, detail FROM audit_events WHERE kind = 'admin.phone_removed'";
    let (actor, subject, detail): (String, String, String) = match &s.app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
    };
    assert_eq!(actor, person_id(&s, "carol").await);
    assert_eq!(subject, dave);
    assert!(detail.contains("ticket 4711"));
    // The trail says it in words and names the person by login, on the page and in the export.
    let trail = admin.get("/admin/audit?kind=admin.phone_removed").await;
    let row = &trail[trail.find("data-kind=\"admin.phone_removed\"").expect("the row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("Phone removed by an administrator"), "{row}");
    assert!(row.contains("<td class=\"pr-3\">carol</td><td class=\"pr-3\">dave</td>"), "{row}");
    let csv = admin.get("/admin/audit.csv?kind=admin.phone_removed").await;
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let fields: Vec<&str> = csv.lines().nth(1).unwrap().split("\",\"").collect();
    let column = |name| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(fields[column("subject_id")], dave);
    assert_eq!(fields[column("subject_login")], "dave");

    // Dave's next sign-in offers only the phone he has left (texted at once).
    let d = Browser::new(&s.app);
    d.password("dave", "dave-demo-pw").await;
    let page = d.sign_in_page().await;
    assert_eq!(step_of(&page), "code");
    assert!(page.contains("•••• 0142") && !page.contains("•••• 4321"));
}

async fn reset_to_password_only(backend: Backend) {
    let s = setup(backend, &[]).await;
    // Alice has a remembered browser.
    let a = Browser::new(&s.app);
    a.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    a.post("sign_in_code", &[("code", &code), ("remember", "on")]).await;

    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    let alice = person_id(&s, "alice").await;
    call(&admin, "admin_reset", &[("id", &alice), ("reason", "locked out"), ("confirm", "yes")])
        .await;
    assert_eq!(admin_notice(&admin).await, "admin.reset_done");
    assert!(!s.app.db.two_factor_enabled(&alice).await.unwrap());
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE], "phones stay");
    let page = admin.get(&format!("/admin/person/{alice}")).await;
    assert_eq!(attr(&page, "data-two-factor"), Some("off"));
    // Password alone now; the remembered browser is no longer trusted.
    let fresh = Browser::new(&s.app);
    assert_eq!(fresh.password("alice", "alice-demo-pw").await, "/");
    let sql = "SELECT COUNT(*) FROM trusted_browsers WHERE revoked_at IS NULL";
    let live: (i64,) = match &s.app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
    };
    assert_eq!(live.0, 0);
}

async fn admin_changes_need_a_recent_sign_in(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_SECURITY__REAUTH_WINDOW_SECS", "1")]).await;
    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let alice = person_id(&s, "alice").await;
    call(&admin, "admin_reset", &[("id", &alice), ("reason", "test"), ("confirm", "yes")]).await;
    assert_eq!(admin_notice(&admin).await, "admin.reauth_needed");
    assert!(s.app.db.two_factor_enabled(&alice).await.unwrap(), "unchanged");
}

async fn the_audit_trail_filters_and_exports_csv(backend: Backend) {
    let s = setup(backend, &[]).await;
    // A person whose browser sends a spreadsheet formula as its user agent.
    let evil = Browser::new(&s.app);
    let res = evil
        .http
        .post(format!("{}/api/sign_in_password", s.app.url))
        .header("user-agent", "=HYPERLINK(\"http://evil.example\")")
        .header("accept", "text/html")
        .header("referer", format!("{}/sign-in", s.app.url))
        .form(&[("username", "bob"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    sign_in_with_code(&s, "dave", "dave-demo-pw", "+12015550142").await;
    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;

    let page = admin.get("/admin/audit?person=dave&kind=sign_in.success").await;
    assert_eq!(page.matches("data-kind=\"sign_in.success\"").count(), 1, "dave's one sign-in");
    assert!(!page.contains("data-kind=\"sign_in.password\""));
    let page = admin.get("/admin/audit?person=nobody").await;
    assert!(page.contains("No person has that login."));
    let page = admin.get("/admin/audit?from=tomorrow").await;
    assert!(page.contains("Write dates as YYYY-MM-DD."));
    let page = admin.get("/admin/audit?kind=DROP%20TABLE").await;
    assert!(page.contains("data-notice=\"admin.audit.bad_kind\""));

    let res = admin.http.get(format!("{}/admin/audit.csv", s.app.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,time_utc,unix_time,kind,outcome"));
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""), "formula defused");
    assert!(csv.contains("\"sign_in.success\""));
    let only_dave =
        admin.http.get(format!("{}/admin/audit.csv?person=dave", s.app.url)).send().await.unwrap();
    let dave_csv = only_dave.text().await.unwrap();
    assert!(dave_csv.lines().count() > 1 && dave_csv.lines().count() < csv.lines().count());
}

/// 5 000 people: the search pages through the directory with the paged-results control.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn people_search_pages_through_a_large_directory() {
    let mut seed = common::demo_seed();
    for i in 0..5000 {
        seed.push_str(&devkit::slapd::person_ldif(
            &format!("member{i:05}"),
            &format!("Member {i:05}"),
            "pw",
            &[],
        ));
    }
    let s = setup_seeded(Backend::Sqlite, &[], &seed).await;
    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    let started = std::time::Instant::now();
    let (status, body) = call(&admin, "admin_people", &[("q", "member"), ("page", "0")]).await;
    println!("first page of 5 000 matches: {:?}", started.elapsed());
    assert_eq!(status, StatusCode::OK);
    let first: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(first["rows"].as_array().unwrap().len(), 20);
    assert_eq!(first["has_more"], true);

    let started = std::time::Instant::now();
    let (_, body) = call(&admin, "admin_people", &[("q", "member"), ("page", "249")]).await;
    println!("last page of 5 000 matches: {:?}", started.elapsed());
    let last: serde_json::Value = serde_json::from_str(&body).unwrap();
    let rows = last["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 20);
    assert_eq!(last["has_more"], false, "page 249 of 20 is the last of 5 000");
    let logins: Vec<&str> = rows.iter().map(|r| r["login"].as_str().unwrap()).collect();
    assert!(
        !first["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| logins.contains(&r["login"].as_str().unwrap()))
    );

    let (_, body) = call(&admin, "admin_people", &[("q", "m"), ("page", "0")]).await;
    assert!(body.contains("admin.term_too_short"));
    let (_, body) = call(&admin, "admin_people", &[("q", "*"), ("page", "0")]).await;
    let star: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(star["rows"].as_array().unwrap().is_empty(), "`*` is a character, not a wildcard");
    let (_, body) = call(&admin, "admin_people", &[("q", "Member 04999"), ("page", "0")]).await;
    assert!(body.contains("member04999"), "by name");
    let (_, body) =
        call(&admin, "admin_people", &[("q", "member00042@example.org"), ("page", "0")]).await;
    assert!(body.contains("member00042"), "by mail");
}

/// The person's `preferredLanguage` from the directory decides; without one, the
/// administrator's page language does.
async fn texts_on_an_administrators_action_speak_the_persons_language(backend: Backend) {
    use app::i18n::{Lang, t_in};
    const ELENA_PHONE: &str = "+12015550177";
    let mut elena =
        devkit::slapd::person_ldif("elena", "Elena Esteban", "elena-demo-pw", &[ELENA_PHONE]);
    elena.insert_str(elena.len() - 1, "preferredLanguage: es-ES, en;q=0.5\n");
    let s = setup_seeded(backend, &[], &format!("{}{elena}", common::demo_seed())).await;
    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    let last_text_to = |to: &str| {
        s.standin.texts().into_iter().rev().find(|t| t.to == to).map(|t| t.body).unwrap_or_default()
    };

    let id = person_id(&s, "elena").await;
    call(&admin, "admin_reset", &[("id", &id), ("reason", "lost phone"), ("confirm", "yes")]).await;
    assert_eq!(admin_notice(&admin).await, "admin.reset_done");
    let spanish = t_in(Lang::Es, "text.two_factor_off_by_admin").replace("{product}", "Latchkey");
    assert_eq!(last_text_to(ELENA_PHONE), spanish);

    let id = person_id(&s, "dave").await;
    call(&admin, "admin_reset", &[("id", &id), ("reason", "lost phone"), ("confirm", "yes")]).await;
    let english = t_in(Lang::En, "text.two_factor_off_by_admin").replace("{product}", "Latchkey");
    assert_eq!(last_text_to("+12015550142"), english, "no preferredLanguage: the admin's");
}

/// The person's wrong-code lock as the administrator's person page shows it.
async fn second_step_on_page(admin: &Browser, id: &str) -> String {
    let page = admin.get(&format!("/admin/person/{id}")).await;
    attr(&page, "data-second-step").unwrap_or("none").to_owned()
}

async fn audit_details(s: &Setup, id: &str, kind: &str) -> Vec<String> {
    use domain::ports::AuditLog;
    let events = s.app.db.for_user(id, None, 100).await.unwrap();
    events.into_iter().filter(|e| e.kind == kind).map(|e| e.detail.unwrap_or_default()).collect()
}

/// NIST SP 800-63B-4 caps failures in a row: after `max_code_failures_before_reset` wrong codes
/// since the last right one, codes stay locked however long one waits, until an administrator
/// unlocks them (audited; the person's phones told).
async fn codes_locked_for_good_stay_locked_until_an_administrator_unlocks_them(backend: Backend) {
    let s = setup(
        backend,
        &[
            ("LATCHKEY_SECURITY__MAX_ATTEMPTS_PER_CODE", "10"),
            ("LATCHKEY_SECURITY__MAX_FAILURES_BEFORE_LOCK", "5"),
            ("LATCHKEY_SECURITY__MAX_CODE_FAILURES_BEFORE_RESET", "10"),
        ],
    )
    .await;
    let alice = person_id(&s, "alice").await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        b.submit("sign_in_code", &[("code", wrong)]).await;
    }
    assert_eq!(notice_of(&b.sign_in_page().await), "otp.locked", "the short lock");
    // The short lock ends (moved into the past in the store, rather than waiting 15 minutes).
    exec(&s.app, "UPDATE second_step_failures SET locked_until = 1").await;
    for _ in 0..5 {
        b.submit("sign_in_code", &[("code", wrong)]).await;
    }
    assert_eq!(notice_of(&b.sign_in_page().await), "otp.locked_until_unlocked");
    // Time passes (a day, as far as the store can tell): still locked, even for the right code
    // and for a fresh sign-in, which texts nothing.
    exec(&s.app, "UPDATE second_step_failures SET reset_required_at = reset_required_at - 86400")
        .await;
    b.submit("sign_in_code", &[("code", &code)]).await;
    assert_eq!(notice_of(&b.sign_in_page().await), "otp.locked_until_unlocked");
    let texts = s.standin.texts().len();
    let fresh = Browser::new(&s.app);
    fresh.password("alice", "alice-demo-pw").await;
    assert_eq!(notice_of(&fresh.sign_in_page().await), "otp.locked_until_unlocked");
    assert_eq!(s.standin.texts().len(), texts, "no code texted while locked");
    let locked = audit_details(&s, &alice, "sign_in.locked").await;
    assert!(locked.iter().any(|d| d == "otp.locked_until_unlocked"), "{locked:?}");

    // Nobody but an administrator unlocks.
    let anonymous = Browser::new(&s.app);
    let form = [("id", alice.as_str()), ("reason", "let me in"), ("confirm", "yes")];
    assert_eq!(call(&anonymous, "admin_unlock", &form).await.0, StatusCode::FORBIDDEN);

    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    assert_eq!(second_step_on_page(&admin, &alice).await, "locked-until-unlocked");
    let page = admin.get(&format!("/admin/person/{alice}")).await;
    assert!(page.contains(app::i18n::t_in(app::i18n::Lang::En, "admin.unlock")));
    call(&admin, "admin_unlock", &[("id", &alice), ("reason", " "), ("confirm", "yes")]).await;
    assert_eq!(admin_notice(&admin).await, "admin.reason_required");
    assert_eq!(second_step_on_page(&admin, &alice).await, "locked-until-unlocked");
    call(
        &admin,
        "admin_unlock",
        &[("id", &alice), ("reason", "help desk call"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(admin_notice(&admin).await, "admin.unlocked");
    assert_eq!(second_step_on_page(&admin, &alice).await, "open");
    let unlocked = audit_details(&s, &alice, "admin.unlocked").await;
    assert_eq!(unlocked.len(), 1, "{unlocked:?}");
    assert!(
        unlocked[0].contains("until unlocked after 10 wrong codes: help desk call"),
        "{unlocked:?}"
    );
    let told = app::i18n::t_in(app::i18n::Lang::En, "text.second_step_unlocked_by_admin")
        .replace("{product}", "Latchkey");
    assert_eq!(s.standin.latest_text_to(ALICE_PHONE).map(|t| t.body), Some(told));

    // Alice signs in with a code again at once (a new sign-in: her first one's cooldown does
    // not hold it up); there is nothing left to unlock.
    sign_in_with_code(&s, "alice", "alice-demo-pw", ALICE_PHONE).await;
    call(&admin, "admin_unlock", &[("id", &alice), ("reason", "again"), ("confirm", "yes")]).await;
    assert_eq!(admin_notice(&admin).await, "admin.not_locked");
    assert_eq!(audit_details(&s, &alice, "admin.unlocked").await.len(), 1);
}

/// The administrator's reset to password-only also unlocks codes locked for good.
async fn resetting_to_password_only_unlocks_codes_too(backend: Backend) {
    let s = setup(backend, &[]).await;
    let dave = person_id(&s, "dave").await;
    exec(
        &s.app,
        &format!(
            "INSERT INTO second_step_failures
                 (user_id, consecutive, locked_until, since_success, reset_required_at)
             VALUES ('{dave}', 0, NULL, 100, 1)"
        ),
    )
    .await;
    let d = Browser::new(&s.app);
    d.password("dave", "dave-demo-pw").await;
    d.submit("sign_in_choose_phone", &[("phone", "0")]).await;
    assert_eq!(notice_of(&d.sign_in_page().await), "otp.locked_until_unlocked");

    let admin = sign_in_with_code(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    assert_eq!(second_step_on_page(&admin, &dave).await, "locked-until-unlocked");
    call(&admin, "admin_reset", &[("id", &dave), ("reason", "lost phone"), ("confirm", "yes")])
        .await;
    assert_eq!(admin_notice(&admin).await, "admin.reset_done");
    assert_eq!(second_step_on_page(&admin, &dave).await, "open");
    let reset = audit_details(&s, &dave, "admin.reset").await;
    assert!(reset.iter().any(|d| d.contains("sign-in codes unlocked: lost phone")), "{reset:?}");
}

/// The status page is an operator's diagnostic (issue 23): administrators have it in the
/// navigation and use it, even while the directory is down; anyone else gets the administrator
/// pages' 403 for the page and its server function, and no link. `/readyz` stays for machines.
async fn the_status_page_is_for_administrators_only(backend: Backend) {
    let mut s = setup(backend, &[]).await;
    let ready = reqwest::get(format!("{}/readyz", s.app.url)).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK, "/readyz asks nobody to sign in");

    let anonymous = Browser::new(&s.app);
    let ordinary = sign_in_with_code(&s, "alice", "alice-demo-pw", ALICE_PHONE).await;
    for who in [&anonymous, &ordinary] {
        assert!(!who.get("/").await.contains(r#"href="/status""#), "no Status link");
        let page = who.http.get(format!("{}/status", s.app.url)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        let html = page.text().await.unwrap();
        assert_eq!(notice_of(&html), "admin.forbidden");
        assert!(html.contains("Only administrators can see this."), "{html}");
        assert!(!html.contains(r#"data-testid="database""#), "no check shown: {html}");
        assert!(!html.contains("/api/check_system_status"), "no form to run one: {html}");
        let (status, body) = call(who, "check_system_status", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("admin.forbidden"), "{body}");
    }
    let denied = audit_kinds(&s.app).await;
    assert_eq!(
        denied.iter().filter(|(k, o)| k == "admin.denied" && o == "refused").count(),
        2,
        "alice's two refusals are audited (the anonymous ones only counted)"
    );

    // Signing in from the refusal goes on to the page, with the check rendered by the server.
    assert_eq!(
        anonymous.password("carol", "carol-demo-pw").await,
        format!("{}/sign-in", s.app.url)
    );
    let code = code_sent_to(&s.standin, CAROL_PHONE);
    assert_eq!(anonymous.submit("sign_in_code", &[("code", &code)]).await, "/status");
    let admin = anonymous;
    assert!(admin.get("/").await.contains(r#"href="/status""#), "in an administrator's navigation");
    let page = admin.http.get(format!("{}/status", s.app.url)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("System status"), "{html}");
    assert!(html.contains(r#"data-testid="database" data-ok="true""#), "{html}");
    assert!(html.contains(r#"data-testid="directory" data-ok="true""#), "{html}");
    assert!(html.contains(r#"action="/api/check_system_status"#), "Check again: {html}");
    // Nothing is left for JavaScript to move into place (out-of-order streaming chunks).
    assert!(!html.contains("<template"), "{html}");

    // As the hydrated page calls it.
    let check = || async {
        let (status, body) = call(&admin, "check_system_status", &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    let answer = check().await;
    assert_eq!(
        (answer["database_ok"].as_bool(), answer["directory_ok"].as_bool()),
        (Some(true), Some(true))
    );

    // The directory down: the page still answers an administrator (by the session's word) and
    // says so.
    s.app.directory.stop();
    let answer = check().await;
    assert_eq!(answer["directory_ok"], false, "the page says the directory is down");
    assert_eq!(answer["database_ok"], true);
    assert!(admin.get("/status").await.contains(r#"data-testid="directory" data-ok="false""#));

    // Without JavaScript the form post redirects back to the page it came from.
    let res = admin
        .http
        .post(format!("{}/api/check_system_status", s.app.url))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "text/html")
        .header("referer", format!("{}/status", s.app.url))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let location = res.headers()["location"].to_str().unwrap();
    let back = location.strip_prefix(&s.app.url).unwrap_or(location);
    assert!(back == "/status" || back == "/status?", "back to the page: {location}");
}
