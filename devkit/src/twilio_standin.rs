//! A local stand-in for Twilio's Messaging and Calls APIs, for the tests and the end-to-end
//! suite.
//!
//! It answers `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` as Twilio does: HTTP Basic
//! with the Account SID + auth token (or an API key SID + secret), form-encoded fields, `To` in
//! E.164, `From` or `MessagingServiceSid`, a `Body` of at most 1600 characters, `ValidityPeriod`
//! from 1 to 36000; 201 with the message resource, or Twilio's error JSON. Twilio's magic test
//! numbers fail as Twilio's do. It can be told to fail or stall the next requests, and it shows
//! what it received (`GET /_standin/messages`) so tests read codes the way a phone would.
//!
//! Calls: `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` with the same authentication,
//! `To` and `From` required, exactly one of `Url`, `Twiml` or `ApplicationSid` (stricter than
//! Twilio, which ignores `Twiml` beside `Url`: Latchkey must never send both), inline `Twiml` of
//! at most 4000 characters that parses as XML with a `<Response>` root, `Timeout` from 1 to 600
//! and `TimeLimit` from 1 to 86400 (Twilio's 24 hours); 201 with the call resource (`CA…`,
//! `queued`). Twilio's magic test numbers for calls fail as Twilio's do. What each call would
//! have said (its `<Say>` texts, joined) is at `GET /_standin/calls`, newest first.

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

/// A call the stand-in accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedCall {
    pub sid: String,
    pub to: String,
    pub from: String,
    /// The inline TwiML, as sent (`None` when the call was given a `Url` or `ApplicationSid`).
    pub twiml: Option<String>,
    /// What the call would have said: the text of each `<Say>`, joined by spaces.
    pub said: String,
    /// `Timeout`: seconds it rings.
    pub timeout: Option<u32>,
    /// `TimeLimit`: the longest it may last, in seconds.
    pub time_limit: Option<u32>,
    /// `Record`, as sent.
    pub record: Option<String>,
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
    calls: Vec<ReceivedCall>,
    faults: VecDeque<Fault>,
    requests: u64,
}

#[derive(Debug, Clone)]
struct Shared {
    account: Arc<StandinAccount>,
    state: Arc<Mutex<State_>>,
}

impl State_ {
    fn clear(&mut self) {
        self.texts.clear();
        self.calls.clear();
        self.faults.clear();
        self.requests = 0;
    }
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

    /// Calls received so far, oldest first.
    pub fn calls(&self) -> Vec<ReceivedCall> {
        self.shared.state().calls.clone()
    }

    /// The newest call to `to`, if any: what that phone heard last.
    pub fn latest_call_to(&self, to: &str) -> Option<ReceivedCall> {
        self.shared.state().calls.iter().rev().find(|c| c.to == to).cloned()
    }

    /// Requests to the Messages and Calls endpoints so far (accepted or not).
    pub fn requests(&self) -> u64 {
        self.shared.state().requests
    }

    /// Makes the next `count` requests answer `fault`.
    pub fn fail_next(&self, count: usize, fault: Fault) {
        let mut state = self.shared.state();
        state.faults.extend(std::iter::repeat_n(fault, count));
    }

