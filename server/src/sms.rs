//! SMS adapters: `console` (stdout), `demo` (stdout + the demo phone page) and `twilio`
//! (Twilio's Messaging API for texts and its Calls API for codes by voice, over reqwest).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::codes::Channel;
use domain::phone::E164;
use domain::voice::VoiceCall;
use domain::{
    ports::SmsSender,
    sms::{SentText, SmsError},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::{SmsConfig, SmsProvider, TwilioConfig};
use crate::db::Db;

/// The configured sender.
pub fn build(config: &SmsConfig, db: &Db) -> Result<Arc<dyn SmsSender>, String> {
    Ok(match config.provider {
        SmsProvider::Console => Arc::new(ConsoleSender),
        SmsProvider::Demo => Arc::new(DemoSender { db: db.clone() }),
        SmsProvider::Twilio => Arc::new(TwilioSender::new(&config.twilio)?),
    })
}

/// Prints each text to standard output: an operator who chose it reads codes from the console.
/// Texts never go to the log stream, which may be shipped elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSender;

fn print_text(to: &E164, body: &str) {
    println!("── SMS to {} ──\n{body}\n", to.as_str());
}

/// A call, as what it would say.
fn print_call(to: &E164, call: &VoiceCall) {
    println!("── Call to {} ──\n{}\n", to.as_str(), call.transcript);
}

#[async_trait]
impl SmsSender for ConsoleSender {
    async fn send(&self, to: &E164, body: &str, _validity_secs: u64) -> Result<SentText, SmsError> {
        print_text(to, body);
        Ok(SentText { provider_id: "console".into() })
    }

    async fn call(&self, to: &E164, call: &VoiceCall) -> Result<SentText, SmsError> {
        print_call(to, call);
        Ok(SentText { provider_id: "console".into() })
    }

    fn places_calls(&self) -> bool {
        true
    }

    async fn verify_credentials(&self) -> Result<String, SmsError> {
        Ok("console provider: texts and calls are printed to standard output".into())
    }
}

/// The console sender plus the demo phone page's inbox, where a call shows as its transcript.
#[derive(Debug, Clone)]
pub struct DemoSender {
    db: Db,
}

impl DemoSender {
    async fn deliver(&self, to: &E164, kind: Channel, body: &str) -> Result<SentText, SmsError> {
        let now = domain::now_ms() / 1000;
        self.db.record_demo_message(to.as_str(), kind, body, now).await.map_err(|e| {
            tracing::error!(error = %e, kind = kind.as_str(), "cannot store the demo message");
            SmsError::Unavailable { detail: "demo inbox unavailable".into() }
        })?;
        Ok(SentText { provider_id: "demo".into() })
    }
}

#[async_trait]
impl SmsSender for DemoSender {
    async fn send(&self, to: &E164, body: &str, _validity_secs: u64) -> Result<SentText, SmsError> {
        print_text(to, body);
        self.deliver(to, Channel::Text, body).await
    }

    async fn call(&self, to: &E164, call: &VoiceCall) -> Result<SentText, SmsError> {
        print_call(to, call);
        self.deliver(to, Channel::Call, &call.transcript).await
    }

    fn places_calls(&self) -> bool {
        true
    }

    async fn verify_credentials(&self) -> Result<String, SmsError> {
        Ok("demo provider: texts and calls go to standard output and the demo phone page (never use in production)".into())
    }
}

/// Who Twilio shows as the sender.
#[derive(Debug, Clone)]
enum Sender {
    From(String),
    Service(String),
}

/// What a POST asks Twilio to create: the log's words for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Text,
    Call,
}

impl Resource {
    fn accepted(self) -> &'static str {
        match self {
            Resource::Text => "text accepted by Twilio",
            Resource::Call => "call queued by Twilio",
        }
    }

    fn failed(self) -> &'static str {
        match self {
            Resource::Text => "text not sent",
            Resource::Call => "call not placed",
        }
    }
}

/// How calls are placed: from which number, how long they ring and may last.
#[derive(Debug, Clone)]
struct Voice {
    from: String,
    ring_secs: u64,
    time_limit_secs: u64,
}

pub struct TwilioSender {
    http: reqwest::Client,
    messages_url: String,
    calls_url: String,
    account_url: String,
    username: String,
    password: SecretString,
    sender: Sender,
    /// `None`: only a messaging service is configured, so no calls (`places_calls` is false).
    voice: Option<Voice>,
    timeout_secs: u64,
    /// Pause before the one retry after a 429, when Twilio sends no Retry-After.
    retry_pause: Duration,
}

impl std::fmt::Debug for TwilioSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSender")
            .field("messages_url", &self.messages_url)
            .field("calls_url", &self.calls_url)
            .field("username", &self.username)
            .field("voice", &self.voice)
            .finish_non_exhaustive()
    }
}

