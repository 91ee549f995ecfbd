//! Phone numbers as second factors (issue 14, findings 4 and 8), full stack on SQLite and
//! PostgreSQL: a number that appears in the directory without Latchkey proving it (written by
//! another tool, or by the person) receives no sign-in code until it is verified; the operator's
//! `latchkey phones mark-verified` and the trust setting; and a code proving one number never
//! stores another.

#[macro_use]
mod common;

use common::Backend;
use common::browser::*;
use devkit::slapd;
use devkit::twilio_standin::Fault;

on_both!(
    a_number_written_into_the_directory_is_not_a_factor_until_verified,
    only_unverified_numbers_sign_in_as_having_no_phone,
    only_unverified_numbers_under_policy_required_must_be_proved,
    the_trust_setting_restores_the_old_behaviour,
    the_operator_command_marks_numbers_verified_and_audits,
    removing_a_number_forgets_its_proof,
    adding_cannot_prove_one_number_and_store_another,
    enrolling_cannot_prove_one_number_and_store_another,
);

/// What another tool (or the person, where the directory lets them) does: writes a value into
/// the phone attribute directly, here as the directory's root.
fn ldap_add_mobile(s: &Setup, login: &str, number: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("ldapmodify")
        .args(["-x", "-H", &s.app.directory.url(), "-D", slapd::ROOT_DN, "-w"])
        .arg(&s.app.directory.root_password)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ldapmodify");
    let ldif = format!(
        "dn: uid={login},{}\nchangetype: modify\nadd: mobile\nmobile: {number}\n",
        slapd::PEOPLE_DN
    );
    child.stdin.take().expect("stdin").write_all(ldif.as_bytes()).expect("ldif");
    assert!(child.wait().expect("ldapmodify").success(), "ldapmodify as root");
}

async fn count(s: &Setup, sql: &str) -> i64 {
    let n: (i64,) = match &s.app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
    };
    n.0
}

async fn verified_rows(s: &Setup, number: &str) -> i64 {
    count(s, &format!("SELECT COUNT(*) FROM verified_phones WHERE number = '{number}'")).await
}

/// Signs in with the code texted to `phone` (choosing it when there is a choice).
async fn signed_in_with(s: &Setup, login: &str, password: &str, phone: &str) -> Browser {
    let b = Browser::new(&s.app);
    let before = s.standin.texts().len();
    assert_ne!(b.password(login, password).await, "/", "{login} has 2-step sign-in on");
    let page = b.sign_in_page().await;
    if step_of(&page) == "choose-method" {
        let masked = format!("•••• {}", &phone[phone.len() - 4..]);
        let index = choices(&page).iter().position(|c| *c == masked).expect("the phone is offered");
        b.submit("sign_in_choose_phone", &[("phone", &index.to_string())]).await;
    }
    assert!(s.standin.texts().len() > before, "a code was texted");
    let code = code_sent_to(&s.standin, phone);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    b
}

/// The masked numbers the choose-phone step offers, in order.
fn choices(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("•••• ") {
        let masked = &rest[at..at + "•••• ".len() + 4];
        if !found.iter().any(|f| f == masked) {
            found.push(masked.to_owned());
        }
        rest = &rest[at + masked.len()..];
    }
    found
}

/// The `<li>` of the phone shown as `masked` on the security page.
fn phone_row<'a>(page: &'a str, masked: &str) -> &'a str {
    let start = page.find(&format!("data-phone=\"{masked}\"")).expect("the phone is listed");
    let end = page[start..].find("</li>").map_or(page.len(), |e| start + e);
    &page[start..end]
}