    pub fn clear(&self) {
        self.shared.state().clear();
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
        .route("/2010-04-01/Accounts/{sid}/Calls.json", post(create_call))
        .route("/2010-04-01/Accounts/{sid_json}", get(fetch_account))
        .route("/_standin/messages", get(list_texts).delete(clear_texts))
        .route("/_standin/calls", get(list_calls).delete(clear_texts))
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

/// What Messages and Calls check first, alike: counts the request, checks the credentials for
/// the account in the path, plays an injected fault, and reads the form fields (a body that is
/// not form-encoded has none, as at Twilio).
async fn admit(
    shared: &Shared,
    sid: &str,
    headers: &HeaderMap,
    body: &str,
) -> Result<Vec<(String, String)>, Response> {
    shared.state().requests += 1;
    if !authenticated(&shared.account, headers, sid) {
        return Err(unauthorized());
    }
    let fault = shared.state().faults.pop_front();
    match fault {
        Some(Fault::Error { status, code }) => {
            return Err(twilio_error(status, code, "Fault injected by the stand-in"));
        }
        Some(Fault::Stall { millis }) => tokio::time::sleep(Duration::from_millis(millis)).await,
        None => {}
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok(Vec::new());
    }
    serde_urlencoded::from_str(body).map_err(|_| twilio_error(400, 20001, "Invalid form body"))
}

/// A form field's value, if sent.
fn field(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// A refusal in Twilio's words: HTTP status, Twilio error code, message.
#[derive(Debug)]
struct Refusal(u16, u32, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        twilio_error(self.0, self.1, &self.2)
    }
}

/// An optional integer field within `range`, or Twilio's 20001.
fn bounded(
    form: &[(String, String)],
    name: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, Refusal> {
    match field(form, name) {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(Refusal(
                400,
                20001,
                format!("{name} must be an integer from {} to {}", range.start(), range.end()),
            )),
        },
    }
}

/// Twilio's time format in resources (RFC 2822).
fn now_rfc2822() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default()
}

async fn create_message(
    State(shared): State<Shared>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = match admit(&shared, &sid, &headers, &body).await {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let field = |name: &str| field(&form, name);

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
    let validity_period = match bounded(&form, "ValidityPeriod", 1..=36000) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
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
    let now = now_rfc2822();
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

/// The inline TwiML's `<Say>` texts joined, or why Twilio would refuse it.
fn spoken(twiml: &str) -> Result<String, Refusal> {
    if twiml.chars().count() > 4000 {
        let message = "Twiml exceeds the maximum length of 4000 characters";
        return Err(Refusal(400, 20001, message.into()));
    }
    let doc = roxmltree::Document::parse(twiml).map_err(|e| {
        let message = format!("Document parse failure: the Twiml is not well-formed XML ({e})");
        Refusal(400, 12100, message)
    })?;
    if !doc.root_element().has_tag_name("Response") {
        let message = "Document parse failure: the Twiml's root element must be <Response>";
        return Err(Refusal(400, 12100, message.into()));
    }
    let said: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Say"))
        .map(|n| n.descendants().filter_map(|t| t.is_text().then(|| t.text()).flatten()).collect())
        .collect();
    Ok(said.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "))
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`.
async fn create_call(
    State(shared): State<Shared>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = match admit(&shared, &sid, &headers, &body).await {
        Ok(form) => form,
        Err(refused) => return refused.into_response(),
    };
    let field = |name: &str| field(&form, name);

    let Some(to) = field("To") else {
        return twilio_error(400, 21201, "No 'To' number is specified");
    };
    if !is_e164(&to) {
        return twilio_error(400, 21217, &format!("Phone number {to} does not appear to be valid"));
    }
    let Some(from) = field("From") else {
        return twilio_error(400, 21213, "No 'From' number is specified");
    };
    if !is_e164(&from) {
        return twilio_error(400, 21212, &format!("Invalid From Number: {from}"));
    }
    let (url, twiml, application) = (field("Url"), field("Twiml"), field("ApplicationSid"));
    let given = [url.is_some(), twiml.is_some(), application.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return twilio_error(
            400,
            21205,
            "Url parameter is required: give exactly one of Url, Twiml or ApplicationSid",
        );
    }
    if let Some(url) = &url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return twilio_error(400, 21205, &format!("Url is not a valid URL: {url}"));
    }
    if let Some(app) = &application
        && !is_sid(app, "AP")
    {
        return twilio_error(400, 21218, "Invalid ApplicationSid");
    }
    let said = match twiml.as_deref().map(spoken).transpose() {
        Ok(said) => said.unwrap_or_default(),
        Err(refused) => return refused.into_response(),
    };
    let timeout = match bounded(&form, "Timeout", 1..=600) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    let time_limit = match bounded(&form, "TimeLimit", 1..=86_400) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    let record = field("Record");
    if record.as_deref().is_some_and(|r| r != "true" && r != "false") {
        return twilio_error(400, 20001, "Record must be true or false");
    }
    // Twilio's magic test numbers for calls.
    let refusal = match (from.as_str(), to.as_str()) {
        ("+15005550007", _) => Some((
            21210,
            format!(
                "The source phone number provided, {from}, is not yet verified for your account"
            ),
        )),
        (_, "+15005550001") => {
            Some((21217, format!("Phone number {to} does not appear to be valid")))
        }
        (_, "+15005550002") => Some((21214, format!("'To' phone number {to} cannot be reached"))),
        (_, "+15005550003") => Some((
            21215,
            format!(
                "Account not authorized to call {to}. Perhaps you need to enable some international permissions"
            ),
        )),
        (_, "+15005550004") => Some((21216, format!("Account not allowed to call {to}"))),
        _ => None,
    };
    if let Some((code, message)) = refusal {
        return twilio_error(400, code, &message);
    }

    let call_sid = format!("CA{:032x}", rand::random::<u128>());
    shared.state().calls.push(ReceivedCall {
        sid: call_sid.clone(),
        to: to.clone(),
        from: from.clone(),
        twiml,
        said,
        timeout,
        time_limit,
        record,
        form: form.clone(),
    });
    let now = now_rfc2822();
    let account_sid = &shared.account.account_sid;
    let uri = format!("/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json");
    let sub = |name: &str| uri.replace(".json", &format!("/{name}.json"));
    let resource = json!({
        "account_sid": account_sid,
        "answered_by": Value::Null,
        "api_version": "2010-04-01",
        "caller_name": Value::Null,
        "date_created": now,
        "date_updated": now,
        "direction": "outbound-api",
        "duration": Value::Null,
        "end_time": Value::Null,
        "forwarded_from": Value::Null,
        "from": from,
        "from_formatted": from,
        "group_sid": Value::Null,
        "parent_call_sid": Value::Null,
        "phone_number_sid": Value::Null,
        "price": Value::Null,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": call_sid,
        "start_time": Value::Null,
        "status": "queued",
        "subresource_uris": {
            "notifications": sub("Notifications"),
            "recordings": sub("Recordings"),
            "payments": sub("Payments"),
            "events": sub("Events"),
            "siprec": sub("Siprec"),
            "streams": sub("Streams"),
            "transcriptions": sub("Transcriptions"),
            "user_defined_message_subscriptions": sub("UserDefinedMessageSubscriptions"),
            "user_defined_messages": sub("UserDefinedMessages"),
        },
        "to": to,
        "to_formatted": to,
        "trunk_sid": Value::Null,
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

/// Forgets every text and call, pending faults and the request count.
/// Received calls, newest first, optionally only those to one number: each with what it said.
async fn list_calls(
    State(shared): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Json<Vec<ReceivedCall>> {
    let calls = shared.state().calls.clone();
    Json(calls.into_iter().rev().filter(|c| q.to.as_deref().is_none_or(|to| c.to == to)).collect())
}

async fn clear_texts(State(shared): State<Shared>) -> StatusCode {
    shared.state().clear();
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

    #[test]
    fn a_calls_twiml_says_its_say_texts_and_must_parse() {
        let twiml = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="1"/><Say voice="Polly.Joanna">Your code is 1, 2.</Say><Say>A &amp; B.</Say></Response>"#;
        assert_eq!(spoken(twiml).unwrap(), "Your code is 1, 2. A & B.");
        for bad in ["<Response><Say>x</Response>", "<Say>x</Say>", "not xml", ""] {
            assert_eq!(spoken(bad).unwrap_err().0, 400, "{bad}");
        }
        let long = format!("<Response><Say>{}</Say></Response>", "x".repeat(4000));
        assert_eq!(spoken(&long).unwrap_err().0, 400);
    }
}