/// The part of a created message or call resource Latchkey reads: `SM…` or `CA…`.
#[derive(Debug, Deserialize)]
struct TwilioResource {
    sid: String,
}

#[derive(Debug, Deserialize)]
struct TwilioErrorBody {
    code: Option<u32>,
    message: Option<String>,
}

impl TwilioSender {
    pub fn new(cfg: &TwilioConfig) -> Result<Self, String> {
        install_crypto_provider();
        let (username, password) = match (&cfg.auth_token, &cfg.api_key_secret) {
            (Some(token), _) if !token.expose_secret().is_empty() => {
                (cfg.account_sid.clone(), token.clone())
            }
            (_, Some(secret)) => (cfg.api_key_sid.clone(), secret.clone()),
            _ => return Err("sms.twilio has no credentials".into()),
        };
        let sender = if cfg.from.is_empty() {
            Sender::Service(cfg.messaging_service_sid.clone())
        } else {
            Sender::From(cfg.from.clone())
        };
        let voice = cfg.voice_from().map(|from| Voice {
            from: from.to_owned(),
            ring_secs: cfg.call_ring_secs,
            time_limit_secs: cfg.call_time_limit_secs,
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .connect_timeout(Duration::from_secs(cfg.timeout_secs.min(5)))
            .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let base = cfg.base_url.trim_end_matches('/');
        let account = format!("{base}/2010-04-01/Accounts/{}", cfg.account_sid);
        Ok(Self {
            http,
            messages_url: format!("{account}/Messages.json"),
            calls_url: format!("{account}/Calls.json"),
            account_url: format!("{account}.json"),
            username,
            password,
            sender,
            voice,
            timeout_secs: cfg.timeout_secs,
            retry_pause: Duration::from_secs(1),
        })
    }

    /// Shorter pauses for tests.
    pub fn with_retry_pause(mut self, pause: Duration) -> Self {
        self.retry_pause = pause;
        self
    }

    fn transport_error(&self, e: reqwest::Error) -> SmsError {
        // A connection never made (refused, unresolvable, connect timeout, TLS handshake)
        // carried no request: nothing was sent. Anything later may have reached Twilio.
        let unreachable = e.is_connect();
        if e.is_timeout() && !unreachable {
            return SmsError::Timeout { secs: self.timeout_secs };
        }
        // The URL is in the log line's fields already; the cause chain says what went wrong.
        let e = e.without_url();
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        if unreachable {
            SmsError::Unreachable { detail }
        } else {
            SmsError::Unavailable { detail }
        }
    }

    /// POSTs `form` to `url` (Messages.json or Calls.json) and returns the created resource's
    /// sid. Texts and calls share the policy: one retry, and only after a 429 (Twilio refused
    /// before doing anything). After a timeout or a 5xx the text may have gone out or the phone
    /// may be ringing, and Twilio has no idempotency key: never a second one.
    async fn create(
        &self,
        url: &str,
        form: &[(&str, &str)],
        what: Resource,
    ) -> Result<String, SmsError> {
        for attempt in 0..2 {
            let response = self
                .http
                .post(url)
                .basic_auth(&self.username, Some(self.password.expose_secret()))
                .form(form)
                .send()
                .await;
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    let err = self.transport_error(e);
                    tracing::warn!(error = %err, "{}", what.failed());
                    return Err(err);
                }
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(5)));
            let text = response.text().await.map_err(|e| self.transport_error(e))?;
            if status == 201 || status == 200 {
                let sid = serde_json::from_str::<TwilioResource>(&text)
                    .map(|m| m.sid)
                    .unwrap_or_else(|_| "unknown".into());
                tracing::info!(sid = %sid, "{}", what.accepted());
                return Ok(sid);
            }
            let err = classify(status, &text);
            if err == SmsError::RateLimited && attempt == 0 {
                tracing::warn!("Twilio answered 429 (20429); retrying once");
                tokio::time::sleep(retry_after.unwrap_or(self.retry_pause)).await;
                continue;
            }
            tracing::warn!(status, code = ?err.twilio_code(), error = %err, "{}", what.failed());
            return Err(err);
        }
        Err(SmsError::RateLimited)
    }
}

/// Maps Twilio's answer to a domain error.
fn classify(status: u16, body: &str) -> SmsError {
    let parsed: Option<TwilioErrorBody> = serde_json::from_str(body).ok();
    let code = parsed.as_ref().and_then(|b| b.code);
    let message = parsed.and_then(|b| b.message).unwrap_or_default();
    match (status, code) {
        (_, Some(21211)) => SmsError::InvalidNumber,
        (_, Some(21408)) => SmsError::RegionNotEnabled,
        (_, Some(21608)) => SmsError::TrialUnverified,
        (_, Some(21610)) => SmsError::OptedOut,
        (_, Some(21614)) => SmsError::NotMobile,
        (_, Some(21210)) => SmsError::CallerIdNotVerified,
        (_, Some(21214)) => SmsError::CallUnreachable,
        (_, Some(21215)) => SmsError::CallRegionNotEnabled,
        (_, Some(21216)) => SmsError::CallBlocked,
        (_, Some(21217)) => SmsError::CallInvalidNumber,
        (_, Some(21219)) => SmsError::CallTrialUnverified,
        (401, _) | (_, Some(20003)) => SmsError::BadCredentials,
        (429, _) | (_, Some(20429)) => SmsError::RateLimited,
        (500..=599, _) => SmsError::Unavailable { detail: format!("HTTP {status}, code {code:?}") },
        _ => SmsError::Rejected { status, code, message },
    }
}

