//! Signing in, full stack: the real server on a socket, a real slapd, SQLite and PostgreSQL, and
//! texts through the Twilio stand-in. The client behaves like a browser without JavaScript:
//! plain form posts with a cookie jar, following the redirects by hand.

#[macro_use]
mod common;

use common::Backend;
use common::browser::*;
use devkit::twilio_standin::Fault;
use reqwest::StatusCode;

on_both!(
    password_only_sign_in_cycles_the_session,
    two_step_sign_in_with_one_phone,
    unknown_user_and_wrong_password_read_the_same,
    repeated_failures_are_throttled_then_locked,
    a_wrong_code_says_so_and_counts,
    an_expired_code_is_refused,
    a_used_code_cannot_be_replayed,
    several_phones_are_offered_masked_preferred_first,
    a_refused_text_is_never_reported_as_sent,
    a_remembered_browser_skips_the_code,
    required_policy_makes_a_person_without_phone_enrol_one,
    cross_site_sign_in_posts_are_refused,
    sign_out_ends_the_session,
    notices_travel_in_a_sealed_cookie_and_store_nothing,
    metrics_count_sign_ins_codes_and_latencies,
    signing_in_goes_on_to_the_page_asked_for,
    signing_in_again_at_once_is_texted_and_a_resend_still_waits,
    a_flow_id_planted_or_seen_before_the_password_is_worth_nothing_after_it,
);

/// Sign in, sign out, sign in again at once: the new sign-in's code is texted (issue 23: the
/// cooldown is the flow's, for "send a new code", not the number's). Within that sign-in, "send
/// a new code" right away still waits, with the wait shown, and nothing is texted.
async fn signing_in_again_at_once_is_texted_and_a_resend_still_waits(backend: Backend) {
    // The default 60 s cooldown.
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    b.submit("sign_out", &[]).await;
    assert_eq!(signed_in_as(&b).await, None);

    let texts = s.standin.texts().len();
    assert_eq!(b.password("alice", "alice-demo-pw").await, format!("{}/sign-in", s.app.url));
    let page = b.sign_in_page().await;
    assert_eq!((step_of(&page), notice_of(&page)), ("code", "otp.sent"));
    assert_eq!(s.standin.texts().len(), texts + 1, "the new sign-in's code was texted");
    let second = code_sent_to(&s.standin, ALICE_PHONE);

    b.submit("sign_in_resend", &[]).await;
    let page = b.sign_in_page().await;
    assert_eq!((step_of(&page), notice_of(&page)), ("code", "otp.cooldown"));
    assert!(page.contains("Try again in"), "the wait is shown: {page}");
    assert_eq!(s.standin.texts().len(), texts + 1, "a resend at once texts nothing");
    assert_eq!(b.submit("sign_in_code", &[("code", &second)]).await, "/");
    let kinds = audit_kinds(&s.app).await;
    assert_eq!(kinds.iter().filter(|(k, o)| k == "sign_in.code_sent" && o == "sent").count(), 2);
    assert_eq!(kinds.iter().filter(|(k, o)| k == "sign_in.code_sent" && o == "refused").count(), 1);
}

/// A signed-out visitor to `/security` or `/admin/…` goes on there after signing in (local
/// pages only); without such a visit, home.
async fn signing_in_goes_on_to_the_page_asked_for(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    assert!(b.get("/security").await.contains("/sign-in"), "asked to sign in");
    assert_eq!(b.password("bob", "bob-demo-pw").await, "/security", "back where bob was going");
    // Once: the next sign-in goes home.
    b.submit("sign_out", &[]).await;
    assert_eq!(b.password("bob", "bob-demo-pw").await, "/");

    let admin = Browser::new(&s.app);
    let _ = admin.http.get(format!("{}/admin/audit", s.app.url)).send().await.unwrap();
    assert_eq!(admin.password("carol", "carol-demo-pw").await, format!("{}/sign-in", s.app.url));
    let code = code_sent_to(&s.standin, "+447400123456");
    assert_eq!(admin.submit("sign_in_code", &[("code", &code)]).await, "/admin/audit");

    // A server-function call is not a page: it never becomes the return address.
    let other = Browser::new(&s.app);
    let _ = other.post("security_view", &[]).await;
    assert_eq!(other.password("bob", "bob-demo-pw").await, "/");
}

