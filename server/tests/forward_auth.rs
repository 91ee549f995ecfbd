//! Forward authentication with real proxies: Debian's nginx (`auth_request`) and Caddy
//! (`forward_auth`) in front of a tiny upstream app, from the configuration files the README
//! shows (`docs/forward-auth/`), on both databases, with the real slapd and the Twilio
//! stand-in. The person's browser is the no-JavaScript test browser, resolving the apps'
//! `*.localhost` hosts to the proxy.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::browser::{ALICE_PHONE, Browser, Setup, audit_kinds, code_sent_to, step_of};
use common::{Backend, TestApp};
use devkit::proxies::Proxy;
use devkit::slapd::Slapd;
use devkit::twilio_standin::TwilioStandin;
use reqwest::StatusCode;

/// Which proxy stands in front of the apps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Nginx,
    Caddy,
    /// None: the tests call Latchkey's endpoints the way a proxy would, from 127.0.0.1.
    Direct,
}

/// The apps: A (password), B (password and code, a sign-in at most 10 minutes old), C
/// (administrators only).
const HOSTS: [&str; 3] = ["app-a.localhost", "app-b.localhost", "app-c.localhost"];

struct Protected {
    app: TestApp,
    standin: TwilioStandin,
    /// The port the apps' hosts are reached on (the proxy's, or a made-up one for `Direct`).
    port: u16,
    _proxy: Option<Proxy>,
    _upstream: Option<devkit::upstream::Upstream>,
    _dir: tempfile::TempDir,
}

impl Protected {
    fn origin(&self, host: &str) -> String {
        format!("http://{host}:{}", self.port)
    }

    /// A browser that reaches Latchkey and every app's host (through the proxy).
    fn browser(&self) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")
            .timeout(std::time::Duration::from_secs(30));
        for host in HOSTS {
            builder = builder.resolve(host, SocketAddr::from(([127, 0, 0, 1], self.port)));
        }
        Browser {
            base: self.app.url.clone(),
            url: self.app.url.parse().unwrap(),
            jar,
            http: builder.build().unwrap(),
        }
    }
}

const METRICS_TOKEN: &str = "forward-auth-test-metrics-token-0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn protected(backend: Backend, kind: Kind) -> Protected {
    protected_with(backend, kind, &["127.0.0.1"]).await
}

async fn protected_with(backend: Backend, kind: Kind, trusted: &[&str]) -> Protected {
    server::sms::install_crypto_provider();
    let slapd = Slapd::start(&devkit::demo::seed_ldif()).expect("slapd");
    let lk_port = free_port();
    let latchkey = format!("127.0.0.1:{lk_port}");
    let (proxy, upstream, port) = match kind {
        Kind::Direct => (None, None, free_port()),
        _ => {
            let upstream = devkit::upstream::start().await.expect("upstream app");
            let up = upstream.addr().to_string();
            let proxy = match kind {
                Kind::Nginx => Proxy::start_nginx(&latchkey, &up, &HOSTS),
                _ => Proxy::start_caddy(&latchkey, &up, &HOSTS),
            }
            .expect("proxy");
            let port = proxy.port();
            (Some(proxy), Some(upstream), port)
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let trusted: Vec<String> = trusted.iter().map(|t| format!("{t:?}")).collect();
    let toml = format!(
        r#"
[server]
trusted_proxies = [{trusted}]

[[forward_auth.apps]]
name = "App A"
origin = "http://app-a.localhost:{port}"
level = "password"

[[forward_auth.apps]]
name = "App B"
origin = "http://app-b.localhost:{port}"
max_age_secs = 600

[[forward_auth.apps]]
name = "App C"
origin = "http://app-c.localhost:{port}"
level = "password"
allowed_groups = ["latchkey-admins"]
"#,
        trusted = trusted.join(", ")
    );
    let base = format!("http://{latchkey}");
    let extra = [
        ("LATCHKEY_SERVER__ADDRESS", latchkey.as_str()),
        ("LATCHKEY_SERVER__PUBLIC_URL", &base),
        ("LATCHKEY_SERVER__METRICS_TOKEN", METRICS_TOKEN),
    ];
    let Setup { app, standin } =
        common::browser::setup_with_file(backend, slapd, dir.path(), &toml, &extra).await;
    Protected { app, standin, port, _proxy: proxy, _upstream: upstream, _dir: dir }
}

struct Answer {
    status: StatusCode,
    location: String,
    body: String,
}

async fn get(browser: &Browser, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = browser.http.get(url).header("accept", "text/html,*/*;q=0.8");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let res = request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = res.status();
    let location =
        res.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    Answer { status, location, body: res.text().await.unwrap() }
}

/// The text of the upstream app's element `id`, HTML-escaped as it wrote it.
fn shown<'a>(body: &'a str, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\">");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no #{id} in {body}")) + marker.len();
    let end = body[start..].find('<').unwrap() + start;
    &body[start..end]
}

