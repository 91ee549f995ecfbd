//! Authenticator apps and recovery codes, full stack on SQLite and PostgreSQL: the sealed store
//! and its key rotation, the replay and clock-skew rules, the shared failure lock, sign-in with
//! an app and with a recovery code (as a browser without JavaScript), and a recovery code used
//! by twenty sign-ins at once.

#[macro_use]
mod common;

use std::sync::Arc;

use common::Backend;
use common::browser::*;
use domain::authenticator::{Authenticators, StoredApp, TotpSecret};
use domain::codes::CodeError;
use domain::directory::UserId;

on_both!(
    secrets_are_sealed_and_keys_rotate,
    a_time_step_is_accepted_once_within_one_step_of_skew,
    sign_in_with_an_app_offers_every_way_and_refuses_replay,
    a_preferred_app_is_asked_for_first,
    wrong_app_codes_lock_the_second_step_like_texted_ones,
    sign_in_with_a_recovery_code_tells_the_phones_and_counts_down,
    twenty_parallel_uses_of_one_recovery_code_one_wins,
    the_security_page_adds_an_app_from_what_it_shows_and_removes_it,
    removing_the_last_factor_turns_two_factor_off_or_is_refused_under_policy,
    recovery_codes_are_shown_once_and_stored_only_hashed,
    an_administrator_removes_an_app_and_voids_recovery_codes,
    methods_left_out_are_neither_offered_nor_counted,
);

/// Signs in through the whole flow: the password, then a texted code when one is asked for.
async fn signed_in(s: &Setup, login: &str, phone: &str) -> Browser {
    let b = Browser::new(&s.app);
    if b.password(login, &format!("{login}-demo-pw")).await != "/" {
        let page = b.sign_in_page().await;
        if step_of(&page) == "choose-method" {
            b.submit("sign_in_choose_phone", &[("phone", "0")]).await;
        }
        let code = code_sent_to(&s.standin, phone);
        assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    }
    b
}

async fn post_security(b: &Browser, endpoint: &str, form: &[(&str, &str)]) -> String {
    b.post_from("/security", endpoint, form).await
}

/// Adds an app on the security page as a browser without JavaScript: the secret read from the
/// page, a wrong code first. Returns the secret and the app's id.
async fn add_app_on_the_page(b: &Browser, name: &str) -> (TotpSecret, String) {
    let page = post_security(b, "security_app_start", &[]).await;
    assert!(page.contains("<svg"), "a QR code rendered on the server");
    let shown = attr(&page, "data-secret").expect("the secret on the page");
    let secret = TotpSecret::from_base32(shown).expect("base32");
    let page = post_security(b, "security_app_finish", &[("name", name), ("code", "12345")]).await;
    assert_eq!(notice_of(&page), "otp.malformed");
    assert_eq!(attr(&page, "data-secret"), Some(shown), "the same secret, shown again");
    let code = secret.code_at(u64::try_from(now() - 30).expect("positive"));
    let page = post_security(b, "security_app_finish", &[("name", name), ("code", &code)]).await;
    assert_eq!(notice_of(&page), "security.app_added");
    let id = attr(&page, "data-authenticator").expect("the app listed").to_owned();
    (secret, id)
}

fn now() -> i64 {
    domain::now_ms() / 1000
}

/// Adds an app for `login` through the service (as the security page does) and returns its
/// secret and record.
async fn add_app(s: &Setup, login: &str, name: &str) -> (TotpSecret, StoredApp) {
    let auth = server::services::authenticators(&s.app.config, &s.app.db);
    let person = person(s, login).await;
    let enrolment = auth.start_enrolment(&person.id, login).expect("enrolment");
    let secret = TotpSecret::from_base32(&enrolment.grouped).expect("base32 on the page");
    assert!(enrolment.uri.starts_with("otpauth://totp/"), "{}", enrolment.uri);
    // The code of the step before: the current one stays free for signing in.
    let t = now() - 30;
    let code = secret.code_at(u64::try_from(t).expect("after 1970"));
    let app = auth
        .finish_enrolment(&person.id, &enrolment.sealed, name, &code, t)
        .await
        .expect("the app's code proves it");
    (secret, app)
}

