//! Sessions end when they should, through HTTP with two browsers (two cookie jars), on SQLite
//! and PostgreSQL: what ends a person's other sessions (and keeps the one that acted), a
//! password changed in the directory, sign-out against a request still in flight, and a clean
//! session for each sign-in.

#[macro_use]
mod common;

use common::Backend;
use common::browser::*;
use devkit::slapd::{PEOPLE_DN, Slapd};
use devkit::twilio_standin::Fault;
use domain::{directory::Username, ports::Directory};
use server::directory::LdapDirectory;

on_both!(
    signing_out_of_all_other_browsers_keeps_this_one,
    removing_a_phone_ends_the_other_sessions,
    turning_two_step_off_ends_the_other_sessions,
    an_administrators_reset_and_removal_end_the_persons_sessions,
    a_password_changed_in_the_directory_ends_older_sessions,
    sign_out_is_not_undone_by_a_request_in_flight,
    the_password_step_starts_a_clean_session,
);

/// Texts to the same number back to back: two browsers of one person sign in in a row.
const NO_COOLDOWN: (&str, &str) = ("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "0");

/// Signs in through the whole flow (the code from the stand-in when one is texted).
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
    assert!(signed_in_as(&b).await.is_some(), "{login} is signed in");
    b
}

async fn post_security(b: &Browser, endpoint: &str, form: &[(&str, &str)]) -> String {
    b.post_from("/security", endpoint, form).await
}

async fn person_id(s: &Setup, login: &str) -> String {
    let directory = LdapDirectory::new(s.app.config.directory.clone());
    directory.find_by_login(&Username::parse(login).unwrap()).await.unwrap().unwrap().id.0
}

/// Whether the browser's next request is still signed in (it asks the home page).
async fn still_signed_in(b: &Browser) -> bool {
    signed_in_as(b).await.is_some()
}

async fn signing_out_of_all_other_browsers_keeps_this_one(backend: Backend) {
    let s = setup(backend, &[NO_COOLDOWN]).await;
    let here = signed_in(&s, "alice", "alice-demo-pw").await;
    let there = signed_in(&s, "alice", "alice-demo-pw").await;
    let someone_else = signed_in(&s, "bob", "bob-demo-pw").await;

    let page = security_page(&here).await;
    assert!(page.contains("data-action=\"sign-out-others\""), "the security page offers it");
    let page = post_security(&here, "security_sign_out_others", &[]).await;
    assert_eq!(notice_of(&page), "security.sessions.signed_out_others");

    assert!(still_signed_in(&here).await, "the browser that asked stays signed in");
    assert!(!still_signed_in(&there).await, "every other browser of alice is signed out");
    assert!(still_signed_in(&someone_else).await, "other people are not touched");
    // The ended browser is told why when it comes to the sign-in page, and starts afresh.
    assert_eq!(notice_of(&there.sign_in_page().await), "sign_in.session_ended");
    assert_eq!(step_of(&there.sign_in_page().await), "password");
    assert!(
        audit_kinds(&s.app).await.contains(&("session.signed_out_others".into(), "ended".into())),
        "audited"
    );
    // Its activity says so too.
    assert!(security_page(&here).await.contains("Signed out of all other browsers"));
}

async fn removing_a_phone_ends_the_other_sessions(backend: Backend) {
    let s = setup(backend, &[NO_COOLDOWN]).await;
    let here = signed_in(&s, "dave", "dave-demo-pw").await;
    let there = signed_in(&s, "dave", "dave-demo-pw").await;
    let key = form_key(&security_page(&here).await, "data-phone=\"•••• 4321\"");
    post_security(&here, "security_remove", &[("key", &key)]).await;
    let page = post_security(&here, "security_remove_confirm", &[("key", &key)]).await;
    assert_eq!(notice_of(&page), "security.phone_removed");
    assert!(still_signed_in(&here).await, "the browser that removed it stays signed in");
    assert!(!still_signed_in(&there).await, "the other browser is signed out");
}