/// From an app's address to Latchkey and back, through its start path: where Latchkey sends
/// the browser after `/forward-auth` (the sign-in page, or straight back to the callback).
async fn set_out(p: &Protected, browser: &Browser, url: &str) -> String {
    let first = get(browser, url, &[]).await;
    assert_eq!(first.status, StatusCode::FOUND, "{url}: to the app's start path");
    let origin = url.split('/').take(3).collect::<Vec<_>>().join("/");
    assert!(
        first.location.starts_with(&format!("{origin}/_latchkey/start?rd=")),
        "{}",
        first.location
    );
    let start = get(browser, &first.location, &[]).await;
    assert_eq!(start.status, StatusCode::FOUND);
    assert!(
        start.location.starts_with(&format!("{}/forward-auth?", p.app.url)),
        "{}",
        start.location
    );
    let journey = get(browser, &start.location, &[]).await;
    assert_eq!(journey.status, StatusCode::SEE_OTHER, "{}", journey.body);
    journey.location
}

/// The callback: the app host's cookie set, and back to where the browser was going.
async fn land(browser: &Browser, callback: &str) -> String {
    let landed = get(browser, callback, &[]).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
    landed.location
}

async fn through_a_proxy(backend: Backend, kind: Kind) {
    let p = protected(backend, kind).await;
    let browser = p.browser();
    let a = p.origin("app-a.localhost");
    let wiki = format!("{a}/wiki/Start%20here?x=1");

    // Not signed in: the sign-in page, then password and code, then the app.
    assert_eq!(set_out(&p, &browser, &wiki).await, "/sign-in");
    assert_eq!(browser.password("alice", "alice-demo-pw").await, format!("{}/sign-in", p.app.url));
    let code = code_sent_to(&p.standin, ALICE_PHONE);
    let callback = browser.submit("sign_in_code", &[("code", &code)]).await;
    assert!(callback.starts_with(&format!("{a}/_latchkey/callback?code=")), "{callback}");
    assert_eq!(land(&browser, &callback).await, wiki, "back where the person was going");
    let page = get(&browser, &wiki, &[("remote-user", "mallory")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(shown(&page.body, "remote-user"), "alice", "the proxy's header, not the browser's");
    assert_eq!(shown(&page.body, "remote-name"), "Alice Anders");
    assert_eq!(shown(&page.body, "remote-email"), "alice@example.org");
    assert_eq!(shown(&page.body, "remote-groups"), "");
    // Never a header of the browser's: not even when the request is refused.
    let stranger = p.browser();
    let refused = get(&stranger, &wiki, &[("remote-user", "alice")]).await;
    assert_eq!(refused.status, StatusCode::FOUND, "a forged Remote-User gets no one in");

    // App B needs the code, which this sign-in has: straight through, no new text.
    let texts = p.standin.texts().len();
    let b = p.origin("app-b.localhost");
    let callback = set_out(&p, &browser, &format!("{b}/")).await;
    assert!(
        callback.starts_with(&format!("{b}/_latchkey/callback?code=")),
        "single sign-on: {callback}"
    );
    land(&browser, &callback).await;
    let page = get(&browser, &format!("{b}/"), &[]).await;
    assert_eq!(shown(&page.body, "remote-user"), "alice");
    assert_eq!(p.standin.texts().len(), texts, "no new text for a level already reached");

    // App C is for administrators: alice is refused there, and never gets a cookie for it.
    let c = p.origin("app-c.localhost");
    let first = get(&browser, &format!("{c}/"), &[]).await;
    let start = get(&browser, &first.location, &[]).await;
    let refused = get(&browser, &start.location, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("only for members of certain groups"), "{}", refused.body);

    // The same code twice: refused, and the app session it made ends (someone else may
    // hold it).
    let again = get(&browser, &callback, &[]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("already used"), "{}", again.body);
    assert_eq!(get(&browser, &format!("{b}/"), &[]).await.status, StatusCode::FOUND);

    // Signing out of Latchkey ends the app sessions of this sign-in.
    assert_eq!(get(&browser, &wiki, &[]).await.status, StatusCode::OK);
    browser.submit("sign_out", &[]).await;
    let after = get(&browser, &wiki, &[]).await;
    assert_eq!(after.status, StatusCode::FOUND, "signed out of Latchkey, out of the app");

    let kinds = audit_kinds(&p.app).await;
    for wanted in [
        ("forward_auth.authorize", "granted"),
        ("forward_auth.authorize", "refused"),
        ("forward_auth.callback", "signed_in"),
        ("forward_auth.callback", "refused"),
        ("forward_auth.logout", "revoked"),
    ] {
        assert!(
            kinds.contains(&(wanted.0.to_owned(), wanted.1.to_owned())),
            "{wanted:?} in {kinds:?}"
        );
    }
}

async fn nginx(backend: Backend) {
    through_a_proxy(backend, Kind::Nginx).await;
}

async fn caddy(backend: Backend) {
    through_a_proxy(backend, Kind::Caddy).await;
}

/// What only Caddy's endpoint does: 303 after a POST, 401 for a request that takes no HTML.
async fn caddy_answers_by_method_and_accept(backend: Backend) {
    let p = protected(backend, Kind::Caddy).await;
    let browser = p.browser();
    let a = p.origin("app-a.localhost");
    let post = browser.http.post(format!("{a}/form")).header("accept", "text/html").send().await;
    let post = post.unwrap();
    assert_eq!(post.status(), StatusCode::SEE_OTHER, "a POST's redirect makes the browser GET");
    let fetch = browser.http.get(format!("{a}/api/data")).header("accept", "application/json");
    assert_eq!(fetch.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

/// The proxies' questions, asked directly.
async fn check(p: &Protected, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build();
    let mut request = http.unwrap().get(format!("{}{path}", p.app.url));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

async fn only_configured_hosts_and_proxies(backend: Backend) {
    let p = protected(backend, Kind::Direct).await;
    let a = p.origin("app-a.localhost");
    let auth_request = "/api/authz/auth-request";
    let forward_auth = "/api/authz/forward-auth";

    let ok = check(&p, auth_request, &[("x-original-url", &format!("{a}/x"))]).await;
    assert_eq!(ok.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ok.headers()["location"], format!("{a}/_latchkey/start?rd=%2Fx"));

    // Another host, however spelt: refused, never redirected to.
    for url in [
        "http://evil.example/x".to_owned(),
        format!("http://app-a.localhost:{}/x", p.port + 1),
        format!("https://app-a.localhost:{}/x", p.port),
        format!("http://app-a.localhost.evil.example:{}/x", p.port),
        format!("http://user@app-a.localhost:{}/x", p.port),
        "not a url".to_owned(),
    ] {
        let res = check(&p, auth_request, &[("x-original-url", &url)]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{url}");
        assert!(res.headers().get("location").is_none(), "{url}");
    }
    assert_eq!(check(&p, auth_request, &[]).await.status(), StatusCode::FORBIDDEN);
    let host = format!("App-A.localhost:{}", p.port);
    let caddy = [
        ("x-forwarded-proto", "http"),
        ("x-forwarded-host", host.as_str()),
        ("x-forwarded-uri", "/x?y=1"),
        ("x-forwarded-method", "GET"),
    ];
    let res = check(&p, forward_auth, &caddy).await;
    assert_eq!(res.status(), StatusCode::FOUND, "the host's case does not matter");
    assert_eq!(res.headers()["location"], format!("{a}/_latchkey/start?rd=%2Fx%3Fy%3D1"));
    // An address that is not a path on the app: the app's root instead.
    let res = check(&p, auth_request, &[("x-original-url", &format!("{a}//evil.example"))]).await;
    assert_eq!(res.headers()["location"], format!("{a}/_latchkey/start?rd=%2F"));
    let start = check(
        &p,
        "/_latchkey/start?rd=%2F%2Fevil.example",
        &[("x-forwarded-proto", "http"), ("host", &host)],
    )
    .await;
    let to = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.contains("&rd=%2F&"), "a return that is not a path on the app becomes /: {to}");
    // Latchkey's host is no app: its start and callback say so.
    let own = check(&p, "/_latchkey/start?rd=%2F", &[("x-forwarded-proto", "http")]).await;
    assert_eq!(own.status(), StatusCode::BAD_REQUEST);
    let journey = check(&p, "/forward-auth?app=http%3A%2F%2Fevil.example&rd=%2F&binding=00", &[]);
    assert_eq!(journey.await.status(), StatusCode::BAD_REQUEST);

    // The same questions from an address that is not a configured proxy: refused.
    let q = protected_with(backend, Kind::Direct, &["192.0.2.1"]).await;
    let a = q.origin("app-a.localhost");
    let res = check(&q, auth_request, &[("x-original-url", &format!("{a}/x"))]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let host = format!("app-a.localhost:{}", q.port);
    for path in ["/_latchkey/start?rd=%2F", "/_latchkey/callback?code=00"] {
        let res = check(&q, path, &[("x-forwarded-proto", "http"), ("host", &host)]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
}

/// The app's host as the proxy sends it to Latchkey's `/_latchkey/` paths.
fn via_proxy(p: &Protected, host: &str) -> Vec<(String, String)> {
    vec![
        ("x-forwarded-proto".into(), "http".into()),
        ("x-forwarded-host".into(), format!("{host}:{}", p.port)),
    ]
}

/// Sets out for `host` with the browser's state cookie there, and returns where Latchkey sent
/// it and the state cookie's value.
async fn set_out_direct(p: &Protected, browser: &Browser, host: &str) -> (String, String) {
    let mut request = browser.http.get(format!("{}/_latchkey/start?rd=%2Fdocs", p.app.url));
    for (k, v) in via_proxy(p, host) {
        request = request.header(k, v);
    }
    let start = request.send().await.unwrap();
    assert_eq!(start.status(), StatusCode::FOUND);
    let state = start
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("latchkey-fa-state="))
        .expect("a state cookie");
    assert!(state.contains("HttpOnly") && state.contains("SameSite=Lax"), "{state}");
    assert!(!state.contains("Domain="), "host-only: {state}");
    let value = state.split(';').next().unwrap().trim_start_matches("latchkey-fa-state=");
    let to = start.headers()["location"].to_str().unwrap().to_owned();
    let journey = get(browser, &to, &[]).await;
    (journey.location, value.to_owned())
}

/// The callback as the proxy passes it on, with `state` as the browser's state cookie there.
async fn callback_direct(
    p: &Protected,
    host: &str,
    callback: &str,
    state: Option<&str>,
) -> reqwest::Response {
    let path = &callback[callback.find("/_latchkey/").unwrap()..];
    let mut headers = via_proxy(p, host);
    if let Some(state) = state {
        headers.push(("cookie".into(), format!("latchkey-fa-state={state}")));
    }
    let headers: Vec<(&str, &str)> =
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    check(p, path, &headers).await
}

fn cookie_from(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("latchkey-fa="))
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim_start_matches("latchkey-fa=").to_owned())
        .expect("the app host's cookie")
}

async fn auth(p: &Protected, host: &str, cookie: &str) -> StatusCode {
    let url = format!("{}/x", p.origin(host));
    let cookie = format!("latchkey-fa={cookie}");
    check(p, "/api/authz/auth-request", &[("x-original-url", &url), ("cookie", &cookie)])
        .await
        .status()
}

async fn codes_are_bound_to_browser_app_and_sign_in(backend: Backend) {
    let p = protected(backend, Kind::Direct).await;
    let browser = p.browser();
    let (to, _state) = set_out_direct(&p, &browser, "app-a.localhost").await;
    assert_eq!(to, "/sign-in");
    browser.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&p.standin, ALICE_PHONE);
    let callback = browser.submit("sign_in_code", &[("code", &code)]).await;

    // Brought by another browser (login CSRF: an attacker's own code planted in a victim's
    // browser), the code signs no one in, and the app session it was for ends.
    let stolen = callback_direct(&p, "app-a.localhost", &callback, None).await;
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    let wrong = "0".repeat(64);
    let stolen = callback_direct(&p, "app-a.localhost", &callback, Some(&wrong)).await;
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST, "used already, and by then revoked");
    let kinds = audit_kinds(&p.app).await;
    assert!(kinds.contains(&("forward_auth.callback".into(), "refused".into())), "{kinds:?}");

    // A fresh journey; the code at another app's host: refused.
    let (callback, state) = set_out_direct(&p, &browser, "app-a.localhost").await;
    assert!(callback.contains("/_latchkey/callback?code="), "signed in already: {callback}");
    let elsewhere = callback_direct(&p, "app-b.localhost", &callback, Some(&state)).await;
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);

    // And once more, properly: the cookie works for its app only.
    let (callback, state) = set_out_direct(&p, &browser, "app-a.localhost").await;
    let landed = callback_direct(&p, "app-a.localhost", &callback, Some(&state)).await;
    assert_eq!(landed.status(), StatusCode::SEE_OTHER);
    assert_eq!(landed.headers()["location"], format!("{}/docs", p.origin("app-a.localhost")));
    let cookie = cookie_from(&landed);
    assert_eq!(auth(&p, "app-a.localhost", &cookie).await, StatusCode::OK);
    assert_eq!(auth(&p, "app-b.localhost", &cookie).await, StatusCode::UNAUTHORIZED);
    assert_eq!(auth(&p, "app-a.localhost", &"f".repeat(64)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        auth(&p, "app-a.localhost", "'; DROP TABLE oidc_tokens; --").await,
        StatusCode::UNAUTHORIZED
    );

    // Ending the person's sessions (an administrator's reset, "sign out of all other
    // browsers" elsewhere) ends the app's too.
    let person = common::browser::person_of(&p.app, "alice").await;
    use domain::ports::SessionGenerations as _;
    p.app.db.bump(&person.id, domain::now_ms() / 1000).await.unwrap();
    assert_eq!(auth(&p, "app-a.localhost", &cookie).await, StatusCode::UNAUTHORIZED);
}

async fn password_only_steps_up_for_the_code_app(backend: Backend) {
    let p = protected(backend, Kind::Direct).await;
    let person = common::browser::person_of(&p.app, "alice").await;
    p.app.db.set_two_factor(person.id.as_str(), false, domain::now_ms() / 1000).await.unwrap();
    let browser = p.browser();
    let (to, state) = set_out_direct(&p, &browser, "app-a.localhost").await;
    assert_eq!(to, "/sign-in");
    let callback = browser.password("alice", "alice-demo-pw").await;
    assert!(callback.contains("/_latchkey/callback?code="), "password level is enough: {callback}");
    let landed = callback_direct(&p, "app-a.localhost", &callback, Some(&state)).await;
    assert_eq!(landed.status(), StatusCode::SEE_OTHER);
    let cookie_a = cookie_from(&landed);
    let texts = p.standin.texts().len();
    assert_eq!(texts, 0, "no code asked for so far");

    // App B needs the code: the code step only, never the password again.
    let (to, state) = set_out_direct(&p, &browser, "app-b.localhost").await;
    assert_eq!(to, "/sign-in");
    assert_eq!(step_of(&browser.sign_in_page().await), "code", "straight to the code");
    let code = code_sent_to(&p.standin, ALICE_PHONE);
    let callback = browser.submit("sign_in_code", &[("code", &code)]).await;
    assert!(callback.starts_with(&p.origin("app-b.localhost")), "{callback}");
    let landed = callback_direct(&p, "app-b.localhost", &callback, Some(&state)).await;
    let cookie = cookie_from(&landed);
    assert_eq!(auth(&p, "app-b.localhost", &cookie).await, StatusCode::OK);

    // A sign-in older than the app allows (10 minutes for App B): the check sends the browser
    // to sign in again.
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let metrics = check(&p, "/metrics", &[("authorization", &bearer)]).await.text().await.unwrap();
    assert!(
        metrics.contains("latchkey_forward_auth_checks_total{app=\"App B\",outcome=\"allowed\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("latchkey_forward_auth_events_total{kind=\"forward_auth.callback\""));
    age_sign_ins(&p, 601).await;
    assert_eq!(auth(&p, "app-b.localhost", &cookie).await, StatusCode::UNAUTHORIZED);
    assert_eq!(auth(&p, "app-a.localhost", &cookie_a).await, StatusCode::OK, "A sets no limit");

    // The security page lists both apps, and "Sign out of this app" ends A's access.
    let security = browser.get("/security").await;
    assert!(security.contains("App A") && security.contains("App B"), "{security}");
    let a = format!("forward-auth:{}", p.origin("app-a.localhost"));
    browser.post_from("/security", "security_app_sign_out", &[("client_id", &a)]).await;
    assert_eq!(auth(&p, "app-a.localhost", &cookie_a).await, StatusCode::UNAUTHORIZED);
    let kinds = audit_kinds(&p.app).await;
    assert!(kinds.contains(&("forward_auth.logout".into(), "app_signed_out".into())), "{kinds:?}");
}

/// Makes every forward-auth app session's sign-in `secs` older.
async fn age_sign_ins(p: &Protected, secs: i64) {
    let select = "SELECT id, details FROM oidc_grants WHERE client_id LIKE 'forward-auth:%'";
    let update = "UPDATE oidc_grants SET details = $1 WHERE id = $2";
    let rows: Vec<(String, String)> = match &p.app.db {
        server::db::Db::Sqlite(pool, _) => sqlx::query_as(select).fetch_all(pool).await.unwrap(),
        server::db::Db::Postgres(pool, _) => sqlx::query_as(select).fetch_all(pool).await.unwrap(),
    };
    for (id, details) in rows {
        let mut d: serde_json::Value = serde_json::from_str(&details).unwrap();
        d["auth_time"] = (d["auth_time"].as_i64().unwrap() - secs).into();
        let d = d.to_string();
        match &p.app.db {
            server::db::Db::Sqlite(pool, _) => {
                sqlx::query(update).bind(&d).bind(&id).execute(pool).await.unwrap();
            }
            server::db::Db::Postgres(pool, _) => {
                sqlx::query(update).bind(&d).bind(&id).execute(pool).await.unwrap();
            }
        }
    }
}

on_both!(
    nginx,
    caddy,
    caddy_answers_by_method_and_accept,
    only_configured_hosts_and_proxies,
    codes_are_bound_to_browser_app_and_sign_in,
    password_only_steps_up_for_the_code_app,
);
