//! The forward-auth example configurations (docs/forward-auth/) in real nginx and Caddy, in
//! front of the devkit's upstream app, asking a fake Latchkey written here. Every test runs
//! against both proxies: what the docs promise an operator must hold for each.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use devkit::proxies::{Proxy, ProxyKind};
use devkit::upstream::{self, Seen, Upstream};
use serde_json::{Value, json};

const SIGN_IN: &str = "http://latchkey.localhost/sign-in?from=fake";
const HOSTS: &[&str] = &["app-a.localhost", "app-b.localhost"];

/// A request that reached the fake Latchkey.
#[derive(Debug, Clone)]
struct Asked {
    method: String,
    /// Path and query.
    uri: String,
    headers: HeaderMap,
    body_length: usize,
}

impl Asked {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn is_auth_check(&self) -> bool {
        self.uri.starts_with("/api/authz/")
    }
}

type Asks = Arc<Mutex<Vec<Asked>>>;

/// Stands in for Latchkey's two auth endpoints and its `/_latchkey/` pages. The browser's
/// cookie decides: `ok=1` alice (all four identity headers), `empty=1` bob with the other three
/// empty, `nobody=1` a 200 with no identity at all, `deny=1` 403; no cookie: sign in first (401
/// with a Location for nginx's endpoint, a 302 for Caddy's).
struct FakeLatchkey {
    addr: SocketAddr,
    asks: Asks,
    task: tokio::task::JoinHandle<()>,
}

impl FakeLatchkey {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let asks = Asks::default();
        let app = Router::new().fallback(answer).with_state(asks.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, asks, task }
    }

    fn asks(&self) -> Vec<Asked> {
        self.asks.lock().expect("asks").clone()
    }

    /// The auth checks (not the `/_latchkey/` pages) received so far.
    fn auth_checks(&self) -> Vec<Asked> {
        self.asks().into_iter().filter(Asked::is_auth_check).collect()
    }

    fn last_auth_check(&self) -> Asked {
        self.auth_checks().pop().expect("the proxy asked the fake Latchkey")
    }
}

impl Drop for FakeLatchkey {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(State(asks): State<Asks>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.expect("body");
    let asked = Asked {
        method: parts.method.to_string(),
        uri: parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
        headers: parts.headers.clone(),
        body_length: body.len(),
    };
    asks.lock().expect("asks").push(asked.clone());

    if asked.uri.starts_with("/_latchkey/") {
        return Json(json!({
            "uri": asked.uri,
            "host": asked.header("host"),
            "x_forwarded_proto": asked.header("x-forwarded-proto"),
            "x_forwarded_host": asked.header("x-forwarded-host"),
            "x_forwarded_for": asked.header("x-forwarded-for"),
        }))
        .into_response();
    }
    let nginx = asked.uri.starts_with("/api/authz/auth-request");
    if !nginx && !asked.uri.starts_with("/api/authz/forward-auth") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let cookie = asked.header("cookie").unwrap_or_default();
    let has = |c: &str| cookie.split(';').any(|pair| pair.trim() == c);
    let identity = |user: &str, name: &str, email: &str, groups: &str| {
        let headers = [
            ("remote-user", user),
            ("remote-name", name),
            ("remote-email", email),
            ("remote-groups", groups),
        ];
        (StatusCode::OK, headers).into_response()
    };
    if has("ok=1") {
        identity("alice", "Alice Example", "alice@example.org", "staff,admins")
    } else if has("empty=1") {
        identity("bob", "", "", "")
    } else if has("nobody=1") {
        StatusCode::OK.into_response()
    } else if has("deny=1") {
        StatusCode::FORBIDDEN.into_response()
    } else if nginx {
        (StatusCode::UNAUTHORIZED, [(header::LOCATION, SIGN_IN)]).into_response()
    } else {
        (StatusCode::FOUND, [(header::LOCATION, SIGN_IN)]).into_response()
    }
}

/// A client that shows redirects instead of following them, and ignores any proxy settings of
/// the machine.
fn client_builder() -> reqwest::ClientBuilder {
    // The workspace's reqwest is built with rustls and no default crypto provider (for the
    // server's Twilio client), also here where only plain HTTP is spoken.
    server::sms::install_crypto_provider();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy()
}

struct Rig {
    latchkey: FakeLatchkey,
    upstream: Upstream,
    proxy: Proxy,
    client: reqwest::Client,
}

async fn rig(kind: ProxyKind) -> Rig {
    let latchkey = FakeLatchkey::start().await;
    let upstream = upstream::start().await.expect("the upstream app starts");
    let proxy = Proxy::start(kind, &latchkey.addr.to_string(), &upstream.authority(), HOSTS)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut client = client_builder();
    for host in HOSTS {
        client = client.resolve(host, proxy.addr());
    }
    Rig { latchkey, upstream, proxy, client: client.build().expect("client") }
}

impl Rig {
    fn url(&self, host: &str, path: &str) -> String {
        format!("{}{path}", self.proxy.origin(host))
    }

