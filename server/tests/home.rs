//! The start page's security checkup, full stack on SQLite and PostgreSQL, as a browser without
//! JavaScript: the demo people (alice: one phone, 2-step on; bob: no phone, 2-step off; dave:
//! two phones) see 2-step sign-in, each credential with its count, their last sign-in, their
//! remembered browsers and apps, and the one suggestion that matters most, which changes as
//! they follow it; every line links to a part of the security page that is there.

#[macro_use]
mod common;

use common::Backend;
use common::browser::*;
use devkit::slapd::Slapd;
use reqwest::StatusCode;

on_both!(
    alice_with_one_phone_is_asked_for_recovery_codes_then_a_second_phone,
    bob_without_a_phone_is_asked_to_add_one_then_to_turn_two_factor_on,
    dave_with_two_phones_has_nothing_left_to_fix_once_he_has_recovery_codes,
    signed_out_there_is_no_checkup,
    apps_signed_in_to_are_counted,
);

/// Signs `login` in (password `{login}-demo-pw`; the first phone's code when asked, this
/// browser remembered when `remember`).
async fn signed_in(s: &Setup, login: &str, remember: bool) -> Browser {
    let b = Browser::new(&s.app);
    let texts = s.standin.texts().len();
    if b.password(login, &format!("{login}-demo-pw")).await != "/" {
        if step_of(&b.sign_in_page().await) == "choose-method" {
            b.submit("sign_in_choose_phone", &[("phone", "0")]).await;
        }
        let text = s.standin.texts().into_iter().skip(texts).last().expect("a code was texted");
        let code = code_sent_to(&s.standin, &text.to);
        let mut form = vec![("code", code.as_str())];
        if remember {
            form.push(("remember", "on"));
        }
        assert_eq!(b.submit("sign_in_code", &form).await, "/");
    }
    b
}

/// The checkup's line `item` (its `<a …>…</a>`), which must be on the page.
fn line<'a>(home: &'a str, item: &str) -> &'a str {
    let marker = format!("data-checkup=\"{item}\"");
    let at = home.find(&marker).unwrap_or_else(|| panic!("the {item} line is on the page"));
    let start = home[..at].rfind("<a").expect("the line is a link");
    &home[start..at + home[at..].find("</a>").expect("the link ends")]
}

/// The count line `item` shows, and where it links to.
fn count(home: &str, item: &str) -> (u32, String) {
    let line = line(home, item);
    let n = attr(line, "data-count").expect("a count").parse().expect("a number");
    (n, attr(line, "href").expect("a link").to_owned())
}

/// The suggestion's name and where it links to (`none`, and no link, when nothing is weak).
fn suggestion(home: &str) -> (String, Option<String>) {
    let name = attr(home, "data-suggestion").expect("the checkup says what to do").to_owned();
    let link = home.find("data-action=\"suggestion\"").map(|at| {
        let start = home[..at].rfind("<a").expect("a link");
        attr(&home[start..], "href").expect("href").to_owned()
    });
    (name, link)
}

/// Every `/security#…` the home page links to names a part of the security page.
async fn links_land_on_the_security_page(b: &Browser, home: &str) {
    let security = b.get("/security").await;
    let anchors: Vec<&str> = home
        .match_indices("href=\"/security#")
        .map(|(i, m)| {
            let rest = &home[i + m.len()..];
            &rest[..rest.find('"').expect("closing quote")]
        })
        .collect();
    assert!(anchors.len() >= 5, "the checkup links its lines: {anchors:?}");
    for anchor in anchors {
        assert!(security.contains(&format!("id=\"{anchor}\"")), "/security has #{anchor}");
    }
}

async fn alice_with_one_phone_is_asked_for_recovery_codes_then_a_second_phone(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "alice", false).await;
    let home = b.get("/").await;
    assert!(home.contains("Alice Anders"));
    assert_eq!(attr(&home, "data-method"), Some("password_and_sms"), "this session's sign-in");

    let two_factor = line(&home, "two-factor");
    assert_eq!(attr(two_factor, "data-state"), Some("on"));
    assert_eq!(attr(two_factor, "href"), Some("/security#two-factor-title"));
    assert_eq!(count(&home, "phones"), (1, "/security#phones-title".into()));
    assert!(!line(&home, "phones").contains("data-unverified"), "her number is verified");
    assert_eq!(count(&home, "authenticators"), (0, "/security#authenticators-title".into()));
    assert_eq!(count(&home, "recovery"), (0, "/security#recovery-title".into()));
    assert_eq!(count(&home, "browsers"), (0, "/security#browsers-title".into()));
    assert!(!home.contains("data-checkup=\"apps\""), "no app is configured: no apps line");

    // The last sign-in as the activity log has it: when, how, from where.
    let last = line(&home, "last-sign-in");
    assert_eq!(attr(last, "href"), Some("/security#activity-title"));
    assert_eq!(attr(last, "data-last-method"), Some("password_and_sms"));
    assert_eq!(attr(last, "data-last-ip"), Some("127.0.0.1"));
    assert!(last.contains("<time"), "the time, as LocalTime renders it");
    assert!(last.contains("with your password and a code sent by text message"));
    assert!(last.contains("Chrome on Linux, from address 127.0.0.1"));

    // One phone, and nothing else to fall back on: recovery codes first.
    assert_eq!(
        suggestion(&home),
        ("get_recovery_codes".into(), Some("/security#recovery-title".into()))
    );
    links_land_on_the_security_page(&b, &home).await;

    b.post_from("/security", "security_recovery_new", &[]).await;
    let home = b.get("/").await;
    assert_eq!(count(&home, "recovery").0, 10);
    assert!(line(&home, "recovery").contains("10 recovery codes left"));
    // Still one phone for every code.
    assert_eq!(
        suggestion(&home),
        ("add_second_phone".into(), Some("/security#phones-title".into()))
    );

    // The same checkup in Spanish.
    b.jar.add_cookie_str("latchkey-lang=es", &b.url);
    let home = b.get("/").await;
    assert!(home.contains("Quedan 10 códigos de recuperación"));
    assert!(home.contains("Añadir un teléfono"), "the suggestion's link");
}

