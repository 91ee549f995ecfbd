//! The OpenID Connect provider driven by a real relying-party library (the `openidconnect`
//! crate), on both databases, with the real slapd and the Twilio stand-in; the person's browser
//! is the no-JavaScript test browser.

mod common;

use common::browser::{ALICE_PHONE, Browser, Setup, code_sent_to};
use common::{Backend, TestApp};
use devkit::slapd::Slapd;
use devkit::twilio_standin::TwilioStandin;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse,
};
use reqwest::StatusCode;

const SECRET_A: &str = "app-a-secret-0123456789-abcdefghijklmnop";
const APP_A: &str = "https://app-a.example/callback";
const APP_B: &str = "http://127.0.0.1:9/cb";

/// The relying party's HTTP: our reqwest, no redirects followed (OpenID Connect forbids it).
async fn rp_http(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let (parts, body) = request.into_parts();
    let mut builder = client.request(parts.method, parts.uri.to_string()).body(body);
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await?;
    let mut out = openidconnect::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        out = out.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(out.body(body).expect("a response"))
}

struct Provider {
    app: TestApp,
    standin: TwilioStandin,
    _config_dir: tempfile::TempDir,
}

/// A provider with two apps: A (confidential, RS256, asks for the code level by Gluu's name,
/// refresh tokens on) and B (public, ES256, password level).
async fn provider(backend: Backend) -> Provider {
    server::sms::install_crypto_provider();
    let slapd = Slapd::start(&devkit::demo::seed_ldif()).expect("slapd");
    // The issuer must be the address the server answers on: a free port, taken again below.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let rs = dir.path().join("rs256.pem");
    let es = dir.path().join("es256.pem");
    let ed = dir.path().join("ed25519.pem");
    std::fs::write(&rs, jose::fixtures::pem(jose::Alg::RS256)).unwrap();
    std::fs::write(&es, jose::fixtures::pem(jose::Alg::ES256)).unwrap();
    std::fs::write(&ed, jose::fixtures::pem(jose::Alg::EdDSA)).unwrap();
    let toml = format!(
        r#"
[oidc]
signing_key_files = [{rs:?}, {es:?}, {ed:?}]

[[oidc.clients]]
id = "app-a"
name = "App A"
secret = "{SECRET_A}"
redirect_uris = ["{APP_A}"]
post_logout_redirect_uris = ["https://app-a.example/bye"]
refresh_tokens = true

[[oidc.clients]]
id = "app-b"
name = "App B"
redirect_uris = ["{APP_B}"]
signing_alg = "ES256"

[[oidc.clients]]
id = "app-d"
name = "App D"
secret = "{SECRET_A}"
redirect_uris = ["{APP_A}"]
default_acr = "urn:latchkey:acr:password+code"
remembered_browser_satisfies_code = true
refresh_tokens = true

[[oidc.clients]]
id = "app-c"
name = "App C"
secret = "{SECRET_A}"
redirect_uris = ["{APP_A}"]
signing_alg = "EdDSA"
allowed_groups = ["latchkey-admins"]
"#
    );
    let address = format!("127.0.0.1:{port}");
    let extra =
        [("LATCHKEY_SERVER__ADDRESS", address.as_str()), ("LATCHKEY_SERVER__PUBLIC_URL", &base)];
    let Setup { app, standin } =
        common::browser::setup_with_file(backend, slapd, dir.path(), &toml, &extra).await;
    Provider { app, standin, _config_dir: dir }
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(location).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Where GET `url` in `browser` sends it.
async fn follow(browser: &Browser, url: &str) -> (StatusCode, String) {
    let res = browser.http.get(url).send().await.expect("get");
    let status = res.status();
    let location =
        res.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, location)
}

