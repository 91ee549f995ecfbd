//! `/metrics` in the Prometheus text format. The numbers come from decorators around the ports,
//! so the domain does not know it is measured: the audit log (sign-ins by outcome, codes sent,
//! failed and refused by a limit), the SMS sender (Twilio latency and errors by Twilio code) and
//! the directory (latency and failures by operation).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use domain::phone::E164;
use domain::ports::Unavailable;
use domain::{
    audit::{AuditEvent, StoredAuditEvent},
    ports::AuditLog,
};
use domain::{
    directory::{DirectoryError, PasswordCheck, Person, UserId, Username},
    ports::Directory,
};
use domain::{
    ports::SmsSender,
    sms::{SentText, SmsError},
};
use secrecy::SecretString;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Series are (name, sorted label pairs).
type Key = (&'static str, Vec<(&'static str, String)>);

#[derive(Debug, Default)]
struct Series {
    counters: BTreeMap<Key, u64>,
    histograms: BTreeMap<Key, Histogram>,
}

/// The process's metrics, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    series: Arc<Mutex<Series>>,
}

const HELP: &[(&str, &str, &str)] = &[
    ("latchkey_sign_ins_total", "counter", "Completed sign-ins by method."),
    ("latchkey_password_checks_total", "counter", "Password steps by outcome."),
    (
        "latchkey_codes_total",
        "counter",
        "Codes sent by channel (text, call) and result: sent, failed (provider), refused (a limit).",
    ),
    ("latchkey_code_checks_total", "counter", "Typed codes by outcome."),
    (
        "latchkey_second_factor_checks_total",
        "counter",
        "Codes typed at sign-in from an authenticator app (way=app) or recovery codes (way=recovery_code), by outcome.",
    ),
    (
        "latchkey_credential_changes_total",
        "counter",
        "Authenticator apps and recovery codes added, renamed, preferred or removed, by the person or an administrator (kind).",
    ),
    ("latchkey_locks_total", "counter", "Locks: password throttle or second step."),
    (
        "latchkey_oidc_events_total",
        "counter",
        "OpenID Connect provider events by kind (oidc.authorize, oidc.token, oidc.userinfo, oidc.revoke, oidc.logout) and outcome.",
    ),
    (
        "latchkey_forward_auth_checks_total",
        "counter",
        "Proxies' forward-auth checks by app and outcome (allowed, redirected to sign in, refused, unavailable).",
    ),
    (
        "latchkey_forward_auth_events_total",
        "counter",
        "Forward-auth sign-ins by kind (forward_auth.authorize, forward_auth.callback, forward_auth.logout) and outcome.",
    ),
    ("latchkey_sms_seconds", "histogram", "Time to hand a text to the SMS provider."),
    (
        "latchkey_sms_errors_total",
        "counter",
        "Provider errors by Twilio code (none: timeout or 5xx).",
    ),
    ("latchkey_call_seconds", "histogram", "Time to hand a voice call to the provider."),
    (
        "latchkey_call_errors_total",
        "counter",
        "Provider errors placing voice calls by Twilio code (none: timeout or 5xx).",
    ),
    ("latchkey_directory_seconds", "histogram", "Directory operation latency."),
    ("latchkey_directory_errors_total", "counter", "Directory operations that failed."),
    ("latchkey_audit_events_total", "counter", "Audit events by kind."),
    (
        "latchkey_admin_refusals_total",
        "counter",
        "Administrator pages, operations and exports refused to someone not signed in (not audited).",
    ),
];

