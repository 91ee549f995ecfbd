//! The security page, full stack: each action through HTTP as a browser without JavaScript, on
//! SQLite and PostgreSQL, with the directory entry itself checked after each step.

#[macro_use]
mod common;

use common::Backend;
use common::browser::*;
use domain::{directory::Username, ports::Directory};
use server::directory::LdapDirectory;

on_both!(
    the_page_shows_phones_two_factor_and_activity,
    adding_a_phone_proves_it_then_writes_the_directory,
    numbers_in_use_and_abandoned_adds_write_nothing,
    an_add_started_again_is_texted_and_a_resend_still_waits,
    rename_and_prefer,
    removing_a_phone_asks_first_and_may_turn_two_factor_off,
    policy_required_refuses_removing_the_last_phone,
    old_sign_ins_must_confirm_it_is_them,
    two_factor_on_and_off,
    remembered_browsers_can_be_forgotten,
    two_tabs_adding_at_once_lose_nothing,
    numbers_added_elsewhere_show_unnamed_and_stale_metadata_is_pruned,
);

/// The raw values of the phone attribute, as other directory consumers read them.
fn raw_phone_values(s: &Setup, login: &str) -> Vec<String> {
    let out = std::process::Command::new("ldapsearch")
        .args(["-x", "-LLL", "-H", &s.app.directory.url(), "-D", devkit::slapd::ROOT_DN, "-w"])
        .arg(&s.app.directory.root_password)
        .args(["-b", devkit::slapd::PEOPLE_DN, &format!("(uid={login})"), "mobile"])
        .output()
        .expect("ldapsearch");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("mobile: ").map(str::to_owned))
        .collect()
}

/// Signs in through the whole flow (code from the stand-in when asked).
async fn signed_in(s: &Setup, login: &str, password: &str) -> Browser {
    let b = Browser::new(&s.app);
    let texts = s.standin.texts().len();
    if b.password(login, password).await != "/" {
        let page = b.sign_in_page().await;
        if step_of(&page) == "choose-method" {
            b.submit("sign_in_choose_phone", &[("phone", "0")]).await;
        }
        let text = s.standin.texts().into_iter().skip(texts).last().expect("a code was texted");
        let code = code_sent_to(&s.standin, &text.to);
        assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    }
    b
}

async fn security_page(b: &Browser) -> String {
    b.get("/security").await
}

/// The opaque form key of the phone shown as `masked` on the page.
fn phone_key(html: &str, masked: &str) -> String {
    form_key(html, &format!("data-phone=\"{masked}\""))
}

async fn post_security(b: &Browser, endpoint: &str, form: &[(&str, &str)]) -> String {
    b.post_from("/security", endpoint, form).await
}

async fn add_phone(s: &Setup, b: &Browser, national: &str, e164: &str, nickname: &str) -> String {
    post_security(b, "security_add_start", &[]).await;
    let page =
        post_security(b, "security_add_number", &[("region", "US"), ("number", national)]).await;
    assert_eq!(notice_of(&page), "otp.sent", "{}", notice_of(&page));
    let code = code_sent_to(&s.standin, e164);
    post_security(b, "security_add_verify", &[("code", &code), ("nickname", nickname)]).await
}

async fn the_page_shows_phones_two_factor_and_activity(backend: Backend) {
    let s = setup(backend, &[]).await;
    let signed_out = Browser::new(&s.app);
    assert!(security_page(&signed_out).await.contains("data-testid=\"security-signed-out\""));

    let b = signed_in(&s, "alice", "alice-demo-pw").await;
    let page = security_page(&b).await;
    assert_eq!(attr(&page, "data-two-factor"), Some("on"));
    assert!(page.contains("data-phone=\"•••• 0123\""));
    assert!(!page.contains(ALICE_PHONE), "the number itself is not in the page");
    assert!(page.contains("Signed in"), "activity lists the sign-in");
    assert!(page.contains("Sign-in code texted"));
}

async fn adding_a_phone_proves_it_then_writes_the_directory(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "alice", "alice-demo-pw").await;
    let page = add_phone(&s, &b, "(201) 555-0188", "+12015550188", "Work phone").await;
    assert_eq!(notice_of(&page), "security.phone_added");
    assert!(page.contains("Work phone"));
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE, "+12015550188"]);
    assert_eq!(raw_phone_values(&s, "alice"), vec![ALICE_PHONE, "+12015550188"], "E.164 in LDAP");
    // The existing phone was told.
    let notices: Vec<_> = s
        .standin
        .texts()
        .into_iter()
        .filter(|t| t.to == ALICE_PHONE && t.body.contains("ending 0188"))
        .collect();
    assert_eq!(notices.len(), 1, "one notice to the other phone");
    assert!(audit_kinds(&s.app).await.contains(&("phone.added".into(), "added".into())));
}

