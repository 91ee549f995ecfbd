//! A local stand-in for Twilio's Messaging API, for the tests and the end-to-end suite.
//!
//! It answers `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` as Twilio does: HTTP Basic
//! with the Account SID + auth token (or an API key SID + secret), form-encoded fields, `To` in
//! E.164, `From` or `MessagingServiceSid`, a `Body` of at most 1600 characters, `ValidityPeriod`
//! from 1 to 36000; 201 with the message resource, or Twilio's error JSON. Twilio's magic test
//! numbers fail as Twilio's do. It can be told to fail or stall the next requests, and it shows
//! what it received (`GET /_standin/messages`) so tests read codes the way a phone would.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Credentials the stand-in accepts.
#[derive(Debug, Clone)]
pub struct StandinAccount {
    pub account_sid: String,
    pub auth_token: String,
    /// An API key (SK…) and its secret, accepted instead of the auth token.
    pub api_key: Option<(String, String)>,
}

impl StandinAccount {
    /// A fixed test account.
    pub fn test() -> Self {
        Self {
            account_sid: format!("AC{}", "0a".repeat(16)),
            auth_token: "standin-auth-token".into(),
            api_key: Some((format!("SK{}", "1b".repeat(16)), "standin-api-secret".into())),
        }
    }
}

/// A text the stand-in accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedText {
    pub sid: String,
    pub to: String,
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub body: String,
    pub validity_period: Option<u32>,
    /// Every form field as sent, for contract tests.
    pub form: Vec<(String, String)>,
}

/// What the next request gets instead of the normal answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this HTTP status and Twilio error code.
    Error { status: u16, code: u32 },
    /// Wait this long, then answer normally (the text counts as sent, as at Twilio).
    Stall { millis: u64 },
}

#[derive(Debug, Default)]
struct State_ {
    texts: Vec<ReceivedText>,
    faults: VecDeque<Fault>,
    requests: u64,
}

#[derive(Debug, Clone)]
struct Shared {
    account: Arc<StandinAccount>,
    state: Arc<Mutex<State_>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State_> {
        // A panicking test thread must not wedge every later request.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running stand-in; stops when dropped.
#[derive(Debug)]
pub struct TwilioStandin {
    pub url: String,
    pub account: StandinAccount,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl TwilioStandin {
    /// Serves on a free loopback port.
    pub async fn start(account: StandinAccount) -> std::io::Result<Self> {
        Self::start_on(
            "127.0.0.1:0".parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))),
            account,
        )
        .await
    }

    pub async fn start_on(addr: SocketAddr, account: StandinAccount) -> std::io::Result<Self> {
        let shared = Shared { account: Arc::new(account.clone()), state: Arc::default() };
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, account, shared, task })
    }

    /// Texts received so far, oldest first.
    pub fn texts(&self) -> Vec<ReceivedText> {
        self.shared.state().texts.clone()
    }

    /// The newest text to `to`, if any: what that phone shows last. Looks from the newest end,
    /// so it stays cheap while a load generator keeps thousands of texts.
    pub fn latest_text_to(&self, to: &str) -> Option<ReceivedText> {
        self.shared.state().texts.iter().rev().find(|t| t.to == to).cloned()
    }

    /// Requests to the Messages endpoint so far (accepted or not).
    pub fn requests(&self) -> u64 {
        self.shared.state().requests
    }

    /// Makes the next `count` requests answer `fault`.
    pub fn fail_next(&self, count: usize, fault: Fault) {
        let mut state = self.shared.state();
        state.faults.extend(std::iter::repeat_n(fault, count));
    }

    pub fn clear(&self) {
        let mut state = self.shared.state();
        state.texts.clear();
        state.faults.clear();
        state.requests = 0;
    }
}

impl Drop for TwilioStandin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `twilio-standin` binary: prints one JSON line (URL, account SID, auth token) for a test
/// harness to read, then serves until interrupted. Fails only when it cannot listen on `addr`.
pub async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let standin = TwilioStandin::start_on(addr, StandinAccount::test()).await?;
    println!(
        "{}",
        json!({
            "url": standin.url,
            "account_sid": standin.account.account_sid,
            "auth_token": standin.account.auth_token,
        })
    );
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", post(create_message))
        .route("/2010-04-01/Accounts/{sid_json}", get(fetch_account))
        .route("/_standin/messages", get(list_texts).delete(clear_texts))
        .route("/_standin/faults", post(add_faults))
        .with_state(shared)
}