async fn turning_two_step_off_ends_the_other_sessions(backend: Backend) {
    let s = setup(backend, &[NO_COOLDOWN]).await;
    let here = signed_in(&s, "alice", "alice-demo-pw").await;
    let there = signed_in(&s, "alice", "alice-demo-pw").await;
    // Turning it on ends nothing.
    let bob_here = signed_in(&s, "bob", "bob-demo-pw").await;
    let bob_there = signed_in(&s, "bob", "bob-demo-pw").await;
    let page = post_security(&bob_here, "security_two_factor", &[("on", "on")]).await;
    assert_eq!(notice_of(&page), "security.two_factor.needs_phone");
    assert!(still_signed_in(&bob_there).await);

    let page = post_security(&here, "security_two_factor", &[("on", "off")]).await;
    assert_eq!(notice_of(&page), "security.two_factor.turned_off");
    assert!(still_signed_in(&here).await, "the browser that turned it off stays signed in");
    assert!(!still_signed_in(&there).await, "the other browser is signed out");
    let page = post_security(&here, "security_two_factor", &[("on", "on")]).await;
    assert_eq!(attr(&page, "data-two-factor"), Some("on"));
    assert!(still_signed_in(&here).await);
}

async fn an_administrators_reset_and_removal_end_the_persons_sessions(backend: Backend) {
    let s = setup(backend, &[NO_COOLDOWN]).await;
    let alice_a = signed_in(&s, "alice", "alice-demo-pw").await;
    let alice_b = signed_in(&s, "alice", "alice-demo-pw").await;
    let dave = signed_in(&s, "dave", "dave-demo-pw").await;
    let admin = signed_in(&s, "carol", "carol-demo-pw").await;

    let alice = person_id(&s, "alice").await;
    let form = [("id", alice.as_str()), ("reason", "lost phone"), ("confirm", "yes")];
    let res = admin.post("admin_reset", &form).await;
    assert!(res.status().is_redirection() || res.status().is_success(), "{}", res.status());
    assert!(!still_signed_in(&alice_a).await, "a reset ends every session of the person");
    assert!(!still_signed_in(&alice_b).await);
    assert!(still_signed_in(&dave).await, "other people are not touched");
    assert!(still_signed_in(&admin).await, "nor the administrator");

    let dave_id = person_id(&s, "dave").await;
    let page = admin.get(&format!("/admin/person/{dave_id}")).await;
    let key = form_key(&page, "data-number=\"+447400654321\"");
    let form = [("id", dave_id.as_str()), ("key", &key), ("reason", "stolen"), ("confirm", "yes")];
    let res = admin.post("admin_remove_phone", &form).await;
    assert!(res.status().is_redirection() || res.status().is_success(), "{}", res.status());
    assert!(!still_signed_in(&dave).await, "an administrator's removal ends the person's sessions");
    assert!(still_signed_in(&admin).await);
}

/// A password policy (ppolicy) keeps `pwdChangedTime`; a session signed in before the change
/// ends at its next look at the directory (every request here: `session_recheck_secs = 0`).
async fn a_password_changed_in_the_directory_ends_older_sessions(backend: Backend) {
    let slapd = Slapd::start_with_lockout(&common::demo_seed(), 1000).expect("slapd");
    let s =
        setup_with_slapd(backend, &[("LATCHKEY_SECURITY__SESSION_RECHECK_SECS", "0")], slapd).await;
    let a = signed_in(&s, "bob", "bob-demo-pw").await;
    let b = signed_in(&s, "bob", "bob-demo-pw").await;
    assert!(still_signed_in(&a).await, "no change yet: nothing ends");
    // The directory's times have whole seconds; a sign-in in the second of the change is kept.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let out = std::process::Command::new("ldappasswd")
        .args(["-x", "-H", &s.app.directory.url(), "-D", &format!("uid=bob,{PEOPLE_DN}")])
        .args(["-w", "bob-demo-pw", "-s", "bob-new-pw"])
        .output()
        .expect("ldappasswd");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let directory = LdapDirectory::new(s.app.config.directory.clone());
    let bob = person_id(&s, "bob").await;
    let changed = directory.password_changed_at(&domain::directory::UserId(bob)).await;
    assert!(matches!(changed, Ok(Some(_))), "the directory keeps pwdChangedTime: {changed:?}");

    assert!(!still_signed_in(&a).await, "signed in before the change: ended");
    assert!(!still_signed_in(&b).await);
    let c = signed_in(&s, "bob", "bob-new-pw").await;
    assert!(still_signed_in(&c).await, "a sign-in with the new password stays");
}