    /// `host:port` as the browser sends it in Host.
    fn authority(&self, host: &str) -> String {
        format!("{host}:{}", self.proxy.port())
    }

    async fn get(&self, host: &str, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.get(self.url(host, path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("the proxy answers")
    }

    /// What the app said it received, from `/whoami.json`.
    async fn whoami(&self, headers: &[(&str, &str)]) -> Seen {
        let response = self.get("app-a.localhost", "/whoami.json", headers).await;
        assert_eq!(response.status(), 200, "{}", self.proxy.log());
        response.json().await.expect("the app's JSON")
    }
}

async fn an_allowed_request_reaches_the_app_with_who_it_is(kind: ProxyKind) {
    let rig = rig(kind).await;
    let seen = rig.whoami(&[("cookie", "ok=1")]).await;
    assert_eq!(seen.host.as_deref(), Some(rig.authority("app-a.localhost").as_str()));
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.path, "/whoami.json");
    assert_eq!(seen.remote_user.as_deref(), Some("alice"));
    assert_eq!(seen.remote_name.as_deref(), Some("Alice Example"));
    assert_eq!(seen.remote_email.as_deref(), Some("alice@example.org"));
    assert_eq!(seen.remote_groups.as_deref(), Some("staff,admins"));

    // The HTML page shows the same, escaped, under the ids the end-to-end tests read.
    let page = rig.get("app-a.localhost", "/anything", &[("cookie", "ok=1")]).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("page");
    assert!(page.contains("<h1>Protected app</h1>"), "{page}");
    assert!(page.contains("<dd id=\"remote-user\">alice</dd>"), "{page}");
    assert!(page.contains("<form method=\"post\">"), "{page}");
}

async fn the_auth_check_carries_the_session_cookie_and_the_original_request(kind: ProxyKind) {
    let rig = rig(kind).await;
    let response = rig.get("app-b.localhost", "/reports/q?year=2026", &[("cookie", "ok=1")]).await;
    assert_eq!(response.status(), 200);
    let check = rig.latchkey.last_auth_check();
    assert_eq!(check.header("cookie"), Some("ok=1"));
    assert_eq!(check.header("x-forwarded-for"), Some("127.0.0.1"));
    let host = rig.authority("app-b.localhost");
    match kind {
        ProxyKind::Nginx => {
            assert!(check.uri.starts_with("/api/authz/auth-request"), "{check:?}");
            let url = format!("http://{host}/reports/q?year=2026");
            assert_eq!(check.header("x-original-url"), Some(url.as_str()));
            assert_eq!(check.header("x-original-method"), Some("GET"));
        }
        ProxyKind::Caddy => {
            assert!(check.uri.starts_with("/api/authz/forward-auth"), "{check:?}");
            assert_eq!(check.header("x-forwarded-method"), Some("GET"));
            assert_eq!(check.header("x-forwarded-proto"), Some("http"));
            assert_eq!(check.header("x-forwarded-host"), Some(host.as_str()));
            assert_eq!(check.header("x-forwarded-uri"), Some("/reports/q?year=2026"));
        }
    }
    // One process, two apps: each keeps its own host name up to the app.
    let seen = rig.upstream.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].host.as_deref(), Some(host.as_str()));
}

