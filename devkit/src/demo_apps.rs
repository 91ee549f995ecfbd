//! The demo's own apps: `end2end/demo-app/app.mjs` run by Node, each an OpenID Connect client of
//! the demo Latchkey (npm `openid-client` does the protocol). App A asks for the password and a
//! texted code (`acr_values=twilio_sms`, the name Gluu's Twilio script used), app B asks for
//! nothing, so the password level: signed in to A, a person reaches B without typing anything.
//!
//! They are children of `latchkey-demo`: killed when it stops, and gone by themselves if it dies
//! (their stdin, a pipe from the demo, closes). Without Node or the npm packages the demo starts
//! anyway and its banner says why there are no apps.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::demo::DemoError;

/// Every demo app's client secret. Printed in `--help` and the banner: a demo, never production.
pub const DEMO_APP_SECRET: &str = "latchkey-demo-app-secret-not-for-production";
/// The app, relative to the repository root (where `make demo` runs the demo).
pub const APP_SCRIPT: &str = "end2end/demo-app/app.mjs";
/// Present once `npm ci` (`make setup`) has run.
const OPENID_CLIENT: &str = "node_modules/openid-client/package.json";
/// Node and `openid-client` load in well under a second; this is for a slow, busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// An app that signs in through the demo: registered as an `[[oidc.clients]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoApp {
    /// `demo-app-a`, `demo-app-b`, … in order.
    pub client_id: String,
    /// `Demo app A`, …
    pub name: String,
    /// Its base URL, without a trailing slash.
    pub url: String,
}

impl DemoApp {
    fn nth(n: usize, url: &str) -> Self {
        let letter = char::from(b'a' + u8::try_from(n % 26).unwrap_or(0));
        DemoApp {
            client_id: format!("demo-app-{letter}"),
            name: format!("Demo app {}", letter.to_ascii_uppercase()),
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/callback", self.url)
    }

    pub fn post_logout_redirect_uri(&self) -> String {
        format!("{}/signed-out", self.url)
    }
}

/// Clients for apps someone else runs (`--oidc-demo-app URL`): the first is `demo-app-a`.
pub fn registered(urls: &[String]) -> Result<Vec<DemoApp>, DemoError> {
    if urls.len() > 26 {
        return Err(DemoError::Demo(
            "at most 26 --oidc-demo-app (demo-app-a to demo-app-z)".into(),
        ));
    }
    urls.iter()
        .enumerate()
        .map(|(n, url)| {
            let origin = url.trim_end_matches('/');
            let scheme_ok = origin.starts_with("http://") || origin.starts_with("https://");
            let host_port = origin.split_once("://").map_or("", |(_, rest)| rest);
            if !scheme_ok || host_port.is_empty() || host_port.contains(['/', '?', '#']) {
                return Err(DemoError::Demo(format!(
                    "--oidc-demo-app {url:?}: give the app's base URL, e.g. http://127.0.0.1:3001"
                )));
            }
            Ok(DemoApp::nth(n, origin))
        })
        .collect()
}

/// One of the demo's own apps, its port chosen, not started yet.
#[derive(Debug, Clone)]
pub struct PlannedApp {
    pub app: DemoApp,
    /// What it sends as `acr_values`; `None`: nothing, so the server's default (the password).
    pub acr_values: Option<&'static str>,
    /// For the banner.
    pub asks: &'static str,
}

/// The demo's own apps: what each asks for.
const OWN: [(Option<&str>, &str); 2] = [
    (Some("twilio_sms"), "asks for the password and a texted code: acr_values=twilio_sms"),
    (None, "asks for the password only, so after A no typing at all"),
];

/// The demo's own apps on the two ports after the demo's (3001 and 3002 beside 3000), or free
/// ones when those are taken; `Err` says why they cannot run here.
pub fn plan(listen: &str) -> Result<Vec<PlannedApp>, String> {
    if !Path::new(APP_SCRIPT).is_file() {
        return Err(format!(
            "{APP_SCRIPT} is not here: run latchkey-demo from the repository root"
        ));
    }
    if !Path::new(OPENID_CLIENT).is_file() {
        return Err(
            "the npm package openid-client is not installed: run `npm ci` (make setup does)".into(),
        );
    }
    match std::process::Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => return Err(format!("`node --version` failed ({})", out.status)),
        Err(e) => return Err(format!("Node.js is needed for them and `node` cannot run: {e}")),
    }
    let (host, port) = listen
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("--listen {listen:?} is not host:port"))?;
    let mut taken = vec![port];
    let mut planned = Vec::new();
    for (n, (acr_values, asks)) in OWN.into_iter().enumerate() {
        let preferred = if port == 0 { None } else { port.checked_add(1 + n as u16) };
        let chosen = free_port(host, preferred, &taken)?;
        taken.push(chosen);
        let app = DemoApp::nth(n, &format!("http://{host}:{chosen}"));
        planned.push(PlannedApp { app, acr_values, asks });
    }
    Ok(planned)
}

