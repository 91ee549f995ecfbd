//! People's app sessions (the OpenID Connect provider's grants) on the security and admin
//! pages, full stack on SQLite and PostgreSQL: a person signs in to an app through the provider
//! (authorize, sign-in, code, token exchange, as an app's server would), then the security page
//! lists the app and signs out of it, forgetting browsers and an administrator's reset or phone
//! removal end every app session, and administrators see a person's apps and the configured
//! apps (never a secret). "Ended" is checked where an app would notice: `/oidc/userinfo`
//! refuses the app's access token.

#[macro_use]
mod common;

use common::Backend;
use common::browser::*;
use devkit::slapd::Slapd;
use reqwest::StatusCode;

on_both!(
    the_security_page_lists_apps_and_signs_out_of_one,
    forgetting_browsers_ends_app_sessions,
    ending_the_other_sessions_ends_their_app_sessions,
    an_administrators_reset_or_phone_removal_ends_the_persons_app_sessions,
    administrators_see_configured_apps_without_secrets,
    without_configured_apps_the_pages_show_no_app_sessions,
);

const SECRET: &str = "app-sessions-secret-0123456789-abcdefghij";
const APP_A: &str = "https://app-a.example/callback";
const APP_B: &str = "https://app-b.example/callback";
const CAROL_PHONE: &str = "+447400123456";
/// How the pages show an app sign-in's level (each in its own `<span data-testid="app-level">`).
const CODE_LEVEL: &str = ">Password + code</span>";
const PASSWORD_LEVEL: &str = ">Password</span>";

/// The server, as the security and admin tests know it, with three apps configured: A asks for
/// the code level by Gluu's name and has refresh tokens; B gets the server's default (the
/// password level); C is public and only for two groups (nobody signs in to it here).
async fn with_apps(backend: Backend) -> (Setup, tempfile::TempDir) {
    server::sms::install_crypto_provider();
    let slapd = Slapd::start(&common::demo_seed()).expect("slapd");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("rs256.pem");
    std::fs::write(&key, jose::fixtures::pem(jose::Alg::RS256)).unwrap();
    let toml = format!(
        r#"
[oidc]
signing_key_files = [{key:?}]

[[oidc.clients]]
id = "app-a"
name = "App A"
secret = "{SECRET}"
redirect_uris = ["{APP_A}"]
default_acr = "twilio_sms"
refresh_tokens = true

[[oidc.clients]]
id = "app-b"
name = "App B"
secret = "{SECRET}"
redirect_uris = ["{APP_B}"]

[[oidc.clients]]
id = "app-c"
name = "App C"
redirect_uris = ["{APP_B}"]
allowed_groups = ["latchkey-admins", "staff"]
"#
    );
    // Several sign-ins of one person in a test: no wait between their codes.
    let extra = [("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "0")];
    let setup = common::browser::setup_with_file(backend, slapd, dir.path(), &toml, &extra).await;
    (setup, dir)
}

/// What an app holds after the person signed in to it.
struct AppTokens {
    access: String,
    refresh: Option<String>,
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(location).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The person in `browser` signs in to the app `client_id` (redirect URI `redirect`) through
/// the provider: to the sign-in page when needed (password, then the code texted to `phone`
/// when asked), back to the app with a code, which the app exchanges for tokens.
async fn sign_in_to_app(
    s: &Setup,
    browser: &Browser,
    (client_id, redirect): (&str, &str),
    (login, password, phone): (&str, &str, &str),
) -> AppTokens {
    let authorize = reqwest::Url::parse_with_params(
        &format!("{}/oidc/authorize", s.app.url),
        &[
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "st-1"),
        ],
    )
    .unwrap();
    let res = browser.http.get(authorize).send().await.expect("authorize");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the authorization endpoint redirects");
    let mut back = res.headers()["location"].to_str().unwrap().to_owned();
    if back == "/sign-in" {
        back = browser.password(login, password).await;
        if !back.starts_with(redirect) {
            let code = code_sent_to(&s.standin, phone);
            back = browser.submit("sign_in_code", &[("code", &code)]).await;
        }
    }
    assert!(back.starts_with(redirect), "back to the app: {back}");
    let code = query_param(&back, "code").expect("a code");
    let res = reqwest::Client::new()
        .post(format!("{}/oidc/token", s.app.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", client_id),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), StatusCode::OK, "the code is exchanged");
    let body: serde_json::Value = res.json().await.unwrap();
    AppTokens {
        access: body["access_token"].as_str().expect("an access token").to_owned(),
        refresh: body["refresh_token"].as_str().map(str::to_owned),
    }
}

/// What `/oidc/userinfo` answers the app holding `access`.
async fn userinfo(s: &Setup, access: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", s.app.url))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo")
        .status()
}

/// What the token endpoint answers a refresh with `refresh`.
async fn refresh(s: &Setup, client_id: &str, refresh: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{}/oidc/token", s.app.url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", client_id),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .expect("refresh")
        .status()
}

/// Signs in to Latchkey itself (code from the stand-in when asked).
async fn signed_in(s: &Setup, login: &str, password: &str, phone: &str) -> Browser {
    let b = Browser::new(&s.app);
    if b.password(login, password).await != "/" {
        let code = code_sent_to(&s.standin, phone);
        assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    }
    b
}

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

/// The list item (`<li …>` to `</li>`) that carries `marker`.
fn row<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker} is on the page"));
    let start = html[..at].rfind("<li").expect("in a list item");
    let end = at + html[at..].find("</li>").expect("the item ends");
    &html[start..end]
}

