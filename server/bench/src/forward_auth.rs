//! Forward authentication's check: what nginx `auth_request` asks Latchkey before every request
//! a browser makes to a protected app. No real proxy: the bench sends what nginx would, from
//! 127.0.0.1 (a trusted proxy in the bench's configuration), as `server/tests/forward_auth.rs`
//! does. Each virtual user first gets the app host's cookie by one whole journey, then asks the
//! allowed check again and again on a kept-open connection (nginx with upstream keepalive).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use devkit::twilio_standin::TwilioStandin;

use crate::report::{CheckLevel, Journeys};
use crate::signin::{self, Browser, Person};
use crate::stats::{self, Tally};

/// The protected app's host. Nothing listens there: the check only compares origins.
pub const APP_HOST: &str = "app-a.localhost:8123";

/// The configuration the phase needs: the proxy trusted (a line for `[server]`) and the app.
pub const TRUSTED_PROXIES: &str = r#"trusted_proxies = ["127.0.0.1"]"#;
pub const APPS: &str = r#"
# The forward-auth phase: one app, a password sign-in enough (the bench's people all have
# 2-step on, so their sign-ins reach the code level anyway).
[[forward_auth.apps]]
name = "Bench App"
origin = "http://app-a.localhost:8123"
level = "password"
"#;

/// The proxy's side: no cookie jar (it forwards the app host's cookies, which are not
/// Latchkey's) and no redirects followed.
fn proxy_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// A request to one of Latchkey's `/_latchkey/` paths as the proxy passes it on from the app's
/// host.
fn via_proxy(http: &reqwest::Client, url: String) -> reqwest::RequestBuilder {
    http.get(url).header("x-forwarded-proto", "http").header("x-forwarded-host", APP_HOST)
}

fn location(res: &reqwest::Response) -> Option<String> {
    res.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_owned)
}

/// The value `res` sets for cookie `name`.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&prefix))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// One journey for `person` in a fresh browser: the app's start path, Latchkey's
/// `/forward-auth`, the sign-in (password and code), the callback. Returns the app host's
/// cookie; the browser stays signed in, as the cookie needs.
pub async fn cookie_for(
    base: &str,
    standin: &TwilioStandin,
    person: &Person,
) -> Result<String, String> {
    let proxy = proxy_client();
    let err = |step: &str, e: reqwest::Error| format!("{step}: {}", signin::transport(&e));
    let start = via_proxy(&proxy, format!("{base}/_latchkey/start?rd=%2F"))
        .send()
        .await
        .map_err(|e| err("start", e))?;
    let (Some(state), Some(to)) = (set_cookie(&start, "latchkey-fa-state"), location(&start))
    else {
        return Err(format!("start: answered {} without a state cookie", start.status().as_u16()));
    };
    let browser = Browser::new(base);
    let to = browser.arrive("journey", &to).await?;
    if to != "/sign-in" {
        return Err(format!("journey: sent to {to}, not the sign-in page"));
    }
    let callback = signin::sign_in(&browser, standin, person).await?;
    let path = callback
        .strip_prefix(&format!("http://{APP_HOST}"))
        .filter(|p| p.starts_with("/_latchkey/callback?"))
        .ok_or_else(|| format!("code: sent to {callback}, not the app's callback"))?;
    let landed = via_proxy(&proxy, format!("{base}{path}"))
        .header("cookie", format!("latchkey-fa-state={state}"))
        .send()
        .await
        .map_err(|e| err("callback", e))?;
    set_cookie(&landed, "latchkey-fa")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("callback: answered {} without a cookie", landed.status().as_u16()))
}

/// A cookie per person: `people` journeys, eight at a time (each a whole sign-in).
pub async fn journeys(
    base: &str,
    standin: &Arc<TwilioStandin>,
    people: &[Person],
) -> (Vec<(Person, String)>, Journeys) {
    let started = Instant::now();
    let handles: Vec<_> = crate::shares(people, 8.min(people.len()))
        .into_iter()
        .map(|share| {
            let (base, standin) = (base.to_owned(), standin.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                for person in share {
                    let cookie = cookie_for(&base, &standin, &person).await;
                    done.push((person, cookie));
                }
                done
            })
        })
        .collect();
    let mut cookies = Vec::new();
    let mut errors = BTreeMap::new();
    for h in handles {
        for (person, cookie) in h.await.expect("journey") {
            match cookie {
                Ok(cookie) => cookies.push((person, cookie)),
                Err(kind) => *errors.entry(kind).or_default() += 1,
            }
        }
    }
    let figures = Journeys {
        attempted: people.len(),
        cookies: cookies.len(),
        seconds: started.elapsed().as_secs_f64(),
        errors,
    };
    (cookies, figures)
}

/// One virtual user: the allowed check for `person`'s cookie until `deadline`. Anything but a
/// 200 naming the person is an error.
async fn checker(base: String, person: Person, cookie: String, deadline: Instant) -> Tally {
    let http = proxy_client();
    let url = format!("{base}/api/authz/auth-request");
    let original = format!("http://{APP_HOST}/x");
    let cookie = format!("latchkey-fa={cookie}");
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let t = Instant::now();
        let res = http
            .get(&url)
            .header("x-original-url", &original)
            .header("x-original-method", "GET")
            .header("cookie", &cookie)
            .send()
            .await;
        let res = match res {
            Ok(res) => res,
            Err(e) => {
                tally.error(signin::transport(&e).to_owned());
                continue;
            }
        };
        let status = res.status();
        let user_ok = res.headers().get("remote-user").is_some_and(|u| u == person.login.as_str());
        // Read to the end so the connection is reused.
        let body = res.bytes().await;
        match (status.as_u16(), user_ok, body) {
            (200, true, Ok(_)) => {
                tally.sample("check", t.elapsed());
                tally.completed += 1;
            }
            (200, false, _) => tally.error("200 without the person's Remote-User".into()),
            (200, _, Err(_)) => tally.error("body error".into()),
            (s, ..) => tally.error(format!("status {s}")),
        }
    }
    tally
}

/// C virtual users (user i with cookie i, round the list when there are fewer cookies) asking
/// the check for `secs`, with the server's CPU time over the level.
pub async fn level(
    server_pid: u32,
    base: &str,
    cookies: &[(Person, String)],
    c: usize,
    secs: f64,
) -> CheckLevel {
    let before = stats::proc_sample(server_pid);
    let bench_before = stats::proc_sample(std::process::id());
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..c)
        .map(|i| {
            let (person, cookie) = cookies[i % cookies.len()].clone();
            tokio::spawn(checker(base.to_owned(), person, cookie, deadline))
        })
        .collect();
    let mut tally = Tally::default();
    for h in handles {
        tally.merge(h.await.expect("check worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = stats::proc_sample(server_pid);
    let bench_after = stats::proc_sample(std::process::id());
    let per_check_us = |cpu: f64| {
        if tally.completed == 0 { 0.0 } else { cpu / tally.completed as f64 * 1e6 }
    };
    CheckLevel {
        concurrency: c,
        seconds: elapsed,
        checks: tally.completed,
        checks_per_sec: tally.completed as f64 / elapsed,
        latency: stats::percentiles(tally.steps.entry("check").or_default()),
        errors: tally.errors,
        server_cpu_us_per_check: per_check_us(after.cpu_secs - before.cpu_secs),
        bench_cpu_us_per_check: per_check_us(bench_after.cpu_secs - bench_before.cpu_secs),
    }
}