fn code_now(secret: &TotpSecret) -> String {
    secret.code_at(u64::try_from(now()).expect("after 1970"))
}

async fn sealed_column(s: &Setup, app_id: &str) -> String {
    let sql = format!("SELECT sealed_secret FROM totp_credentials WHERE id = '{app_id}'");
    match &s.app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
    }
}

fn with_keys(s: &Setup, keys: &[&str]) -> Arc<Authenticators> {
    let mut config = s.app.config.clone();
    config.security.hmac_keys = keys.iter().map(|k| secrecy::SecretString::from(*k)).collect();
    server::services::authenticators(&config, &s.app.db)
}

async fn secrets_are_sealed_and_keys_rotate(backend: Backend) {
    let s = setup(backend, &[]).await;
    let (secret, app) = add_app(&s, "alice", "Phone app").await;
    let stored = sealed_column(&s, &app.id).await;
    assert!(stored.starts_with("v1."), "{stored}");
    assert!(!stored.contains(&secret.base32()), "the secret is not stored in the clear");
    let id = UserId(app.user_id.as_str().to_owned());
    let old_key = common::KEY;
    let new_key = "a-new-key-for-rotation-0123456789abcdef";
    // The new key first, the old one kept: the app still works, and its secret is sealed again
    // under the new key on that use.
    let rotated = with_keys(&s, &[new_key, old_key]);
    let (apps, _) = rotated_factors(&rotated, &id).await;
    rotated.verify_app(&id, &apps[0], &code_now(&secret), now()).await.expect("opens");
    let resealed = sealed_column(&s, &app.id).await;
    assert_ne!(resealed, stored, "sealed again under the newest key");
    // The old key gone: what was sealed again still opens.
    let new_only = with_keys(&s, &[new_key]);
    let (apps, _) = rotated_factors(&new_only, &id).await;
    let later = now() + 30;
    let code = secret.code_at(u64::try_from(later).expect("positive"));
    new_only.verify_app(&id, &apps[0], &code, later).await.expect("opens under the new key");
    // A key that never sealed it opens nothing: the check fails closed.
    let stranger = with_keys(&s, &["an-unrelated-key-0123456789abcdefghij"]);
    let (apps, _) = rotated_factors(&stranger, &id).await;
    let even_later = later + 30;
    let code = secret.code_at(u64::try_from(even_later).expect("positive"));
    assert_eq!(
        stranger.verify_app(&id, &apps[0], &code, even_later).await,
        Err(CodeError::Unavailable)
    );
}

async fn rotated_factors(
    auth: &Authenticators,
    id: &UserId,
) -> (Vec<StoredApp>, domain::authenticator::RecoveryStatus) {
    let f = auth.factors(id).await.expect("factors");
    (f.apps, f.recovery)
}

async fn a_time_step_is_accepted_once_within_one_step_of_skew(backend: Backend) {
    let s = setup(backend, &[]).await;
    let (secret, app) = add_app(&s, "alice", "").await;
    assert_eq!(app.name, "Authenticator app 1", "a default name");
    let auth = server::services::authenticators(&s.app.config, &s.app.db);
    let id = app.user_id.clone();
    let t = now();
    let at = |k: i64| secret.code_at(u64::try_from(t + 30 * k).expect("positive"));
    // The code that proved the app (the step before now) does not sign in.
    assert_eq!(auth.verify_app(&id, &app, &at(-1), t).await, Err(CodeError::AppCodeReused));
    // Two steps off: wrong.
    assert_eq!(auth.verify_app(&id, &app, &at(2), t).await, Err(CodeError::AppCodeWrong));
    // One step ahead (a fast clock) is accepted, once.
    assert_eq!(auth.verify_app(&id, &app, &at(1), t).await, Ok(()));
    assert_eq!(auth.verify_app(&id, &app, &at(1), t).await, Err(CodeError::AppCodeReused));
    // Now older than the newest step used: refused, though within the window.
    assert_eq!(auth.verify_app(&id, &app, &at(0), t).await, Err(CodeError::AppCodeReused));
    assert_eq!(auth.verify_app(&id, &app, "12345", t).await, Err(CodeError::Malformed));
}