#[async_trait]
impl SmsSender for TwilioSender {
    #[tracing::instrument(skip_all, fields(to = %to, provider = "twilio"))]
    async fn send(&self, to: &E164, body: &str, validity_secs: u64) -> Result<SentText, SmsError> {
        let validity = validity_secs.clamp(1, 36_000).to_string();
        let mut form: Vec<(&str, &str)> =
            vec![("To", to.as_str()), ("Body", body), ("ValidityPeriod", &validity)];
        match &self.sender {
            Sender::From(from) => form.push(("From", from)),
            Sender::Service(sid) => form.push(("MessagingServiceSid", sid)),
        }
        let sid = self.create(&self.messages_url, &form, Resource::Text).await?;
        Ok(SentText { provider_id: sid })
    }

    /// Calls API with inline TwiML: no URL for Twilio to fetch, so no webhook to host; rings
    /// `call_ring_secs`, lasts at most `call_time_limit_secs`, never recorded.
    #[tracing::instrument(skip_all, fields(to = %to, provider = "twilio", kind = "call"))]
    async fn call(&self, to: &E164, call: &VoiceCall) -> Result<SentText, SmsError> {
        let Some(voice) = &self.voice else {
            // The domain asks `places_calls` first; this is a mistake, and nothing rang.
            return Err(SmsError::Unreachable {
                detail: "calls are not configured: set sms.twilio.voice_from".into(),
            });
        };
        let ring = voice.ring_secs.to_string();
        let limit = voice.time_limit_secs.to_string();
        let form: [(&str, &str); 6] = [
            ("To", to.as_str()),
            ("From", &voice.from),
            ("Twiml", &call.twiml),
            ("Timeout", &ring),
            ("TimeLimit", &limit),
            ("Record", "false"),
        ];
        let sid = self.create(&self.calls_url, &form, Resource::Call).await?;
        Ok(SentText { provider_id: sid })
    }

    fn places_calls(&self) -> bool {
        self.voice.is_some()
    }

    async fn verify_credentials(&self) -> Result<String, SmsError> {
        let response = self
            .http
            .get(&self.account_url)
            .basic_auth(&self.username, Some(self.password.expose_secret()))
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| self.transport_error(e))?;
        if status == 200 {
            let sender = match &self.sender {
                Sender::From(from) => format!("from {from}"),
                Sender::Service(sid) => format!("through messaging service {sid}"),
            };
            Ok(format!("Twilio accepted the credentials of {}; texts go {sender}", self.username))
        } else {
            Err(classify(status, &body))
        }
    }
}

/// reqwest and ldap3 use rustls with *ring*; it must be the process default before the first
/// TLS connection. Installing twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_answers_map_to_domain_errors() {
        let body = |code: u32| {
            format!(r#"{{"code": {code}, "message": "m", "more_info": "x", "status": 400}}"#)
        };
        assert_eq!(classify(400, &body(21211)), SmsError::InvalidNumber);
        assert_eq!(classify(400, &body(21408)), SmsError::RegionNotEnabled);
        assert_eq!(classify(400, &body(21608)), SmsError::TrialUnverified);
        assert_eq!(classify(400, &body(21610)), SmsError::OptedOut);
        assert_eq!(classify(400, &body(21614)), SmsError::NotMobile);
        assert_eq!(classify(400, &body(21210)), SmsError::CallerIdNotVerified);
        assert_eq!(classify(400, &body(21214)), SmsError::CallUnreachable);
        assert_eq!(classify(400, &body(21215)), SmsError::CallRegionNotEnabled);
        assert_eq!(classify(400, &body(21216)), SmsError::CallBlocked);
        assert_eq!(classify(400, &body(21217)), SmsError::CallInvalidNumber);
        assert_eq!(classify(400, &body(21219)), SmsError::CallTrialUnverified);
        assert_eq!(classify(401, &body(20003)), SmsError::BadCredentials);
        assert_eq!(classify(401, "not json"), SmsError::BadCredentials);
        assert_eq!(classify(429, &body(20429)), SmsError::RateLimited);
        assert!(matches!(classify(503, ""), SmsError::Unavailable { .. }));
        assert_eq!(
            classify(400, &body(21602)),
            SmsError::Rejected { status: 400, code: Some(21602), message: "m".into() }
        );
    }
}
