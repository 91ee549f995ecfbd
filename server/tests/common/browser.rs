//! A browser without JavaScript for full-stack tests: a cookie jar, forms posted with the page
//! as Referer, redirects followed by hand; and the set-up every such test needs (slapd with the
//! demo people, a database, the Twilio stand-in).

use std::sync::Arc;

use devkit::directories::TestDirectory;
use devkit::slapd::Slapd;
use devkit::twilio_standin::{StandinAccount, TwilioStandin};
use reqwest::StatusCode;
use reqwest::cookie::CookieStore;

use super::{Backend, TestApp};

pub const ALICE_PHONE: &str = "+12015550123";

pub struct Setup<D: TestDirectory = Slapd> {
    pub app: TestApp<D>,
    pub standin: TwilioStandin,
}

pub async fn setup(backend: Backend, extra: &[(&str, &str)]) -> Setup {
    setup_seeded(backend, extra, &super::demo_seed()).await
}

/// [`setup`] with a directory of one's own (it should include the demo people).
pub async fn setup_seeded(backend: Backend, extra: &[(&str, &str)], seed: &str) -> Setup {
    setup_with_slapd(backend, extra, Slapd::start(seed).expect("slapd")).await
}

/// [`setup`] on a directory started by the test (it should include the demo people).
pub async fn setup_with_slapd<D: TestDirectory>(
    backend: Backend,
    extra: &[(&str, &str)],
    slapd: D,
) -> Setup<D> {
    let standin = TwilioStandin::start(StandinAccount::test()).await.expect("stand-in");
    let twilio = texting_through(&standin);
    let mut env: Vec<(&str, &str)> = twilio.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra);
    let app = super::spawn_app_with_slapd(backend, &env, slapd).await;
    devkit::demo::seed_settings(&app.config, &app.db).await.expect("2-step settings");
    Setup { app, standin }
}

/// The settings that send texts through `standin`.
pub fn texting_through(standin: &TwilioStandin) -> Vec<(&'static str, String)> {
    vec![
        ("LATCHKEY_SMS__PROVIDER", "twilio".into()),
        ("LATCHKEY_SMS__TWILIO__ACCOUNT_SID", standin.account.account_sid.clone()),
        ("LATCHKEY_SMS__TWILIO__AUTH_TOKEN", standin.account.auth_token.clone()),
        ("LATCHKEY_SMS__TWILIO__FROM", "+15017122661".into()),
        ("LATCHKEY_SMS__TWILIO__BASE_URL", standin.url.clone()),
        ("LATCHKEY_SMS__TWILIO__TIMEOUT_SECS", "2".into()),
    ]
}

/// [`setup`] configured by a `latchkey.toml` of the test's (`toml`, written into `dir`, where
/// the files it names may be too) on `slapd`, and `extra` settings.
pub async fn setup_with_file(
    backend: Backend,
    slapd: Slapd,
    dir: &std::path::Path,
    toml: &str,
    extra: &[(&str, &str)],
) -> Setup {
    let standin = TwilioStandin::start(StandinAccount::test()).await.expect("stand-in");
    let path = dir.join("latchkey.toml");
    std::fs::write(&path, toml).expect("latchkey.toml written");
    let test_db = super::TestDb::new(backend).await;
    let twilio = texting_through(&standin);
    let mut vars: Vec<(&str, &str)> = twilio.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend_from_slice(extra);
    let env = super::env_for(&slapd, &test_db.url, &vars);
    let config = server::config::Config::load_layers(Some(&path), &env).expect("config");
    let app = super::spawn_configured(config, slapd, test_db).await;
    devkit::demo::seed_settings(&app.config, &app.db).await.expect("2-step settings");
    Setup { app, standin }
}

/// A browser without JavaScript: a cookie jar, forms posted with the page as Referer.
pub struct Browser {
    pub base: String,
    pub url: reqwest::Url,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub http: reqwest::Client,
}

impl Browser {
    pub fn new<D: TestDirectory>(app: &TestApp<D>) -> Self {
        Self::at(&app.url)
    }

    /// A browser for a server at `base` (`http://127.0.0.1:port`).
    pub fn at(base: &str) -> Self {
        server::sms::install_crypto_provider();
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")
            // A hung request fails the test instead of hanging the suite.
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client");
        Self { base: base.to_owned(), url: base.parse().expect("url"), jar, http }
    }

    /// Posts a form to a server function the way a browser does from the sign-in page.
    pub async fn post(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("accept", "text/html,application/xhtml+xml")
            .header("referer", format!("{}/sign-in", self.base))
            .header("sec-fetch-site", "same-origin")
            .form(form)
            .send()
            .await
            .expect("post")
    }