async fn a_number_written_into_the_directory_is_not_a_factor_until_verified(backend: Backend) {
    let s = setup(backend, &[]).await;
    ldap_add_mobile(&s, "alice", "+12015550178");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE, "+12015550178"]);

    // Sign-in: alice's one verified phone is texted at once; the new number is not offered.
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "code", "no choice between a proved and an unproved number");
    assert!(!page.contains("0178"));
    assert!(s.standin.latest_text_to("+12015550178").is_none(), "no code to the unproved number");
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");

    // The security page says so, with a way to verify it.
    let page = b.get("/security").await;
    let row = phone_row(&page, "•••• 0178");
    assert!(row.contains("data-testid=\"not-verified\""), "{row}");
    assert!(row.contains("data-action=\"verify-phone\""), "{row}");
    assert!(!phone_row(&page, "•••• 0123").contains("not-verified"));

    // So does the administrator's view of alice.
    let admin = signed_in_with(&s, "carol", "carol-demo-pw", "+447400123456").await;
    let id = person(&s, "alice").await.id.0;
    let person = admin.get(&format!("/admin/person/{id}")).await;
    assert!(person.contains("data-number=\"+12015550178\" data-verified=\"no\""), "{person}");
    assert!(person.contains("data-number=\"+12015550123\" data-verified=\"yes\""));

    // Verifying: a code to that number, typed back.
    let key = form_key(&page, "data-phone=\"•••• 0178\"");
    let page = b.post_from("/security", "security_verify_start", &[("key", &key)]).await;
    assert_eq!(notice_of(&page), "otp.sent", "{}", notice_of(&page));
    assert_eq!(step_of(&page), "verify-code");
    let code = code_sent_to(&s.standin, "+12015550178");
    let page = b.post_from("/security", "security_verify_code", &[("code", "000000")]).await;
    assert_eq!(notice_of(&page), "otp.wrong");
    assert!(phone_row(&page, "•••• 0178").contains("not-verified"), "a wrong code proves nothing");
    let page = b.post_from("/security", "security_verify_code", &[("code", &code)]).await;
    assert_eq!(notice_of(&page), "security.phone_verified");
    assert!(!page.contains("data-testid=\"not-verified\""));
    assert!(audit_kinds(&s.app).await.contains(&("phone.verified".into(), "verified".into())));
    let person = admin.get(&format!("/admin/person/{id}")).await;
    assert!(person.contains("data-number=\"+12015550178\" data-verified=\"yes\""));

    // Now it is a phone for signing in.
    let c = Browser::new(&s.app);
    c.password("alice", "alice-demo-pw").await;
    let page = c.sign_in_page().await;
    assert_eq!(step_of(&page), "choose-method");
    assert_eq!(choices(&page), vec!["•••• 0123", "•••• 0178"]);
}

async fn only_unverified_numbers_sign_in_as_having_no_phone(backend: Backend) {
    let s = setup(backend, &[]).await;
    ldap_add_mobile(&s, "bob", "+12015550179");
    let texts = s.standin.texts().len();
    // Policy optional, 2-step sign-in off: the password alone, as before.
    let b = Browser::new(&s.app);
    assert_eq!(b.password("bob", "bob-demo-pw").await, "/");
    assert_eq!(s.standin.texts().len(), texts, "nothing texted");
    // And 2-step sign-in cannot be turned on with an unproved number.
    let page = b.post_from("/security", "security_two_factor", &[("on", "on")]).await;
    assert_eq!(notice_of(&page), "security.two_factor.needs_phone");
    assert_eq!(attr(&page, "data-two-factor"), Some("off"));
}

async fn only_unverified_numbers_under_policy_required_must_be_proved(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_POLICY__TWO_FACTOR", "required")]).await;
    ldap_add_mobile(&s, "bob", "+12015550179");
    let b = Browser::new(&s.app);
    b.password("bob", "bob-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "enrol-number", "as for a person with no phone");
    assert!(s.standin.latest_text_to("+12015550179").is_none(), "no code to the unproved number");
    // Proving that same number makes it a factor.
    b.submit("sign_in_enrol_number", &[("number", "+12015550179")]).await;
    let code = code_sent_to(&s.standin, "+12015550179");
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    assert_eq!(directory_phones(&s, "bob").await, vec!["+12015550179"]);
    assert_eq!(verified_rows(&s, "+12015550179").await, 1);
    assert!(!b.get("/security").await.contains("data-testid=\"not-verified\""));
}

async fn the_trust_setting_restores_the_old_behaviour(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_POLICY__TRUST_UNVERIFIED_DIRECTORY_PHONES", "true")]).await;
    ldap_add_mobile(&s, "alice", "+12015550178");
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "choose-method");
    assert_eq!(choices(&page), vec!["•••• 0123", "•••• 0178"]);
    b.submit("sign_in_choose_phone", &[("phone", "1")]).await;
    let code = code_sent_to(&s.standin, "+12015550178");
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    // Still said to be unverified (it is), though trusted.
    let page = b.get("/security").await;
    assert!(phone_row(&page, "•••• 0178").contains("not-verified"));
}