async fn numbers_in_use_and_abandoned_adds_write_nothing(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "alice", "alice-demo-pw").await;
    post_security(&b, "security_add_start", &[]).await;
    // Dave's number, typed nationally in the UK.
    let page =
        post_security(&b, "security_add_number", &[("region", "GB"), ("number", "07400 654321")])
            .await;
    assert_eq!(notice_of(&page), "security.number_in_use");
    let page =
        post_security(&b, "security_add_number", &[("region", "US"), ("number", ALICE_PHONE)])
            .await;
    assert_eq!(notice_of(&page), "security.already_yours");
    let page =
        post_security(&b, "security_add_number", &[("region", "US"), ("number", "1-900-555-0100")])
            .await;
    assert_eq!(notice_of(&page), "phone.premium_rate");

    // A code is sent, then the person cancels: nothing reaches the directory.
    post_security(&b, "security_add_number", &[("region", "US"), ("number", "201 555 0177")]).await;
    let code = code_sent_to(&s.standin, "+12015550177");
    post_security(&b, "security_cancel", &[]).await;
    let page = post_security(&b, "security_add_verify", &[("code", &code), ("nickname", "")]).await;
    assert_eq!(notice_of(&page), "security.out_of_order");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE]);
}

/// Adding a phone, cancelled and started again at once: the new flow's code is texted (issue
/// 23: the cooldown is the flow's); "send a new code" in it right away still waits.
async fn an_add_started_again_is_texted_and_a_resend_still_waits(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "alice", "alice-demo-pw").await;
    let to = "+12015550177";
    let start = || async {
        post_security(&b, "security_add_start", &[]).await;
        post_security(&b, "security_add_number", &[("region", "US"), ("number", "201 555 0177")])
            .await
    };
    assert_eq!(notice_of(&start().await), "otp.sent");
    post_security(&b, "security_cancel", &[]).await;
    let texted = |s: &Setup| s.standin.texts().iter().filter(|t| t.to == to).count();
    assert_eq!(texted(&s), 1);

    let page = start().await;
    assert_eq!((step_of(&page), notice_of(&page)), ("add-code", "otp.sent"), "texted at once");
    assert_eq!(texted(&s), 2);
    let code = code_sent_to(&s.standin, to);
    let page = post_security(&b, "security_resend", &[]).await;
    assert_eq!(notice_of(&page), "otp.cooldown");
    assert!(page.contains("Try again in"), "the wait is shown: {page}");
    assert_eq!(texted(&s), 2, "a resend at once texts nothing");
    let page =
        post_security(&b, "security_add_verify", &[("code", &code), ("nickname", "Desk")]).await;
    assert_eq!(notice_of(&page), "security.phone_added");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE, to]);
}

async fn rename_and_prefer(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "dave", "dave-demo-pw").await;
    let page = security_page(&b).await;
    let us = phone_key(&page, "•••• 0142");
    let uk = phone_key(&page, "•••• 4321");
    let page =
        post_security(&b, "security_rename", &[("key", &us), ("nickname", "  Mobile 📱 ")]).await;
    assert_eq!(notice_of(&page), "security.phone_renamed");
    assert!(page.contains("Mobile 📱"));
    let page =
        post_security(&b, "security_rename", &[("key", &us), ("nickname", &"x".repeat(41))]).await;
    assert_eq!(notice_of(&page), "security.nickname_too_long");

    let page = post_security(&b, "security_prefer", &[("key", &uk)]).await;
    assert_eq!(notice_of(&page), "security.phone_preferred");
    let preferred_at = page.find("data-testid=\"preferred\"").expect("a preferred badge");
    assert!(
        page.find("•••• 4321").unwrap() < preferred_at
            && preferred_at < page.find("•••• 0142").unwrap()
    );
    // Exactly one preferred, whatever was preferred before.
    post_security(&b, "security_prefer", &[("key", &us)]).await;
    let page = post_security(&b, "security_prefer", &[("key", &uk)]).await;
    assert_eq!(page.matches("data-testid=\"preferred\"").count(), 1);

    // Sign-in offers the preferred phone first.
    let c = Browser::new(&s.app);
    c.password("dave", "dave-demo-pw").await;
    let choose = c.sign_in_page().await;
    assert!(choose.find("•••• 4321").unwrap() < choose.find("•••• 0142").unwrap());
    // A key that is not one of the person's phones.
    let page = post_security(&b, "security_prefer", &[("key", "0123456789abcdef")]).await;
    assert_eq!(notice_of(&page), "security.no_such_phone");
}

