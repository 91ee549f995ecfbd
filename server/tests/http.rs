//! Full-stack HTTP tests: the real server on a socket, a real slapd, SQLite and PostgreSQL.

#[macro_use]
mod common;

use common::{Backend, spawn_app};
use reqwest::StatusCode;

on_both!(
    health_and_readiness,
    https_deployments_get_hsts_and_host_only_secure_cookies,
    readiness_follows_the_directory_down_and_back_up,
    pages_render_with_security_headers,
    unknown_pages_are_a_real_404,
    cross_site_posts_are_refused,
    oversized_bodies_are_refused,
    demo_phone_shows_texts_only_with_the_demo_provider,
    branding_names_colours_and_marks_every_page,
    client_addresses_come_from_trusted_proxies_only,
    every_forwarded_for_line_is_read_in_order,
    requests_beyond_the_concurrency_limit_wait_their_turn,
    a_slow_request_body_holds_no_turn_and_gets_408,
    metrics_behind_a_proxy_need_the_token,
    readiness_probes_are_shared_and_use_the_pool,
);

async fn health_and_readiness(backend: Backend) {
    let app = spawn_app(backend, &[]).await;
    let c = app.client();
    let health = c.get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap()["status"], "ok");

    let ready = c.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"]["ok"], true);
    assert_eq!(body["checks"]["directory"]["ok"], true);
}

async fn readiness_follows_the_directory_down_and_back_up(backend: Backend) {
    let mut app = spawn_app(backend, &[]).await;
    let c = app.client();
    app.directory.stop();
    let ready = c.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(
        body["checks"]["directory"],
        serde_json::json!({ "ok": false, "error": "unreachable" })
    );
    assert_eq!(body["checks"]["database"]["ok"], true);

    // Back without restarting Latchkey: ready again once the cached answer has aged out.
    app.directory.restart().unwrap();
    tokio::time::sleep(server::http::READINESS_CACHE).await;
    let ready = c.get(format!("{}/readyz", app.url)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}

async fn pages_render_with_security_headers(backend: Backend) {
    let app = spawn_app(backend, &[]).await;
    let res = app.client().get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["cache-control"], "no-store");
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(h.get("strict-transport-security").is_none(), "no HSTS over plain http");
    let html = res.text().await.unwrap();
    // Every inline script carries this response's nonce, and the policy allows only it.
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("<script nonce=\"{nonce}\"")).count()
            + html.matches(&format!("<script type=\"module\" nonce=\"{nonce}\"")).count(),
        scripts,
        "{html}"
    );
    // A new response, a new nonce.
    let again = app.client().get(format!("{}/", app.url)).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"].to_str().unwrap().contains(nonce));
    // Answers that are not pages allow nothing to run.
    let api = app.client().get(format!("{}/healthz", app.url)).send().await.unwrap();
    assert!(
        api.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert!(html.contains("/pkg/latchkey.css"), "stylesheet linked");
    // Nothing is left for JavaScript to move into place (out-of-order streaming chunks).
    assert!(!html.contains("<template"), "{html}");
}