/// Posts the logout confirmation page's form, as sent from a page of `site`
/// (`Sec-Fetch-Site`).
async fn confirm_logout(
    p: &Provider,
    browser: &Browser,
    site: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .http
        .post(format!("{}/oidc/logout", p.app.url))
        .header("sec-fetch-site", site)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn signed_in_alice(p: &Provider, browser: &Browser) -> String {
    assert_eq!(browser.password("alice", "alice-demo-pw").await, format!("{}/sign-in", p.app.url));
    let code = code_sent_to(&p.standin, ALICE_PHONE);
    browser.submit("sign_in_code", &[("code", &code)]).await
}

async fn code_level_app_then_single_sign_on(backend: Backend) {
    let p = provider(backend).await;
    let issuer = IssuerUrl::new(p.app.url.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &rp_http).await.expect("discovery");
    let a = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new("app-a".into()),
        Some(ClientSecret::new(SECRET_A.into())),
    )
    .set_redirect_uri(RedirectUrl::new(APP_A.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = a
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("phone".into()))
        .add_auth_context_value(AuthenticationContextClass::new("twilio_sms".into()))
        .set_pkce_challenge(challenge)
        .url();

    // Nobody is signed in: to the sign-in page, then password and code, then back to the app.
    let browser = Browser::new(&p.app);
    let (status, location) = follow(&browser, url.as_str()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/sign-in");
    let back = signed_in_alice(&p, &browser).await;
    assert!(back.starts_with(APP_A), "back to the app: {back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(query_param(&back, "iss").as_deref(), Some(p.app.url.as_str()), "RFC 9207");
    let code = query_param(&back, "code").expect("a code");

    let response = a
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .expect("the code is exchanged");
    let id_token = response.id_token().expect("an ID token");
    let verifier = a.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("a valid ID token (signature, nonce)");
    assert_eq!(claims.auth_context_ref().map(|c| c.as_str()), Some("twilio_sms"), "the acr asked");
    let amr: Vec<String> =
        claims.auth_method_refs().unwrap().iter().map(|m| m.as_str().to_owned()).collect();
    assert_eq!(amr, ["pwd", "sms", "mfa"]);
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        response.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected);
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("alice"));
    assert!(response.refresh_token().is_some(), "app A has refresh tokens on");

    // userinfo with the access token.
    let http = reqwest::Client::new();
    let info: serde_json::Value = http
        .get(format!("{}/oidc/userinfo", p.app.url))
        .bearer_auth(response.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], claims.subject().as_str());
    assert_eq!(info["email"], "alice@example.org");
    assert_eq!(info["phone_number"], ALICE_PHONE, "a number Latchkey verified");
    assert_eq!(info["phone_number_verified"], true);

    // The code again: refused, and what the first use issued is revoked.
    let again =
        a.exchange_code(AuthorizationCode::new(code)).unwrap().request_async(&rp_http).await;
    assert!(again.is_err(), "a code works once");
    let revoked = http
        .get(format!("{}/oidc/userinfo", p.app.url))
        .bearer_auth(response.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED, "the reused code's tokens are revoked");

    // App B asks for the password level: straight back, no new text.
    let texts = p.standin.texts().len();
    let b = CoreClient::from_provider_metadata(metadata, ClientId::new("app-b".into()), None)
        .set_redirect_uri(RedirectUrl::new(APP_B.into()).unwrap());
    let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = b
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let (status, back) = follow(&browser, url.as_str()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(back.starts_with(APP_B), "single sign-on: {back}");
    assert_eq!(p.standin.texts().len(), texts, "no new text for a level already reached");
    let code = query_param(&back, "code").unwrap();
    // A wrong verifier first: refused.
    let wrong = b
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(openidconnect::PkceCodeVerifier::new("x".repeat(50)))
        .request_async(&rp_http)
        .await;
    assert!(wrong.is_err(), "a wrong PKCE verifier is refused");
    drop((pkce, nonce));
    // Again, with the right verifier: app B's ES256 ID token verifies.
    let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = b
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let (_, back) = follow(&browser, url.as_str()).await;
    let response = b
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(pkce)
        .request_async(&rp_http)
        .await
        .expect("a public client with PKCE");
    let b_token = response.id_token().unwrap();
    assert_eq!(
        b_token.signing_alg().unwrap(),
        &openidconnect::core::CoreJwsSigningAlgorithm::EcdsaP256Sha256
    );
    let claims = b_token.claims(&b.id_token_verifier(), &nonce).expect("an ES256 ID token");
    assert_eq!(
        claims.auth_context_ref().map(|c| c.as_str()),
        Some("urn:latchkey:acr:password"),
        "the level asked for (the server's default), which the sign-in satisfies"
    );

    // prompt=none in a browser nobody signed in to: login_required, no text.
    let stranger = Browser::new(&p.app);
    let (url, _, _) = b
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
        .add_prompt(openidconnect::core::CoreAuthPrompt::None)
        .url();
    let (_, back) = follow(&stranger, url.as_str()).await;
    assert_eq!(query_param(&back, "error").as_deref(), Some("login_required"));

    // An unregistered redirect_uri is never redirected to.
    let evil = format!(
        "{}/oidc/authorize?client_id=app-a&response_type=code&scope=openid&redirect_uri={}",
        p.app.url, "https%3A%2F%2Fevil.example%2Fcb"
    );
    let (status, location) = follow(&browser, &evil).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(location.is_empty());

    // Logout with the hint: signed out everywhere, back to the registered page with the state.
    let logout = format!(
        "{}/oidc/logout?id_token_hint={}&post_logout_redirect_uri={}&state=s1",
        p.app.url, id_token, "https%3A%2F%2Fapp-a.example%2Fbye"
    );
    let (status, location) = follow(&browser, &logout).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "https://app-a.example/bye?state=s1");
    assert_eq!(common::browser::signed_in_as(&browser).await, None, "signed out of Latchkey");

    // And counted in /metrics.
    let metrics =
        reqwest::get(format!("{}/metrics", p.app.url)).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"latchkey_oidc_events_total{kind="oidc.authorize",outcome="granted"}"#),
        "{metrics}"
    );

    // Every grant, refusal, token use and logout is in the audit trail.
    let kinds = common::browser::audit_kinds(&p.app).await;
    for (kind, outcome) in [
        ("oidc.authorize", "granted"),
        ("oidc.authorize", "refused"),
        ("oidc.token", "issued_with_refresh"),
        ("oidc.token", "revoked"),
        ("oidc.token", "refused"),
        ("oidc.userinfo", "answered"),
        ("oidc.logout", "revoked"),
    ] {
        assert!(
            kinds.iter().any(|(k, o)| k == kind && o == outcome),
            "{kind} {outcome} audited: {kinds:?}"
        );
    }
}