async fn removing_a_phone_asks_first_and_may_turn_two_factor_off(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "alice", "alice-demo-pw").await;
    let key = phone_key(&security_page(&b).await, "•••• 0123");
    let page = post_security(&b, "security_remove", &[("key", &key)]).await;
    assert_eq!(step_of(&page), "confirm-remove");
    assert!(page.contains("turns 2-step sign-in off"), "the consequence is said plainly");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE], "nothing removed yet");

    let page = post_security(&b, "security_remove_confirm", &[("key", &key)]).await;
    assert_eq!(notice_of(&page), "security.phone_removed_two_factor_off");
    assert!(directory_phones(&s, "alice").await.is_empty());
    assert!(raw_phone_values(&s, "alice").is_empty());
    assert_eq!(attr(&page, "data-two-factor"), Some("off"));
    // Removing it again is not a failure of the directory: the phone is simply gone.
    let page = post_security(&b, "security_remove_confirm", &[("key", &key)]).await;
    assert_eq!(notice_of(&page), "security.no_such_phone");
}

async fn policy_required_refuses_removing_the_last_phone(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_POLICY__TWO_FACTOR", "required")]).await;
    let b = signed_in(&s, "alice", "alice-demo-pw").await;
    let key = phone_key(&security_page(&b).await, "•••• 0123");
    let page = post_security(&b, "security_remove", &[("key", &key)]).await;
    assert_eq!(notice_of(&page), "security.required_by_policy");
    let page = post_security(&b, "security_remove_confirm", &[("key", &key)]).await;
    assert_eq!(notice_of(&page), "security.required_by_policy");
    assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE]);
    let page = post_security(&b, "security_two_factor", &[("on", "off")]).await;
    assert_eq!(notice_of(&page), "security.required_by_policy");
}

async fn old_sign_ins_must_confirm_it_is_them(backend: Backend) {
    // Alice is texted at sign-in and again, within seconds, to confirm: another flow, so the
    // sign-in's cooldown does not hold it up.
    let s = setup(backend, &[("LATCHKEY_SECURITY__REAUTH_WINDOW_SECS", "1")]).await;
    // Password only (bob): the password is enough to confirm.
    let b = signed_in(&s, "bob", "bob-demo-pw").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let page = post_security(&b, "security_add_start", &[]).await;
    assert_eq!(notice_of(&page), "security.reauth_needed");
    assert_eq!(step_of(&page), "reauth-password");
    let page = post_security(&b, "security_reauth_password", &[("password", "wrong")]).await;
    assert_eq!(notice_of(&page), "security.wrong_password");
    let before = b.session_id();
    let page = post_security(&b, "security_reauth_password", &[("password", "bob-demo-pw")]).await;
    assert_eq!(notice_of(&page), "security.reauth_done");
    assert_eq!(step_of(&page), "add-number", "what the person was doing goes on");
    assert_ne!(b.session_id(), before, "a step up cycles the session id");

    // 2-step sign-in on (alice): the password, then a code to her phone.
    let a = signed_in(&s, "alice", "alice-demo-pw").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let key = phone_key(&security_page(&a).await, "•••• 0123");
    let page = post_security(&a, "security_remove", &[("key", &key)]).await;
    assert_eq!(step_of(&page), "reauth-password");
    let texts = s.standin.texts().len();
    let page =
        post_security(&a, "security_reauth_password", &[("password", "alice-demo-pw")]).await;
    assert_eq!(step_of(&page), "reauth-code");
    assert_eq!(s.standin.texts().len(), texts + 1);
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    let page = post_security(&a, "security_reauth_code", &[("code", &code)]).await;
    assert_eq!(step_of(&page), "confirm-remove", "back to the removal, now confirmed");
    assert!(audit_kinds(&s.app).await.contains(&("reauth".into(), "password_and_sms".into())));
}

async fn two_factor_on_and_off(backend: Backend) {
    let s = setup(backend, &[]).await;
    let bob = signed_in(&s, "bob", "bob-demo-pw").await;
    let page = post_security(&bob, "security_two_factor", &[("on", "on")]).await;
    assert_eq!(notice_of(&page), "security.two_factor.needs_phone");
    assert_eq!(attr(&page, "data-two-factor"), Some("off"));

    let alice = signed_in(&s, "alice", "alice-demo-pw").await;
    let page = post_security(&alice, "security_two_factor", &[("on", "off")]).await;
    assert_eq!(notice_of(&page), "security.two_factor.turned_off");
    assert_eq!(attr(&page, "data-two-factor"), Some("off"));
    // Now the password alone signs alice in.
    let c = Browser::new(&s.app);
    assert_eq!(c.password("alice", "alice-demo-pw").await, "/");
    let page = post_security(&alice, "security_two_factor", &[("on", "on")]).await;
    assert_eq!(attr(&page, "data-two-factor"), Some("on"));
    let kinds = audit_kinds(&s.app).await;
    assert!(kinds.contains(&("two_factor.off".into(), "changed".into())));
    assert!(kinds.contains(&("two_factor.on".into(), "changed".into())));
}