/// Twilio's error body.
fn twilio_error(status: u16, code: u32, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

/// Basic auth as Twilio checks it: the account's SID and auth token, or an API key and its
/// secret, for the account named in the path.
fn authenticated(account: &StandinAccount, headers: &HeaderMap, path_sid: &str) -> bool {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(base64_decode);
    let Some((user, pass)) = credentials.as_deref().and_then(|c| c.split_once(':')) else {
        return false;
    };
    let by_token = user == account.account_sid && pass == account.auth_token;
    let by_key = account.api_key.as_ref().is_some_and(|(k, s)| user == k && pass == s);
    (by_token || by_key) && path_sid == account.account_sid
}

fn unauthorized() -> Response {
    twilio_error(401, 20003, "Authenticate")
}

fn is_e164(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

fn is_sid(value: &str, prefix: &str) -> bool {
    value.len() == 34
        && value.starts_with(prefix)
        && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

async fn create_message(
    State(shared): State<Shared>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    shared.state().requests += 1;
    if !authenticated(&shared.account, &headers, &sid) {
        return unauthorized();
    }
    let fault = shared.state().faults.pop_front();
    match fault {
        Some(Fault::Error { status, code }) => {
            return twilio_error(status, code, "Fault injected by the stand-in");
        }
        Some(Fault::Stall { millis }) => tokio::time::sleep(Duration::from_millis(millis)).await,
        None => {}
    }

    // Twilio reads form fields only: a JSON body simply has no To.
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form: Vec<(String, String)> = if is_form {
        match serde_urlencoded::from_str(&body) {
            Ok(f) => f,
            Err(_) => return twilio_error(400, 20001, "Invalid form body"),
        }
    } else {
        Vec::new()
    };
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());

    let Some(to) = field("To") else {
        return twilio_error(400, 21604, "A 'To' phone number is required.");
    };
    if !is_e164(&to) {
        return twilio_error(400, 21211, &format!("Invalid 'To' Phone Number: {to}"));
    }
    let from = field("From");
    let service = field("MessagingServiceSid");
    match (&from, &service) {
        (None, None) => {
            return twilio_error(
                400,
                21603,
                "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
            );
        }
        (Some(f), _) if !is_e164(f) => {
            return twilio_error(400, 21212, &format!("Invalid From Number: {f}"));
        }
        (_, Some(s)) if !is_sid(s, "MG") => {
            return twilio_error(400, 21701, "The Messaging Service Sid is invalid");
        }
        _ => {}
    }
    let body = field("Body").unwrap_or_default();
    if body.is_empty() {
        return twilio_error(400, 21602, "Message body is required.");
    }
    if body.chars().count() > 1600 {
        return twilio_error(
            400,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    let validity_period = match field("ValidityPeriod") {
        None => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=36000).contains(&n) => Some(n),
            _ => {
                return twilio_error(
                    400,
                    20001,
                    "ValidityPeriod must be an integer from 1 to 36000",
                );
            }
        },
    };
    // Twilio's magic test numbers.
    match to.as_str() {
        "+15005550001" => {
            return twilio_error(400, 21211, &format!("Invalid 'To' Phone Number: {to}"));
        }
        "+15005550003" => {
            return twilio_error(
                400,
                21408,
                &format!(
                    "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}"
                ),
            );
        }
        "+15005550004" => {
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient");
        }
        "+15005550009" => {
            return twilio_error(
                400,
                21614,
                &format!("'To' number {to} is not a valid mobile number"),
            );
        }
        _ => {}
    }

    let message_sid = format!("SM{:032x}", rand::random::<u128>());
    let text = ReceivedText {
        sid: message_sid.clone(),
        to: to.clone(),
        from: from.clone(),
        messaging_service_sid: service.clone(),
        body: body.clone(),
        validity_period,
        form: form.clone(),
    };
    shared.state().texts.push(text);
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let account_sid = &shared.account.account_sid;
    let uri = format!("/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}.json");
    let resource = json!({
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": now,
        "date_sent": Value::Null,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": Value::Null,
        "error_message": Value::Null,
        "from": from,
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": "1",
        "price": Value::Null,
        "price_unit": "USD",
        "sid": message_sid,
        "status": if service.is_some() { "accepted" } else { "queued" },
        "subresource_uris": { "media": uri.replace(".json", "/Media.json") },
        "to": to,
        "uri": uri,
    });
    (StatusCode::CREATED, Json(resource)).into_response()
}

/// `GET /2010-04-01/Accounts/{AccountSid}.json`: what `latchkey check` uses to verify
/// credentials without sending a text.
async fn fetch_account(
    State(shared): State<Shared>,
    Path(sid_json): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(sid) = sid_json.strip_suffix(".json") else {
        return twilio_error(404, 20404, "The requested resource was not found");
    };
    if !authenticated(&shared.account, &headers, sid) {
        return unauthorized();
    }
    Json(json!({ "sid": sid, "status": "active", "type": "Full", "friendly_name": "Latchkey stand-in" }))
        .into_response()
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    to: Option<String>,
}

/// Received texts, newest first, optionally only those to one number.
async fn list_texts(
    State(shared): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Json<Vec<ReceivedText>> {
    let texts = shared.state().texts.clone();
    Json(texts.into_iter().rev().filter(|t| q.to.as_deref().is_none_or(|to| t.to == to)).collect())
}

async fn clear_texts(State(shared): State<Shared>) -> StatusCode {
    let mut state = shared.state();
    state.texts.clear();
    state.faults.clear();
    state.requests = 0;
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct FaultRequest {
    count: usize,
    #[serde(flatten)]
    fault: Fault,
}

async fn add_faults(State(shared): State<Shared>, Json(req): Json<FaultRequest>) -> StatusCode {
    shared.state().faults.extend(std::iter::repeat_n(req.fault, req.count));
    StatusCode::NO_CONTENT
}

fn base64_decode(input: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(input.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_basic_credentials() {
        assert_eq!(base64_decode("dXNlcjpwYXNz").as_deref(), Some("user:pass"));
        assert_eq!(base64_decode("YTpi").as_deref(), Some("a:b"));
        assert_eq!(base64_decode("YTpiYw==").as_deref(), Some("a:bc"));
        assert_eq!(base64_decode("not base64!"), None);
        assert_eq!(base64_decode("YT=i"), None);
    }

    #[test]
    fn e164_is_plus_and_8_to_15_digits() {
        assert!(is_e164("+12015550123"));
        assert!(!is_e164("12015550123"));
        assert!(!is_e164("+1201555012a"));
        assert!(!is_e164("+0123456789"));
        assert!(!is_e164("+1234567890123456"));
    }
}