    /// Posts and returns where the server sent the browser.
    pub async fn submit(&self, endpoint: &str, form: &[(&str, &str)]) -> String {
        let res = self.post(endpoint, form).await;
        assert_eq!(res.status(), StatusCode::FOUND, "{endpoint} answers with a redirect");
        let location = res.headers()["location"].to_str().expect("location");
        // Back to the page the form was on (leptos_axum may add an empty query).
        location.trim_end_matches('?').to_owned()
    }

    pub async fn get(&self, path: &str) -> String {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.expect("get");
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "{path}: {}",
            res.status()
        );
        res.text().await.expect("body")
    }

    pub async fn sign_in_page(&self) -> String {
        self.get("/sign-in").await
    }

    /// The session cookie's value (the session id), if any.
    pub fn session_id(&self) -> Option<String> {
        self.cookie("latchkey")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// Posts a form from `page` (its Referer), expects the redirect back, and returns `page`
    /// as it reads afterwards.
    pub async fn post_from(&self, page: &str, endpoint: &str, form: &[(&str, &str)]) -> String {
        let res = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("accept", "text/html")
            .header("referer", format!("{}{page}", self.base))
            .header("sec-fetch-site", "same-origin")
            .form(form)
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::FOUND, "{endpoint}");
        self.get(page).await
    }

    pub async fn password(&self, login: &str, password: &str) -> String {
        self.submit("sign_in_password", &[("username", login), ("password", password)]).await
    }
}

/// The step the sign-in page shows (`data-step`) and the notice id (`data-notice`), if any.
pub fn step_of(html: &str) -> &str {
    attr(html, "data-step").unwrap_or("none")
}

pub fn notice_of(html: &str) -> &str {
    attr(html, "data-notice").unwrap_or("none")
}

/// The `key` form field of the first form after `row_marker` (an attribute such as
/// `data-phone="•••• 0123"`): how pages name a phone without showing its number.
pub fn form_key(html: &str, row_marker: &str) -> String {
    let row = html.find(row_marker).expect("the row is on the page");
    let rest = &html[row..];
    let field = "name=\"key\" value=\"";
    let at = rest.find(field).expect("a key field") + field.len();
    rest[at..at + rest[at..].find('"').expect("closing quote")].to_owned()
}

pub fn attr<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    let len = html[start..].find('"')?;
    Some(&html[start..start + len])
}

pub fn without_nonces(html: &str) -> String {
    let mut out = html.to_owned();
    for attr in ["nonce=\"", "crossorigin=\""] {
        let mut cleaned = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(i) = rest.find(attr) {
            let value = i + attr.len();
            cleaned.push_str(&rest[..value]);
            rest = &rest[value + rest[value..].find('"').expect("closing quote")..];
        }
        cleaned.push_str(rest);
        out = cleaned;
    }
    out
}

/// The code in the newest text to `to`, read from the autofill line `@host #code`.
pub fn code_sent_to(standin: &TwilioStandin, to: &str) -> String {
    let text =
        standin.texts().into_iter().rev().find(|t| t.to == to).expect("a text to the number");
    let last_line = text.body.lines().last().expect("body");
    assert!(last_line.starts_with("@127.0.0.1 #"), "origin-bound line: {last_line:?}");
    last_line.rsplit('#').next().expect("code").to_owned()
}

pub async fn audit_kinds<D: TestDirectory>(app: &TestApp<D>) -> Vec<(String, String)> {
    let sql = "SELECT kind, outcome FROM audit_events ORDER BY id";
    match &app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    }
}

pub async fn exec<D: TestDirectory>(app: &TestApp<D>, sql: &str) {
    match &app.db {
        server::db::Db::Sqlite(p, _) => sqlx::query(sql).execute(p).await.map(|_| ()).unwrap(),
        server::db::Db::Postgres(p, _) => sqlx::query(sql).execute(p).await.map(|_| ()).unwrap(),
    }
}

pub async fn signed_in_as(b: &Browser) -> Option<String> {
    let home = b.get("/").await;
    attr(&home, "data-method").map(str::to_owned)
}

/// The person with `login` as Latchkey's directory adapter reads them.
pub async fn person<D: TestDirectory>(s: &Setup<D>, login: &str) -> domain::directory::Person {
    person_of(&s.app, login).await
}

/// [`person`], for a test with a server of its own.
pub async fn person_of<D: TestDirectory>(
    app: &TestApp<D>,
    login: &str,
) -> domain::directory::Person {
    use domain::directory::Username;
    use domain::ports::Directory;
    let directory = server::directory::LdapDirectory::new(app.config.directory.clone());
    let login = Username::parse(login).expect("a login");
    directory.find_by_login(&login).await.expect("the directory answers").expect("the person")
}

/// The person's phone numbers in the directory (E.164), in directory order.
pub async fn directory_phones<D: TestDirectory>(s: &Setup<D>, login: &str) -> Vec<String> {
    person(s, login).await.phones.iter().map(|n| n.as_str().to_owned()).collect()
}