impl Metrics {
    fn count(&self, name: &'static str, labels: Vec<(&'static str, String)>) {
        if let Ok(mut s) = self.series.lock() {
            *s.counters.entry((name, labels)).or_default() += 1;
        }
    }

    fn observe(&self, name: &'static str, labels: Vec<(&'static str, String)>, secs: f64) {
        if let Ok(mut s) = self.series.lock() {
            let h = s.histograms.entry((name, labels)).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    /// One proxy check: counted here, never audited (one per request the app serves). `app` is
    /// a configured app's name or "unknown", so the series stay few.
    pub fn forward_auth_check(&self, app: &str, outcome: &'static str) {
        self.count(
            "latchkey_forward_auth_checks_total",
            vec![("app", app.to_owned()), ("outcome", outcome.to_owned())],
        );
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let Ok(s) = self.series.lock() else {
            return String::new();
        };
        let mut out = String::new();
        let labels = |l: &[(&str, String)], extra: Option<(&str, String)>| {
            let mut parts: Vec<String> =
                l.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            if let Some((k, v)) = extra {
                parts.push(format!("{k}=\"{v}\""));
            }
            if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
        };
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((n, l), v) in s.counters.iter().filter(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{n}{} {v}", labels(l, None));
            }
            for ((n, l), h) in s.histograms.iter().filter(|((n, _), _)| n == name) {
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{n}_bucket{} {}",
                        labels(l, Some(("le", bound.to_string()))),
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{n}_bucket{} {}",
                    labels(l, Some(("le", "+Inf".into()))),
                    h.count
                );
                let _ = writeln!(out, "{n}_sum{} {}", labels(l, None), h.sum);
                let _ = writeln!(out, "{n}_count{} {}", labels(l, None), h.count);
            }
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Counts what the audit trail records (the events are the domain's own account of itself).
pub struct MeteredAudit<A> {
    pub inner: A,
    pub metrics: Metrics,
}

impl<A> MeteredAudit<A> {
    /// The series an event counts in.
    fn count(&self, e: &AuditEvent) {
        let m = &self.metrics;
        let outcome = || vec![("outcome", e.outcome.clone())];
        match e.kind {
            "sign_in.success" => {
                m.count("latchkey_sign_ins_total", vec![("method", e.outcome.clone())])
            }
            "sign_in.password" => m.count("latchkey_password_checks_total", outcome()),
            "sign_in.code_sent"
            | "security.code_sent"
            | "sign_in.code_called"
            | "security.code_called" => {
                let channel = if e.kind.ends_with("called") { "call" } else { "text" };
                m.count(
                    "latchkey_codes_total",
                    vec![("result", e.outcome.clone()), ("channel", channel.to_owned())],
                )
            }
            "sign_in.code" => m.count("latchkey_code_checks_total", outcome()),
            "sign_in.locked" => m.count("latchkey_locks_total", vec![("what", e.outcome.clone())]),
            "sign_in.app_code" | "sign_in.recovery_code" => {
                let way = if e.kind == "sign_in.app_code" { "app" } else { "recovery_code" };
                m.count(
                    "latchkey_second_factor_checks_total",
                    vec![("way", way.to_owned()), ("outcome", e.outcome.clone())],
                )
            }
            kind if kind.starts_with("app.")
                || kind.starts_with("recovery_codes.")
                || kind == "admin.app_removed"
                || kind == "admin.recovery_codes_removed" =>
            {
                m.count("latchkey_credential_changes_total", vec![("kind", kind.to_owned())])
            }
            // Every grant, refusal, token use and logout of the OpenID Connect provider.
            kind if kind.starts_with("oidc.") => m.count(
                "latchkey_oidc_events_total",
                vec![("kind", kind.to_owned()), ("outcome", e.outcome.clone())],
            ),
            kind if kind.starts_with("forward_auth.") => m.count(
                "latchkey_forward_auth_events_total",
                vec![("kind", kind.to_owned()), ("outcome", e.outcome.clone())],
            ),
            _ => {}
        }
        m.count("latchkey_audit_events_total", vec![("kind", e.kind.to_owned())]);
    }
}

#[async_trait]
impl<A: AuditLog> AuditLog for MeteredAudit<A> {
    async fn record(&self, e: &AuditEvent) -> Result<(), Unavailable> {
        self.count(e);
        self.inner.record(e).await
    }

    async fn record_all(&self, events: &[AuditEvent]) -> Result<(), Unavailable> {
        for e in events {
            self.count(e);
        }
        self.inner.record_all(events).await
    }

    async fn for_user(
        &self,
        user_id: &str,
        older_than: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>, Unavailable> {
        self.inner.for_user(user_id, older_than, limit).await
    }

    async fn newest_by(
        &self,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<StoredAuditEvent>, Unavailable> {
        self.inner.newest_by(user_id, kind).await
    }

    fn anonymous_refusal(&self, what: &str) {
        // `what` is one of a few fixed names in the code, never the caller's input.
        self.metrics.count("latchkey_admin_refusals_total", vec![("what", what.to_owned())]);
        self.inner.anonymous_refusal(what);
    }
}

/// Times every text and every call handed to the provider, apart, and counts their errors by
/// Twilio code: `latchkey_sms_*` for texts, `latchkey_call_*` for calls.
pub struct MeteredSms {
    pub inner: Arc<dyn SmsSender>,
    pub metrics: Metrics,
}

impl MeteredSms {
    /// Times `attempt` into `seconds` (outcome `ok_outcome` or `error`) and counts its error
    /// into `errors` by Twilio code.
    async fn timed(
        &self,
        (seconds, errors, ok_outcome): (&'static str, &'static str, &'static str),
        attempt: impl std::future::Future<Output = Result<SentText, SmsError>>,
    ) -> Result<SentText, SmsError> {
        let started = Instant::now();
        let result = attempt.await;
        let outcome = if result.is_ok() { ok_outcome } else { "error" };
        self.metrics.observe(
            seconds,
            vec![("outcome", outcome.into())],
            started.elapsed().as_secs_f64(),
        );
        if let Err(e) = &result {
            let code = e.twilio_code().map(|c| c.to_string()).unwrap_or_else(|| "none".into());
            self.metrics.count(errors, vec![("code", code)]);
        }
        result
    }
}

#[async_trait]
impl SmsSender for MeteredSms {
    async fn send(&self, to: &E164, body: &str, validity_secs: u64) -> Result<SentText, SmsError> {
        let names = ("latchkey_sms_seconds", "latchkey_sms_errors_total", "sent");
        self.timed(names, self.inner.send(to, body, validity_secs)).await
    }

    async fn call(&self, to: &E164, call: &domain::voice::VoiceCall) -> Result<SentText, SmsError> {
        let names = ("latchkey_call_seconds", "latchkey_call_errors_total", "placed");
        self.timed(names, self.inner.call(to, call)).await
    }

    fn places_calls(&self) -> bool {
        self.inner.places_calls()
    }

    async fn verify_credentials(&self) -> Result<String, SmsError> {
        self.inner.verify_credentials().await
    }
}

/// Times every directory operation.
pub struct MeteredDirectory<D> {
    pub inner: Arc<D>,
    pub metrics: Metrics,
}

impl<D> MeteredDirectory<D> {
    async fn timed<T>(
        &self,
        op: &'static str,
        f: impl std::future::Future<Output = Result<T, DirectoryError>>,
    ) -> Result<T, DirectoryError> {
        let started = Instant::now();
        let result = f.await;
        self.metrics.observe(
            "latchkey_directory_seconds",
            vec![("op", op.into())],
            started.elapsed().as_secs_f64(),
        );
        if result.is_err() {
            self.metrics.count("latchkey_directory_errors_total", vec![("op", op.into())]);
        }
        result
    }
}

#[async_trait]
impl<D: Directory> Directory for MeteredDirectory<D> {
    async fn find_by_login(&self, login: &Username) -> Result<Option<Person>, DirectoryError> {
        self.timed("find_by_login", self.inner.find_by_login(login)).await
    }
    async fn find_by_id(&self, id: &UserId) -> Result<Option<Person>, DirectoryError> {
        self.timed("find_by_id", self.inner.find_by_id(id)).await
    }
    async fn password_changed_at(&self, id: &UserId) -> Result<Option<i64>, DirectoryError> {
        self.timed("password_changed_at", self.inner.password_changed_at(id)).await
    }
    async fn check_password(
        &self,
        person: &Person,
        password: &SecretString,
    ) -> Result<PasswordCheck, DirectoryError> {
        self.timed("check_password", self.inner.check_password(person, password)).await
    }
    async fn decoy_password_check(&self, password: &SecretString) -> Result<(), DirectoryError> {
        // Reported as a password check: the metrics must not tell unknown logins apart either.
        self.timed("check_password", self.inner.decoy_password_check(password)).await
    }
    async fn add_phone(&self, person: &Person, number: &E164) -> Result<(), DirectoryError> {
        self.timed("add_phone", self.inner.add_phone(person, number)).await
    }
    async fn remove_phone(&self, person: &Person, number: &E164) -> Result<(), DirectoryError> {
        self.timed("remove_phone", self.inner.remove_phone(person, number)).await
    }
    async fn phone_owners(&self, number: &E164) -> Result<Vec<UserId>, DirectoryError> {
        self.timed("phone_owners", self.inner.phone_owners(number)).await
    }
    async fn is_admin(&self, person: &Person) -> Result<bool, DirectoryError> {
        self.timed("is_admin", self.inner.is_admin(person)).await
    }

    async fn groups(&self, person: &Person) -> Result<Vec<String>, DirectoryError> {
        self.timed("groups", self.inner.groups(person)).await
    }
    async fn search_people(&self, term: &str, limit: usize) -> Result<Vec<Person>, DirectoryError> {
        self.timed("search_people", self.inner.search_people(term, limit)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_in_the_text_format() {
        let m = Metrics::default();
        m.count("latchkey_sign_ins_total", vec![("method", "password".into())]);
        m.count("latchkey_sign_ins_total", vec![("method", "password".into())]);
        m.observe("latchkey_directory_seconds", vec![("op", "find_by_id".into())], 0.02);
        let text = m.render();
        assert!(text.contains("# TYPE latchkey_sign_ins_total counter"));
        assert!(text.contains("latchkey_sign_ins_total{method=\"password\"} 2"));
        assert!(
            text.contains("latchkey_directory_seconds_bucket{op=\"find_by_id\",le=\"0.01\"} 0")
        );
        assert!(
            text.contains("latchkey_directory_seconds_bucket{op=\"find_by_id\",le=\"0.025\"} 1")
        );
        assert!(
            text.contains("latchkey_directory_seconds_bucket{op=\"find_by_id\",le=\"+Inf\"} 1")
        );
        assert!(text.contains("latchkey_directory_seconds_count{op=\"find_by_id\"} 1"));
    }

    /// A sender whose texts go out and whose calls are refused as blocked (21216).
    struct CallsBlocked;

    #[async_trait]
    impl SmsSender for CallsBlocked {
        async fn send(&self, _: &E164, _: &str, _: u64) -> Result<SentText, SmsError> {
            Ok(SentText { provider_id: "SM1".into() })
        }
        async fn call(&self, _: &E164, _: &domain::voice::VoiceCall) -> Result<SentText, SmsError> {
            Err(SmsError::CallBlocked)
        }
        fn places_calls(&self) -> bool {
            true
        }
        async fn verify_credentials(&self) -> Result<String, SmsError> {
            Ok(String::new())
        }
    }

    #[tokio::test]
    async fn calls_are_timed_and_their_errors_counted_apart_from_texts() {
        let metrics = Metrics::default();
        let sms = MeteredSms { inner: Arc::new(CallsBlocked), metrics: metrics.clone() };
        let to = domain::phone::PhonePolicy::from_directory("+12015550123").unwrap();
        let call = domain::voice::test_call(app::i18n::Lang::En, "Latchkey");
        sms.send(&to, "hi", 60).await.unwrap();
        assert_eq!(sms.call(&to, &call).await.unwrap_err(), SmsError::CallBlocked);
        assert!(sms.places_calls());
        let text = metrics.render();
        assert!(text.contains("# TYPE latchkey_call_seconds histogram"), "{text}");
        assert!(text.contains("latchkey_call_seconds_count{outcome=\"error\"} 1"), "{text}");
        assert!(text.contains("latchkey_call_errors_total{code=\"21216\"} 1"), "{text}");
        assert!(text.contains("latchkey_sms_seconds_count{outcome=\"sent\"} 1"), "{text}");
        assert!(!text.contains("latchkey_sms_errors_total{"), "a call's error is not a text's");
        assert!(!text.contains("latchkey_sms_seconds_count{outcome=\"error\"}"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