/// Password, then the chooser: the ways offered, in order (`data-way` of each button: a
/// mobile is offered a text, `phone`, and, calls being available, a call, `call`).
fn ways_of(page: &str) -> Vec<String> {
    page.match_indices("data-way=\"")
        .map(|(i, m)| {
            let rest = &page[i + m.len()..];
            rest[..rest.find('"').expect("quote")].to_owned()
        })
        .collect()
}

async fn sign_in_with_an_app_offers_every_way_and_refuses_replay(backend: Backend) {
    let s = setup(backend, &[]).await;
    let (secret, _) = add_app(&s, "alice", "Work phone app").await;
    let b = Browser::new(&s.app);
    let texts = s.standin.texts().len();
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    // Alice has a phone and an app, neither preferred: she chooses; nothing was texted.
    assert_eq!(step_of(&page), "choose-method");
    assert_eq!(ways_of(&page), ["phone", "call", "app"]);
    assert!(page.contains("Work phone app"));
    assert_eq!(s.standin.texts().len(), texts, "no text before a phone is chosen");
    b.submit("sign_in_choose_app", &[("app", "0")]).await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "app-code");
    assert!(page.contains("autocomplete=\"one-time-code\""));
    // "Use another way" goes back to the list; choosing the app again asks for its code.
    b.submit("sign_in_another_way", &[]).await;
    assert_eq!(step_of(&b.sign_in_page().await), "choose-method");
    b.submit("sign_in_choose_app", &[("app", "7")]).await;
    assert_eq!(notice_of(&b.sign_in_page().await), "sign_in.out_of_order");
    b.submit("sign_in_choose_app", &[("app", "0")]).await;
    let code = code_now(&secret);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("password_and_app"));
    // The same code in another browser is a replay.
    let c = Browser::new(&s.app);
    c.password("alice", "alice-demo-pw").await;
    c.submit("sign_in_choose_app", &[("app", "0")]).await;
    c.submit("sign_in_code", &[("code", &code)]).await;
    assert_eq!(notice_of(&c.sign_in_page().await), "otp.app_reused");
    let kinds = audit_kinds(&s.app).await;
    assert!(kinds.contains(&("sign_in.app_code".into(), "accepted".into())), "{kinds:?}");
    assert!(kinds.contains(&("sign_in.app_code".into(), "rejected".into())), "{kinds:?}");
    assert!(kinds.contains(&("sign_in.success".into(), "password_and_app".into())));
}

async fn a_preferred_app_is_asked_for_first(backend: Backend) {
    let s = setup(backend, &[]).await;
    let (secret, app) = add_app(&s, "alice", "Preferred app").await;
    let auth = server::services::authenticators(&s.app.config, &s.app.db);
    assert!(auth.prefer_app(&app.user_id, &app.id, now()).await.expect("prefer"));
    let b = Browser::new(&s.app);
    let texts = s.standin.texts().len();
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "app-code", "the preferred app first");
    assert!(page.contains("Preferred app"));
    assert_eq!(s.standin.texts().len(), texts, "nothing texted");
    assert_eq!(b.submit("sign_in_code", &[("code", &code_now(&secret))]).await, "/");
}

async fn wrong_app_codes_lock_the_second_step_like_texted_ones(backend: Backend) {
    let s = setup(backend, &[]).await;
    let (secret, app) = add_app(&s, "alice", "").await;
    let auth = server::services::authenticators(&s.app.config, &s.app.db);
    auth.prefer_app(&app.user_id, &app.id, now()).await.expect("prefer");
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let right = code_now(&secret);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let mut last = String::new();
    for _ in 0..10 {
        b.submit("sign_in_code", &[("code", wrong)]).await;
        last = notice_of(&b.sign_in_page().await).to_owned();
    }
    assert_eq!(last, "otp.locked", "the tenth wrong code locks");
    // Locked: the right code is refused too, and so is a texted code (one lock for all ways).
    b.submit("sign_in_code", &[("code", &right)]).await;
    assert_eq!(notice_of(&b.sign_in_page().await), "otp.locked");
    b.submit("sign_in_another_way", &[]).await;
    b.submit("sign_in_choose_phone", &[("phone", "0")]).await;
    let page = b.sign_in_page().await;
    assert_eq!(notice_of(&page), "otp.locked", "{}", step_of(&page));
}