async fn unknown_pages_are_a_real_404(backend: Backend) {
    let app = spawn_app(backend, &[]).await;
    let res = app.client().get(format!("{}/no/such/page", app.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

/// Finds the URL the language switcher's form (on every page) posts to.
async fn form_action(app: &common::TestApp) -> String {
    let html =
        app.client().get(format!("{}/", app.url)).send().await.unwrap().text().await.unwrap();
    let start =
        html.find(r#"action="/api/set_language"#).expect("the form posts to the server function");
    let rest = &html[start + r#"action=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn cross_site_posts_are_refused(backend: Backend) {
    let app = spawn_app(backend, &[]).await;
    let action = form_action(&app).await;
    let c = app.client();
    let cross_site = c
        .post(format!("{}{action}", app.url))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    let foreign_origin = c
        .post(format!("{}{action}", app.url))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_origin.status(), StatusCode::FORBIDDEN);
}

async fn oversized_bodies_are_refused(backend: Backend) {
    let app = spawn_app(backend, &[("LATCHKEY_SERVER__MAX_BODY_BYTES", "2048")]).await;
    let action = form_action(&app).await;
    let res = app
        .client()
        .post(format!("{}{action}", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=".to_owned() + &"x".repeat(10_000))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn demo_phone_shows_texts_only_with_the_demo_provider(backend: Backend) {
    let console = spawn_app(backend, &[]).await;
    let res = console.client().get(format!("{}/demo/phone", console.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "never served without the demo provider");
    let html = res.text().await.unwrap();
    assert!(!html.contains("Demo phone</h1>"), "{html}");
    drop(console);

    let demo = spawn_app(backend, &[("LATCHKEY_SMS__PROVIDER", "demo")]).await;
    let empty = demo.client().get(format!("{}/demo/phone", demo.url)).send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::OK);
    assert!(empty.text().await.unwrap().contains("No texts yet"));

    demo.db.record_demo_text("+12015550123", "first <b>text</b>", 1).await.unwrap();
    demo.db.record_demo_text("+12015550123", "Your code is 123456", 2).await.unwrap();
    let html = demo
        .client()
        .get(format!("{}/demo/phone", demo.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let newest = html.find("Your code is 123456").expect("newest text shown");
    let oldest = html.find("first &lt;b&gt;text&lt;/b&gt;").expect("older text shown, escaped");
    assert!(newest < oldest, "newest first");
    assert!(html.contains(r#"data-kind="text""#) && html.contains(r#"data-to="+12015550123""#));

    // A call shows as its transcript, marked apart from texts, newest first with them.
    let transcript = "Your Latchkey code is 4, 8, 1, 0, 2, 6. Again: 4, 8, 1, 0, 2, 6. Goodbye.";
    demo.db
        .record_demo_message(
            "+12015550188",
            domain::codes::Channel::Call,
            transcript,
            3 * 3600 + 61,
        )
        .await
        .unwrap();
    let html = demo
        .client()
        .get(format!("{}/demo/phone", demo.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let call = html.find(r#"data-kind="call""#).expect("the call is marked as one");
    assert!(call < html.find(r#"data-kind="text""#).unwrap(), "newest first");
    assert!(html.contains(r#"data-to="+12015550188""#), "{html}");
    assert!(html.contains("Call from Latchkey"), "{html}");
    assert!(html.contains("03:01"), "when it rang: {html}");
    assert!(html.contains(transcript), "{html}");
}

async fn https_deployments_get_hsts_and_host_only_secure_cookies(backend: Backend) {
    let app =
        spawn_app(backend, &[("LATCHKEY_SERVER__PUBLIC_URL", "https://security.example.org")])
            .await;
    let res = app.client().get(format!("{}/sign-in", app.url)).send().await.unwrap();
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    // The cookies a password post sets.
    let set_by = |login: &'static str, password: &'static str| {
        let post = app
            .client()
            .post(format!("{}/api/sign_in_password", app.url))
            .header("origin", "https://security.example.org")
            .form(&[("username", login), ("password", password)]);
        async move {
            let res = post.send().await.unwrap();
            let set = res.headers().get_all("set-cookie").iter();
            set.map(|c| c.to_str().unwrap().to_owned()).collect::<Vec<String>>()
        }
    };
    // A failed sign-in keeps the login typed (the session) and says why (the notice's cookie):
    // both cookies appear, Secure and __Host-.
    let cookies = set_by("nobody", "x").await;
    let mut names: Vec<&str> = cookies.iter().filter_map(|c| c.split('=').next()).collect();
    names.sort_unstable();
    assert_eq!(names, ["__Host-latchkey", "__Host-latchkey-notice"], "{cookies:?}");
    // A right password with a second step to come (the demo people's 2-step settings): the
    // flow's own cookie, __Host- too.
    devkit::demo::seed_settings(&app.config, &app.db).await.expect("2-step settings");
    let flow = set_by("alice", "alice-demo-pw").await;
    assert!(flow.iter().any(|c| c.starts_with("__Host-latchkey-flow=")), "{flow:?}");
    for cookie in cookies.iter().chain(&flow) {
        assert!(
            cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.contains("Domain="), "host-only: {cookie}");
    }
}

async fn branding_names_colours_and_marks_every_page(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("acme.svg");
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>"#;
    std::fs::write(&logo, svg).unwrap();
    let app = spawn_app(
        backend,
        &[
            ("LATCHKEY_SERVER__PRODUCT_NAME", "Acme Account"),
            ("LATCHKEY_SERVER__ACCENT_COLOR", "#0B6E4F"),
            ("LATCHKEY_SERVER__LOGO", logo.to_str().unwrap()),
        ],
    )
    .await;
    let c = app.client();
    let page = c.get(format!("{}/sign-in", app.url)).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Sign in · Acme Account</title>"), "{html}");
    assert!(html.contains(r#"<img src="/brand/logo" alt="""#), "{html}");
    // The accent is the one inline style, allowed by this response's nonce.
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap();
    assert!(csp.contains(&format!("style-src 'self' 'nonce-{nonce}'")), "{csp}");
    assert!(
        html.contains(&format!(r#"<style nonce="{nonce}">:root{{--brand:#0b6e4f}}</style>"#)),
        "{html}"
    );

    let served = c.get(format!("{}/brand/logo", app.url)).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/svg+xml");
    assert!(served.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(served.text().await.unwrap(), svg);

    // Without a logo: the shield, and no logo route content.
    let plain = spawn_app(backend, &[]).await;
    let html = plain.client().get(format!("{}/sign-in", plain.url)).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(!html.contains("/brand/logo") && html.contains("<title>Sign in · Latchkey</title>"));
    let none = plain.client().get(format!("{}/brand/logo", plain.url)).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
}

async fn client_addresses_come_from_trusted_proxies_only(backend: Backend) {
    use common::browser::Browser;
    let proxied = [("LATCHKEY_SERVER__TRUSTED_PROXIES", r#"["127.0.0.0/8"]"#)];
    for (extra, expected, not_expected) in
        [(&proxied[..], "203.0.113.7", "127.0.0.1"), (&[][..], "127.0.0.1", "203.0.113.7")]
    {
        let app = spawn_app(backend, extra).await;
        let mut b = Browser::new(&app);
        // Every request says it was forwarded for 203.0.113.7 (after a forged first hop).
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        b.http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(b.jar.clone())
            .default_headers(headers)
            .build()
            .unwrap();
        assert_eq!(b.password("bob", "bob-demo-pw").await, "/");
        let page = b.get("/security").await;
        // The security page's activity lists the address of each event.
        assert!(page.contains(&format!(">{expected}</span>")), "{expected} expected: {page}");
        assert!(!page.contains(&format!(">{not_expected}</span>")), "not {not_expected}");
    }
}

/// A proxy that appends its own `X-Forwarded-For` line (instead of extending the client's) must
/// not let the client's own line pick the address: every line is read, in order.
async fn every_forwarded_for_line_is_read_in_order(backend: Backend) {
    let app =
        spawn_app(backend, &[("LATCHKEY_SERVER__TRUSTED_PROXIES", r#"["127.0.0.0/8"]"#)]).await;
    let res = app
        .client()
        .post(format!("{}/api/sign_in_password", app.url))
        .header("sec-fetch-site", "same-origin")
        // What the client wrote, then the line the proxy appended with the address it saw.
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-for", "203.0.113.7")
        .form(&[("username", "bob"), ("password", "not-bobs-password")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let sql = "SELECT DISTINCT client_ip FROM audit_events";
    let ips: Vec<(String,)> = match &app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    };
    assert_eq!(ips, vec![("203.0.113.7".to_owned(),)], "the refused password's audit row");
}

/// With one turn: a sign-in stuck on a slow Twilio holds it, a page waits for it (and is then
/// served), and health checks never wait.
async fn requests_beyond_the_concurrency_limit_wait_their_turn(backend: Backend) {
    use common::browser::{Browser, setup, step_of};
    use devkit::twilio_standin::Fault;
    // A stall well inside a long Twilio timeout: the checks below have seconds to run, even on
    // a machine busy with every other test.
    let extra = [
        ("LATCHKEY_SERVER__MAX_CONCURRENT_REQUESTS", "1"),
        ("LATCHKEY_SMS__TWILIO__TIMEOUT_SECS", "10"),
    ];
    let s = setup(backend, &extra).await;
    s.standin.fail_next(1, Fault::Stall { millis: 5_000 });
    let b = Browser::new(&s.app);
    let slow = tokio::spawn(async move { b.password("alice", "alice-demo-pw").await });
    for _ in 0..1000 {
        if s.standin.requests() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(s.standin.requests(), 1, "the sign-in reached Twilio, holding the one turn");

    let other = Browser::new(&s.app);
    let page = tokio::spawn(async move { other.sign_in_page().await });
    let health = s.app.client().get(format!("{}/healthz", s.app.url)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(!slow.is_finished(), "health answered while the turn was taken");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!page.is_finished(), "the page waits for the turn");

    assert!(slow.await.unwrap().ends_with("/sign-in"));
    assert_eq!(step_of(&page.await.unwrap()), "password", "then it is served");
}

/// With one turn, a client that sends its headers and then trickles its body must not hold the
/// turn: the body is read (under a deadline) before a turn is taken, and the trickler gets 408.
async fn a_slow_request_body_holds_no_turn_and_gets_408(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(backend, &[("LATCHKEY_SERVER__MAX_CONCURRENT_REQUESTS", "1")]).await;
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /api/sign_in_password HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nSec-Fetch-Site: same-origin\r\n\
                Content-Length: 200\r\n\r\nusername=alice&password=";
    slow.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let (mut reader, mut writer) = slow.into_split();
    // A byte every 300 ms: the 200-byte body would take a minute, past any per-read timeout.
    let trickle = tokio::spawn(async move {
        for _ in 0..200 {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            if writer.write_all(b"x").await.is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // A page needs the one turn; it is served while the body trickles.
    let page = app
        .client()
        .get(format!("{}/sign-in", app.url))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .expect("the page is served while another request's body trickles in");
    assert_eq!(page.status(), StatusCode::OK);

    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(25), async {
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    trickle.abort();
    assert!(read.is_ok(), "the trickling client got an answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(20),
        "cut off at the body deadline: {waited:?}"
    );
}

/// Behind a proxy on the same machine every request comes from loopback, so loopback proves
/// nothing: with `server.trusted_proxies` set the token is required, and without one the
/// metrics are refused to everyone.
async fn metrics_behind_a_proxy_need_the_token(backend: Backend) {
    let proxies = ("LATCHKEY_SERVER__TRUSTED_PROXIES", r#"["127.0.0.0/8"]"#);
    let app = spawn_app(backend, &[proxies]).await;
    for forwarded in [None, Some("203.0.113.5"), Some("127.0.0.1")] {
        let mut req = app.client().get(format!("{}/metrics", app.url));
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "forwarded for {forwarded:?}");
    }
    drop(app);

    let app =
        spawn_app(backend, &[proxies, ("LATCHKEY_SERVER__METRICS_TOKEN", "m3trics-t0ken")]).await;
    let c = app.client();
    let url = format!("{}/metrics", app.url);
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = c.get(&url).bearer_auth("m3trics-t0ken").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("# TYPE latchkey_sign_ins_total counter"));

    // Without proxies, this machine may still read them without a token.
    let app = spawn_app(backend, &[]).await;
    let res = app.client().get(format!("{}/metrics", app.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// What a counting proxy in front of slapd saw: connections, and LDAP binds and searches sent.
#[derive(Debug, Default)]
struct LdapTraffic {
    connections: std::sync::atomic::AtomicUsize,
    binds: std::sync::atomic::AtomicUsize,
    searches: std::sync::atomic::AtomicUsize,
}

impl LdapTraffic {
    fn read(&self) -> (usize, usize, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        (self.connections.load(SeqCst), self.binds.load(SeqCst), self.searches.load(SeqCst))
    }

    /// Counts the requests in `buf` (client to server), leaving an incomplete one in place.
    fn count_requests(&self, buf: &mut Vec<u8>) {
        use std::sync::atomic::Ordering::SeqCst;
        loop {
            // LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE { [APPLICATION n] } }
            let Some((header, len)) = ber_length(buf) else { return };
            if buf.len() < header + len {
                return;
            }
            let body = &buf[header..header + len];
            if let [0x02, id_len, rest @ ..] = body
                && let Some(&op) = rest.get(usize::from(*id_len))
            {
                match op {
                    0x60 => self.binds.fetch_add(1, SeqCst),
                    0x63 => self.searches.fetch_add(1, SeqCst),
                    _ => 0,
                };
            }
            buf.drain(..header + len);
        }
    }
}

/// The header size and content length of the BER element at the start of `buf`, once known.
fn ber_length(buf: &[u8]) -> Option<(usize, usize)> {
    let first = *buf.get(1)?;
    if first & 0x80 == 0 {
        return Some((2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    let bytes = buf.get(2..2 + n)?;
    Some((2 + n, bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))))
}

/// A TCP proxy to `upstream` that counts what passes through.
async fn counting_proxy(upstream: std::net::SocketAddr) -> (String, std::sync::Arc<LdapTraffic>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let traffic = std::sync::Arc::new(LdapTraffic::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ldap://{}", listener.local_addr().unwrap());
    let counted = traffic.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            counted.connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else { continue };
            let (mut client_rx, mut client_tx) = client.into_split();
            let (mut server_rx, mut server_tx) = server.into_split();
            let counted = counted.clone();
            tokio::spawn(async move {
                let (mut buf, mut pending) = ([0u8; 4096], Vec::new());
                while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
                    pending.extend_from_slice(&buf[..n]);
                    counted.count_requests(&mut pending);
                    if server_tx.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
            });
        }
    });
    (url, traffic)
}

/// Many parallel /readyz hits make at most one directory probe per cache window, on a pooled
/// connection: the endpoint is unauthenticated and outside the concurrency limit, so it must
/// not turn each hit into a directory connection and bind.
async fn readiness_probes_are_shared_and_use_the_pool(backend: Backend) {
    use server::http::READINESS_CACHE;
    let slapd = devkit::slapd::Slapd::start(&common::demo_seed()).expect("slapd");
    let (url, traffic) = counting_proxy(slapd.addr()).await;
    let db = common::TestDb::new(backend).await;
    let env = common::env_for(&slapd, &db.url, &[("LATCHKEY_DIRECTORY__URL", &url)]);
    let config = server::config::Config::load_layers(None, &env).expect("config");
    let prepared = server::commands::prepare(&config).await.expect("start-up");
    let base = format!("http://{}", prepared.listener.local_addr().unwrap());
    let run_config = config.clone();
    let task = tokio::spawn(async move {
        let _ = server::commands::run(prepared, &run_config).await;
    });
    server::sms::install_crypto_provider();
    let c = reqwest::Client::new();
    let burst = || async {
        let started = std::time::Instant::now();
        let mut hits = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let (c, url) = (c.clone(), format!("{base}/readyz"));
            hits.spawn(async move { c.get(url).send().await.unwrap().status() });
        }
        while let Some(status) = hits.join_next().await {
            assert_eq!(status.unwrap(), StatusCode::OK);
        }
        started.elapsed()
    };
    // Whatever start-up did (it checks the directory) is not counted.
    let (connections, binds, searches) = traffic.read();

    let took = burst().await;
    let (c1, b1, s1) = traffic.read();
    let windows = 1 + (took.as_secs_f64() / READINESS_CACHE.as_secs_f64()) as usize;
    assert!(s1 - searches >= 1, "the directory was asked");
    assert!(s1 - searches <= windows, "{} probes for 32 hits in {took:?}", s1 - searches);
    assert!(c1 - connections <= 1 && b1 - binds <= 1, "one pooled connection: {c1} {b1}");

    // Once the window has passed, the next hit asks again, on the same pooled connection.
    tokio::time::sleep(READINESS_CACHE + std::time::Duration::from_millis(200)).await;
    let took = burst().await;
    let (c2, b2, s2) = traffic.read();
    let windows = 1 + (took.as_secs_f64() / READINESS_CACHE.as_secs_f64()) as usize;
    assert!(s2 > s1, "the cache expires");
    assert!(s2 - s1 <= windows, "{} probes for 32 hits in {took:?}", s2 - s1);
    assert_eq!((c2, b2), (c1, b1), "no new connection or bind: the probe uses the pool");
    task.abort();
}