async fn password_only_sign_in_cycles_the_session(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    // A failed try gives the browser a session (it carries the notice).
    assert_eq!(b.password("bob", "wrong").await, format!("{}/sign-in", s.app.url));
    let before = b.session_id().expect("a session after the first post");
    let refused = b.sign_in_page().await;
    assert_eq!(notice_of(&refused), "sign_in.failed");
    assert!(refused.contains(r#"value="bob""#), "the login is filled in again");
    assert!(!b.sign_in_page().await.contains(r#"value="bob""#), "once: a reload forgets it");

    assert_eq!(b.password("bob", "bob-demo-pw").await, "/");
    let after = b.session_id().expect("session");
    assert_ne!(before, after, "the session id changes when the password is accepted");
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("password"));
    assert!(b.get("/").await.contains("Bob Brown"));
    // Signed in, the sign-in page sends the person on.
    assert_eq!(step_of(&b.sign_in_page().await), "signed-in");
    assert!(s.standin.texts().is_empty(), "no second step, no text");
}

async fn two_step_sign_in_with_one_phone(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    let _ = b.get("/sign-in").await;
    assert_eq!(b.session_id(), None, "the sign-in page stores nothing");
    b.password("alice", "alice-demo-pw").await;
    // Between the password and the code the flow is the browser's, in a cookie of its own: no
    // session is stored for it (issue 19).
    assert_eq!(b.session_id(), None, "no session before the last step");
    let flow = b.cookie("latchkey-flow").expect("the flow cookie");
    assert!(domain::sign_in::is_flow_id(&flow), "{flow}");

    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "code", "one phone: the code is sent at once");
    assert_eq!(notice_of(&page), "otp.sent");
    assert!(page.contains("autocomplete=\"one-time-code\""));
    assert!(page.contains("inputmode=\"numeric\""));
    assert!(page.contains("•••• 0123"), "the phone is shown masked");
    assert!(!page.contains(ALICE_PHONE), "never the whole number");
    assert_eq!(signed_in_as(&b).await, None, "not signed in before the code");

    let code = code_sent_to(&s.standin, ALICE_PHONE);
    assert_eq!(code.len(), 6);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    assert!(b.session_id().is_some(), "the last step stores the signed-in session");
    assert_eq!(b.cookie("latchkey-flow"), None, "the flow's cookie goes with the flow");
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("password_and_sms"));

    let kinds = audit_kinds(&s.app).await;
    for expected in [
        ("sign_in.password", "accepted"),
        ("sign_in.code_sent", "sent"),
        ("sign_in.code", "accepted"),
        ("sign_in.success", "password_and_sms"),
    ] {
        assert!(
            kinds.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {kinds:?}"
        );
    }
}

async fn unknown_user_and_wrong_password_read_the_same(backend: Backend) {
    let s = setup(backend, &[]).await;
    // The password step has nothing interactive: no island, so the browser loads no wasm.
    let fresh = Browser::new(&s.app).sign_in_page().await;
    assert!(!fresh.contains("<leptos-island"), "no island on the password step: {fresh}");
    let mut pages = Vec::new();
    for (login, password) in
        [("alice", "not-her-password"), ("nobody", "not-her-password"), ("*)(uid=*", "x")]
    {
        let b = Browser::new(&s.app);
        let started = std::time::Instant::now();
        let location = b.password(login, password).await;
        let took = started.elapsed();
        println!("{login:>10}: refused in {took:?}");
        assert_eq!(location, format!("{}/sign-in", s.app.url));
        pages.push(b.sign_in_page().await);
    }
    assert_eq!(notice_of(&pages[0]), "sign_in.failed");
    // Each page fills in the login its person typed, so it is not retyped; otherwise the pages
    // differ only in their script nonces. The pages carry no serialized data (only islands
    // would).
    let unfilled: Vec<String> = pages
        .iter()
        .zip(["alice", "nobody", "*)(uid=*"])
        .map(|(page, login)| {
            let field = format!(r#"value="{login}""#);
            assert!(page.contains(&field), "{login} filled in");
            assert!(!page.contains(&format!(r#"\"login\":\"{login}\""#)), "no serialized data");
            without_nonces(page).replace(&field, "")
        })
        .collect();
    assert!(unfilled[0] == unfilled[1], "unknown user and wrong password: the same page");
    assert!(unfilled[0] == unfilled[2], "an LDAP filter as the login: the same page");
    let kinds = audit_kinds(&s.app).await;
    assert_eq!(kinds.iter().filter(|(k, o)| k == "sign_in.password" && o == "rejected").count(), 3);

    // The echoed login is data, never markup.
    let b = Browser::new(&s.app);
    let hostile = r#"x"><script>alert(1)</script><!--"#;
    b.password(hostile, "x").await;
    let page = b.sign_in_page().await;
    assert!(page.contains("alert(1)"), "the login is echoed, escaped");
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(!page.contains(r#"x"><"#), "{page}");
}

async fn repeated_failures_are_throttled_then_locked(backend: Backend) {
    let s = setup(
        backend,
        &[
            ("LATCHKEY_SECURITY__LOGIN_FAILURES_BEFORE_DELAY", "2"),
            ("LATCHKEY_SECURITY__LOGIN_FAILURES_BEFORE_LOCK", "4"),
        ],
    )
    .await;
    let b = Browser::new(&s.app);
    b.password("bob", "wrong-1").await;
    assert_eq!(notice_of(&b.sign_in_page().await), "sign_in.failed");
    b.password("bob", "wrong-2").await; // second failure: a 2 s wait from now
    b.password("bob", "bob-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(notice_of(&page), "sign_in.throttled", "even the right password waits");
    assert!(page.contains("Try again in"), "the wait is shown");
    assert_eq!(signed_in_as(&b).await, None);

    // The same login typed differently shares the counter; an unknown login is throttled too.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    b.password(" BOB ", "wrong-3").await; // third: 4 s
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    b.password("bob", "wrong-4").await; // fourth: locked for login_lock_secs
    b.password("bob", "bob-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(notice_of(&page), "sign_in.throttled");
    assert!(page.contains("15 minutes"), "the lock's length is shown");
    let kinds = audit_kinds(&s.app).await;
    assert!(kinds.iter().any(|(k, o)| k == "sign_in.locked" && o == "password_throttle"));

    // Another login from elsewhere is not affected by bob's lock… (the IP has room left)
    let other = Browser::new(&s.app);
    assert_eq!(other.password("alice", "alice-demo-pw").await, format!("{}/sign-in", s.app.url));
    assert_eq!(step_of(&other.sign_in_page().await), "code");
}

async fn a_wrong_code_says_so_and_counts(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.submit("sign_in_code", &[("code", wrong)]).await;
    let page = b.sign_in_page().await;
    assert_eq!(notice_of(&page), "otp.wrong");
    assert_eq!(step_of(&page), "code", "still on the code step");
    b.submit("sign_in_code", &[("code", "12ab")]).await;
    assert_eq!(notice_of(&b.sign_in_page().await), "otp.malformed");
    let failures = || async {
        let sql = "SELECT COUNT(*) FROM second_step_failures WHERE since_success > 0";
        let n: i64 = match &s.app.db {
            server::db::Db::Sqlite(p, _) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            server::db::Db::Postgres(p, _) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        };
        n
    };
    assert_eq!(failures().await, 1, "the wrong code counts toward the lock");
    // The right code still works after a wrong one, and clears the count (read with the flow).
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    assert_eq!(failures().await, 0, "a right code starts the count again");
    let kinds = audit_kinds(&s.app).await;
    assert!(kinds.iter().any(|(k, o)| k == "sign_in.code" && o == "rejected"));
}

async fn an_expired_code_is_refused(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    exec(&s.app, "UPDATE otp_codes SET expires_at = created_at - 1").await;
    b.submit("sign_in_code", &[("code", &code)]).await;
    let page = b.sign_in_page().await;
    assert_eq!(notice_of(&page), "otp.expired");
    assert_eq!(signed_in_as(&b).await, None);
}

async fn a_used_code_cannot_be_replayed(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    let stolen_flow = b.cookie("latchkey-flow").expect("the flow cookie");
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");

    // An attacker replays the same form with the flow's cookie from before the code step.
    let attacker = Browser::new(&s.app);
    attacker.jar.add_cookie_str(&format!("latchkey-flow={stolen_flow}"), &attacker.url);
    attacker.submit("sign_in_code", &[("code", &code)]).await;
    assert_eq!(signed_in_as(&attacker).await, None, "the used flow's id is worth nothing");
    assert_eq!(notice_of(&attacker.sign_in_page().await), "sign_in.expired");

    // And in the person's own, now signed-in session the flow is gone: the code cannot be used
    // a second time.
    let again = b.post("sign_in_code", &[("code", &code)]).await;
    assert_eq!(again.status(), StatusCode::FOUND);
    let used = audit_kinds(&s.app).await;
    assert_eq!(used.iter().filter(|(k, o)| k == "sign_in.code" && o == "accepted").count(), 1);
}

async fn several_phones_are_offered_masked_preferred_first(backend: Backend) {
    let s = setup(backend, &[]).await;
    // Dave prefers his second number.
    let directory = server::directory::LdapDirectory::new(s.app.config.directory.clone());
    use domain::{directory::Username, ports::Directory};
    let person = directory.find_by_login(&Username::parse("dave").unwrap()).await.unwrap().unwrap();
    exec(
        &s.app,
        &format!(
            "INSERT INTO phone_settings (user_id, number, preferred, added_at) VALUES ('{}', '+447400654321', TRUE, 0)",
            person.id.as_str()
        ),
    )
    .await;

    let b = Browser::new(&s.app);
    b.password("dave", "dave-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "choose-method");
    assert!(s.standin.texts().is_empty(), "nothing is sent before the person chooses");
    let first = page.find("•••• 4321").expect("preferred phone listed");
    let second = page.find("•••• 0142").expect("other phone listed");
    assert!(first < second, "preferred first");
    assert!(!page.contains("+447400654321") && !page.contains("+12015550142"));

    b.submit("sign_in_choose_phone", &[("phone", "0")]).await;
    let code = code_sent_to(&s.standin, "+447400654321");
    // Change of mind: the other phone.
    b.submit("sign_in_another_way", &[]).await;
    assert_eq!(step_of(&b.sign_in_page().await), "choose-method");
    b.submit("sign_in_choose_phone", &[("phone", "1")]).await;
    let second_code = code_sent_to(&s.standin, "+12015550142");
    // Only the newest code of the flow verifies.
    if code != second_code {
        b.submit("sign_in_code", &[("code", &code)]).await;
        assert_eq!(notice_of(&b.sign_in_page().await), "otp.wrong");
    }
    assert_eq!(b.submit("sign_in_code", &[("code", &second_code)]).await, "/");
    // A phone index outside the list is refused, not a panic.
    let c = Browser::new(&s.app);
    c.password("dave", "dave-demo-pw").await;
    c.submit("sign_in_choose_phone", &[("phone", "7")]).await;
    assert_eq!(notice_of(&c.sign_in_page().await), "sign_in.out_of_order");
}

async fn a_refused_text_is_never_reported_as_sent(backend: Backend) {
    // A short cooldown (longer than the 2 s Twilio timeout), so the test can wait it out; three
    // texts per number per 10 minutes.
    let s = setup(backend, &[("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "5")]).await;
    let b = Browser::new(&s.app);
    s.standin.fail_next(1, Fault::Error { status: 400, code: 21610 });
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "send-failed");
    assert_eq!(notice_of(&page), "sms.opted_out");
    assert!(s.standin.texts().is_empty());

    // Twilio answering 429 twice (one retry, then give up): "not sent". Twilio refused it, so
    // it does not count against the number (nor start its cooldown).
    s.standin.fail_next(2, Fault::Error { status: 429, code: 20429 });
    b.submit("sign_in_resend", &[]).await;
    let page = b.sign_in_page().await;
    assert_eq!((step_of(&page), notice_of(&page)), ("send-failed", "sms.not_sent"));

    // Twilio stalls past the timeout, then answers 500: "not sent", never "sent" — but the
    // text may have gone out, so each counts against the number (and starts its cooldown).
    for fault in [Fault::Stall { millis: 4000 }, Fault::Error { status: 500, code: 20500 }] {
        let what = format!("{fault:?}");
        s.standin.fail_next(1, fault);
        b.submit("sign_in_resend", &[]).await;
        let page = b.sign_in_page().await;
        assert_eq!((step_of(&page), notice_of(&page)), ("send-failed", "sms.not_sent"));
        b.submit("sign_in_resend", &[]).await;
        assert_eq!(notice_of(&b.sign_in_page().await), "otp.cooldown", "{what} counted");
        tokio::time::sleep(std::time::Duration::from_millis(5_100)).await;
    }
    assert!(s.standin.texts().is_empty(), "refused requests text nobody");

    // The third text of ten minutes goes out; a fourth is over the number's limit, which the
    // timed-out and failed texts used.
    b.submit("sign_in_resend", &[]).await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "code");
    assert_eq!(notice_of(&page), "otp.sent");
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    tokio::time::sleep(std::time::Duration::from_millis(5_100)).await;
    b.submit("sign_in_resend", &[]).await;
    assert_eq!(notice_of(&b.sign_in_page().await), "otp.send_limit");
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    let kinds = audit_kinds(&s.app).await;
    assert_eq!(kinds.iter().filter(|(k, o)| k == "sign_in.code_sent" && o == "failed").count(), 4);
}

async fn a_remembered_browser_skips_the_code(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    let res = b.post("sign_in_code", &[("code", &code), ("remember", "on")]).await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("latchkey-remember="))
        .expect("a remember cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Max-Age=2592000"), "30 days: {cookie}");
    let token = b.cookie("latchkey-remember").expect("stored");
    let (id, _secret) = token.split_once('.').expect("id.secret");
    let texts = s.standin.texts().len();

    b.submit("sign_out", &[]).await;
    assert_eq!(b.password("alice", "alice-demo-pw").await, "/", "straight in");
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("password_and_remembered_browser"));
    assert_eq!(s.standin.texts().len(), texts, "no code was sent");
    let kinds = audit_kinds(&s.app).await;
    assert!(kinds.iter().any(|(k, o)| k == "sign_in.remembered_browser" && o == "used"));

    // Only the hash is stored, with the browser's description.
    let sql = format!("SELECT digest, description FROM trusted_browsers WHERE id = '{id}'");
    let (digest, description): (String, String) = match &s.app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_as(&sql).fetch_one(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_as(&sql).fetch_one(p).await.unwrap(),
    };
    assert!(!token.contains(&digest) && !digest.contains(_secret));
    assert_eq!(description, "Chrome on Linux");

    // A forged secret with a real id does not pass; nor does someone else's password.
    let forger = Browser::new(&s.app);
    forger.jar.add_cookie_str(&format!("latchkey-remember={id}.{}", "0".repeat(64)), &forger.url);
    assert_eq!(forger.password("alice", "alice-demo-pw").await, format!("{}/sign-in", s.app.url));
    assert_ne!(step_of(&forger.sign_in_page().await), "none", "a second step is asked for");
    assert_eq!(signed_in_as(&forger).await, None);

    // Revoked: the code step is back.
    exec(&s.app, "UPDATE trusted_browsers SET revoked_at = 1").await;
    b.submit("sign_out", &[]).await;
    assert_eq!(b.password("alice", "alice-demo-pw").await, format!("{}/sign-in", s.app.url));
}

async fn required_policy_makes_a_person_without_phone_enrol_one(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_POLICY__TWO_FACTOR", "required")]).await;
    let b = Browser::new(&s.app);
    b.password("bob", "bob-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "enrol-number");
    assert_eq!(signed_in_as(&b).await, None, "nothing else before a phone is added");

    // Someone else's number, then a landline-shaped mistake, then a good number.
    b.submit("sign_in_enrol_number", &[("number", ALICE_PHONE)]).await;
    assert_eq!(notice_of(&b.sign_in_page().await), "enrol.number_taken");
    b.submit("sign_in_enrol_number", &[("number", "12")]).await;
    assert_eq!(notice_of(&b.sign_in_page().await), "phone.invalid");
    b.submit("sign_in_enrol_number", &[("number", "+1 (201) 555-0177")]).await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "code");
    let code = code_sent_to(&s.standin, "+12015550177");
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    // The code proved the new phone, not the person: no factor they had before was used.
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("password_and_new_phone"));
    let kinds = audit_kinds(&s.app).await;
    assert!(kinds.contains(&("sign_in.success".into(), "password_and_new_phone".into())));
    assert!(!kinds.contains(&("sign_in.success".into(), "password_and_sms".into())));

    // The number is now in the directory, where other consumers see it.
    let directory = server::directory::LdapDirectory::new(s.app.config.directory.clone());
    use domain::{directory::Username, ports::Directory};
    let bob = directory.find_by_login(&Username::parse("bob").unwrap()).await.unwrap().unwrap();
    assert_eq!(bob.phones.iter().map(|p| p.as_str()).collect::<Vec<_>>(), vec!["+12015550177"]);
    assert!(s.app.db.two_factor_enabled(bob.id.as_str()).await.unwrap());
}

async fn cross_site_sign_in_posts_are_refused(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    let res = b
        .http
        .post(format!("{}/api/sign_in_password", s.app.url))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("username", "bob"), ("password", "bob-demo-pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(b.session_id(), None, "no session was created");
    assert!(audit_kinds(&s.app).await.is_empty(), "the password was never checked");
}

async fn sign_out_ends_the_session(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("bob", "bob-demo-pw").await;
    let signed_in_session = b.session_id().expect("session");
    assert_eq!(b.submit("sign_out", &[]).await, "/sign-in");
    assert_eq!(notice_of(&b.sign_in_page().await), "sign_in.signed_out");
    assert_eq!(signed_in_as(&b).await, None);

    let replay = Browser::new(&s.app);
    replay.jar.add_cookie_str(&format!("latchkey={signed_in_session}"), &replay.url);
    assert_eq!(signed_in_as(&replay).await, None, "the old session id is dead");
    assert!(audit_kinds(&s.app).await.contains(&("sign_out".to_owned(), "signed_out".to_owned())));
}

/// The notice for the next page travels in a sealed cookie, not in the session (issue 19):
/// signing out leaves no session behind, and the sign-in page says "signed out" once and stores
/// nothing. A notice altered in the browser, or sealed under another server's key, says nothing
/// and is removed.
async fn notices_travel_in_a_sealed_cookie_and_store_nothing(backend: Backend) {
    use domain::notice::Notice;
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("bob", "bob-demo-pw").await;
    assert_eq!(b.submit("sign_out", &[]).await, "/sign-in");
    assert_eq!(b.session_id(), None, "no session is kept only to carry the notice");
    let sealed = b.cookie("latchkey-notice").expect("the notice cookie");
    assert!(sealed.starts_with("v1~sign_in.signed_out~i~~~"), "{sealed}");
    assert_eq!(notice_of(&b.sign_in_page().await), "sign_in.signed_out");
    assert_eq!(b.cookie("latchkey-notice"), None, "shown once, then removed");
    assert_eq!(b.session_id(), None, "showing it stored nothing");
    assert_eq!(notice_of(&b.sign_in_page().await), "none");

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    let foreign_key = secrecy::SecretString::from("another server's key, long enough".repeat(2));
    for planted in [
        sealed.replace("signed_out", "session_ended"),
        sealed.replacen("~i~", "~e~", 1),
        Notice::error("sign_in.session_ended").seal(&foreign_key, now),
        "v1~sign_in.session_ended~e~~~1~".to_owned(),
    ] {
        let victim = Browser::new(&s.app);
        victim.jar.add_cookie_str(&format!("latchkey-notice={planted}"), &victim.url);
        assert_eq!(notice_of(&victim.sign_in_page().await), "none", "{planted}");
        assert_eq!(victim.cookie("latchkey-notice"), None, "removed: {planted}");
    }
}

async fn metrics_count_sign_ins_codes_and_latencies(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("nobody", "x").await;
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    b.submit("sign_in_code", &[("code", &code)]).await;
    s.standin.fail_next(1, Fault::Error { status: 400, code: 21610 });
    let c = Browser::new(&s.app);
    c.password("dave", "dave-demo-pw").await;
    c.submit("sign_in_choose_phone", &[("phone", "0")]).await;

    let res = b.http.get(format!("{}/metrics", s.app.url)).send().await.unwrap();
    assert!(
        res.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4")
    );
    let text = res.text().await.unwrap();
    for line in [
        "latchkey_sign_ins_total{method=\"password_and_sms\"} 1",
        "latchkey_password_checks_total{outcome=\"rejected\"} 1",
        "latchkey_password_checks_total{outcome=\"accepted\"} 2",
        "latchkey_codes_total{result=\"sent\",channel=\"text\"} 1",
        "latchkey_codes_total{result=\"failed\",channel=\"text\"} 1",
        "latchkey_code_checks_total{outcome=\"accepted\"} 1",
        "latchkey_sms_errors_total{code=\"21610\"} 1",
        "latchkey_sms_seconds_count{outcome=\"sent\"} 1",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    // Unknown logins are timed as password checks too: the metrics do not tell them apart.
    assert!(text.contains("latchkey_directory_seconds_count{op=\"check_password\"} 3"), "{text}");
    assert!(!text.contains("alice") && !text.contains(ALICE_PHONE), "no personal data");
}

/// The flow's cookie is set anew by every password step: an id planted in the browser before it
/// (by a sibling site over plain http, or copied from another browser) is replaced, the flow it
/// named is ended, and its code is worth nothing; a cookie that is no flow's id is removed
/// without a lookup.
async fn a_flow_id_planted_or_seen_before_the_password_is_worth_nothing_after_it(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let first = b.cookie("latchkey-flow").expect("the flow cookie");
    let first_code = code_sent_to(&s.standin, ALICE_PHONE);
    // Someone who saw that id holds it in another browser.
    let other = Browser::new(&s.app);
    other.jar.add_cookie_str(&format!("latchkey-flow={first}"), &other.url);
    assert_eq!(step_of(&other.sign_in_page().await), "code", "the flow is the cookie's");

    // The password again in the person's browser: a new flow, the old one ended.
    b.password("alice", "alice-demo-pw").await;
    let second = b.cookie("latchkey-flow").expect("a new flow cookie");
    assert_ne!(second, first);
    assert_eq!(s.standin.texts().len(), 2);
    let page = other.sign_in_page().await;
    assert_eq!((step_of(&page), notice_of(&page)), ("password", "sign_in.expired"));
    other.jar.add_cookie_str(&format!("latchkey-flow={first}"), &other.url);
    other.submit("sign_in_code", &[("code", &first_code)]).await;
    assert_eq!(signed_in_as(&other).await, None, "the ended flow's code signs nobody in");

    // Planted before the password step: replaced by it, so whoever planted it (b, which still
    // holds `second`) cannot ride the sign-in that follows.
    let victim = Browser::new(&s.app);
    victim.jar.add_cookie_str(&format!("latchkey-flow={second}"), &victim.url);
    victim.password("alice", "alice-demo-pw").await;
    let third = victim.cookie("latchkey-flow").expect("a new flow cookie");
    assert_ne!(third, second);
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    assert_eq!(b.post("sign_in_code", &[("code", &code)]).await.status(), StatusCode::FOUND);
    assert_eq!(signed_in_as(&b).await, None, "the planted id leads nowhere");
    assert_eq!(victim.submit("sign_in_code", &[("code", &code)]).await, "/");
    assert_eq!(signed_in_as(&victim).await.as_deref(), Some("password_and_sms"));

    // Not a flow's id at all: removed, never looked up, the sign-in page as for anyone.
    let garbage = Browser::new(&s.app);
    garbage.jar.add_cookie_str("latchkey-flow=x'%20OR%201=1--", &garbage.url);
    let page = garbage.sign_in_page().await;
    assert_eq!((step_of(&page), notice_of(&page)), ("password", "none"));
    assert_eq!(garbage.cookie("latchkey-flow"), None, "removed");
}
