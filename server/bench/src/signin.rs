//! One virtual user: a browser without JavaScript (its own cookie jar) signing in again and
//! again — the sign-in page, the password form, the code from the phone (the Twilio stand-in),
//! the code form, the security page, sign out — each step timed, every failure named.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use devkit::twilio_standin::TwilioStandin;

use crate::html;
use crate::stats::Tally;

/// A person the benchmark signs in as.
#[derive(Debug, Clone)]
pub struct Person {
    pub login: String,
    pub password: String,
    pub phone: String,
}

/// The steps, in order, as the report names them.
pub const STEPS: &[&str] = &["page", "password", "code", "security", "sign_out"];

/// A failed step: which step, and what went wrong.
struct Failure(String);

fn fail(step: &str, what: impl std::fmt::Display) -> Failure {
    Failure(format!("{step}: {what}"))
}

pub struct Browser {
    base: String,
    http: reqwest::Client,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar)
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36 latchkey-bench")
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Self { base: base.to_owned(), http }
    }

    /// A top-level navigation: GET, 200, the body.
    async fn get(&self, step: &str, path: &str) -> Result<String, Failure> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html,application/xhtml+xml")
            .header("sec-fetch-site", "same-origin")
            .header("sec-fetch-mode", "navigate")
            .send()
            .await
            .map_err(|e| fail(step, transport(&e)))?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(fail(step, format!("GET {path} answered {}", res.status().as_u16())));
        }
        res.text().await.map_err(|e| fail(step, transport(&e)))
    }

    /// A navigation arriving from another site (a protected app's redirect) that must be
    /// answered with a redirect: where to (a path when it is on Latchkey's host).
    pub async fn arrive(&self, step: &str, url: &str) -> Result<String, String> {
        let res = self
            .http
            .get(url)
            .header("accept", "text/html,application/xhtml+xml")
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "navigate")
            .send()
            .await
            .map_err(|e| format!("{step}: {}", transport(&e)))?;
        let location = res.headers().get("location").and_then(|l| l.to_str().ok());
        match location {
            Some(to) if res.status().is_redirection() => {
                Ok(to.strip_prefix(&self.base).unwrap_or(to).to_owned())
            }
            _ => Err(format!("{step}: GET {url} answered {}", res.status().as_u16())),
        }
    }

    /// Submits the form posting to `action` on `page` (the page's HTML, as loaded from
    /// `page_path`): its hidden fields plus `typed`, with the headers a browser sends. Returns
    /// where the server redirects to.
    async fn submit(
        &self,
        step: &str,
        page_path: &str,
        page: &str,
        action: &str,
        typed: &[(&str, &str)],
    ) -> Result<String, Failure> {
        let mut form = html::hidden_fields(page, action)
            .ok_or_else(|| fail(step, format!("no form posting to {action}")))?;
        form.extend(typed.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let res = self
            .http
            .post(format!("{}{action}", self.base))
            .header("accept", "text/html,application/xhtml+xml")
            .header("origin", &self.base)
            .header("referer", format!("{}{page_path}", self.base))
            .header("sec-fetch-site", "same-origin")
            .header("sec-fetch-mode", "navigate")
            .form(&form)
            .send()
            .await
            .map_err(|e| fail(step, transport(&e)))?;
        let status = res.status();
        let location =
            res.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
        match (status, location) {
            (s, Some(location)) if s.is_redirection() => {
                // leptos_axum sends the browser back to the Referer, possibly with an empty query.
                let location = location.trim_end_matches('?');
                Ok(location.strip_prefix(&self.base).unwrap_or(location).to_owned())
            }
            (s, _) => Err(fail(step, format!("POST {action} answered {}", s.as_u16()))),
        }
    }
}

pub fn transport(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "transport error"
    }
}

fn expect_step(step: &str, html: &str, want: &str) -> Result<(), Failure> {
    let shown = html::attr(html, "data-step").unwrap_or("none");
    if shown == want {
        return Ok(());
    }
    let notice = html::attr(html, "data-notice").unwrap_or("none");
    Err(fail(step, format!("page shows step {shown} (notice {notice}), expected {want}")))
}

/// The password form of the sign-in page `page`, as `person`; where the server redirects to.
async fn submit_password(b: &Browser, page: &str, person: &Person) -> Result<String, Failure> {
    let typed = [("username", person.login.as_str()), ("password", person.password.as_str())];
    b.submit("password", "/sign-in", page, "/api/sign_in_password", &typed).await
}