async fn sign_in_with_a_recovery_code_tells_the_phones_and_counts_down(backend: Backend) {
    let s = setup(backend, &[]).await;
    let auth = server::services::authenticators(&s.app.config, &s.app.db);
    let alice = person(&s, "alice").await;
    let codes = auth.new_recovery_codes(&alice.id, now()).await.expect("codes");
    assert_eq!(codes.len(), 10);
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "code", "one phone: texted at once");
    b.submit("sign_in_another_way", &[]).await;
    let page = b.sign_in_page().await;
    assert_eq!(ways_of(&page), ["phone", "call", "recovery"]);
    b.submit("sign_in_choose_recovery", &[]).await;
    assert_eq!(step_of(&b.sign_in_page().await), "recovery-code");
    let texts = s.standin.texts().len();
    // Typed forgivingly: lower case, spaces for the dash.
    let typed = codes[3].to_lowercase().replace('-', " ");
    assert_eq!(b.submit("sign_in_code", &[("code", &typed)]).await, "/security");
    let page = b.get("/security").await;
    assert_eq!(notice_of(&page), "sign_in.recovery_used");
    assert!(page.contains("9"), "nine left");
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("password_and_recovery_code"));
    let told: Vec<_> = s.standin.texts().into_iter().skip(texts).collect();
    assert_eq!(told.len(), 1, "the phone hears of it");
    assert_eq!(told[0].to, ALICE_PHONE);
    assert!(told[0].body.contains("recovery code"), "{}", told[0].body);
    // Used once: never again.
    let c = Browser::new(&s.app);
    c.password("alice", "alice-demo-pw").await;
    c.submit("sign_in_another_way", &[]).await;
    c.submit("sign_in_choose_recovery", &[]).await;
    c.submit("sign_in_code", &[("code", &codes[3])]).await;
    assert_eq!(notice_of(&c.sign_in_page().await), "recovery.wrong");
    c.submit("sign_in_code", &[("code", "not a code")]).await;
    assert_eq!(notice_of(&c.sign_in_page().await), "recovery.malformed");
    // A new set voids the old one.
    let fresh = auth.new_recovery_codes(&alice.id, now()).await.expect("codes");
    c.submit("sign_in_code", &[("code", &codes[4])]).await;
    assert_eq!(notice_of(&c.sign_in_page().await), "recovery.wrong");
    assert_eq!(c.submit("sign_in_code", &[("code", &fresh[0])]).await, "/security");
}

async fn twenty_parallel_uses_of_one_recovery_code_one_wins(backend: Backend) {
    let s = setup(backend, &[]).await;
    let auth = server::services::authenticators(&s.app.config, &s.app.db);
    let alice = person(&s, "alice").await;
    let codes = auth.new_recovery_codes(&alice.id, now()).await.expect("codes");
    // Twenty browsers, each at the recovery-code step of a sign-in of its own.
    let mut browsers = Vec::new();
    for _ in 0..20 {
        let b = Browser::new(&s.app);
        b.password("alice", "alice-demo-pw").await;
        b.submit("sign_in_another_way", &[]).await;
        b.submit("sign_in_choose_recovery", &[]).await;
        browsers.push(b);
    }
    let form = [("code", codes[0].as_str())];
    let outcomes =
        futures_util::future::join_all(browsers.iter().map(|b| b.submit("sign_in_code", &form)))
            .await;
    let winners = outcomes.iter().filter(|to| *to == "/security").count();
    assert_eq!(winners, 1, "{outcomes:?}");
    let left = auth.factors(&alice.id).await.expect("factors").recovery.remaining;
    assert_eq!(left, 9);
}