/// A person signed in with the password only, then an app asks for the code level: only the
/// code step, exactly one text, and the app gets back the acr it asked for; `prompt=login`
/// asks for the password again; an app for a group the person is not in refuses them.
async fn step_up_sends_one_text(backend: Backend) {
    let p = provider(backend).await;
    two_step_off_for_alice(&p).await;

    let issuer = IssuerUrl::new(p.app.url.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &rp_http).await.expect("discovery");
    let browser = Browser::new(&p.app);
    let b =
        CoreClient::from_provider_metadata(metadata.clone(), ClientId::new("app-b".into()), None)
            .set_redirect_uri(RedirectUrl::new(APP_B.into()).unwrap());
    let (url, _, _) = b
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
        .url();
    assert_eq!(follow(&browser, url.as_str()).await.1, "/sign-in");
    let back = browser.password("alice", "alice-demo-pw").await;
    assert!(back.starts_with(APP_B), "the password level needs no code: {back}");
    assert!(p.standin.texts().is_empty());

    // App A asks for the code level (as Gluu's twilio_sms): the code step only.
    let a = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new("app-a".into()),
        Some(ClientSecret::new(SECRET_A.into())),
    )
    .set_redirect_uri(RedirectUrl::new(APP_A.into()).unwrap());
    let (url, _, nonce) = a
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_auth_context_value(AuthenticationContextClass::new("twilio_sms".into()))
        .url();
    assert_eq!(follow(&browser, url.as_str()).await.1, "/sign-in");
    assert_eq!(p.standin.texts().len(), 1, "exactly one text");
    let page = browser.sign_in_page().await;
    assert_eq!(common::browser::step_of(&page), "code", "the code step, not the password");
    let code = code_sent_to(&p.standin, ALICE_PHONE);
    let back = browser.submit("sign_in_code", &[("code", &code)]).await;
    assert!(back.starts_with(APP_A), "back to app A: {back}");
    let response = a
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("exchange");
    let claims = response.id_token().unwrap().claims(&a.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims.auth_context_ref().map(|c| c.as_str()), Some("twilio_sms"));
    assert_eq!(p.standin.texts().len(), 1, "still one text");

    // prompt=login: the password again, even though signed in.
    let (url, _, _) = b
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
        .add_prompt(openidconnect::core::CoreAuthPrompt::Login)
        .url();
    assert_eq!(follow(&browser, url.as_str()).await.1, "/sign-in");
    let page = browser.sign_in_page().await;
    assert_eq!(common::browser::step_of(&page), "password", "prompt=login asks for the password");
    let back = browser.password("alice", "alice-demo-pw").await;
    assert!(back.starts_with(APP_B), "then back to the app: {back}");

    // App C is for the administrators group; alice is not in it.
    let stranger = Browser::new(&p.app);
    let c = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("app-c".into()),
        Some(ClientSecret::new(SECRET_A.into())),
    )
    .set_redirect_uri(RedirectUrl::new(APP_A.into()).unwrap());
    let (url, _, _) = c
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    assert_eq!(follow(&stranger, url.as_str()).await.1, "/sign-in");
    let back = stranger.password("alice", "alice-demo-pw").await;
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"), "{back}");

    // carol is an administrator: app C lets her in, with EdDSA ID tokens and her groups.
    let admin = Browser::new(&p.app);
    let (url, _, nonce) = c
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("groups".into()))
        .url();
    assert_eq!(follow(&admin, url.as_str()).await.1, "/sign-in");
    assert_eq!(admin.password("carol", "carol-demo-pw").await, format!("{}/sign-in", p.app.url));
    let code = code_sent_to(&p.standin, "+447400123456");
    let back = admin.submit("sign_in_code", &[("code", &code)]).await;
    assert!(back.starts_with(APP_A), "{back}");
    let response = c
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("exchange");
    let id_token = response.id_token().unwrap();
    assert_eq!(
        id_token.signing_alg().unwrap(),
        &openidconnect::core::CoreJwsSigningAlgorithm::EdDsa
    );
    id_token.claims(&c.id_token_verifier(), &nonce).expect("an EdDSA ID token verifies");
    let info: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", p.app.url))
        .bearer_auth(response.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["groups"], serde_json::json!(["latchkey-admins"]), "group names, not DNs");
}

