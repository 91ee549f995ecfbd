//! A tiny app to put behind a reverse proxy in the forward-auth tests and demos: whatever it is
//! asked (any path, any method), it shows what reached it — the Host, the method, the path and
//! the identity headers the proxy set from Latchkey's answer — as an HTML page, or as JSON at
//! `/whoami.json`. Runs in-process on a free loopback port; stops when dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::any;
use serde::{Deserialize, Serialize};

/// What one request brought to the app. `None`: the header was absent. A header received more
/// than once has its values joined with ", ", so a duplicate smuggled past the proxy shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub host: Option<String>,
    pub method: String,
    pub path: String,
    pub remote_user: Option<String>,
    pub remote_name: Option<String>,
    pub remote_email: Option<String>,
    pub remote_groups: Option<String>,
    /// Bytes of request body received (a POST must arrive whole after the proxy's auth check).
    pub body_length: usize,
}

impl Seen {
    async fn of(request: Request) -> Self {
        let (parts, body) = request.into_parts();
        let headers = &parts.headers;
        let body_length = match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(bytes) => bytes.len(),
            // Over the limit or cut off: not a body the app would have accepted.
            Err(_) => 0,
        };
        Self {
            body_length,
            host: header(headers, "host"),
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            remote_user: header(headers, "remote-user"),
            remote_name: header(headers, "remote-name"),
            remote_email: header(headers, "remote-email"),
            remote_groups: header(headers, "remote-groups"),
        }
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

type Log = Arc<Mutex<Vec<Seen>>>;

const BODY_LIMIT: usize = 1 << 20;

/// The running app.
#[derive(Debug)]
pub struct Upstream {
    addr: SocketAddr,
    seen: Log,
    task: tokio::task::JoinHandle<()>,
}

/// Starts the app on 127.0.0.1 and a free port.
pub async fn start() -> std::io::Result<Upstream> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let seen = Log::default();
    let app = Router::new()
        .route("/whoami.json", any(whoami))
        .fallback(page)
        .layer(middleware::from_fn(not_for_readiness_checks))
        .with_state(seen.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Upstream { addr, seen, task })
}

impl Upstream {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:port`, as the proxy configurations' `UPSTREAM`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Every request that reached the app so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.seen).clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A proxy starting elsewhere may ask this port whether it is its own (a port it found free,
/// then taken by this app: see `proxies::Proxy::start`). That is no visit to the app: a test
/// counting what reached it must not see it.
async fn not_for_readiness_checks(request: Request, next: Next) -> Response {
    let host = request.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or_default();
    if host.split(':').next() == Some(crate::proxies::READY_HOST) {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

// A test that panicked while holding the lock has already failed; its log is still readable.
fn lock(log: &Log) -> MutexGuard<'_, Vec<Seen>> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn record(log: &Log, request: Request) -> Seen {
    let seen = Seen::of(request).await;
    lock(log).push(seen.clone());
    seen
}

async fn whoami(State(log): State<Log>, request: Request) -> Json<Seen> {
    Json(record(&log, request).await)
}

async fn page(State(log): State<Log>, request: Request) -> Response {
    let seen = record(&log, request).await;
    let row = |label: &str, id: &str, value: &Option<String>| {
        format!(
            "<dt>{label}</dt><dd id=\"{id}\">{}</dd>\n",
            escape(value.as_deref().unwrap_or_default())
        )
    };
    let body = format!(
        "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Protected app</title></head>
<body>
<h1>Protected app</h1>
<dl>
{}<dt>Method</dt><dd id=\"method\">{}</dd>
<dt>Path</dt><dd id=\"path\">{}</dd>
{}{}{}{}</dl>
<form method=\"post\"><button type=\"submit\">Send a POST</button></form>
</body></html>
",
        row("Host", "host", &seen.host),
        escape(&seen.method),
        escape(&seen.path),
        row("Remote-User", "remote-user", &seen.remote_user),
        row("Remote-Name", "remote-name", &seen.remote_name),
        row("Remote-Email", "remote-email", &seen.remote_email),
        row("Remote-Groups", "remote-groups", &seen.remote_groups),
    );
    Html(body).into_response()
}

/// The header values come from whoever sent them: never markup on this page.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn header_values_are_escaped() {
        assert_eq!(
            escape("<b a='1'>\"x\" & y</b>"),
            "&lt;b a=&#39;1&#39;&gt;&quot;x&quot; &amp; y&lt;/b&gt;"
        );
    }
}
