//! Codes by voice call (issue 21), full stack: the real server, a real slapd, SQLite and
//! PostgreSQL, and texts and calls through the Twilio stand-in. A landline only ever gets calls;
//! a mobile gets texts and, on request, calls; a call's code replaces a text's in the flow; and
//! calls count toward the send limits like texts, the global budget by `call_weight`.

#[macro_use]
mod common;

use common::Backend;
use common::browser::*;
use devkit::twilio_standin::TwilioStandin;

on_both!(
    a_landline_signs_in_by_call,
    a_mobile_switches_from_text_to_call_and_only_the_newest_code_verifies,
    a_landline_is_added_with_calls_and_refused_without,
    a_landline_is_enrolled_while_signing_in,
    calls_and_texts_share_the_limits_and_a_call_weighs_more_on_the_budget,
);

/// Lena's London landline (the demo's).
const LENA_LANDLINE: &str = "+442079460018";

/// The code a call to `to` spoke, the newest: its first six digits ("4, 8, 1, 0, 2, 6").
fn code_called_to(standin: &TwilioStandin, to: &str) -> String {
    let call = standin.latest_call_to(to).expect("a call to the number");
    let code: String = call.said.chars().filter(char::is_ascii_digit).take(6).collect();
    assert_eq!(code.len(), 6, "the call said a code: {:?}", call.said);
    code
}

fn calls_to(standin: &TwilioStandin, to: &str) -> usize {
    standin.calls().iter().filter(|c| c.to == to).count()
}

fn texts_to(standin: &TwilioStandin, to: &str) -> usize {
    standin.texts().iter().filter(|t| t.to == to).count()
}

/// Twilio through the stand-in with a messaging service only: texts, but no calls.
fn without_calls() -> Vec<(&'static str, &'static str)> {
    vec![
        ("LATCHKEY_SMS__TWILIO__FROM", ""),
        ("LATCHKEY_SMS__TWILIO__MESSAGING_SERVICE_SID", "MG0123456789abcdef0123456789abcdef"),
    ]
}

fn has_testid(page: &str, id: &str) -> bool {
    page.contains(&format!("data-testid=\"{id}\""))
}