async fn bob_without_a_phone_is_asked_to_add_one_then_to_turn_two_factor_on(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "bob", false).await;
    let home = b.get("/").await;
    assert_eq!(attr(&home, "data-method"), Some("password"));
    assert_eq!(attr(line(&home, "two-factor"), "data-state"), Some("off"));
    assert_eq!(count(&home, "phones").0, 0);
    assert!(line(&home, "phones").contains("No phone yet"));
    let last = line(&home, "last-sign-in");
    assert_eq!(attr(last, "data-last-method"), Some("password"));
    // (Leptos marks where text nodes meet with `<!>`.)
    assert!(last.replace("<!>", "").contains(", with your password."), "{last}");
    assert_eq!(
        suggestion(&home),
        ("add_phone_for_two_factor".into(), Some("/security#phones-title".into()))
    );
    links_land_on_the_security_page(&b, &home).await;

    b.post_from("/security", "security_add_start", &[]).await;
    b.post_from(
        "/security",
        "security_add_number",
        &[("region", "US"), ("number", "(201) 555-0177")],
    )
    .await;
    let code = code_sent_to(&s.standin, "+12015550177");
    let page = b
        .post_from("/security", "security_add_verify", &[("code", &code), ("nickname", "Mobile")])
        .await;
    assert_eq!(notice_of(&page), "security.phone_added");
    let home = b.get("/").await;
    assert_eq!(count(&home, "phones").0, 1);
    assert_eq!(attr(line(&home, "two-factor"), "data-state"), Some("off"));
    assert_eq!(
        suggestion(&home),
        ("turn_on_two_factor".into(), Some("/security#two-factor-title".into()))
    );

    b.post_from("/security", "security_two_factor", &[("on", "on")]).await;
    let home = b.get("/").await;
    assert_eq!(attr(line(&home, "two-factor"), "data-state"), Some("on"));
    assert_eq!(suggestion(&home).0, "get_recovery_codes", "2-step on: the next weakness");
}

async fn dave_with_two_phones_has_nothing_left_to_fix_once_he_has_recovery_codes(backend: Backend) {
    let s = setup(backend, &[]).await;
    let b = signed_in(&s, "dave", true).await;
    let home = b.get("/").await;
    assert_eq!(count(&home, "phones"), (2, "/security#phones-title".into()));
    assert!(line(&home, "phones").contains("2 phones"));
    assert_eq!(count(&home, "browsers"), (1, "/security#browsers-title".into()), "remembered");
    assert_eq!(
        suggestion(&home),
        ("get_recovery_codes".into(), Some("/security#recovery-title".into())),
        "two phones, but phones only"
    );

    b.post_from("/security", "security_recovery_new", &[]).await;
    let home = b.get("/").await;
    assert_eq!(suggestion(&home), ("none".into(), None));
    assert!(home.contains("Nothing to fix"));
    links_land_on_the_security_page(&b, &home).await;
}

async fn signed_out_there_is_no_checkup(backend: Backend) {
    let s = setup(backend, &[]).await;
    let home = Browser::new(&s.app).get("/").await;
    assert!(!home.contains("data-checkup"));
    assert!(!home.contains("data-suggestion"));
    assert!(home.contains("href=\"/sign-in\""));
}

async fn apps_signed_in_to_are_counted(backend: Backend) {
    const SECRET: &str = "home-checkup-secret-0123456789-abcdefghij";
    const REDIRECT: &str = "https://wiki.example/callback";
    server::sms::install_crypto_provider();
    let slapd = Slapd::start(&common::demo_seed()).expect("slapd");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("rs256.pem");
    std::fs::write(&key, jose::fixtures::pem(jose::Alg::RS256)).unwrap();
    let toml = format!(
        "[oidc]\nsigning_key_files = [{key:?}]\n\n[[oidc.clients]]\nid = \"wiki\"\nname = \"Wiki\"\n\
         secret = \"{SECRET}\"\nredirect_uris = [\"{REDIRECT}\"]\n"
    );
    let s = setup_with_file(backend, slapd, dir.path(), &toml, &[]).await;
    let b = signed_in(&s, "alice", false).await;
    assert_eq!(count(&b.get("/").await, "apps"), (0, "/security#apps-title".into()));

    // Alice, signed in already, signs in to the wiki; the wiki exchanges its code.
    let authorize = reqwest::Url::parse_with_params(
        &format!("{}/oidc/authorize", s.app.url),
        &[
            ("client_id", "wiki"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "st-1"),
        ],
    )
    .unwrap();
    let res = b.http.get(authorize).send().await.expect("authorize");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = reqwest::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let code = back.query_pairs().find(|(k, _)| k == "code").expect("a code").1.into_owned();
    let res = reqwest::Client::new()
        .post(format!("{}/oidc/token", s.app.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", "wiki"),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::OK);

    let home = b.get("/").await;
    assert_eq!(count(&home, "apps"), (1, "/security#apps-title".into()));
    assert!(line(&home, "apps").contains("1 app"));
    links_land_on_the_security_page(&b, &home).await;
}