async fn a_post_is_checked_with_a_bodiless_get_and_reaches_the_app_whole(kind: ProxyKind) {
    let rig = rig(kind).await;
    let response = rig
        .client
        .post(rig.url("app-a.localhost", "/whoami.json"))
        .header("cookie", "ok=1")
        .form(&[("comment", "x".repeat(5000))])
        .send()
        .await
        .expect("the proxy answers");
    assert_eq!(response.status(), 200, "{}", rig.proxy.log());
    let seen: Seen = response.json().await.expect("the app's JSON");
    assert_eq!((seen.method.as_str(), seen.body_length), ("POST", "comment=".len() + 5000));
    assert_eq!(seen.remote_user.as_deref(), Some("alice"));

    // The finding the nginx example's comments rest on: its auth subrequest is a GET whatever
    // the browser's method; the method travels in a header.
    let check = rig.latchkey.last_auth_check();
    assert_eq!(check.method, "GET", "{check:?}");
    assert_eq!(check.body_length, 0, "{check:?}");
    let method_header = match kind {
        ProxyKind::Nginx => "x-original-method",
        ProxyKind::Caddy => "x-forwarded-method",
    };
    assert_eq!(check.header(method_header), Some("POST"), "{check:?}");
}

async fn identity_headers_from_the_browser_never_reach_the_app(kind: ProxyKind) {
    let rig = rig(kind).await;
    let forged = [
        ("remote-user", "mallory"),
        ("remote-name", "Mallory"),
        ("remote-email", "mallory@example.org"),
        ("remote-groups", "forged-admins"),
    ];
    let with = |cookie: &'static str| {
        let mut headers = vec![("cookie", cookie)];
        headers.extend(forged);
        headers
    };
    let forged_values = |seen: &Seen| {
        [&seen.remote_user, &seen.remote_name, &seen.remote_email, &seen.remote_groups]
            .into_iter()
            .flatten()
            .filter(|v| v.contains("allory") || v.contains("forged"))
            .cloned()
            .collect::<Vec<_>>()
    };

    // Latchkey names someone: only that reaches the app.
    let seen = rig.whoami(&with("ok=1")).await;
    assert_eq!(seen.remote_user.as_deref(), Some("alice"));
    assert_eq!(seen.remote_groups.as_deref(), Some("staff,admins"));
    assert!(forged_values(&seen).is_empty(), "{seen:?}");

    // Latchkey names someone with nothing else known: still none of the browser's.
    let seen = rig.whoami(&with("empty=1")).await;
    assert_eq!(seen.remote_user.as_deref(), Some("bob"));
    assert!(forged_values(&seen).is_empty(), "{seen:?}");
    for absent in [&seen.remote_name, &seen.remote_email, &seen.remote_groups] {
        // nginx sends no header for an empty value; Caddy sends it empty.
        assert!(absent.as_deref().is_none_or(str::is_empty), "{seen:?}");
    }

    // A 200 naming nobody (Latchkey does not give one; the proxies are still not fooled).
    let seen = rig.whoami(&with("nobody=1")).await;
    assert!(forged_values(&seen).is_empty(), "{seen:?}");

    // Refused: the app is not asked at all.
    let before = rig.upstream.seen().len();
    for cookie in ["deny=1", "none=1"] {
        let response = rig.get("app-a.localhost", "/whoami.json", &with(cookie)).await;
        assert!(response.status() == 302 || response.status() == 403, "{}", response.status());
    }
    assert_eq!(rig.upstream.seen().len(), before);
}

async fn without_a_session_the_browser_is_sent_to_sign_in(kind: ProxyKind) {
    let rig = rig(kind).await;
    let response = rig.get("app-a.localhost", "/private?x=1", &[]).await;
    // nginx turns Latchkey's 401 into this redirect; Caddy passes Latchkey's 302 on.
    assert_eq!(response.status(), 302, "{}", rig.proxy.log());
    assert_eq!(response.headers().get("location").and_then(|v| v.to_str().ok()), Some(SIGN_IN));
    assert!(rig.upstream.seen().is_empty(), "{:?}", rig.upstream.seen());
    assert_eq!(rig.latchkey.auth_checks().len(), 1);
}