async fn the_operator_command_marks_numbers_verified_and_audits(backend: Backend) {
    let s = setup(backend, &[]).await;
    ldap_add_mobile(&s, "alice", "+12015550178");
    ldap_add_mobile(&s, "dave", "+12015550177");
    let env = common::env_for(&s.app.directory, &s.app.config.database.url, &[]);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LATCHKEY_LOG", "warn")
            .env("USER", "ops-person")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run latchkey");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    let marked = "SELECT COUNT(*) FROM audit_events WHERE kind = 'phone.marked_verified'";

    let out = run(&["phones", "mark-verified", "--login", "alice"]);
    assert!(out.contains("alice: marked •••• 0178 verified"), "{out}");
    assert!(out.contains("1 number(s) of 1 person(s)"), "{out}");
    assert_eq!(verified_rows(&s, "+12015550178").await, 1);
    assert_eq!(verified_rows(&s, "+12015550177").await, 0, "only alice's");
    let (subject, detail, agent): (String, String, String) = {
        let sql = "SELECT subject_id, detail, user_agent FROM audit_events
                   WHERE kind = 'phone.marked_verified'";
        match &s.app.db {
            server::db::Db::Sqlite(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
            server::db::Db::Postgres(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
        }
    };
    assert_eq!(subject, person(&s, "alice").await.id.0);
    assert_eq!(detail, "latchkey phones mark-verified --login alice: •••• 0178");
    assert!(agent.contains("ops-person"), "the operator is named: {agent}");
    let page = signed_in_with(&s, "alice", "alice-demo-pw", "+12015550178").await;
    let security = page.get("/security").await;
    assert!(security.contains("Phone marked verified by an operator"), "in alice's activity");

    // Everyone: dave's number now; alice's (and everyone's seeded numbers) are not marked again.
    let out = run(&["phones", "mark-verified", "--all"]);
    assert!(out.contains("dave: marked •••• 0177 verified"), "{out}");
    assert!(out.contains("1 number(s) of 1 person(s)"), "{out}");
    assert_eq!(count(&s, marked).await, 2, "one event per person marked");
    let b = Browser::new(&s.app);
    b.password("dave", "dave-demo-pw").await;
    assert!(choices(&b.sign_in_page().await).contains(&"•••• 0177".to_owned()));
}

async fn removing_a_number_forgets_its_proof(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "0")]).await;
    let b = signed_in_with(&s, "alice", "alice-demo-pw", ALICE_PHONE).await;
    b.post_from("/security", "security_add_start", &[]).await;
    b.post_from("/security", "security_add_number", &[("region", "US"), ("number", "2015550188")])
        .await;
    let code = code_sent_to(&s.standin, "+12015550188");
    let page =
        b.post_from("/security", "security_add_verify", &[("code", &code), ("nickname", "")]).await;
    assert_eq!(notice_of(&page), "security.phone_added");
    assert!(!phone_row(&page, "•••• 0188").contains("not-verified"), "added means proved");
    assert_eq!(verified_rows(&s, "+12015550188").await, 1);
    let key = form_key(&page, "data-phone=\"•••• 0188\"");
    b.post_from("/security", "security_remove", &[("key", &key)]).await;
    let page = b.post_from("/security", "security_remove_confirm", &[("key", &key)]).await;
    assert_eq!(notice_of(&page), "security.phone_removed");
    assert_eq!(verified_rows(&s, "+12015550188").await, 0);
    // Written back by another tool, it is unproved again.
    ldap_add_mobile(&s, "alice", "+12015550188");
    let page = b.get("/security").await;
    assert!(phone_row(&page, "•••• 0188").contains("not-verified"));

    // An administrator's removal forgets it too.
    let admin = signed_in_with(&s, "carol", "carol-demo-pw", "+447400123456").await;
    let id = person(&s, "dave").await.id.0;
    assert_eq!(verified_rows(&s, "+447400654321").await, 1);
    let person = admin.get(&format!("/admin/person/{id}")).await;
    let key = form_key(&person, "data-number=\"+447400654321\"");
    let res = admin
        .http
        .post(format!("{}/api/admin_remove_phone", s.app.url))
        .header("sec-fetch-site", "same-origin")
        .form(&[("id", id.as_str()), ("key", &key), ("reason", "lost"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    assert_eq!(directory_phones(&s, "dave").await, vec!["+12015550142"]);
    assert_eq!(verified_rows(&s, "+447400654321").await, 0);
}

/// Finding 8 on the security page: two "add" posts race in one session. The one for B stalls at
/// Twilio after its code is stored; the one for A stores its (newer) code and finishes; then B's
/// post ends and leaves the flow on B. A's code must not put B into the directory.
async fn adding_cannot_prove_one_number_and_store_another(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "0")]).await;
    let b = signed_in_with(&s, "alice", "alice-demo-pw", ALICE_PHONE).await;
    b.post_from("/security", "security_add_start", &[]).await;
    let requests = s.standin.requests();
    s.standin.fail_next(1, Fault::Stall { millis: 1500 });
    let form_b = [("region", "US"), ("number", "2015550161")];
    let post_b = b.post_from("/security", "security_add_number", &form_b);
    let post_a = async {
        // B's code is stored once its text reaches the stand-in.
        while s.standin.requests() == requests {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        b.post_from(
            "/security",
            "security_add_number",
            &[("region", "US"), ("number", "2015550162")],
        )
        .await
    };
    let (_, page_a) = tokio::join!(post_b, post_a);
    assert_eq!(notice_of(&page_a), "otp.sent");
    let page = b.get("/security").await;
    assert!(page.contains("•••• 0161"), "the race left the flow on B");
    let code_a = code_sent_to(&s.standin, "+12015550162");

    let page = b
        .post_from("/security", "security_add_verify", &[("code", &code_a), ("nickname", "")])
        .await;
    assert_eq!(notice_of(&page), "security.out_of_order");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE], "B was never proved");
    assert_eq!(verified_rows(&s, "+12015550161").await, 0);
    assert_eq!(verified_rows(&s, "+12015550162").await, 0);
    let kinds = audit_kinds(&s.app).await;
    assert!(kinds.contains(&("security.code".into(), "rejected".into())), "{kinds:?}");
    // Sending again goes to B, whose own code then adds it.
    let page = b.post_from("/security", "security_resend", &[]).await;
    assert_eq!(notice_of(&page), "otp.sent");
    let code_b = code_sent_to(&s.standin, "+12015550161");
    let page = b
        .post_from("/security", "security_add_verify", &[("code", &code_b), ("nickname", "")])
        .await;
    assert_eq!(notice_of(&page), "security.phone_added");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE, "+12015550161"]);
}