/// alice with 2-step sign-in off: her password alone signs her in (she keeps her phone).
async fn two_step_off_for_alice(p: &Provider) {
    use domain::ports::Directory as _;
    let directory = server::directory::LdapDirectory::new(p.app.config.directory.clone());
    let alice = directory
        .find_by_login(&domain::directory::Username::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    p.app.db.set_two_factor(alice.id.as_str(), false, domain::now_ms() / 1000).await.unwrap();
}

/// A code for app A, exchanged by hand: (token response JSON).
async fn tokens_for_alice(p: &Provider, browser: &Browser) -> serde_json::Value {
    let url = format!(
        "{}/oidc/authorize?client_id=app-a&response_type=code&scope=openid%20email&redirect_uri={}&state=s",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    let (_, location) = follow(browser, &url).await;
    let back = if location == "/sign-in" { signed_in_alice(p, browser).await } else { location };
    let code = query_param(&back, "code").expect("a code");
    let res = reqwest::Client::new()
        .post(format!("{}/oidc/token", p.app.url))
        .basic_auth("app-a", Some(SECRET_A))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", APP_A)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn token_request(p: &Provider, form: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/oidc/token", p.app.url))
        .basic_auth("app-a", Some(SECRET_A))
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap_or_default())
}

async fn userinfo_status(p: &Provider, access_token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/oidc/userinfo", p.app.url))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
}

/// Refresh tokens rotate; presenting an old one again revokes the whole family.
async fn refresh_rotates_and_reuse_revokes_the_family(backend: Backend) {
    let p = provider(backend).await;
    let browser = Browser::new(&p.app);
    let first = tokens_for_alice(&p, &browser).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) =
        token_request(&p, &[("grant_type", "refresh_token"), ("refresh_token", &r1)]).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "a new refresh token each time");
    let access2 = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&p, &access2).await, StatusCode::OK);
    // Narrowing is fine, widening is not.
    let (status, body) = token_request(
        &p,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2), ("scope", "openid phone")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    // r1 again: a thief's copy. The family is revoked: r2 and the access tokens too.
    let (status, body) =
        token_request(&p, &[("grant_type", "refresh_token"), ("refresh_token", &r1)]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (_, body) =
        token_request(&p, &[("grant_type", "refresh_token"), ("refresh_token", &r2)]).await;
    assert_eq!(body["error"], "invalid_grant", "the rest of the family is revoked");
    assert_eq!(userinfo_status(&p, &access2).await, StatusCode::UNAUTHORIZED);
}

