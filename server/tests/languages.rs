//! The portal's language: `Accept-Language`, then the switcher's remembered choice, in pages
//! rendered by the server and in what server functions answer.

#[macro_use]
mod common;

use common::Backend;
use common::browser::{ALICE_PHONE, Browser, attr, code_sent_to, notice_of, setup, step_of};

on_both!(
    pages_follow_accept_language,
    the_switcher_remembers_the_choice_over_accept_language,
    messages_from_server_functions_speak_the_page_language,
    the_switcher_refuses_a_language_it_does_not_speak,
    texts_speak_the_language_of_the_page,
);

async fn get_with_language(b: &Browser, path: &str, accept_language: &str) -> String {
    let res = b
        .http
        .get(format!("{}{path}", b.base))
        .header("accept-language", accept_language)
        .send()
        .await
        .expect("get");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.text().await.expect("body")
}

async fn pages_follow_accept_language(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    let spanish = get_with_language(&b, "/sign-in", "es-MX,es;q=0.9,en;q=0.5").await;
    assert_eq!(attr(&spanish, "lang"), Some("es"));
    assert!(spanish.contains("Iniciar sesión"), "{spanish}");
    assert!(!spanish.contains(">Password<"), "no English label left: {spanish}");

    let english = get_with_language(&b, "/sign-in", "de-DE, en;q=0.4").await;
    assert_eq!(attr(&english, "lang"), Some("en"));
    assert!(english.contains(">Password<"));
    let default = get_with_language(&b, "/sign-in", "ja").await;
    assert_eq!(attr(&default, "lang"), Some("en"), "a language we do not speak: English");
}

async fn the_switcher_remembers_the_choice_over_accept_language(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    let page = b.post_from("/", "set_language", &[("lang", "es")]).await;
    assert_eq!(attr(&page, "lang"), Some("es"));
    assert_eq!(b.cookie("latchkey-lang").as_deref(), Some("es"));
    let english_browser = get_with_language(&b, "/", "en-GB").await;
    assert_eq!(attr(&english_browser, "lang"), Some("es"), "the choice beats the header");
    assert!(
        english_browser.contains(r#"value="es" lang="es" aria-pressed="true""#),
        "the switcher shows the choice: {english_browser}"
    );

    let back = b.post_from("/", "set_language", &[("lang", "en")]).await;
    assert_eq!(attr(&back, "lang"), Some("en"));
}

async fn messages_from_server_functions_speak_the_page_language(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.post_from("/sign-in", "set_language", &[("lang", "es")]).await;
    b.password("alice", "not-her-password").await;
    let page = b.sign_in_page().await;
    assert_eq!(notice_of(&page), "sign_in.failed");
    assert!(page.contains(app::i18n::t_in(app::i18n::Lang::Es, "sign_in.failed")), "{page}");
}

async fn the_switcher_refuses_a_language_it_does_not_speak(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    let res = b.post("set_language", &[("lang", "xx-evil\r\nSet-Cookie: a=b")]).await;
    assert!(res.status().is_client_error() || res.status().is_redirection(), "{}", res.status());
    assert_eq!(b.cookie("latchkey-lang"), None, "nothing remembered");
}

/// The code text is written in the language the person reads the page in; an operator's
/// `sms.template` is one text for everyone.
async fn texts_speak_the_language_of_the_page(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = Browser::new(&s.app);
    b.post_from("/sign-in", "set_language", &[("lang", "es")]).await;
    b.password("alice", "alice-demo-pw").await;
    assert_eq!(step_of(&b.sign_in_page().await), "code");
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    let body = s.standin.texts().last().expect("a text").body.clone();
    let spanish = app::i18n::t_in(app::i18n::Lang::Es, "text.code")
        .replace("{product}", "Latchkey")
        .replace("{code}", &code)
        .replace("{minutes}", "5");
    assert!(body.starts_with(&format!("{spanish}\n\n@")), "{body}");
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");

    let custom = "{product}: {code}";
    let s = setup(backend, &[("LATCHKEY_SMS__TEMPLATE", custom)]).await;
    let b = Browser::new(&s.app);
    b.post_from("/sign-in", "set_language", &[("lang", "es")]).await;
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    let body = s.standin.texts().last().expect("a text").body.clone();
    assert!(body.starts_with(&format!("Latchkey: {code}\n\n@")), "{body}");
}