/// The `detail` of every `oidc.logout` event, oldest first.
async fn logout_details(s: &Setup) -> Vec<(String, String)> {
    let sql = "SELECT outcome, detail FROM audit_events WHERE kind = 'oidc.logout' ORDER BY id";
    match &s.app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    }
}

async fn person_id(s: &Setup, login: &str) -> String {
    person(s, login).await.id.0
}

async fn the_security_page_lists_apps_and_signs_out_of_one(backend: Backend) {
    let (s, _dir) = with_apps(backend).await;
    let alice = ("alice", "alice-demo-pw", ALICE_PHONE);
    let b = Browser::new(&s.app);
    let a_tokens = sign_in_to_app(&s, &b, ("app-a", APP_A), alice).await;
    let b_tokens = sign_in_to_app(&s, &b, ("app-b", APP_B), alice).await;

    let page = b.get("/security").await;
    assert!(page.contains("Apps you are signed in to"), "the card");
    let a_row = row(&page, "data-app=\"app-a\"");
    assert!(a_row.contains("App A") && a_row.contains(CODE_LEVEL), "{a_row}");
    assert!(a_row.contains("Sign out of this app"), "{a_row}");
    let b_row = row(&page, "data-app=\"app-b\"");
    assert!(b_row.contains("App B") && b_row.contains(PASSWORD_LEVEL), "{b_row}");
    assert_eq!(userinfo(&s, &a_tokens.access).await, StatusCode::OK);

    // Without JavaScript: the form posts, the page comes back without app A.
    let page = b.post_from("/security", "security_app_sign_out", &[("client_id", "app-a")]).await;
    assert_eq!(notice_of(&page), "security.apps.signed_out");
    assert!(!page.contains("data-app=\"app-a\""), "app A is gone");
    assert!(page.contains("data-app=\"app-b\""), "app B stays");
    assert_eq!(userinfo(&s, &a_tokens.access).await, StatusCode::UNAUTHORIZED, "A's token ends");
    let refreshed = refresh(&s, "app-a", a_tokens.refresh.as_deref().expect("A refreshes")).await;
    assert_eq!(refreshed, StatusCode::BAD_REQUEST, "and so does its refresh token");
    assert_eq!(userinfo(&s, &b_tokens.access).await, StatusCode::OK, "B's does not");
    let page = b.post_from("/security", "security_app_sign_out", &[("client_id", "app-a")]).await;
    assert_eq!(notice_of(&page), "security.apps.not_signed_in", "a second click ends nothing");

    // Hydrated: the server function answers, the page's data reloads without app B.
    let (status, body) = call(&b, "security_app_sign_out", &[("client_id", "app-b")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&b, "security_view", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["notice"]["id"], "security.apps.signed_out");
    assert_eq!(view["apps"], serde_json::json!([]), "no app left");
    assert_eq!(userinfo(&s, &b_tokens.access).await, StatusCode::UNAUTHORIZED);
    let page = b.get("/security").await;
    assert!(page.contains("data-testid=\"apps-none\""), "the empty state");

    // Signing out of an app is the person's, in their activity and the audit trail.
    let details = logout_details(&s).await;
    assert_eq!(
        details,
        [("app_signed_out".into(), "app-a".into()), ("app_signed_out".into(), "app-b".into())]
    );
    assert!(page.contains("Signed out of an app"), "worded in the activity list");

    // Someone signed out cannot sign anyone out of anything.
    let stranger = Browser::new(&s.app);
    let page =
        stranger.post_from("/security", "security_app_sign_out", &[("client_id", "app-a")]).await;
    assert!(page.contains("data-testid=\"security-signed-out\""));
}

async fn forgetting_browsers_ends_app_sessions(backend: Backend) {
    let (s, _dir) = with_apps(backend).await;
    let b = Browser::new(&s.app);
    let tokens =
        sign_in_to_app(&s, &b, ("app-a", APP_A), ("alice", "alice-demo-pw", ALICE_PHONE)).await;
    assert!(b.get("/security").await.contains("data-app=\"app-a\""));

    let page = b.post_from("/security", "security_forget_browser", &[]).await;
    assert_eq!(notice_of(&page), "security.browsers_forgotten");
    assert!(!page.contains("data-app=\"app-a\""), "no app session left");
    assert!(page.contains("data-testid=\"apps-none\""));
    assert_eq!(userinfo(&s, &tokens.access).await, StatusCode::UNAUTHORIZED);
    let refreshed = refresh(&s, "app-a", tokens.refresh.as_deref().unwrap()).await;
    assert_eq!(refreshed, StatusCode::BAD_REQUEST);
    assert_eq!(logout_details(&s).await, [("revoked".into(), "app-a browsers_forgotten".into())]);
    // This browser stays signed in to Latchkey.
    assert!(signed_in_as(&b).await.is_some());
}

/// "Sign out of all other browsers" moves the person's session generation on: the apps signed
/// in from another browser are neither listed nor served any more; this browser's stay.
async fn ending_the_other_sessions_ends_their_app_sessions(backend: Backend) {
    let (s, _dir) = with_apps(backend).await;
    let elsewhere = Browser::new(&s.app);
    let tokens =
        sign_in_to_app(&s, &elsewhere, ("app-a", APP_A), ("alice", "alice-demo-pw", ALICE_PHONE))
            .await;
    let here = Browser::new(&s.app);
    let mine =
        sign_in_to_app(&s, &here, ("app-b", APP_B), ("alice", "alice-demo-pw", ALICE_PHONE)).await;
    let page = here.post_from("/security", "security_sign_out_others", &[]).await;
    assert!(!page.contains("data-app=\"app-a\""), "the other browser's app is gone");
    assert_eq!(userinfo(&s, &tokens.access).await, StatusCode::UNAUTHORIZED);
    // This browser stays signed in, and so do the apps it reached.
    assert!(page.contains("data-app=\"app-b\""), "this browser's app stays");
    assert_eq!(userinfo(&s, &mine.access).await, StatusCode::OK);
}

async fn an_administrators_reset_or_phone_removal_ends_the_persons_app_sessions(backend: Backend) {
    let (s, _dir) = with_apps(backend).await;
    let alice_id = person_id(&s, "alice").await;
    let alice = ("alice", "alice-demo-pw", ALICE_PHONE);
    let a = Browser::new(&s.app);
    let tokens = sign_in_to_app(&s, &a, ("app-a", APP_A), alice).await;
    let admin = signed_in(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    let person_page = format!("/admin/person/{alice_id}");

    // The administrator sees the person's app sessions.
    let page = admin.get(&person_page).await;
    assert!(page.contains("data-testid=\"admin-apps\""), "the card");
    let a_row = row(&page, "data-app=\"app-a\"");
    assert!(a_row.contains("App A") && a_row.contains(CODE_LEVEL), "{a_row}");

    // Reset to password-only: the app sessions end with it.
    let form = [("id", alice_id.as_str()), ("reason", "lost phone"), ("confirm", "yes")];
    let page = admin.post_from(&person_page, "admin_reset", &form).await;
    assert_eq!(notice_of(&page), "admin.reset_done");
    assert!(!page.contains("data-app=\"app-a\""), "the person page is true at once");
    assert!(page.contains("data-testid=\"admin-apps-none\""));
    assert_eq!(userinfo(&s, &tokens.access).await, StatusCode::UNAUTHORIZED);

    // Signed in again (password only now) to app B; the administrator removes her phone.
    let again = Browser::new(&s.app);
    let tokens = sign_in_to_app(&s, &again, ("app-b", APP_B), alice).await;
    let page = admin.get(&person_page).await;
    let b_row = row(&page, "data-app=\"app-b\"");
    assert!(b_row.contains("App B") && b_row.contains(PASSWORD_LEVEL), "{b_row}");
    let key = form_key(&page, &format!("data-number=\"{ALICE_PHONE}\""));
    let form = [
        ("id", alice_id.as_str()),
        ("key", key.as_str()),
        ("reason", "number given up"),
        ("confirm", "yes"),
    ];
    let page = admin.post_from(&person_page, "admin_remove_phone", &form).await;
    assert_eq!(notice_of(&page), "admin.phone_removed");
    assert!(!page.contains("data-app=\"app-b\""));
    assert_eq!(userinfo(&s, &tokens.access).await, StatusCode::UNAUTHORIZED);

    assert_eq!(
        logout_details(&s).await,
        [
            ("revoked".into(), "app-a admin_reset".into()),
            ("revoked".into(), "app-b admin_phone_removed".into())
        ]
    );
    // Recorded as the person's (the administrator's own change is admin.reset).
    let sql = "SELECT actor_id, login FROM audit_events WHERE kind = 'oidc.logout'";
    let (actor, login): (String, String) = match &s.app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_as(sql).fetch_one(p).await.unwrap(),
    };
    assert_eq!((actor.as_str(), login.as_str()), (alice_id.as_str(), "alice"));

    // A refused change (not confirmed) ends nothing.
    let tokens = sign_in_to_app(&s, &Browser::new(&s.app), ("app-b", APP_B), alice).await;
    let form = [("id", alice_id.as_str()), ("reason", "oops")];
    let page = admin.post_from(&person_page, "admin_reset", &form).await;
    assert_eq!(notice_of(&page), "admin.not_confirmed");
    assert!(page.contains("data-app=\"app-b\""));
    assert_eq!(userinfo(&s, &tokens.access).await, StatusCode::OK);
}

async fn administrators_see_configured_apps_without_secrets(backend: Backend) {
    let (s, _dir) = with_apps(backend).await;
    let admin = signed_in(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    let page = admin.get("/admin").await;
    assert!(page.contains("data-testid=\"configured-apps\""), "the card");
    let a = row(&page, "data-client=\"app-a\"");
    for shown in ["App A", APP_A, "twilio_sms", "Password + code", "confidential"] {
        assert!(a.contains(shown), "{shown} in {a}");
    }
    let c = row(&page, "data-client=\"app-c\"");
    assert!(c.contains("latchkey-admins staff") && c.contains("public"), "{c}");
    let b = row(&page, "data-client=\"app-b\"");
    for shown in ["App B", APP_B, "The server&#x27;s default", "Everyone"] {
        assert!(b.contains(shown) || b.contains(&shown.replace("&#x27;", "'")), "{shown} in {b}");
    }
    assert!(!page.contains(SECRET), "never a secret");
    let (status, body) = call(&admin, "admin_people", &[("q", ""), ("page", "0")]).await;
    assert_eq!(status, StatusCode::OK);
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(view["apps"][0]["id"], "app-a");
    assert_eq!(view["apps"][0]["refresh_tokens"], true);
    assert!(!body.contains(SECRET), "not on the wire either");

    // Not for everyone.
    let alice = signed_in(&s, "alice", "alice-demo-pw", ALICE_PHONE).await;
    let (status, body) = call(&alice, "admin_people", &[("q", ""), ("page", "0")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!body.contains("app-a"));
}

async fn without_configured_apps_the_pages_show_no_app_sessions(backend: Backend) {
    let s = setup(backend, &[]).await;
    let alice = signed_in(&s, "alice", "alice-demo-pw", ALICE_PHONE).await;
    let page = alice.get("/security").await;
    assert!(page.contains("data-testid=\"phones\""), "the page is there");
    assert!(!page.contains("apps-title"), "no apps card");
    let admin = signed_in(&s, "carol", "carol-demo-pw", CAROL_PHONE).await;
    let page = admin.get(&format!("/admin/person/{}", person_id(&s, "alice").await)).await;
    assert!(page.contains("data-testid=\"admin-phones\""), "the page is there");
    assert!(!page.contains("admin-apps"), "no apps card");
    let page = admin.get("/admin").await;
    assert!(page.contains("No app is configured."));
}
