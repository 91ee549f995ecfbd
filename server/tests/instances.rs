//! The binary as it runs in production: several `latchkey serve` processes on one PostgreSQL
//! database and one directory behind a load balancer, and what their logs may never contain.

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::browser::{ALICE_PHONE, Browser, code_sent_to, step_of};
use common::{Backend, KEY, TestDb, env_for};
use devkit::slapd::Slapd;
use devkit::twilio_standin::{StandinAccount, TwilioStandin};

/// A `latchkey serve` process on a free port, its output collected.
struct Instance {
    url: String,
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Instance {
    async fn start(env: &[(String, String)], log: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LATCHKEY_LOG", log)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("LATCHKEY_SERVER__ADDRESS", format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start latchkey");
        let output = Arc::new(Mutex::new(String::new()));
        for mut pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if http.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status().is_success())
            {
                return Self { url, child, output };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("latchkey exited with {status}: {}", output.lock().unwrap());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("latchkey did not become ready: {}", output.lock().unwrap());
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Cluster {
    slapd: Slapd,
    standin: TwilioStandin,
    _db: TestDb,
    env: Vec<(String, String)>,
}

async fn cluster(extra: &[(&str, &str)]) -> Cluster {
    server::sms::install_crypto_provider();
    let slapd = Slapd::start(&common::demo_seed()).expect("slapd");
    let db = TestDb::new(Backend::Postgres).await;
    let standin = TwilioStandin::start(StandinAccount::test()).await.expect("stand-in");
    let mut vars = vec![
        ("LATCHKEY_SMS__PROVIDER", "twilio".to_owned()),
        ("LATCHKEY_SMS__TWILIO__ACCOUNT_SID", standin.account.account_sid.clone()),
        ("LATCHKEY_SMS__TWILIO__AUTH_TOKEN", standin.account.auth_token.clone()),
        ("LATCHKEY_SMS__TWILIO__FROM", "+15017122661".to_owned()),
        ("LATCHKEY_SMS__TWILIO__BASE_URL", standin.url.clone()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let env = env_for(&slapd, &db.url, &vars);
    // 2-step sign-in on for the demo people who have it, as `latchkey-demo` does.
    let config = server::config::Config::load_layers(None, &env).expect("config");
    let pool = db.open().await;
    devkit::demo::seed_settings(&config, &pool).await.expect("settings");
    pool.close().await;
    Cluster { slapd, standin, _db: db, env }
}

/// A browser pointed at `url` (cookies are per host, not per port: one jar serves both).
fn browser_at(base: &Browser, url: &str) -> Browser {
    Browser {
        base: url.to_owned(),
        url: url.parse().unwrap(),
        jar: base.jar.clone(),
        http: base.http.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_flows_limits_and_changes() {
    // No cooldown, so the per-number limit (3 per 10 minutes) is what a burst meets.
    let c = cluster(&[("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "0")]).await;
    let a = Instance::start(&c.env, "warn").await;
    let b = Instance::start(&c.env, "warn").await;

    // Password on the first instance, code on the second.
    let on_a = Browser::at(&a.url);
    on_a.password("alice", "alice-demo-pw").await;
    let on_b = browser_at(&on_a, &b.url);
    assert_eq!(step_of(&on_b.sign_in_page().await), "code", "the second instance sees the flow");
    let code = code_sent_to(&c.standin, ALICE_PHONE);
    assert_eq!(on_b.submit("sign_in_code", &[("code", &code)]).await, "/");
    assert!(on_a.get("/").await.contains("data-method=\"password_and_sms\""), "signed in on both");

    // An administrator removes one of dave's phones on the first instance…
    let admin = Browser::at(&a.url);
    admin.password("carol", "carol-demo-pw").await;
    let code = code_sent_to(&c.standin, "+447400123456");
    assert_eq!(admin.submit("sign_in_code", &[("code", &code)]).await, "/");
    let directory = server::directory::LdapDirectory::new(c.slapd.directory_config());
    use domain::{directory::Username, ports::Directory};
    let dave = directory.find_by_login(&Username::parse("dave").unwrap()).await.unwrap().unwrap();
    let page = admin.get(&format!("/admin/person/{}", dave.id.as_str())).await;
    let key = common::browser::form_key(&page, "data-number=\"+447400654321\"");
    let form =
        [("id", dave.id.as_str()), ("key", key.as_str()), ("reason", "lost"), ("confirm", "yes")];
    admin.submit("admin_remove_phone", &form).await;
    // …and the second serves dave's sign-in without it at once.
    let d = Browser::at(&b.url);
    d.password("dave", "dave-demo-pw").await;
    let page = d.sign_in_page().await;
    assert_eq!(step_of(&page), "code", "one phone left: texted at once");
    assert!(!page.contains("4321"));

    // Ten parallel sign-ins of dave through both instances: the number's limit holds across
    // them. The removal notice counts against it too (notices are texts like any other), so
    // with the code above only one more goes out.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let url = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
        tasks.push(tokio::spawn(async move {
            Browser::at(&url).password("dave", "dave-demo-pw").await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let texts = c.standin.texts();
    let to_dave: Vec<_> = texts.iter().filter(|t| t.to == "+12015550142").collect();
    assert_eq!(to_dave.len(), 3, "3 texts per number per 10 minutes, across both instances");
    let codes = to_dave.iter().filter(|t| t.body.contains("@127.0.0.1 #")).count();
    assert_eq!(codes, 2, "the removal notice and two codes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_reaches_the_log_at_any_level() {
    let c = cluster(&[]).await;
    // Everything Latchkey logs at its most verbose, and the libraries' debug output.
    let a = Instance::start(&c.env, "trace,sqlx=debug,hyper=debug,reqwest=debug,ldap3=debug").await;
    let browser = Browser::at(&a.url);
    browser.password("alice", "not-her-password-1234").await;
    browser.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&c.standin, ALICE_PHONE);
    browser.submit("sign_in_code", &[("code", "999999")]).await;
    assert_eq!(browser.submit("sign_in_code", &[("code", &code)]).await, "/");
    let session = browser.session_id().expect("session");
    // The child's output arrives through a pipe: wait for it rather than for a fixed time.
    for _ in 0..200 {
        if a.output().contains("code texted") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // And a moment for the last requests' lines, which the secrets must not be in either.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = a.output();
    assert!(log.contains("code texted"), "the log is being read: {}", &log[..log.len().min(2000)]);
    let token = c.standin.account.auth_token.clone();
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", c.standin.account.account_sid, token))
    };
    for (what, secret) in [
        ("password", "alice-demo-pw"),
        ("wrong password", "not-her-password-1234"),
        ("code", code.as_str()),
        ("Twilio auth token", token.as_str()),
        ("Twilio Basic credentials", basic.as_str()),
        ("HMAC key", KEY),
        ("service password", c.slapd.service_password.as_str()),
        ("session id", session.as_str()),
        ("whole phone number", ALICE_PHONE),
    ] {
        assert!(!log.contains(secret), "the {what} appears in the log");
    }
}

/// The process killed (SIGKILL) in the middle of adding a phone, then started again on the same
/// database and directory: the person goes on where they were, and directory and metadata agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_mid_enrolment_leaves_directory_and_metadata_consistent() {
    let c = cluster(&[("LATCHKEY_SECURITY__SEND_COOLDOWN_SECS", "0")]).await;
    let first = Instance::start(&c.env, "warn").await;
    let b = Browser::at(&first.url);
    b.password("alice", "alice-demo-pw").await;
    let code = code_sent_to(&c.standin, ALICE_PHONE);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    let post = |b: &Browser, endpoint: &'static str, form: Vec<(&'static str, String)>| {
        let req = b
            .http
            .post(format!("{}/api/{endpoint}", b.base))
            .header("sec-fetch-site", "same-origin")
            .form(&form);
        async move { req.send().await }
    };
    post(&b, "security_add_start", vec![]).await.unwrap();
    post(&b, "security_add_number", vec![("region", "US".into()), ("number", "2015550181".into())])
        .await
        .unwrap();
    let code = code_sent_to(&c.standin, "+12015550181");
    drop(first); // SIGKILL between "code sent" and "code typed"

    let second = Instance::start(&c.env, "warn").await;
    let b = browser_at(&b, &second.url);
    assert!(b.get("/security").await.contains("data-step=\"add-code\""), "the flow survived");
    post(&b, "security_add_verify", vec![("code", code.clone()), ("nickname", "Spare".into())])
        .await
        .unwrap();
    let directory = server::directory::LdapDirectory::new(c.slapd.directory_config());
    use domain::{directory::Username, ports::Directory};
    let phones = |d: &server::directory::LdapDirectory| {
        let d = d.clone();
        async move {
            let p = d.find_by_login(&Username::parse("alice").unwrap()).await.unwrap().unwrap();
            p.phones.iter().map(|n| n.as_str().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(phones(&directory).await, vec![ALICE_PHONE, "+12015550181"]);

    // Now killed while the code is being checked and the directory written, at varying moments.
    let mut instance = second;
    for (i, delay_ms) in [0u64, 3, 10, 30].into_iter().enumerate() {
        let b = browser_at(&b, &instance.url);
        let number = format!("+1201555019{i}");
        post(&b, "security_add_start", vec![]).await.unwrap();
        post(&b, "security_add_number", vec![("region", "US".into()), ("number", number.clone())])
            .await
            .unwrap();
        let code = code_sent_to(&c.standin, &number);
        let verify = tokio::spawn(post(
            &b,
            "security_add_verify",
            vec![("code", code), ("nickname", "X".into())],
        ));
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        drop(instance);
        let _ = verify.await;
        instance = Instance::start(&c.env, "warn").await;
        let b2 = browser_at(&b, &instance.url);
        let page = b2.get("/security").await;
        let in_directory = phones(&directory).await.contains(&number);
        let masked = format!("data-phone=\"•••• {}\"", &number[number.len() - 4..]);
        assert_eq!(
            page.contains(&masked),
            in_directory,
            "the page shows exactly what the directory has"
        );
        // Whatever happened, the person can finish or start again without a stuck state.
        post(&b2, "security_cancel", vec![]).await.unwrap();
    }
}

/// The OpenID Connect provider on two instances: signing keys made once although both start
/// together, a code issued by one exchanged at the other, tokens used across them, and a
/// refresh token's reuse caught whichever instance sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_oidc_codes_tokens_and_keys() {
    const SECRET: &str = "app-secret-0123456789-abcdefghijklmnopqr";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latchkey.toml");
    std::fs::write(
        &path,
        format!(
            "[[oidc.clients]]\nid = \"app\"\nsecret = \"{SECRET}\"\n\
             redirect_uris = [\"https://app.example/cb\"]\nrefresh_tokens = true\n"
        ),
    )
    .unwrap();
    let mut c = cluster(&[]).await;
    c.env.push(("LATCHKEY_CONFIG".into(), path.display().to_string()));
    // Both start at once: each would make an RS256 key; one key is stored and used by both.
    let (a, b) = tokio::join!(Instance::start(&c.env, "warn"), Instance::start(&c.env, "warn"));
    let http = reqwest::Client::new();
    let mut jwks = Vec::new();
    for instance in [&a, &b] {
        // Keys are made in the background at start: ask until they are there.
        for _ in 0..100 {
            let res = http.get(format!("{}/oidc/jwks", instance.url)).send().await.unwrap();
            if res.status().is_success() {
                jwks.push(res.json::<serde_json::Value>().await.unwrap());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    assert_eq!(jwks.len(), 2);
    assert_eq!(jwks[0], jwks[1], "one key set");
    assert_eq!(jwks[0]["keys"].as_array().unwrap().len(), 1, "one RS256 key made");

    // Authorize and password on A, the code on B: back to the app with a code.
    let on_a = Browser::at(&a.url);
    let authorize = format!(
        "{}/oidc/authorize?client_id=app&response_type=code&scope=openid%20profile&state=st&nonce=nn&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        a.url
    );
    let res = on_a.http.get(&authorize).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/sign-in");
    on_a.password("alice", "alice-demo-pw").await;
    let on_b = browser_at(&on_a, &b.url);
    let code = code_sent_to(&c.standin, ALICE_PHONE);
    let back = on_b.submit("sign_in_code", &[("code", &code)]).await;
    assert!(back.starts_with("https://app.example/cb?code="), "{back}");
    let code = reqwest::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();

    // The code at A; the tokens at B.
    let token = |url: &str, form: Vec<(&'static str, String)>| {
        let request =
            http.post(format!("{url}/oidc/token")).basic_auth("app", Some(SECRET)).form(&form);
        async move {
            let res = request.send().await.unwrap();
            (res.status(), res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, tokens) = token(
        &a.url,
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", "https://app.example/cb".into()),
        ],
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    let keys: Vec<jose::VerifyingKey> = jwks[1]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| jose::VerifyingKey::from_jwk(k).unwrap())
        .collect();
    let claims = jose::verify_jwt(id_token, &keys).expect("B's JWKS verifies A's ID token");
    assert_eq!(claims["nonce"], "nn");
    let info = http
        .get(format!("{}/oidc/userinfo", b.url))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), reqwest::StatusCode::OK, "A's access token works at B");
    let r1 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) =
        token(&b.url, vec![("grant_type", "refresh_token".into()), ("refresh_token", r1.clone())])
            .await;
    assert_eq!(status, reqwest::StatusCode::OK, "refreshed at B");
    let (status, body) =
        token(&a.url, vec![("grant_type", "refresh_token".into()), ("refresh_token", r1)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (reqwest::StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    drop(dir);
}