async fn the_security_page_adds_an_app_from_what_it_shows_and_removes_it(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "alice", ALICE_PHONE).await;
    let texts = s.standin.texts().len();
    let (secret, id) = add_app_on_the_page(&b, "Pocket app").await;
    let page = b.get("/security").await;
    assert!(page.contains("Pocket app"));
    // The app works for signing in, and the phone was told of it.
    let alice = person(&s, "alice").await;
    let auth = server::services::authenticators(&s.app.config, &s.app.db);
    let app = auth.factors(&alice.id).await.expect("factors").apps.remove(0);
    assert_eq!(auth.verify_app(&alice.id, &app, &code_now(&secret), now()).await, Ok(()));
    let told: Vec<_> = s.standin.texts().into_iter().skip(texts).collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].body.contains("authenticator app was added"), "{}", told[0].body);
    // Renamed, then removed after the confirmation.
    let page =
        post_security(&b, "security_app_rename", &[("id", &id), ("name", "Old phone")]).await;
    assert_eq!(notice_of(&page), "security.app_renamed");
    let page = post_security(&b, "security_app_remove", &[("id", &id)]).await;
    assert_eq!(step_of(&page), "confirm-remove-app", "asks first");
    let page = post_security(&b, "security_app_remove_confirm", &[("id", &id)]).await;
    assert_eq!(notice_of(&page), "security.app_removed");
    assert!(auth.factors(&alice.id).await.expect("factors").apps.is_empty());
    assert!(s.standin.texts().into_iter().skip(texts).any(|t| t.body.contains("was removed")));
    let kinds = audit_kinds(&s.app).await;
    for kind in ["app.added", "app.renamed", "app.removed"] {
        assert!(kinds.iter().any(|(k, _)| k == kind), "{kind}: {kinds:?}");
    }
}

async fn removing_the_last_factor_turns_two_factor_off_or_is_refused_under_policy(
    backend: Backend,
) {
    // Bob has no phone: an app is his only factor.
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "bob", "").await;
    let (_, id) = add_app_on_the_page(&b, "Only app").await;
    let page = post_security(&b, "security_two_factor", &[("on", "on")]).await;
    assert_eq!(attr(&page, "data-two-factor"), Some("on"), "an app alone can turn it on");
    post_security(&b, "security_app_remove", &[("id", &id)]).await;
    let page = post_security(&b, "security_app_remove_confirm", &[("id", &id)]).await;
    assert_eq!(notice_of(&page), "security.app_removed_two_factor_off");
    assert_eq!(attr(&page, "data-two-factor"), Some("off"));

    // Under policy `required`, the last factor stays: alice keeps her app once her phone is gone.
    let s = setup(backend, &[("LATCHKEY_POLICY__TWO_FACTOR", "required")]).await;
    let b = signed_in(&s, "alice", ALICE_PHONE).await;
    let (_, id) = add_app_on_the_page(&b, "Kept app").await;
    // With the app, her phone is no longer the last factor: it may go.
    let page = b.get("/security").await;
    let key = form_key(&page, "data-phone=\"•••• 0123\"");
    post_security(&b, "security_remove", &[("key", &key)]).await;
    let page = post_security(&b, "security_remove_confirm", &[("key", &key)]).await;
    assert_eq!(notice_of(&page), "security.phone_removed");
    let page = post_security(&b, "security_app_remove", &[("id", &id)]).await;
    assert_eq!(notice_of(&page), "security.required_by_policy");
}

async fn recovery_codes_are_shown_once_and_stored_only_hashed(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "alice", ALICE_PHONE).await;
    let page = post_security(&b, "security_recovery_new", &[]).await;
    let codes: Vec<String> = page
        .match_indices("data-recovery-code")
        .filter_map(|(i, _)| {
            let rest = &page[i..];
            let text = &rest[rest.find('>')? + 1..];
            Some(text[..text.find('<')?].trim().to_owned())
        })
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'), "{codes:?}");
    // Shown once: the next view of the page has none.
    let again = b.get("/security").await;
    assert!(!again.contains("data-recovery-code"));
    assert_eq!(attr(&again, "data-recovery-remaining"), Some("10"));
    // Stored as keyed hashes only, neither the code nor its typed form in any column.
    let sql = "SELECT digest FROM recovery_codes";
    let stored: Vec<String> = match &s.app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
    };
    assert_eq!(stored.len(), 10);
    for code in &codes {
        let bare = code.replace('-', "");
        assert!(stored.iter().all(|d| !d.contains(&bare) && d.len() == 64));
    }
}