/// A stolen cookie's request still in flight when its victim signs out must not write the
/// signed-in session back as it ends. The request waits on a stalled Twilio (adding a phone
/// texts a code) while sign-out runs, then ends and saves the session it read.
async fn sign_out_is_not_undone_by_a_request_in_flight(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_SMS__TWILIO__TIMEOUT_SECS", "10")]).await;
    let victim = signed_in(&s, "bob", "bob-demo-pw").await;
    post_security(&victim, "security_add_start", &[]).await;
    let thief = Browser::new(&s.app);
    let cookie = format!("latchkey={}", victim.session_id().expect("a session"));
    thief.jar.add_cookie_str(&cookie, &thief.url);
    assert!(still_signed_in(&thief).await, "the copied cookie works");

    let before = s.standin.requests();
    s.standin.fail_next(1, Fault::Stall { millis: 2_000 });
    let slow = tokio::spawn(async move {
        let res =
            thief.post("security_add_number", &[("region", "US"), ("number", "2015550177")]).await;
        (thief, res.status())
    });
    for _ in 0..1000 {
        if s.standin.requests() > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    if s.standin.requests() == before {
        let (thief, status) = slow.await.unwrap();
        panic!("no text: {status} {}", notice_of(&security_page(&thief).await));
    }
    assert_eq!(victim.submit("sign_out", &[]).await, "/sign-in");
    assert!(!slow.is_finished(), "sign-out ran while the request was in flight");
    let (thief, status) = slow.await.unwrap();
    assert!(status.is_redirection() || status.is_success(), "{status}");

    assert!(!still_signed_in(&thief).await, "the old cookie stays signed out");
    assert!(!still_signed_in(&victim).await);
}

/// A previous person's state on the security page (a flow, a change waiting for "confirm it is
/// you") does not carry over into the next sign-in in the same browser.
async fn the_password_step_starts_a_clean_session(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_SECURITY__REAUTH_WINDOW_SECS", "1"), NO_COOLDOWN]).await;
    let b = signed_in(&s, "alice", "alice-demo-pw").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    // Alice asks to turn 2-step sign-in off: "confirm it is you" is pending with that change.
    let page = post_security(&b, "security_two_factor", &[("on", "off")]).await;
    assert_eq!(step_of(&page), "reauth-password", "alice must confirm first");

    // Bob signs in at the same browser without alice signing out.
    assert_eq!(b.password("bob", "bob-demo-pw").await, "/");
    let page = security_page(&b).await;
    assert_eq!(step_of(&page), "none", "nothing of alice's is pending for bob");
    assert_eq!(notice_of(&page), "none");

    // And alice's pending add-phone flow does not follow her out either.
    let a = signed_in(&s, "alice", "alice-demo-pw").await;
    post_security(&a, "security_add_start", &[]).await;
    assert_eq!(step_of(&security_page(&a).await), "add-number");
    assert_eq!(a.password("bob", "bob-demo-pw").await, "/");
    assert_eq!(step_of(&security_page(&a).await), "none");
}

async fn security_page(b: &Browser) -> String {
    b.get("/security").await
}