async fn remembered_browsers_can_be_forgotten(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    b.post("sign_in_code", &[("code", &code), ("remember", "on")]).await;
    let page = security_page(&b).await;
    assert!(page.contains("Chrome on Linux"));
    let page = post_security(&b, "security_forget_browser", &[]).await;
    assert_eq!(notice_of(&page), "security.browsers_forgotten");
    assert!(!page.contains("Chrome on Linux"));
    // Back to asking for a code in that browser.
    b.submit("sign_out", &[]).await;
    assert_ne!(b.password("alice", "alice-demo-pw").await, "/");
}

async fn two_tabs_adding_at_once_lose_nothing(backend: Backend) {
    // Both tabs sign in with a code to the same phone, one right after the other.
    let s = setup(backend, &[("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "0")]).await;
    let tab1 = signed_in(&s, "alice", "alice-demo-pw").await;
    let tab2 = signed_in(&s, "alice", "alice-demo-pw").await;
    for (tab, national) in [(&tab1, "201-555-0161"), (&tab2, "201-555-0162")] {
        post_security(tab, "security_add_start", &[]).await;
        post_security(tab, "security_add_number", &[("region", "US"), ("number", national)]).await;
    }
    let code1 = code_sent_to(&s.standin, "+12015550161");
    let code2 = code_sent_to(&s.standin, "+12015550162");
    let form1 = [("code", code1.as_str()), ("nickname", "One")];
    let form2 = [("code", code2.as_str()), ("nickname", "Two")];
    let (p1, p2) = tokio::join!(
        post_security(&tab1, "security_add_verify", &form1),
        post_security(&tab2, "security_add_verify", &form2),
    );
    assert_eq!(notice_of(&p1), "security.phone_added");
    assert_eq!(notice_of(&p2), "security.phone_added");
    let mut phones = directory_phones(&s, "alice").await;
    phones.sort();
    assert_eq!(phones, vec![ALICE_PHONE, "+12015550161", "+12015550162"]);
    // And removing one from one tab leaves the other.
    let page = security_page(&tab1).await;
    let key = phone_key(&page, "•••• 0161");
    post_security(&tab1, "security_remove", &[("key", &key)]).await;
    post_security(&tab1, "security_remove_confirm", &[("key", &key)]).await;
    let mut phones = directory_phones(&s, "alice").await;
    phones.sort();
    assert_eq!(phones, vec![ALICE_PHONE, "+12015550162"]);
}

async fn numbers_added_elsewhere_show_unnamed_and_stale_metadata_is_pruned(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "bob", "bob-demo-pw").await;
    let directory = LdapDirectory::new(s.app.config.directory.clone());
    let bob = directory.find_by_login(&Username::parse("bob").unwrap()).await.unwrap().unwrap();
    // Another tool wrote a Casa-style digits-only value.
    let number = domain::phone::PhonePolicy::from_directory("12015550190").unwrap();
    directory.add_phone(&bob, &number).await.unwrap();
    exec(
        &s.app,
        &format!(
            "INSERT INTO phone_settings (user_id, number, nickname, added_at) VALUES ('{}', '+12015550999', 'Gone', 0)",
            bob.id.as_str()
        ),
    )
    .await;
    let page = security_page(&b).await;
    assert!(page.contains("data-phone=\"•••• 0190\""));
    assert!(page.contains(">Unnamed<"));
    assert!(!page.contains("Gone"), "metadata without a directory value is not shown");
    let sql = "SELECT COUNT(*) FROM phone_settings WHERE number = '+12015550999'";
    let left: (i64,) = match &s.app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
    };
    assert_eq!(left.0, 0, "and it is pruned");
    let key = phone_key(&page, "•••• 0190");
    let page = post_security(&b, "security_rename", &[("key", &key), ("nickname", "Desk")]).await;
    assert!(page.contains("Desk"));
    post_security(&b, "security_remove", &[("key", &key)]).await;
    post_security(&b, "security_remove_confirm", &[("key", &key)]).await;
    assert!(raw_phone_values(&s, "bob").is_empty(), "the digits-only value is removed too");
}