async fn an_administrator_removes_an_app_and_voids_recovery_codes(backend: Backend) {
    let s = setup(backend, &[]).await;
    let (_, app) = add_app(&s, "dave", "Dave's app").await;
    let auth = server::services::authenticators(&s.app.config, &s.app.db);
    let dave = person(&s, "dave").await;
    auth.new_recovery_codes(&dave.id, now()).await.expect("codes");
    let admin = signed_in(&s, "carol", "+447400123456").await;
    let people = admin.get("/admin?q=dave").await;
    assert_eq!(attr(&people, "data-apps"), Some("1"), "the people list shows what each has");
    assert_eq!(attr(&people, "data-recovery-codes"), Some("10"));
    let path = format!("/admin/person/{}", dave.id.as_str());
    let page = admin.get(&path).await;
    assert!(page.contains("Dave&#x27;s app") || page.contains("Dave's app"), "listed");
    let texts = s.standin.texts().len();
    let id = dave.id.as_str();
    // A reason is required.
    let form = [("id", id), ("app_id", app.id.as_str()), ("reason", " "), ("confirm", "on")];
    let page = admin.post_from(&path, "admin_remove_app", &form).await;
    assert_eq!(notice_of(&page), "admin.reason_required");
    let form = [("id", id), ("app_id", app.id.as_str()), ("reason", "Lost"), ("confirm", "on")];
    let page = admin.post_from(&path, "admin_remove_app", &form).await;
    assert_eq!(notice_of(&page), "admin.app_removed");
    let form = [("id", id), ("reason", "Printed copy lost"), ("confirm", "on")];
    let page = admin.post_from(&path, "admin_void_recovery_codes", &form).await;
    assert_eq!(notice_of(&page), "admin.recovery_codes_removed");
    let left = auth.factors(&dave.id).await.expect("factors");
    assert!(left.apps.is_empty());
    assert_eq!(left.recovery.remaining, 0);
    // Dave's phones were told (two phones, two notices each).
    let told = s.standin.texts().into_iter().skip(texts).count();
    assert_eq!(told, 4);
    let kinds = audit_kinds(&s.app).await;
    assert!(kinds.contains(&("admin.app_removed".into(), "removed".into())), "{kinds:?}");
    assert!(kinds.contains(&("admin.recovery_codes_removed".into(), "removed".into())));
}

async fn methods_left_out_are_neither_offered_nor_counted(backend: Backend) {
    // An app and recovery codes from before the operator left those methods out.
    let s = setup(backend, &[("LATCHKEY_POLICY__METHODS", r#"["sms"]"#)]).await;
    let mut all = s.app.config.clone();
    all.policy.methods = vec![
        server::config::Method::Sms,
        server::config::Method::Totp,
        server::config::Method::RecoveryCodes,
    ];
    let before = server::services::authenticators(&all, &s.app.db);
    let alice = person(&s, "alice").await;
    let enrolment = before.start_enrolment(&alice.id, "alice").expect("enrolment");
    let secret = TotpSecret::from_base32(&enrolment.grouped).expect("base32");
    let t = now() - 30;
    let code = secret.code_at(u64::try_from(t).expect("positive"));
    let app = before.finish_enrolment(&alice.id, &enrolment.sealed, "", &code, t).await.unwrap();
    before.prefer_app(&alice.id, &app.id, now()).await.expect("prefer");
    before.new_recovery_codes(&alice.id, now()).await.expect("codes");
    // Sign-in offers the phone alone: texted at once, no other way.
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "code");
    assert!(!page.contains("Use another way"));
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    // The security page neither lists them nor adds any.
    let page = b.get("/security").await;
    assert!(!page.contains("data-testid=\"authenticators"), "no apps section");
    assert!(!page.contains("data-recovery-remaining"), "no recovery codes section");
    let page = post_security(&b, "security_app_start", &[]).await;
    assert_eq!(notice_of(&page), "security.method_off");
    let page = post_security(&b, "security_recovery_new", &[]).await;
    assert_eq!(notice_of(&page), "security.method_off");
}