/// client_secret_basic with the id and secret form-encoded inside (as real clients send
/// `%2D`), client_secret_post, and the refusals; userinfo by header and by POSTed body.
async fn client_authentication_and_userinfo_forms(backend: Backend) {
    use base64::Engine as _;
    let p = provider(backend).await;
    let browser = Browser::new(&p.app);
    let tokens = tokens_for_alice(&p, &browser).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let token_url = format!("{}/oidc/token", p.app.url);
    // Basic with "app%2Da" (form-encoded "app-a").
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("app%2Da:{}", SECRET_A.replace('-', "%2D")));
    let res = http
        .post(&token_url)
        .header("authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "form-encoded Basic credentials");
    let body: serde_json::Value = res.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let access = body["access_token"].as_str().unwrap().to_owned();
    // client_secret_post.
    let res = http
        .post(&token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "app-a"),
            ("client_secret", SECRET_A),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "client_secret_post");
    let body: serde_json::Value = res.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    // A wrong secret: 401 with a Basic challenge; both methods at once: invalid_request.
    let res = http
        .post(&token_url)
        .basic_auth("app-a", Some("wrong-secret-0123456789-abcdefghijklmnop"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    let res = http
        .post(&token_url)
        .basic_auth("app-a", Some(SECRET_A))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_secret", SECRET_A),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // A repeated parameter is refused (OAuth 2.0 §3.1).
    let res = http
        .post(&token_url)
        .basic_auth("app-a", Some(SECRET_A))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=refresh_token&refresh_token={refresh}&refresh_token=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // userinfo: header (GET and POST), body (POST).
    let userinfo = format!("{}/oidc/userinfo", p.app.url);
    let res = http.post(&userinfo).bearer_auth(&access).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "POST with the header");
    let res = http.post(&userinfo).form(&[("access_token", &access)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "POST with the token in the body");
    let res = http.get(&userinfo).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    // Revocation of the access token (RFC 7009): 200, and it no longer works.
    let res = http
        .post(format!("{}/oidc/revoke", p.app.url))
        .basic_auth("app-a", Some(SECRET_A))
        .form(&[("token", access.as_str()), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(userinfo_status(&p, &access).await, StatusCode::UNAUTHORIZED);
}

/// Requests apps make from their own pages: a cross-site POST to the authorization endpoint
/// is taken (and its redirect_uri checked), a repeated parameter refused, max_age=0 asks for
/// the password again.
async fn authorization_request_forms(backend: Backend) {
    let p = provider(backend).await;
    let browser = Browser::new(&p.app);
    let res = browser
        .http
        .post(format!("{}/oidc/authorize", p.app.url))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://app-a.example")
        .form(&[
            ("client_id", "app-a"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", APP_A),
            ("state", "post-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "an app's form post is taken");
    assert_eq!(res.headers()["location"], "/sign-in");
    let back = signed_in_alice(&p, &browser).await;
    assert_eq!(query_param(&back, "state").as_deref(), Some("post-1"));

    // login_hint only fills in the login field.
    let hinted = Browser::new(&p.app);
    let url = format!(
        "{}/oidc/authorize?client_id=app-a&response_type=code&scope=openid&login_hint=dave&redirect_uri={}",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    assert_eq!(follow(&hinted, &url).await.1, "/sign-in");
    let page = hinted.sign_in_page().await;
    assert!(page.contains(r#"value="dave""#), "the login is filled in");
    assert_eq!(common::browser::step_of(&page), "password", "and nothing else happened");

    let repeated = format!(
        "{}/oidc/authorize?client_id=app-a&client_id=app-b&response_type=code&scope=openid&redirect_uri={}",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    let (status, location) = follow(&browser, &repeated).await;
    assert_eq!((status, location.as_str()), (StatusCode::BAD_REQUEST, ""));

    let max_age_0 = format!(
        "{}/oidc/authorize?client_id=app-a&response_type=code&scope=openid&max_age=0&redirect_uri={}",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    assert_eq!(follow(&browser, &max_age_0).await.1, "/sign-in");
    assert_eq!(common::browser::step_of(&browser.sign_in_page().await), "password");
}

/// A browser the person chose to remember never claims `sms`: app A (code level) still gets a
/// code step; app D, which lets a remembered browser count, gets `pwd` only in `amr`.
async fn a_remembered_browser_never_claims_sms(backend: Backend) {
    let p = provider(backend).await;
    let browser = Browser::new(&p.app);
    assert_eq!(browser.password("alice", "alice-demo-pw").await, format!("{}/sign-in", p.app.url));
    let code = code_sent_to(&p.standin, ALICE_PHONE);
    browser.submit("sign_in_code", &[("code", &code), ("remember", "on")]).await;
    browser.submit("sign_out", &[]).await;
    // The password alone now: the remembered browser stands in for the code.
    assert_eq!(browser.password("alice", "alice-demo-pw").await, "/");
    let texts = p.standin.texts().len();
    let d = format!(
        "{}/oidc/authorize?client_id=app-d&response_type=code&scope=openid&redirect_uri={}&nonce=n",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    let (_, back) = follow(&browser, &d).await;
    let code = query_param(&back, "code").expect("app D takes the remembered browser");
    let res = reqwest::Client::new()
        .post(format!("{}/oidc/token", p.app.url))
        .basic_auth("app-d", Some(SECRET_A))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", APP_A)])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let id_token = body["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&jose::b64url_decode(payload).unwrap()).unwrap();
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]), "no sms claimed");
    assert_eq!(p.standin.texts().len(), texts);

    // App A does not count it: the code step, one text.
    let a = format!(
        "{}/oidc/authorize?client_id=app-a&response_type=code&scope=openid&acr_values=twilio_sms&redirect_uri={}",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    assert_eq!(follow(&browser, &a).await.1, "/sign-in", "no code for app A yet");
    // The second step, texted at once: the code of a minute ago was another flow's, whose
    // cooldown this one does not wait for.
    assert_eq!(common::browser::step_of(&browser.sign_in_page().await), "code");
    assert_eq!(p.standin.texts().len(), texts + 1, "a code for app A");
}

/// Logout without a hint asks first; the confirmation (same site only) signs out.
async fn logout_without_a_hint_asks_first(backend: Backend) {
    let p = provider(backend).await;
    let browser = Browser::new(&p.app);
    let _ = tokens_for_alice(&p, &browser).await;
    let url = format!(
        "{}/oidc/logout?client_id=app-a&post_logout_redirect_uri={}&state=z",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fbye"
    );
    let res = browser.http.get(&url).send().await.unwrap();
    let policy = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("style-src 'self'"), "{policy}");
    // Browsers apply form-action to where the confirmation's answer redirects: the apps.
    assert!(
        policy.contains("form-action 'self' http://127.0.0.1:9 https://app-a.example"),
        "{policy}"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("Sign out?"), "a confirmation page");
    let sign_in = browser.http.get(format!("{}/sign-in", p.app.url)).send().await.unwrap();
    let policy = sign_in.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("form-action 'self' http://127.0.0.1:9 https://app-a.example"),
        "a sign-in posted without JavaScript may end at an app: {policy}"
    );
    assert!(common::browser::signed_in_as(&browser).await.is_some(), "nothing ended yet");
    // From another site the confirmation does nothing.
    let res =
        confirm_logout(&p, &browser, "cross-site", &[("confirm", "yes"), ("client_id", "app-a")])
            .await;
    assert_eq!(res.status(), StatusCode::OK, "shown again, not acted on");
    assert!(common::browser::signed_in_as(&browser).await.is_some());
    let res = confirm_logout(
        &p,
        &browser,
        "same-origin",
        &[
            ("confirm", "yes"),
            ("client_id", "app-a"),
            ("post_logout_redirect_uri", "https://app-a.example/bye"),
            ("state", "z"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "https://app-a.example/bye?state=z");
    assert_eq!(common::browser::signed_in_as(&browser).await, None);
    // An unregistered post-logout URI is never redirected to.
    let evil = format!(
        "{}/oidc/logout?client_id=app-a&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        p.app.url
    );
    let (status, location) = follow(&browser, &evil).await;
    assert_eq!((status, location.as_str()), (StatusCode::BAD_REQUEST, ""));
}

on_both!(
    code_level_app_then_single_sign_on,
    step_up_sends_one_text,
    refresh_rotates_and_reuse_revokes_the_family,
    client_authentication_and_userinfo_forms,
    authorization_request_forms,
    a_remembered_browser_never_claims_sms,
    logout_without_a_hint_asks_first,
    a_person_without_a_phone_adds_one_for_the_code_level,
    the_token_endpoint_refuses_what_does_not_match,
    an_app_steps_up_a_person_without_a_phone_and_claims_otp,
    signing_out_ends_a_step_up_in_progress,
);

/// An authorization code for `client` (app A's redirect URI), with an optional PKCE challenge
/// and extra parameters; the browser is signed in already or signs alice in.
async fn code_for(p: &Provider, browser: &Browser, client: &str, extra: &str) -> String {
    let url = format!(
        "{}/oidc/authorize?client_id={client}&response_type=code&scope=openid&redirect_uri={}{extra}",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    let (_, location) = follow(browser, &url).await;
    let back = if location == "/sign-in" { signed_in_alice(p, browser).await } else { location };
    query_param(&back, "code").unwrap_or_else(|| panic!("a code: {back}"))
}

/// The token endpoint's checks, each on its own code: redirect_uri must match, a PKCE verifier
/// without a challenge is a downgrade, a code lives 60 s, of parallel exchanges one wins,
/// another client's code or refresh token is refused, an unknown authorization parameter is
/// ignored; codes and tokens are stored only as HMACs.
async fn the_token_endpoint_refuses_what_does_not_match(backend: Backend) {
    let p = provider(backend).await;
    let browser = Browser::new(&p.app);
    let provider = &p;
    let exchange = |code: String, extra: Vec<(&'static str, String)>| {
        let mut form = vec![("grant_type", "authorization_code".to_owned()), ("code", code)];
        form.extend(extra);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token_request(provider, &form).await
        }
    };
    // An unknown parameter is ignored (OIDC Core 3.1.2.1).
    let code = code_for(&p, &browser, "app-a", "&frobnicate=yes").await;
    // redirect_uri other than the request's.
    let (status, body) =
        exchange(code, vec![("redirect_uri", "https://app-a.example/other".into())]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // A verifier for a code issued without a challenge: a downgrade (RFC 9700).
    let code = code_for(&p, &browser, "app-a", "").await;
    let (_, body) =
        exchange(code, vec![("redirect_uri", APP_A.into()), ("code_verifier", "v".repeat(43))])
            .await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    // Past its 60 s.
    let code = code_for(&p, &browser, "app-a", "").await;
    common::browser::exec(
        &p.app,
        &format!(
            "UPDATE oidc_tokens SET expires_at = {} WHERE kind = 'code' AND used_at IS NULL",
            domain::now_ms() / 1000 - 1
        ),
    )
    .await;
    let (_, body) = exchange(code, vec![("redirect_uri", APP_A.into())]).await;
    assert_eq!(body["error"], "invalid_grant", "an expired code");
    // App D's code presented by app A.
    let code = code_for(&p, &browser, "app-d", "").await;
    let (_, body) = exchange(code, vec![("redirect_uri", APP_A.into())]).await;
    assert_eq!(body["error"], "invalid_grant", "another client's code");
    // Eight exchanges of one code at once: at most one gets tokens, and the others, as reuses
    // of the code, revoke them: nobody holds a usable token afterwards.
    let code = code_for(&p, &browser, "app-a", "").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (url, code) = (format!("{}/oidc/token", p.app.url), code.clone());
        tasks.push(tokio::spawn(async move {
            let res = reqwest::Client::new()
                .post(url)
                .basic_auth("app-a", Some(SECRET_A))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", APP_A),
                ])
                .send()
                .await
                .unwrap();
            (res.status(), res.json::<serde_json::Value>().await.unwrap())
        }));
    }
    let mut issued = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        if status == StatusCode::OK {
            issued.push(body["access_token"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
    }
    assert!(issued.len() <= 1, "one exchange at most: {issued:?}");
    for access in &issued {
        assert_eq!(userinfo_status(&p, access).await, StatusCode::UNAUTHORIZED, "revoked by reuse");
    }
    // A refresh token of app A presented by app D.
    let code = code_for(&p, &browser, "app-a", "").await;
    let (_, tokens) = exchange(code, vec![("redirect_uri", APP_A.into())]).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let res = reqwest::Client::new()
        .post(format!("{}/oidc/token", p.app.url))
        .basic_auth("app-d", Some(SECRET_A))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "another client's refresh token");
    // Nothing in the database is a usable value.
    let stored: Vec<(String,)> = match &p.app.db {
        server::db::Db::Sqlite(pool, _) => {
            sqlx::query_as("SELECT digest FROM oidc_tokens").fetch_all(pool).await.unwrap()
        }
        server::db::Db::Postgres(pool, _) => {
            sqlx::query_as("SELECT digest FROM oidc_tokens").fetch_all(pool).await.unwrap()
        }
    };
    assert!(!stored.is_empty());
    for (digest,) in &stored {
        assert_ne!(digest, &access);
        assert_ne!(digest, &refresh);
    }
}

/// bob has no phone: an app asking for the code level has him add and prove one (policy
/// permitting), and gets the level with `amr` saying a code to a new phone was used.
async fn a_person_without_a_phone_adds_one_for_the_code_level(backend: Backend) {
    let p = provider(backend).await;
    let browser = Browser::new(&p.app);
    let url = format!(
        "{}/oidc/authorize?client_id=app-a&response_type=code&scope=openid&acr_values=twilio_sms&nonce=n&redirect_uri={}",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    assert_eq!(follow(&browser, &url).await.1, "/sign-in");
    // The password alone signs bob in, then the request asks for more: add a phone.
    let next = browser.password("bob", "bob-demo-pw").await;
    assert_eq!(next, "/sign-in", "not back to the app yet");
    let page = browser.sign_in_page().await;
    assert_eq!(common::browser::step_of(&page), "enrol-number");
    assert_eq!(common::browser::notice_of(&page), "enrol.app_requires", "the app asks, not policy");
    browser.submit("sign_in_enrol_number", &[("number", "+1 (201) 555-0177")]).await;
    let code = code_sent_to(&p.standin, "+12015550177");
    let back = browser.submit("sign_in_code", &[("code", &code)]).await;
    assert!(back.starts_with(APP_A), "{back}");
    let (_, tokens) = token_request(
        &p,
        &[
            ("grant_type", "authorization_code"),
            ("code", &query_param(&back, "code").unwrap()),
            ("redirect_uri", APP_A),
        ],
    )
    .await;
    let payload = tokens["id_token"].as_str().unwrap().split('.').nth(1).unwrap().to_owned();
    let claims: serde_json::Value =
        serde_json::from_slice(&jose::b64url_decode(&payload).unwrap()).unwrap();
    assert_eq!(claims["acr"], "twilio_sms");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "sms"]), "no mfa: the phone is new");
}

/// Bob has no phone, only an authenticator app: an app asking for `twilio_sms` steps him up with
/// the app (nothing texted), and the ID token says so: `acr` as asked, `amr` `otp` and `mfa`.
async fn an_app_steps_up_a_person_without_a_phone_and_claims_otp(backend: Backend) {
    use domain::authenticator::TotpSecret;
    let p = provider(backend).await;
    let auth = server::services::authenticators(&p.app.config, &p.app.db);
    let bob = common::browser::person_of(&p.app, "bob").await;
    let now = domain::now_ms() / 1000;
    let enrolment = auth.start_enrolment(&bob.id, "bob").expect("enrolment");
    let secret = TotpSecret::from_base32(&enrolment.grouped).expect("base32");
    let proof = secret.code_at(u64::try_from(now - 30).expect("positive"));
    auth.finish_enrolment(&bob.id, &enrolment.sealed, "Bob's app", &proof, now - 30)
        .await
        .expect("added");
    let browser = Browser::new(&p.app);
    // Two-step sign-in is off for bob: the password alone signs him in.
    assert_eq!(browser.password("bob", "bob-demo-pw").await, "/");
    let texts = p.standin.texts().len();
    let a = format!(
        "{}/oidc/authorize?client_id=app-a&response_type=code&scope=openid&acr_values=twilio_sms&redirect_uri={}&nonce=n",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    assert_eq!(follow(&browser, &a).await.1, "/sign-in", "the code level is asked for");
    assert_eq!(common::browser::step_of(&browser.sign_in_page().await), "app-code");
    let code = secret.code_at(u64::try_from(domain::now_ms() / 1000).expect("positive"));
    let back = browser.submit("sign_in_code", &[("code", &code)]).await;
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("back at the app: {back}"));
    assert_eq!(p.standin.texts().len(), texts, "nothing texted");
    let res = reqwest::Client::new()
        .post(format!("{}/oidc/token", p.app.url))
        .basic_auth("app-a", Some(SECRET_A))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", APP_A)])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let payload = body["id_token"].as_str().expect("an ID token").split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&jose::b64url_decode(payload).unwrap()).unwrap();
    assert_eq!(claims["acr"], "twilio_sms");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
}

/// A step up in progress ends with the sign-in it would have raised: signing out, on the page or
/// through an app's logout, removes the flow's cookie and deletes the flow, so that its code,
/// replayed with its id, signs nobody in without the password.
async fn signing_out_ends_a_step_up_in_progress(backend: Backend) {
    use common::browser::{notice_of, signed_in_as, step_of};
    let p = provider(backend).await;
    // App A asks for the code of alice, whose password alone signs her in.
    two_step_off_for_alice(&p).await;
    let a = format!(
        "{}/oidc/authorize?client_id=app-a&response_type=code&scope=openid&acr_values=twilio_sms&redirect_uri={}&nonce=n",
        p.app.url, "https%3A%2F%2Fapp-a.example%2Fcallback"
    );
    let browser = Browser::new(&p.app);
    for by_the_app in [false, true] {
        assert_eq!(browser.password("alice", "alice-demo-pw").await, "/");
        assert_eq!(follow(&browser, &a).await.1, "/sign-in", "the code level is asked for");
        assert_eq!(step_of(&browser.sign_in_page().await), "code");
        let flow = browser.cookie("latchkey-flow").expect("the step up's flow");
        let code = code_sent_to(&p.standin, ALICE_PHONE);
        if by_the_app {
            let form = [("confirm", "yes"), ("client_id", "app-a")];
            let res = confirm_logout(&p, &browser, "same-origin", &form).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
        } else {
            assert_eq!(browser.submit("sign_out", &[]).await, "/sign-in");
        }
        assert_eq!(browser.cookie("latchkey-flow"), None, "the flow's cookie goes ({by_the_app})");
        let page = browser.sign_in_page().await;
        assert_eq!((step_of(&page), notice_of(&page)), ("password", "sign_in.signed_out"));
        let replay = Browser::new(&p.app);
        replay.jar.add_cookie_str(&format!("latchkey-flow={flow}"), &replay.url);
        assert_eq!(
            replay.post("sign_in_code", &[("code", &code)]).await.status(),
            StatusCode::FOUND
        );
        assert_eq!(signed_in_as(&replay).await, None, "the flow is gone ({by_the_app})");
        assert_eq!(signed_in_as(&browser).await, None);
    }
}