/// `preferred` when nothing listens there, else a port the system picks. (Between this check
/// and the app's start another program could take it: the app then says so and the demo goes on.)
fn free_port(host: &str, preferred: Option<u16>, taken: &[u16]) -> Result<u16, String> {
    if let Some(p) = preferred.filter(|p| !taken.contains(p))
        && std::net::TcpListener::bind(format!("{host}:{p}")).is_ok()
    {
        return Ok(p);
    }
    let listener = std::net::TcpListener::bind(format!("{host}:0"))
        .map_err(|e| format!("no free port on {host} for them: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("no free port on {host}: {e}"))
}

/// A started app: the process is killed when this is dropped; its stdin is held open (closing
/// it tells the app to exit).
struct Process {
    _child: Child,
    _stdin: Option<ChildStdin>,
}

/// The demo's own apps while the demo runs, and what became of each. Dropping it stops them.
pub struct RunningApps {
    apps: Vec<(PlannedApp, Result<Process, String>)>,
    not_started: Option<String>,
}

impl RunningApps {
    /// None could be planned, for this reason.
    pub fn not_started(why: String) -> Self {
        RunningApps { apps: Vec::new(), not_started: Some(why) }
    }

    /// Nothing to say in the banner: the demo was not asked to start apps.
    pub fn is_empty(&self) -> bool {
        self.apps.is_empty() && self.not_started.is_none()
    }

    /// The banner's lines, beside the portal's and the demo phone's.
    pub fn print_banner_lines(&self) {
        if let Some(why) = &self.not_started {
            println!("  Demo apps:   not started: {why}");
        }
        for (planned, outcome) in &self.apps {
            let label = format!("{}:", planned.app.name);
            match outcome {
                Ok(_) => println!(
                    "  {label:<12} {}   (signs in through Latchkey; {})",
                    planned.app.url, planned.asks
                ),
                Err(why) => println!("  {label:<12} not started: {why}"),
            }
        }
    }
}

/// Starts the planned apps against `issuer`, each waited for until it listens.
pub async fn start(planned: Vec<PlannedApp>, issuer: &str) -> RunningApps {
    let mut apps = Vec::new();
    for p in planned {
        let outcome = spawn(&p, issuer.trim_end_matches('/')).await;
        apps.push((p, outcome));
    }
    RunningApps { apps, not_started: None }
}

async fn spawn(p: &PlannedApp, issuer: &str) -> Result<Process, String> {
    let mut child = Command::new("node")
        .arg(APP_SCRIPT)
        .env("LATCHKEY_ISSUER", issuer)
        .env("DEMO_APP_URL", &p.app.url)
        .env("DEMO_APP_CLIENT_ID", &p.app.client_id)
        .env("DEMO_APP_CLIENT_SECRET", DEMO_APP_SECRET)
        .env("DEMO_APP_ACR_VALUES", p.acr_values.unwrap_or(""))
        .env("DEMO_APP_NAME", &p.app.name)
        .env("DEMO_APP_EXIT_WITH_STDIN", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run node: {e}"))?;
    let stdin = child.stdin.take();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("no pipes to node".into());
    };
    // Its error output: kept until it has started (a failure's reason goes in the banner),
    // passed on to the demo's afterwards.
    let started = Arc::new(AtomicBool::new(false));
    let last_error = Arc::new(Mutex::new(None::<String>));
    let errors = {
        let (started, last_error, name) = (started.clone(), last_error.clone(), p.app.name.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if started.load(Ordering::SeqCst) {
                    eprintln!("{name}: {line}");
                } else if let Ok(mut last) = last_error.lock() {
                    *last = Some(line);
                }
            }
        })
    };
    let mut stdout = BufReader::new(stdout).lines();
    match tokio::time::timeout(START_TIMEOUT, stdout.next_line()).await {
        // Its one line: it listens.
        Ok(Ok(Some(_))) => {
            started.store(true, Ordering::SeqCst);
            tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
            Ok(Process { _child: child, _stdin: stdin })
        }
        Ok(_) => {
            let status = child.wait().await.map(|s| s.to_string()).unwrap_or_default();
            let _ = errors.await;
            let last = last_error.lock().ok().and_then(|mut l| l.take());
            Err(last.unwrap_or_else(|| format!("node exited ({status})")))
        }
        Err(_) => Err(format!("it did not start within {} s", START_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_apps_are_lettered_clients_with_their_uris() {
        let urls = ["http://127.0.0.1:4001/".to_owned(), "http://localhost:4002".to_owned()];
        let apps = registered(&urls).unwrap();
        assert_eq!(apps[0].client_id, "demo-app-a");
        assert_eq!(apps[0].name, "Demo app A");
        assert_eq!(apps[0].redirect_uri(), "http://127.0.0.1:4001/callback");
        assert_eq!(apps[0].post_logout_redirect_uri(), "http://127.0.0.1:4001/signed-out");
        assert_eq!(apps[1].client_id, "demo-app-b");
        assert_eq!(apps[1].redirect_uri(), "http://localhost:4002/callback");
    }

    #[test]
    fn a_url_with_a_path_or_another_scheme_is_refused() {
        for bad in
            ["127.0.0.1:4001", "http://127.0.0.1:4001/app", "ftp://x", "http://", "http://h?x"]
        {
            let e = registered(&[bad.to_owned()]).expect_err(bad);
            assert!(e.to_string().contains("base URL"), "{bad}: {e}");
        }
    }
}