async fn a_refusal_stays_a_403_and_the_app_is_not_asked(kind: ProxyKind) {
    let rig = rig(kind).await;
    let response = rig.get("app-a.localhost", "/private", &[("cookie", "deny=1")]).await;
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("location").is_none());
    assert!(rig.upstream.seen().is_empty(), "{:?}", rig.upstream.seen());
    assert_eq!(rig.latchkey.auth_checks().len(), 1);
}

async fn latchkey_pages_are_reached_unchecked_with_the_original_host(kind: ProxyKind) {
    let rig = rig(kind).await;
    let response = rig
        .get(
            "app-b.localhost",
            "/_latchkey/start?rd=%2Fprivate",
            &[
                ("x-forwarded-host", "evil.example"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-for", "203.0.113.9"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "{}", rig.proxy.log());
    let echo: Value = response.json().await.expect("the fake's JSON");
    let host = rig.authority("app-b.localhost");
    assert_eq!(
        echo,
        json!({
            "uri": "/_latchkey/start?rd=%2Fprivate",
            "host": host,
            // The browser's own X-Forwarded-* are replaced, not passed on.
            "x_forwarded_proto": "http",
            "x_forwarded_host": host,
            "x_forwarded_for": "127.0.0.1",
        })
    );
    assert!(rig.latchkey.auth_checks().is_empty(), "{:?}", rig.latchkey.auth_checks());
    assert!(rig.upstream.seen().is_empty());
}

async fn dropping_the_proxy_stops_it(kind: ProxyKind) {
    let rig = rig(kind).await;
    let addr = rig.proxy.addr();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    drop(rig.proxy);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::net::TcpStream::connect(addr).is_ok() {
        assert!(std::time::Instant::now() < deadline, "{kind} still listens on {addr}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Each test once per proxy: `nginx::name` and `caddy::name`.
macro_rules! for_each_proxy {
    ($($name:ident),* $(,)?) => {
        mod nginx {
            $(#[tokio::test]
            async fn $name() {
                super::$name(devkit::proxies::ProxyKind::Nginx).await
            })*
        }
        mod caddy {
            $(#[tokio::test]
            async fn $name() {
                super::$name(devkit::proxies::ProxyKind::Caddy).await
            })*
        }
    };
}

for_each_proxy!(
    an_allowed_request_reaches_the_app_with_who_it_is,
    the_auth_check_carries_the_session_cookie_and_the_original_request,
    a_post_is_checked_with_a_bodiless_get_and_reaches_the_app_whole,
    identity_headers_from_the_browser_never_reach_the_app,
    without_a_session_the_browser_is_sent_to_sign_in,
    a_refusal_stays_a_403_and_the_app_is_not_asked,
    latchkey_pages_are_reached_unchecked_with_the_original_host,
    dropping_the_proxy_stops_it,
);

#[test]
fn a_proxy_that_cannot_start_says_why() {
    let error = Proxy::start_nginx("no-such-host.invalid:1", "127.0.0.1:1", HOSTS)
        .expect_err("nginx cannot resolve Latchkey's address");
    let message = error.to_string();
    assert!(message.starts_with("nginx exited while starting"), "{message}");
    assert!(message.contains("no-such-host.invalid"), "{message}");
}

#[tokio::test]
async fn the_upstream_does_not_count_a_proxys_readiness_check() {
    let upstream = upstream::start().await.expect("the upstream app starts");
    let client = client_builder().build().expect("client");
    let url = format!("http://{}/", upstream.authority());
    let probe = client.get(&url).header("host", devkit::proxies::READY_HOST).send().await;
    assert_eq!(probe.expect("the upstream answers").status(), 404);
    assert!(upstream.seen().is_empty(), "{:?}", upstream.seen());
    let visit = client.get(&url).send().await.expect("the upstream answers");
    assert_eq!(visit.status(), 200);
    assert_eq!(upstream.seen().len(), 1);
}