/// Finding 8 at sign-in: the enrolment flow moved to number B (as a racing post leaves it) while
/// the code for A is the one outstanding. Typing A's code must not enrol B.
async fn enrolling_cannot_prove_one_number_and_store_another(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_POLICY__TWO_FACTOR", "required")]).await;
    let b = Browser::new(&s.app);
    b.password("bob", "bob-demo-pw").await;
    assert_eq!(step_of(&b.sign_in_page().await), "enrol-number");
    b.submit("sign_in_enrol_number", &[("number", "+12015550171")]).await;
    let code_a = code_sent_to(&s.standin, "+12015550171");
    // The state a racing post for B leaves: the flow names B, the newest code is A's.
    let bob = person(&s, "bob").await.id.0;
    let state: (String,) = {
        let sql = format!("SELECT state FROM sign_in_flows WHERE user_id = '{bob}'");
        match &s.app.db {
            server::db::Db::Sqlite(p, _) => sqlx::query_as(&sql).fetch_one(p).await.unwrap(),
            server::db::Db::Postgres(p, _) => sqlx::query_as(&sql).fetch_one(p).await.unwrap(),
        }
    };
    assert!(state.0.contains("+12015550171"), "{}", state.0);
    let moved = state.0.replace("+12015550171", "+12015550172");
    exec(&s.app, &format!("UPDATE sign_in_flows SET state = '{moved}' WHERE user_id = '{bob}'"))
        .await;

    let res = b.post("sign_in_code", &[("code", &code_a)]).await;
    assert_ne!(res.headers()["location"], "/", "not signed in");
    assert_eq!(notice_of(&b.sign_in_page().await), "sign_in.out_of_order");
    assert!(directory_phones(&s, "bob").await.is_empty(), "neither number was stored");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM verified_phones").await, 5, "the seeded five");
    assert_eq!(signed_in_as(&b).await, None);
}