/// The sign-in page, the password and the code, each step timed into `tally` (the code step
/// only once the caller has followed its redirect: returned is where it sends the browser and
/// when the step began, and the code step's page as it was shown).
async fn password_and_code(
    b: &Browser,
    standin: &TwilioStandin,
    person: &Person,
    last_sid: &mut Option<String>,
    tally: &mut Tally,
) -> Result<(String, Instant, String), Failure> {
    let t = Instant::now();
    let page = b.get("page", "/sign-in").await?;
    expect_step("page", &page, "password")?;
    tally.sample("page", t.elapsed());

    // The password form; the browser follows the redirect back to the sign-in page.
    let t = Instant::now();
    let to = submit_password(b, &page, person).await?;
    if to != "/sign-in" {
        return Err(fail("password", format!("redirected to {to}")));
    }
    let page = b.get("password", "/sign-in").await?;
    expect_step("password", &page, "code")?;
    tally.sample("password", t.elapsed());

    // The phone: the newest text to the person's number, which must be a new one.
    let text = standin
        .latest_text_to(&person.phone)
        .filter(|t| last_sid.as_deref() != Some(t.sid.as_str()))
        .ok_or_else(|| fail("code", "no new text at the stand-in"))?;
    *last_sid = Some(text.sid.clone());
    let code = text
        .body
        .lines()
        .last()
        .and_then(|l| l.rsplit_once('#'))
        .map(|(_, c)| c.to_owned())
        .ok_or_else(|| fail("code", "no code in the text"))?;

    let t = Instant::now();
    let to = b.submit("code", "/sign-in", &page, "/api/sign_in_code", &[("code", &code)]).await?;
    Ok((to, t, page))
}

/// Signs `person` in from the sign-in page when something else sent the browser there (a
/// forward-auth journey): password and code, untimed. Returns where the code step sends the
/// browser, which is for the caller to judge; the browser stays signed in.
pub async fn sign_in(
    b: &Browser,
    standin: &TwilioStandin,
    person: &Person,
) -> Result<String, String> {
    password_and_code(b, standin, person, &mut None, &mut Tally::default())
        .await
        .map(|(to, _, _)| to)
        .map_err(|Failure(what)| what)
}

/// The pages a person sees signing in, as the server sends them: the password step, the code
/// step, the home page and the security page (label, path, HTML). The browser stays signed in.
pub async fn pages_of_a_sign_in(
    base: &str,
    standin: &TwilioStandin,
    person: &Person,
) -> Result<Vec<(&'static str, &'static str, String)>, String> {
    let b = Browser::new(base);
    let wrong = |Failure(what)| what;
    let password_step = b.get("page", "/sign-in").await.map_err(wrong)?;
    expect_step("page", &password_step, "password").map_err(wrong)?;
    let mut pages = vec![("sign-in: password", "/sign-in", password_step)];
    let (to, _, code_step) =
        password_and_code(&b, standin, person, &mut None, &mut Tally::default())
            .await
            .map_err(wrong)?;
    if to != "/" {
        return Err(format!("the code step redirected to {to}"));
    }
    pages.push(("sign-in: code", "/sign-in", code_step));
    pages.push(("home", "/", b.get("code", "/").await.map_err(wrong)?));
    pages.push(("security", "/security", b.get("security", "/security").await.map_err(wrong)?));
    Ok(pages)
}

/// Signs `person` in and out once, timing each step into `tally`.
async fn sign_in_once(
    b: &Browser,
    standin: &TwilioStandin,
    person: &Person,
    last_sid: &mut Option<String>,
    tally: &mut Tally,
) -> Result<(), Failure> {
    let (to, t, _) = password_and_code(b, standin, person, last_sid, tally).await?;
    if to != "/" {
        return Err(fail("code", format!("redirected to {to}")));
    }
    let home = b.get("code", "/").await?;
    if !home.contains("data-method=\"password_and_sms\"") {
        return Err(fail("code", "home page does not show a 2-step sign-in"));
    }
    tally.sample("code", t.elapsed());

    let t = Instant::now();
    let security = b.get("security", "/security").await?;
    tally.sample("security", t.elapsed());

    // Sign out from the security page; the redirect to the sign-in page is the next round's
    // first step.
    let t = Instant::now();
    let to = b.submit("sign_out", "/security", &security, "/api/sign_out", &[]).await?;
    if to != "/sign-in" {
        return Err(fail("sign_out", format!("redirected to {to}")));
    }
    tally.sample("sign_out", t.elapsed());
    Ok(())
}

/// When a virtual user stops: at a time (a level), or once the users together have completed
/// a number of sign-ins (a soak), each counted in `done` as it completes.
#[derive(Debug, Clone)]
pub enum Stop {
    At(Instant),
    After { done: Arc<AtomicU64>, total: u64 },
}

impl Stop {
    fn reached(&self) -> bool {
        match self {
            Stop::At(deadline) => Instant::now() >= *deadline,
            Stop::After { done, total } => done.load(Ordering::Relaxed) >= *total,
        }
    }

    fn completed(&self) {
        if let Stop::After { done, .. } = self {
            done.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Signs in as `people` in turn until `stop`. A failed round is counted by kind and the next
/// one starts in a fresh browser, as a person would after an error page.
pub async fn virtual_user(
    base: String,
    standin: Arc<TwilioStandin>,
    people: Vec<Person>,
    stop: Stop,
) -> Tally {
    let mut tally = Tally::default();
    let mut last_sid: Vec<Option<String>> = vec![None; people.len()];
    let mut browser = Browser::new(&base);
    let mut i = 0;
    while !stop.reached() {
        let k = i % people.len();
        match sign_in_once(&browser, &standin, &people[k], &mut last_sid[k], &mut tally).await {
            Ok(()) => {
                tally.completed += 1;
                stop.completed();
            }
            Err(Failure(kind)) => {
                tally.error(kind);
                browser = Browser::new(&base);
            }
        }
        i += 1;
    }
    tally
}