/// Lena's only phone is a landline: her code is called at once, never texted; the page says it
/// was a call and offers "call again" but no text; the code from the call signs her in, with
/// the call as the method (`amr` `tel`).
async fn a_landline_signs_in_by_call(backend: Backend) {
    let s = setup(backend, &[("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "1")]).await;
    let b = Browser::new(&s.app);
    b.password("lena", "lena-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!((step_of(&page), notice_of(&page)), ("code", "otp.called"));
    assert_eq!(attr(&page, "data-channel"), Some("call"));
    assert!(page.contains("•••• 0018") && !page.contains(LENA_LANDLINE));
    assert!(has_testid(&page, "call-again"), "call again is offered");
    assert!(!has_testid(&page, "text-instead"), "a landline is never offered a text");
    assert!(!has_testid(&page, "call-instead"));
    assert_eq!(calls_to(&s.standin, LENA_LANDLINE), 1);
    assert_eq!(texts_to(&s.standin, LENA_LANDLINE), 0, "a landline is never texted");
    let call = s.standin.latest_call_to(LENA_LANDLINE).unwrap();
    assert!(call.said.contains("Latchkey"), "{:?}", call.said);

    let code = code_called_to(&s.standin, LENA_LANDLINE);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("password_and_call"));
    let kinds = audit_kinds(&s.app).await;
    for expected in [
        ("sign_in.code_called", "sent"),
        ("sign_in.code", "accepted"),
        ("sign_in.success", "password_and_call"),
    ] {
        assert!(kinds.contains(&(expected.0.into(), expected.1.into())), "{expected:?} {kinds:?}");
    }
    assert!(!kinds.iter().any(|(k, _)| k == "sign_in.code_sent"), "no text: {kinds:?}");
    // The security page's activity names the call.
    assert!(b.get("/security").await.contains("Sign-in code called"));

    // A crafted "text me" in a new sign-in is a call all the same.
    let c = Browser::new(&s.app);
    c.password("lena", "lena-demo-pw").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    c.submit("sign_in_resend", &[("channel", "text")]).await;
    assert_eq!(notice_of(&c.sign_in_page().await), "otp.called");
    assert_eq!(texts_to(&s.standin, LENA_LANDLINE), 0);
    assert_eq!(calls_to(&s.standin, LENA_LANDLINE), 3);
}

/// Alice's mobile is texted; "call me instead" waits for the cooldown like "send a new code",
/// then calls with a new code that replaces the texted one; after the call, "text me instead"
/// is offered. Only the newest code (the call's) verifies, and the method is the call.
async fn a_mobile_switches_from_text_to_call_and_only_the_newest_code_verifies(backend: Backend) {
    // A cooldown long enough that the first resend is surely too early on a loaded machine.
    let s = setup(backend, &[("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "5")]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!((step_of(&page), notice_of(&page)), ("code", "otp.sent"));
    assert_eq!(attr(&page, "data-channel"), Some("text"));
    assert!(has_testid(&page, "resend") && has_testid(&page, "call-instead"), "{page}");
    assert!(!has_testid(&page, "text-instead"));
    let texted = code_sent_to(&s.standin, ALICE_PHONE);

    // Too early: the cooldown holds for a call too, and nothing is placed.
    b.submit("sign_in_resend", &[("channel", "call")]).await;
    assert_eq!(notice_of(&b.sign_in_page().await), "otp.cooldown");
    assert_eq!(calls_to(&s.standin, ALICE_PHONE), 0);

    tokio::time::sleep(std::time::Duration::from_millis(5100)).await;
    b.submit("sign_in_resend", &[("channel", "call")]).await;
    let page = b.sign_in_page().await;
    assert_eq!((step_of(&page), notice_of(&page)), ("code", "otp.called"));
    assert_eq!(attr(&page, "data-channel"), Some("call"));
    assert!(has_testid(&page, "call-again") && has_testid(&page, "text-instead"), "{page}");
    assert_eq!(calls_to(&s.standin, ALICE_PHONE), 1);
    let called = code_called_to(&s.standin, ALICE_PHONE);

    if texted != called {
        b.submit("sign_in_code", &[("code", &texted)]).await;
        assert_eq!(notice_of(&b.sign_in_page().await), "otp.wrong", "the text's code is replaced");
    }
    assert_eq!(b.submit("sign_in_code", &[("code", &called)]).await, "/");
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("password_and_call"));

    // The chooser of a person with several phones offers a text and a call to each mobile.
    let d = Browser::new(&s.app);
    d.password("dave", "dave-demo-pw").await;
    let page = d.sign_in_page().await;
    assert_eq!(step_of(&page), "choose-method");
    for id in ["choose-text-0", "choose-call-0", "choose-text-1", "choose-call-1"] {
        assert!(has_testid(&page, id), "{id}");
    }
    d.submit("sign_in_choose_phone", &[("phone", "0"), ("channel", "call")]).await;
    assert_eq!(notice_of(&d.sign_in_page().await), "otp.called");
    assert_eq!(calls_to(&s.standin, "+12015550142"), 1);
    let code = code_called_to(&s.standin, "+12015550142");
    assert_eq!(d.submit("sign_in_code", &[("code", &code)]).await, "/");
    assert_eq!(signed_in_as(&d).await.as_deref(), Some("password_and_call"));
}

/// A signed-in person adds a landline on the security page: it is called (never texted) and
/// the code from the call adds it. Without calls, a landline is refused with its own message
/// and nothing is sent.
async fn a_landline_is_added_with_calls_and_refused_without(backend: Backend) {
    let landline = "+442079460077";
    for calls in [true, false] {
        let extra = if calls { vec![] } else { without_calls() };
        let s = setup(backend, &extra).await;
        let b = Browser::new(&s.app);
        b.password("alice", "alice-demo-pw").await;
        let code = code_sent_to(&s.standin, ALICE_PHONE);
        assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");

        b.post_from("/security", "security_add_start", &[]).await;
        let form = [("region", "GB"), ("number", "020 7946 0077")];
        let page = b.post_from("/security", "security_add_number", &form).await;
        if !calls {
            assert_eq!(notice_of(&page), "phone.landline_needs_calls");
            assert_eq!(calls_to(&s.standin, landline) + texts_to(&s.standin, landline), 0);
            assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE]);
            continue;
        }
        assert_eq!((step_of(&page), notice_of(&page)), ("add-code", "otp.called"));
        assert_eq!(attr(&page, "data-channel"), Some("call"));
        assert!(has_testid(&page, "call-again") && !has_testid(&page, "text-instead"));
        assert_eq!(texts_to(&s.standin, landline), 0);
        let code = code_called_to(&s.standin, landline);
        let form = [("code", code.as_str()), ("nickname", "Home")];
        let page = b.post_from("/security", "security_add_verify", &form).await;
        assert_eq!(notice_of(&page), "security.phone_added");
        assert!(has_testid(&page, "landline"), "the list says which phone is a landline");
        assert_eq!(directory_phones(&s, "alice").await, vec![ALICE_PHONE, landline]);
        let kinds = audit_kinds(&s.app).await;
        assert!(kinds.contains(&("security.code_called".into(), "sent".into())), "{kinds:?}");
        // A notice of a change goes to the mobile only: the landline takes no texts.
        b.post_from("/security", "security_add_start", &[]).await;
        let form = [("region", "US"), ("number", "201 555 0177")];
        let page = b.post_from("/security", "security_add_number", &form).await;
        assert_eq!(notice_of(&page), "otp.sent");
        assert!(has_testid(&page, "call-instead"), "a mobile being added may be called");
        let code = code_sent_to(&s.standin, "+12015550177");
        let form = [("code", code.as_str()), ("nickname", "")];
        b.post_from("/security", "security_add_verify", &form).await;
        assert_eq!(texts_to(&s.standin, landline), 0, "no notice texted to the landline");
        assert!(s.standin.texts().iter().any(|t| t.to == ALICE_PHONE && t.body.contains("0177")));
    }
}

/// Policy `required` and no phone: Bob gives a landline while signing in; it is called and the
/// call's code enrols it. Without calls the landline is refused.
async fn a_landline_is_enrolled_while_signing_in(backend: Backend) {
    let landline = "+442079460055";
    for calls in [true, false] {
        let mut extra = vec![("LATCHKEY_POLICY__TWO_FACTOR", "required")];
        if !calls {
            extra.extend(without_calls());
        }
        let s = setup(backend, &extra).await;
        let b = Browser::new(&s.app);
        b.password("bob", "bob-demo-pw").await;
        assert_eq!(step_of(&b.sign_in_page().await), "enrol-number");
        b.submit("sign_in_enrol_number", &[("number", "+44 20 7946 0055")]).await;
        let page = b.sign_in_page().await;
        if !calls {
            assert_eq!(notice_of(&page), "phone.landline_needs_calls");
            assert_eq!(step_of(&page), "enrol-number");
            assert_eq!(calls_to(&s.standin, landline) + texts_to(&s.standin, landline), 0);
            continue;
        }
        assert_eq!((step_of(&page), notice_of(&page)), ("code", "otp.called"));
        assert_eq!(texts_to(&s.standin, landline), 0);
        let code = code_called_to(&s.standin, landline);
        assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
        assert_eq!(signed_in_as(&b).await.as_deref(), Some("password_and_new_phone"));
        assert_eq!(directory_phones(&s, "bob").await, vec![landline]);
    }
}

/// A call counts as one send against the number, the person and the client's address, shared
/// with texts, and as `call_weight` texts of the global budget (here 3 of 7).
async fn calls_and_texts_share_the_limits_and_a_call_weighs_more_on_the_budget(backend: Backend) {
    // The number: three sends in ten minutes, texts and calls together.
    let s = setup(backend, &[("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "1")]).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await; // a text
    for channel in ["call", "text"] {
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        b.submit("sign_in_resend", &[("channel", channel)]).await;
        assert!(notice_of(&b.sign_in_page().await).starts_with("otp."));
    }
    assert_eq!((texts_to(&s.standin, ALICE_PHONE), calls_to(&s.standin, ALICE_PHONE)), (2, 1));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    b.submit("sign_in_resend", &[("channel", "call")]).await;
    assert_eq!(notice_of(&b.sign_in_page().await), "otp.send_limit", "the number's three are used");
    assert_eq!(calls_to(&s.standin, ALICE_PHONE), 1);

    // The global budget: 7 a day, a call costing 3. Lena's call (3) and Carol's call (3) leave
    // 1: a text still fits, a call does not.
    let s = setup(
        backend,
        &[
            ("LATCHKEY_SECURITY__GLOBAL_SENDS_PER_DAY", "7"),
            ("LATCHKEY_SECURITY__CALL_WEIGHT", "3"),
        ],
    )
    .await;
    let lena = Browser::new(&s.app);
    lena.password("lena", "lena-demo-pw").await;
    assert_eq!(notice_of(&lena.sign_in_page().await), "otp.called");
    let dave = Browser::new(&s.app);
    dave.password("dave", "dave-demo-pw").await;
    dave.submit("sign_in_choose_phone", &[("phone", "0"), ("channel", "call")]).await;
    assert_eq!(notice_of(&dave.sign_in_page().await), "otp.called");
    let carol = Browser::new(&s.app);
    carol.password("carol", "carol-demo-pw").await; // a text: 7 of 7
    assert_eq!(notice_of(&carol.sign_in_page().await), "otp.sent");
    let alice = Browser::new(&s.app);
    alice.password("alice", "alice-demo-pw").await;
    assert_eq!(notice_of(&alice.sign_in_page().await), "otp.send_limit", "the budget is spent");

    // Weight 3 of a budget of 4: one call fits, the second does not, though a text would.
    let s = setup(
        backend,
        &[
            ("LATCHKEY_SECURITY__GLOBAL_SENDS_PER_DAY", "4"),
            ("LATCHKEY_SECURITY__CALL_WEIGHT", "3"),
        ],
    )
    .await;
    let lena = Browser::new(&s.app);
    lena.password("lena", "lena-demo-pw").await;
    assert_eq!(notice_of(&lena.sign_in_page().await), "otp.called");
    let dave = Browser::new(&s.app);
    dave.password("dave", "dave-demo-pw").await;
    dave.submit("sign_in_choose_phone", &[("phone", "0"), ("channel", "call")]).await;
    assert_eq!(notice_of(&dave.sign_in_page().await), "otp.send_limit", "3 + 3 > 4");
    dave.submit("sign_in_choose_phone", &[("phone", "0"), ("channel", "text")]).await;
    assert_eq!(notice_of(&dave.sign_in_page().await), "otp.sent", "3 + 1 fits");
}
