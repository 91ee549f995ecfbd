//! The LDAP directory adapter (ldap3).

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashSet;

use async_trait::async_trait;
use domain::phone::{E164, PhonePolicy};
use domain::{Probe, Unavailable};
use domain::{
    directory::{DirectoryError, PasswordCheck, Person, UserId, Username},
    ports::Directory,
};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use secrecy::{ExposeSecret, SecretString};

use crate::config::{DirectoryConfig, Flavour, PhoneFormat};
use crate::ldap_transport::{Transport, is_loopback_url, tls_client_config};

mod self_write;
pub use self_write::SelfWrite;

#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    #[error("cannot reach the directory at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: Box<ldap3::LdapError>,
    },
    #[error("the directory at {url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error(
        "the directory refused the service account {bind_dn} (result {rc}: {text}): check directory.bind_dn and directory.bind_password"
    )]
    ServiceBindRefused { bind_dn: String, rc: u32, text: String },
    #[error("directory operation failed: {0}")]
    Protocol(#[source] Box<ldap3::LdapError>),
    #[error(
        "TLS with the directory at {url} failed: {detail}: check directory.ca_certificates (the CA certificate, PEM, that signed the directory's certificate) and that the certificate names the host in directory.url"
    )]
    Tls { url: String, detail: String },
}

impl LdapError {
    /// The short, safe word a health endpoint may show.
    pub fn kind(&self) -> &'static str {
        match self {
            LdapError::Unreachable { .. } => "unreachable",
            LdapError::Timeout { .. } => "timeout",
            LdapError::ServiceBindRefused { .. } => "refused",
            LdapError::Protocol(_) => "protocol",
            LdapError::Tls { .. } => "tls",
        }
    }
}

/// What `latchkey check` found with a sample search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSearch {
    /// Entries under the base DN that have the login attribute (capped by the sample size).
    pub people_seen: usize,
    /// Of those, how many carry at least one phone value.
    pub with_phone: usize,
    /// Whether the admin group entry exists (None when no group is configured).
    pub admin_group_found: Option<bool>,
    /// Of those people, how many have a unique id the service account can read: people
    /// without one cannot sign in.
    pub with_id: usize,
    /// Of those people, how many have a display name the service account can read.
    pub with_name: usize,
}

/// Connections kept open between operations; a broken one is dropped, never handed out again.
#[derive(Debug)]
struct Pool {
    /// Bound as the service account: every search and write.
    idle: std::sync::Mutex<Vec<Ldap>>,
    permits: tokio::sync::Semaphore,
    /// Used for people's password binds and nothing else, so whoever the last bind left a
    /// connection bound as (a person, or anonymous after a refusal) never reads or writes.
    /// Reusing them spares each sign-in a TCP connection, and the directory a new one to set up.
    binders: std::sync::Mutex<Vec<Ldap>>,
    /// Connections opened since start: how tests see that they are reused.
    opened: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Clone)]
pub struct LdapDirectory {
    cfg: DirectoryConfig,
    pool: Arc<Pool>,
    /// The TLS client configuration when connections use TLS (`ldaps://` or StartTLS), or why
    /// it could not be built (configuration validation reports that first, at start-up).
    tls: Option<Result<Arc<rustls::ClientConfig>, String>>,
}

impl LdapDirectory {
    pub fn new(cfg: DirectoryConfig) -> Self {
        let pool = Arc::new(Pool {
            idle: std::sync::Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(cfg.pool_size.max(1)),
            binders: std::sync::Mutex::new(Vec::new()),
            opened: std::sync::atomic::AtomicU64::new(0),
        });
        let tls = match Transport::of(&cfg.url, cfg.starttls) {
            Transport::Plain => {
                if !is_loopback_url(&cfg.url) {
                    // Only reachable with directory.allow_plaintext = true.
                    tracing::warn!(url = %cfg.url, "the directory is reached without TLS: every password crosses the network readable");
                }
                None
            }
            Transport::Ldaps | Transport::StartTls => Some(tls_client_config(&cfg.ca_certificates)),
        };
        Self { cfg, pool, tls }
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.cfg
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_secs)
    }

    /// A fresh connection, not yet bound: over TLS (verified) unless the configuration says
    /// plain, and then nothing has been sent before TLS is up.
    async fn connect(&self) -> Result<Ldap, LdapError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(self.timeout());
        if let Some(tls) = &self.tls {
            let config = tls
                .clone()
                .map_err(|detail| LdapError::Tls { url: self.cfg.url.clone(), detail })?;
            settings = settings.set_config(config).set_starttls(
                Transport::of(&self.cfg.url, self.cfg.starttls) == Transport::StartTls,
            );
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.cfg.url)
            .await
            .map_err(|source| self.connect_error(source))?;
        ldap3::drive!(conn);
        self.pool.opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(ldap)
    }

    /// How many connections this adapter has opened to the directory (service and binds).
    pub fn connections_opened(&self) -> u64 {
        self.pool.opened.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn connect_error(&self, source: ldap3::LdapError) -> LdapError {
        let url = self.cfg.url.clone();
        match source {
            ldap3::LdapError::Timeout { .. } => {
                LdapError::Timeout { url, secs: self.cfg.timeout_secs }
            }
            // The handshake failed: tokio-rustls wraps the rustls error in an I/O error.
            ldap3::LdapError::Io { source }
                if source.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) =>
            {
                let detail = source.get_ref().map(ToString::to_string).unwrap_or_default();
                LdapError::Tls { url, detail }
            }
            // The StartTLS request itself was answered with an error.
            ldap3::LdapError::LdapResult { result } if self.cfg.starttls => LdapError::Tls {
                url,
                detail: format!(
                    "the directory refused StartTLS (result {}: {})",
                    result.rc,
                    rc_text(result.rc)
                ),
            },
            source => LdapError::Unreachable { url, source: Box::new(source) },
        }
    }

    /// A connection bound as the service account.
    pub async fn service_connection(&self) -> Result<Ldap, LdapError> {
        let mut ldap = self.connect().await?;
        let result = ldap
            .with_timeout(self.timeout())
            .simple_bind(&self.cfg.bind_dn, self.cfg.bind_password.expose_secret())
            .await
            .map_err(|e| self.op_error(e))?;
        if result.rc != 0 {
            return Err(LdapError::ServiceBindRefused {
                bind_dn: self.cfg.bind_dn.clone(),
                rc: result.rc,
                text: rc_text(result.rc).to_owned(),
            });
        }
        Ok(ldap)
    }

    fn op_error(&self, e: ldap3::LdapError) -> LdapError {
        match e {
            ldap3::LdapError::Timeout { .. } => {
                LdapError::Timeout { url: self.cfg.url.clone(), secs: self.cfg.timeout_secs }
            }
            other => LdapError::Protocol(Box::new(other)),
        }
    }

    /// Binds as the service account and reads the base entry: the cheapest proof that the
    /// directory answers and the configuration is right.
    pub async fn ping(&self) -> Result<(), LdapError> {
        let mut ldap = self.service_connection().await?;
        let outcome = ldap
            .with_timeout(self.timeout())
            .search(&self.cfg.base_dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .await
            .map_err(|e| self.op_error(e))
            .and_then(|r| r.success().map_err(|e| LdapError::Protocol(Box::new(e))));
        let _ = ldap.unbind().await;
        outcome.map(|_| ())
    }

    /// Looks at up to `sample` people: what `latchkey check` reports.
    pub async fn sample_search(&self, sample: i32) -> Result<SampleSearch, LdapError> {
        let mut ldap = self.service_connection().await?;
        let filter = format!("({}=*)", self.cfg.login_attribute);
        let result = ldap
            .with_timeout(self.timeout())
            .with_search_options(ldap3::SearchOptions::new().sizelimit(sample))
            .search(
                &self.cfg.base_dn,
                Scope::Subtree,
                &filter,
                vec![
                    self.cfg.login_attribute.as_str(),
                    self.cfg.phone_attribute.as_str(),
                    self.cfg.user_id_attribute.as_str(),
                    self.cfg.display_name_attribute.as_str(),
                ],
            )
            .await
            .map_err(|e| self.op_error(e))?;
        // rc 4 (size limit exceeded) is expected: we asked for a sample.
        if result.1.rc != 0 && result.1.rc != 4 {
            let _ = ldap.unbind().await;
            return Err(LdapError::Protocol(Box::new(ldap3::LdapError::LdapResult {
                result: result.1,
            })));
        }
        let entries: Vec<SearchEntry> = result.0.into_iter().map(SearchEntry::construct).collect();
        let with_phone = entries
            .iter()
            .filter(|e| values_of(e, &self.cfg.phone_attribute).is_some_and(|v| !v.is_empty()))
            .count();
        let with_id = entries.iter().filter(|e| self.read_id(e).is_some()).count();
        let with_name = entries
            .iter()
            .filter(|e| {
                values_of(e, &self.cfg.display_name_attribute).is_some_and(|v| !v.is_empty())
            })
            .count();
        let admin_group_found = if self.cfg.admin_group_dn.is_empty() {
            None
        } else {
            let found = ldap
                .with_timeout(self.timeout())
                .search(&self.cfg.admin_group_dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
                .await
                .map_err(|e| self.op_error(e))?;
            Some(found.1.rc == 0 && !found.0.is_empty())
        };
        let _ = ldap.unbind().await;
        Ok(SampleSearch {
            people_seen: entries.len(),
            with_phone,
            admin_group_found,
            with_id,
            with_name,
        })
    }
}

/// What the directory says it is, in its root DSE (`latchkey check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootDse {
    /// The flavour it looks like, if any of the three.
    pub flavour: Option<Flavour>,
    /// How it describes itself (vendor and version, or Active Directory's functional level).
    pub description: String,
}

/// Active Directory (and Samba as a domain controller) lists this capability.
const AD_CAPABILITY: &str = "1.2.840.113556.1.4.800";

/// Tells the flavour from a root DSE's attributes (names compared case-insensitively).
pub fn read_root_dse(attrs: &std::collections::HashMap<String, Vec<String>>) -> RootDse {
    let values = |name: &str| -> Vec<&str> {
        attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.iter().map(String::as_str))
            .collect()
    };
    let vendor = values("vendorName").join(" ");
    let version = values("vendorVersion").join(" ");
    let description = |fallback: &str| {
        let text = format!("{vendor} {version}");
        let text = text.trim();
        if text.is_empty() { fallback.to_owned() } else { text.to_owned() }
    };
    if values("supportedCapabilities").contains(&AD_CAPABILITY) {
        let level = values("domainControllerFunctionality").join("");
        return RootDse {
            flavour: Some(Flavour::ActiveDirectory),
            description: format!("Active Directory (domain controller functional level {level})"),
        };
    }
    if vendor.contains("389 Project") || version.starts_with("389-Directory") {
        return RootDse { flavour: Some(Flavour::Dirsrv389), description: description("389") };
    }
    if values("objectClass").iter().any(|c| c.eq_ignore_ascii_case("OpenLDAProotDSE")) {
        return RootDse { flavour: Some(Flavour::OpenLdap), description: description("OpenLDAP") };
    }
    RootDse { flavour: None, description: description("an unknown directory server") }
}

impl LdapDirectory {
    /// Reads the root DSE as the service account and tells which directory this is.
    pub async fn root_dse(&self) -> Result<RootDse, LdapError> {
        let mut ldap = self.service_connection().await?;
        let found = ldap
            .with_timeout(self.timeout())
            .search(
                "",
                Scope::Base,
                "(objectClass=*)",
                vec![
                    "objectClass",
                    "vendorName",
                    "vendorVersion",
                    "supportedCapabilities",
                    "domainControllerFunctionality",
                ],
            )
            .await
            .map_err(|e| self.op_error(e));
        let _ = ldap.unbind().await;
        let ldap3::SearchResult(entries, result) = found?;
        if result.rc != 0 {
            return Err(LdapError::Protocol(Box::new(ldap3::LdapError::LdapResult { result })));
        }
        let attrs = entries.into_iter().next().map(|e| SearchEntry::construct(e).attrs);
        Ok(read_root_dse(&attrs.unwrap_or_default()))
    }
}

#[async_trait]
impl Probe for LdapDirectory {
    /// Reads the base entry on a pooled service connection, like every other operation: a
    /// readiness check must not cost a new connection and bind each time (`latchkey check`
    /// still proves a fresh bind with [`LdapDirectory::ping`]). A dead pooled connection is
    /// replaced by a fresh one, so the probe still follows the directory down and back up.
    async fn probe(&self) -> Result<(), Unavailable> {
        let timeout = self.timeout();
        let base = self.cfg.base_dn.clone();
        let read_base = self.with_connection(|mut ldap| {
            let base = base.clone();
            async move {
                ldap.with_timeout(timeout)
                    .search(&base, Scope::Base, "(objectClass=*)", vec!["1.1"])
                    .await?
                    .success()
                    .map(|_| ())
            }
        });
        // Each step has its own timeout; this one bounds the wait for a pool permit as well.
        let outcome = match tokio::time::timeout(timeout.saturating_mul(2), read_base).await {
            Ok(outcome) => outcome,
            Err(_) => {
                Err(LdapError::Timeout { url: self.cfg.url.clone(), secs: self.cfg.timeout_secs })
            }
        };
        outcome.map_err(|e| {
            tracing::warn!(error = %e, url = %self.cfg.url, "directory probe failed");
            Unavailable { kind: e.kind() }
        })
    }
}

/// The name of an LDAP result code, for operator messages.
pub fn rc_text(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        4 => "size limit exceeded",
        16 => "no such attribute",
        20 => "attribute or value exists",
        32 => "no such object",
        34 => "invalid DN syntax",
        48 => "inappropriate authentication",
        49 => "invalid credentials",
        50 => "insufficient access rights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwilling to perform",
        _ => "other error",
    }
}

/// Active Directory's `LDAP_MATCHING_RULE_IN_CHAIN`: membership through nested groups.
const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// OpenLDAP's password policy control (draft-behera-ldap-password-policy).
const PPOLICY_OID: &str = "1.3.6.1.4.1.42.2.27.8.5.1";

/// The `error` of a password policy response: `[1] ENUMERATED` inside the SEQUENCE.
/// 0 = passwordExpired, 1 = accountLocked. Only that element is read; anything malformed is
/// ignored (it only refines a log line).
fn ppolicy_error(value: &[u8]) -> Option<u8> {
    let (&tag, rest) = value.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&len, mut rest) = rest.split_first()?;
    if len & 0x80 != 0 {
        rest = rest.get(usize::from(len & 0x7f)..)?;
    }
    while let [tag, len, tail @ ..] = rest {
        let len = usize::from(*len);
        let content = tail.get(..len)?;
        if *tag == 0x81 && len == 1 {
            return Some(content[0]);
        }
        rest = tail.get(len..)?;
    }
    None
}

/// 389 Directory Server's "password expired" response control: on a successful bind, the
/// password was reset and must be changed before anything else is allowed.
const PASSWORD_EXPIRED_OID: &str = "2.16.840.1.113730.3.4.4";

/// What a bind's answer means: its result code, the password-policy control's error
/// (0 passwordExpired, 1 accountLocked, 2 changeAfterReset), whether 389-ds's password-expired
/// control came back, and the diagnostic text, where Active Directory writes its reason as
/// `…, data 773, …`.
fn password_check(
    rc: u32,
    ppolicy: Option<u8>,
    expired_control: bool,
    text: &str,
) -> PasswordCheck {
    match (rc, ppolicy) {
        // changeAfterReset comes only with a successful bind: the password was right.
        (0, Some(2)) => PasswordCheck::MustChangePassword,
        (0, Some(0)) => PasswordCheck::PasswordExpired,
        (0, _) if expired_control => PasswordCheck::MustChangePassword,
        (0, _) => PasswordCheck::Accepted,
        (49, Some(1)) => PasswordCheck::AccountLocked,
        (49, Some(0)) => PasswordCheck::PasswordExpired,
        (49, _) => match ad_data_code(text) {
            // AD says 773 only after the password checked out.
            Some("773") => PasswordCheck::MustChangePassword,
            Some("775") => PasswordCheck::AccountLocked,
            Some("532") => PasswordCheck::PasswordExpired,
            Some("533" | "701") => PasswordCheck::AccountDisabled,
            _ => PasswordCheck::WrongPassword,
        },
        // 389-ds refuses a locked-out entry with constraintViolation, "Exceed password retry
        // limit. Please try later." (its passwordLockout policy).
        (19, _) if text.to_ascii_lowercase().contains("retry limit") => {
            PasswordCheck::AccountLocked
        }
        // 389-ds's nsAccountLock: "Account inactivated. Contact system administrator."
        (53, _) if text.to_ascii_lowercase().contains("inactivated") => {
            PasswordCheck::AccountDisabled
        }
        (rc, _) => PasswordCheck::Refused(rc),
    }
}

/// The `data` code of an Active Directory bind error
/// (`80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563`).
fn ad_data_code(text: &str) -> Option<&str> {
    let rest = &text[text.find(", data ")? + ", data ".len()..];
    let end = rest.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// An attribute's values: attribute names are case-insensitive, and directories answer with
/// their schema's spelling (`sAMAccountName`), whatever the configuration wrote.
fn values_of<'e>(entry: &'e SearchEntry, attr: &str) -> Option<&'e Vec<String>> {
    entry.attrs.get(attr).or_else(|| {
        entry.attrs.iter().find(|(name, _)| name.eq_ignore_ascii_case(attr)).map(|(_, v)| v)
    })
}

/// Whether an ldap3 error means the connection is unusable (as opposed to an LDAP result).
fn is_connection_error(e: &ldap3::LdapError) -> bool {
    !matches!(e, ldap3::LdapError::LdapResult { .. })
}

/// Drops every connection of `list`: one was found closed, so the directory went away and the
/// others are as dead.
fn forget_all(list: &std::sync::Mutex<Vec<Ldap>>) {
    list.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
}

/// The newest connection of `list` that is still open.
fn take_open(list: &std::sync::Mutex<Vec<Ldap>>) -> Option<Ldap> {
    let mut list = list.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    while let Some(mut ldap) = list.pop() {
        if !ldap.is_closed() {
            return Some(ldap);
        }
    }
    None
}

/// Keeps `ldap` in `list` for the next operation, unless it is closed or `list` holds `max`
/// already (the handle is dropped then, which closes the connection).
fn give_back_to(list: &std::sync::Mutex<Vec<Ldap>>, mut ldap: Ldap, max: usize) {
    if ldap.is_closed() {
        return;
    }
    let mut list = list.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if list.len() < max {
        list.push(ldap);
    }
}

impl LdapDirectory {
    /// Runs `op` on a pooled service connection. A connection that fails at the transport level
    /// is dropped and the operation tried once more on a fresh one, so a restarted directory
    /// is used again at the next call. Every operation passed here is idempotent.
    async fn with_connection<T, F, Fut>(&self, op: F) -> Result<T, LdapError>
    where
        F: Fn(Ldap) -> Fut,
        Fut: std::future::Future<Output = Result<T, ldap3::LdapError>>,
    {
        let _permit = self.pool.permits.acquire().await.map_err(|_| LdapError::Timeout {
            url: self.cfg.url.clone(),
            secs: self.cfg.timeout_secs,
        })?;
        let mut last_error = None;
        for _attempt in 0..2 {
            let ldap = match self.take_idle() {
                Some(ldap) => ldap,
                None => self.service_connection().await?,
            };
            match op(ldap.clone()).await {
                Ok(value) => {
                    self.give_back(ldap);
                    return Ok(value);
                }
                Err(ldap3::LdapError::Timeout { .. }) => {
                    return Err(LdapError::Timeout {
                        url: self.cfg.url.clone(),
                        secs: self.cfg.timeout_secs,
                    });
                }
                Err(e) if is_connection_error(&e) => {
                    // The server went away (restart, idle timeout): every idle connection is
                    // as dead as this one. Try once more on a fresh one.
                    tracing::info!(error = %e, url = %self.cfg.url, "directory connection lost; reconnecting");
                    forget_all(&self.pool.idle);
                    last_error = Some(e);
                }
                Err(e) => {
                    self.give_back(ldap);
                    return Err(LdapError::Protocol(Box::new(e)));
                }
            }
        }
        Err(self.lost(last_error))
    }

    /// The error after two attempts, each on a connection that turned out lost.
    fn lost(&self, last_error: Option<ldap3::LdapError>) -> LdapError {
        match last_error {
            Some(e) => LdapError::Unreachable { url: self.cfg.url.clone(), source: Box::new(e) },
            None => LdapError::Timeout { url: self.cfg.url.clone(), secs: self.cfg.timeout_secs },
        }
    }

    fn take_idle(&self) -> Option<Ldap> {
        take_open(&self.pool.idle)
    }

    fn give_back(&self, ldap: Ldap) {
        give_back_to(&self.pool.idle, ldap, self.cfg.pool_size);
    }

    /// A simple bind as `dn` with the password-policy control, on a connection kept for binds.
    /// A kept connection the directory has closed meanwhile (a restart, its idle timeout)
    /// fails before the bind reaches it, so the bind is sent once more on a fresh one; a
    /// fresh connection's failure, or a timeout, is the answer.
    async fn bind_as(&self, dn: &str, password: &str) -> Result<ldap3::LdapResult, LdapError> {
        let mut last_error = None;
        for _attempt in 0..2 {
            let (mut ldap, kept) = match take_open(&self.pool.binders) {
                Some(ldap) => (ldap, true),
                None => (self.connect().await?, false),
            };
            let outcome = ldap
                .with_timeout(self.timeout())
                .with_controls(RawControl { ctype: PPOLICY_OID.into(), crit: false, val: None })
                .simple_bind(dn, password)
                .await;
            match outcome {
                Ok(result) => {
                    give_back_to(&self.pool.binders, ldap, self.cfg.pool_size);
                    return Ok(result);
                }
                Err(e)
                    if kept
                        && is_connection_error(&e)
                        && !matches!(e, ldap3::LdapError::Timeout { .. }) =>
                {
                    tracing::info!(error = %e, url = %self.cfg.url, "directory connection for binds lost; reconnecting");
                    forget_all(&self.pool.binders);
                    last_error = Some(e);
                }
                Err(e) => return Err(self.op_error(e)),
            }
        }
        // Both attempts were on kept connections (another bind put one back in between) and
        // both were lost.
        Err(self.lost(last_error))
    }

    /// Entries whose login attribute, or any other attribute people may sign in with, is
    /// exactly `login`.
    fn login_filter(&self, login: &str) -> String {
        let value = ldap3::ldap_escape(login);
        let terms: Vec<String> =
            self.cfg.login_attributes().map(|attr| format!("({attr}={value})")).collect();
        match terms.as_slice() {
            [one] => one.clone(),
            _ => format!("(|{})", terms.concat()),
        }
    }

    /// A filter matching groups that hold `dn` as a member: directly, or on Active Directory
    /// through groups in groups (`LDAP_MATCHING_RULE_IN_CHAIN`) when nested groups are on.
    fn member_filter(&self, dn: &str) -> String {
        let dn = ldap3::ldap_escape(dn);
        if self.cfg.follows_nested_groups() {
            format!("(member:{IN_CHAIN}:={dn})")
        } else {
            // groupOfNames (OpenLDAP, 389-ds, Active Directory) and groupOfUniqueNames.
            format!("(|(member={dn})(uniqueMember={dn}))")
        }
    }

    fn person_attributes(&self) -> Vec<String> {
        let c = &self.cfg;
        vec![
            c.user_id_attribute.clone(),
            c.login_attribute.clone(),
            c.display_name_attribute.clone(),
            "mail".into(),
            "preferredLanguage".into(),
            c.phone_attribute.clone(),
        ]
    }

    fn to_person(&self, entry: SearchEntry) -> Option<Person> {
        let c = &self.cfg;
        let first = |attr: &str| values_of(&entry, attr).and_then(|v| v.first()).cloned();
        let Some(id) = self.read_id(&entry) else {
            tracing::warn!(dn = %entry.dn, attribute = %c.user_id_attribute, "an entry has no readable unique id; ignored (check directory.user_id_attribute)");
            return None;
        };
        let login = first(&c.login_attribute)?;
        let mut phones: Vec<E164> = Vec::new();
        for value in values_of(&entry, &c.phone_attribute).into_iter().flatten() {
            match PhonePolicy::from_directory(value) {
                Some(n) if !phones.contains(&n) => phones.push(n),
                Some(_) => {}
                None => {
                    tracing::debug!(dn = %entry.dn, "a phone value is not a phone number; ignored")
                }
            }
        }
        Some(Person {
            id: UserId(id),
            display_name: first(&c.display_name_attribute).unwrap_or_else(|| login.clone()),
            login,
            mail: first("mail"),
            language: first("preferredLanguage")
                .and_then(|tags| app::i18n::Lang::from_accept_language(&tags)),
            dn: entry.dn,
            phones,
        })
    }

    /// Everyone under the base DN with a login and a phone value, read page by page (a
    /// directory may hold more people than one search may return).
    pub async fn people_with_phones(&self) -> Result<Vec<Person>, LdapError> {
        let c = &self.cfg;
        let filter = format!("(&({}=*)({}=*))", c.login_attribute, c.phone_attribute);
        let attrs = self.person_attributes();
        let mut ldap = self.service_connection().await?;
        let adapters: Vec<Box<dyn Adapter<_, _>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(100))];
        let searched = async {
            let mut stream = ldap
                .with_timeout(self.timeout())
                .streaming_search_with(adapters, &c.base_dn, Scope::Subtree, &filter, attrs)
                .await?;
            let mut people = Vec::new();
            while let Some(entry) = stream.next().await? {
                people.extend(self.to_person(SearchEntry::construct(entry)));
            }
            stream.finish().await.success()?;
            Ok(people)
        }
        .await
        .map_err(|e| self.op_error(e));
        let _ = ldap.unbind().await;
        searched
    }

    /// One search under the base DN for people matching `filter`, at most `limit`.
    async fn find_people(&self, filter: String, limit: i32) -> Result<Vec<Person>, LdapError> {
        let attrs = self.person_attributes();
        let base = self.cfg.base_dn.clone();
        let timeout = self.timeout();
        let entries = self
            .with_connection(|mut ldap| {
                let (filter, attrs, base) = (filter.clone(), attrs.clone(), base.clone());
                async move {
                    let (entries, result) = ldap
                        .with_timeout(timeout)
                        .with_search_options(ldap3::SearchOptions::new().sizelimit(limit))
                        .search(&base, Scope::Subtree, &filter, attrs)
                        .await?
                        .non_error()?;
                    // 4: size limit exceeded, which we asked for.
                    if result.rc != 0 && result.rc != 4 {
                        return Err(ldap3::LdapError::LdapResult { result });
                    }
                    Ok(entries)
                }
            })
            .await?;
        Ok(entries
            .into_iter()
            .map(SearchEntry::construct)
            .filter_map(|e| self.to_person(e))
            .collect())
    }

    /// The entry's unique id: the text of the id attribute, or, for a binary GUID attribute
    /// (Active Directory's `objectGUID`), its canonical string.
    fn read_id(&self, entry: &SearchEntry) -> Option<String> {
        let attr = &self.cfg.user_id_attribute;
        if !is_guid_attribute(attr) {
            return values_of(entry, attr).and_then(|v| v.first()).cloned();
        }
        // ldap3 files a value as text when its bytes happen to be UTF-8, so look in both.
        let named = |name: &String| name.eq_ignore_ascii_case(attr);
        let bytes = entry
            .bin_attrs
            .iter()
            .find(|(name, _)| named(name))
            .and_then(|(_, v)| v.first().cloned())
            .or_else(|| {
                entry
                    .attrs
                    .iter()
                    .find(|(name, _)| named(name))
                    .and_then(|(_, v)| v.first())
                    .map(|text| text.as_bytes().to_vec())
            })?;
        guid_string(&bytes)
    }

    /// The filter that finds the entry with this id, if it can be one.
    fn id_filter(&self, id: &UserId) -> Option<String> {
        let attr = &self.cfg.user_id_attribute;
        if is_guid_attribute(attr) {
            let escaped: String =
                guid_bytes(id.as_str())?.iter().map(|b| format!("\\{b:02x}")).collect();
            Some(format!("({attr}={escaped})"))
        } else {
            Some(format!("({attr}={})", ldap3::ldap_escape(id.as_str())))
        }
    }

    fn phone_filter(&self, number: &E164) -> String {
        let attr = &self.cfg.phone_attribute;
        format!(
            "(|({attr}={})({attr}={}))",
            ldap3::ldap_escape(number.as_str()),
            ldap3::ldap_escape(number.digits())
        )
    }

    /// One modify of the person's phone attribute, treating `tolerated` as done.
    async fn modify_phone(
        &self,
        dn: &str,
        change: Mod<String>,
        tolerated: u32,
    ) -> Result<(), LdapError> {
        let timeout = self.timeout();
        self.with_connection(|mut ldap| {
            let change = change.clone();
            async move {
                let result = ldap.with_timeout(timeout).modify(dn, vec![change]).await?;
                if result.rc == 0 || result.rc == tolerated {
                    Ok(())
                } else {
                    Err(ldap3::LdapError::LdapResult { result })
                }
            }
        })
        .await
    }

    fn stored_value(&self, number: &E164) -> String {
        match self.cfg.phone_format {
            PhoneFormat::E164 => number.as_str().to_owned(),
            PhoneFormat::Digits => number.digits().to_owned(),
        }
    }
}

/// Where directories keep the time of the last password change: `pwdChangedTime` (password
/// policy overlay of OpenLDAP, 389-ds; generalized time) and `pwdLastSet` (Active Directory;
/// Windows FILETIME).
const PASSWORD_CHANGED_ATTRIBUTES: [&str; 2] = ["pwdChangedTime", "pwdLastSet"];

/// An LDAP generalized time (`20240131235959Z`, with optional fraction and `±hhmm` offset) as
/// Unix seconds; `None` when it is not one.
pub fn parse_generalized_time(value: &str) -> Option<i64> {
    let v = value.trim();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse::<i64>().ok())?;
    if v.len() < 15 || !v.is_char_boundary(14) {
        return None;
    }
    let (date, rest) = v.split_at(14);
    let field = |from: usize, to: usize| digits(&date[from..to]);
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (hour, minute, second) = (field(8, 10)?, field(10, 12)?, field(12, 14)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // A fraction of a second changes nothing here.
    let rest = match rest.strip_prefix(['.', ',']) {
        Some(frac) => frac.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    let offset = match rest {
        "Z" => 0,
        _ if rest.len() == 5 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let (h, m) = (digits(&rest[1..3])?, digits(&rest[3..5])?);
            let secs = h * 3600 + m * 60;
            if rest.starts_with('-') { -secs } else { secs }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm), then seconds.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Active Directory's `pwdLastSet` (100 ns intervals since 1601-01-01 UTC) as Unix seconds;
/// `None` for 0 ("must change at next logon": no change time) and values that are not one.
pub fn parse_filetime(value: &str) -> Option<i64> {
    const UNIX_EPOCH_AS_FILETIME_SECS: i64 = 11_644_473_600;
    let ticks: i64 = value.trim().parse().ok()?;
    (ticks > 0).then(|| ticks / 10_000_000 - UNIX_EPOCH_AS_FILETIME_SECS)
}

/// Whether the id attribute holds a binary GUID: Active Directory's `objectGUID` (16 bytes).
fn is_guid_attribute(attr: &str) -> bool {
    attr.eq_ignore_ascii_case("objectGUID")
}

/// 16 bytes in Active Directory's order as the canonical GUID string, lower case, no braces:
/// the first three groups are stored little-endian, the last two as they are.
fn guid_string(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// The reverse of [`guid_string`]: the 16 stored bytes of a canonical GUID string (either
/// case); `None` for anything else.
fn guid_bytes(guid: &str) -> Option<[u8; 16]> {
    let g = guid.as_bytes();
    if g.len() != 36 || [8, 13, 18, 23].iter().any(|&i| g[i] != b'-') {
        return None;
    }
    let hex: Vec<u8> = g.iter().copied().filter(|&c| c != b'-').collect();
    // Digits only: from_str_radix would take a sign.
    if hex.len() != 32 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut text = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        text[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    // Text order to AD's byte order: reverse the first three groups.
    let t = text;
    Some([
        t[3], t[2], t[1], t[0], t[5], t[4], t[7], t[6], t[8], t[9], t[10], t[11], t[12], t[13],
        t[14], t[15],
    ])
}

/// Converts an adapter error for the domain, logging the details once, here.
fn domain_error(e: LdapError, what: &str) -> DirectoryError {
    match &e {
        LdapError::Protocol(inner) => match inner.as_ref() {
            ldap3::LdapError::LdapResult { result } if result.rc == 32 => {
                tracing::warn!(error = %e, "{what}: no such entry");
                DirectoryError::NoSuchPerson
            }
            ldap3::LdapError::LdapResult { result } if matches!(result.rc, 50 | 53 | 19 | 21) => {
                tracing::error!(error = %e, rc = result.rc, "{what}: the directory refused the change; check the service account's access to the phone attribute");
                DirectoryError::Refused
            }
            _ => {
                tracing::error!(error = %e, "{what} failed");
                DirectoryError::Unavailable
            }
        },
        _ => {
            tracing::error!(error = %e, "{what}: directory unavailable");
            DirectoryError::Unavailable
        }
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    #[tracing::instrument(skip_all)]
    async fn find_by_login(&self, login: &Username) -> Result<Option<Person>, DirectoryError> {
        let filter = self.login_filter(login.as_str());
        let mut people =
            self.find_people(filter, 2).await.map_err(|e| domain_error(e, "finding a person"))?;
        if people.len() > 1 {
            tracing::error!(
                login = login.as_str(),
                "two entries share this login; refusing to guess which one"
            );
            return Ok(None);
        }
        Ok(people.pop())
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<Person>, DirectoryError> {
        // An id that cannot be one of ours (say, not a GUID for objectGUID) finds nobody.
        let Some(filter) = self.id_filter(id) else {
            return Ok(None);
        };
        let mut people = self
            .find_people(filter, 2)
            .await
            .map_err(|e| domain_error(e, "finding a person by id"))?;
        Ok(if people.len() == 1 { people.pop() } else { None })
    }

    #[tracing::instrument(skip_all)]
    async fn password_changed_at(&self, id: &UserId) -> Result<Option<i64>, DirectoryError> {
        // By id as find_by_id does (a binary objectGUID is matched by its escaped bytes).
        let Some(filter) = self.id_filter(id) else {
            return Err(DirectoryError::NoSuchPerson);
        };
        let base = self.cfg.base_dn.clone();
        let timeout = self.timeout();
        let entries = self
            .with_connection(|mut ldap| {
                let (filter, base) = (filter.clone(), base.clone());
                async move {
                    // Operational attributes come only when named.
                    let (entries, result) = ldap
                        .with_timeout(timeout)
                        .with_search_options(ldap3::SearchOptions::new().sizelimit(2))
                        .search(
                            &base,
                            Scope::Subtree,
                            &filter,
                            PASSWORD_CHANGED_ATTRIBUTES.to_vec(),
                        )
                        .await?
                        .non_error()?;
                    // 4: size limit exceeded, which we asked for.
                    if result.rc != 0 && result.rc != 4 {
                        return Err(ldap3::LdapError::LdapResult { result });
                    }
                    Ok(entries)
                }
            })
            .await
            .map_err(|e| domain_error(e, "reading when a password changed"))?;
        let mut entries = entries;
        if entries.len() != 1 {
            return Err(DirectoryError::NoSuchPerson);
        }
        let entry = SearchEntry::construct(entries.remove(0));
        let value = |attr: &str| {
            entry
                .attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .and_then(|(_, v)| v.first())
        };
        Ok(value("pwdChangedTime")
            .and_then(|v| parse_generalized_time(v))
            .or_else(|| value("pwdLastSet").and_then(|v| parse_filetime(v))))
    }

    #[tracing::instrument(skip_all, fields(dn = %person.dn))]
    async fn check_password(
        &self,
        person: &Person,
        password: &SecretString,
    ) -> Result<PasswordCheck, DirectoryError> {
        // An empty password would be an unauthenticated bind, which succeeds: never send one.
        if password.expose_secret().is_empty() {
            return Ok(PasswordCheck::WrongPassword);
        }
        // On a connection kept for binds: binding changes the identity of a connection and
        // all its clones, so these never carry a search or a write.
        let result = self
            .bind_as(&person.dn, password.expose_secret())
            .await
            .map_err(|e| domain_error(e, "checking a password"))?;
        let ppolicy = result
            .ctrls
            .iter()
            .find(|c| c.1.ctype == PPOLICY_OID)
            .and_then(|c| c.1.val.as_deref())
            .and_then(ppolicy_error);
        let expired_control = result.ctrls.iter().any(|c| c.1.ctype == PASSWORD_EXPIRED_OID);
        let check = password_check(result.rc, ppolicy, expired_control, &result.text);
        match check {
            PasswordCheck::Accepted | PasswordCheck::WrongPassword => {}
            other => {
                tracing::warn!(result = ?other, "password check refused for a reason the person is not told")
            }
        }
        Ok(check)
    }

    async fn decoy_password_check(&self, password: &SecretString) -> Result<(), DirectoryError> {
        if password.expose_secret().is_empty() {
            return Ok(());
        }
        // A random RDN under the base: no entry, so the directory answers 49 after the same
        // connection and bind work a real check does, and no real entry's lockout is touched.
        let dn = format!(
            "cn=latchkey-decoy-{},{}",
            domain::tokens::random_token(8),
            self.config().base_dn
        );
        self.bind_as(&dn, password.expose_secret())
            .await
            .map_err(|e| domain_error(e, "checking a password"))?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(dn = %person.dn, number = %number))]
    async fn add_phone(&self, person: &Person, number: &E164) -> Result<(), DirectoryError> {
        let current = self.find_by_id(&person.id).await?.ok_or(DirectoryError::NoSuchPerson)?;
        if current.phones.contains(number) {
            return Ok(());
        }
        let value = self.stored_value(number);
        let change = Mod::Add(self.cfg.phone_attribute.clone(), HashSet::from([value]));
        // 20: the value is already there (a parallel add won): done.
        self.modify_phone(&person.dn, change, 20)
            .await
            .map_err(|e| domain_error(e, "adding a phone"))
    }

    #[tracing::instrument(skip_all, fields(dn = %person.dn, number = %number))]
    async fn remove_phone(&self, person: &Person, number: &E164) -> Result<(), DirectoryError> {
        // Delete the exact stored values (E.164 or digits) that are this number.
        let attr = self.cfg.phone_attribute.clone();
        let dn = person.dn.clone();
        let timeout = self.timeout();
        let values = self
            .with_connection(|mut ldap| {
                let (attr, dn) = (attr.clone(), dn.clone());
                async move {
                    let (entries, _) = ldap
                        .with_timeout(timeout)
                        .search(&dn, Scope::Base, "(objectClass=*)", vec![attr.as_str()])
                        .await?
                        .success()?;
                    Ok(entries.into_iter().map(SearchEntry::construct).next())
                }
            })
            .await
            .map_err(|e| domain_error(e, "reading phones before removal"))?
            .ok_or(DirectoryError::NoSuchPerson)?
            .attrs
            .remove(&attr)
            .unwrap_or_default();
        for value in
            values.into_iter().filter(|v| PhonePolicy::from_directory(v).as_ref() == Some(number))
        {
            let change = Mod::Delete(attr.clone(), HashSet::from([value]));
            // 16: the value is already gone (a parallel removal won): done.
            self.modify_phone(&dn, change, 16)
                .await
                .map_err(|e| domain_error(e, "removing a phone"))?;
        }
        Ok(())
    }

    async fn phone_owners(&self, number: &E164) -> Result<Vec<UserId>, DirectoryError> {
        let people = self
            .find_people(self.phone_filter(number), 10)
            .await
            .map_err(|e| domain_error(e, "looking up a number"))?;
        Ok(people.into_iter().map(|p| p.id).collect())
    }

    async fn is_admin(&self, person: &Person) -> Result<bool, DirectoryError> {
        if self.cfg.admin_group_dn.is_empty() {
            return Ok(false);
        }
        let group = self.cfg.admin_group_dn.clone();
        let filter = self.member_filter(&person.dn);
        let timeout = self.timeout();
        self.with_connection(|mut ldap| {
            let (group, filter) = (group.clone(), filter.clone());
            async move {
                let ldap3::SearchResult(entries, result) = ldap
                    .with_timeout(timeout)
                    .search(&group, Scope::Base, &filter, vec!["1.1"])
                    .await?;
                match result.rc {
                    0 => Ok(!entries.is_empty()),
                    // The group does not exist, so nobody is in it.
                    32 => Ok(false),
                    _ => Err(ldap3::LdapError::LdapResult { result }),
                }
            }
        })
        .await
        .map_err(|e| domain_error(e, "checking administrator membership"))
    }

    async fn groups(&self, person: &Person) -> Result<Vec<String>, DirectoryError> {
        let filter = self.member_filter(&person.dn);
        let base = if self.cfg.group_base_dn.is_empty() {
            self.cfg.base_dn.clone()
        } else {
            self.cfg.group_base_dn.clone()
        };
        let timeout = self.timeout();
        let entries = self
            .with_connection(|mut ldap| {
                let (base, filter) = (base.clone(), filter.clone());
                async move {
                    let ldap3::SearchResult(entries, result) = ldap
                        .with_timeout(timeout)
                        .search(&base, Scope::Subtree, &filter, vec!["cn"])
                        .await?;
                    match result.rc {
                        // 4: size limit; the groups found so far are still the person's.
                        0 | 4 => Ok(entries),
                        _ => Err(ldap3::LdapError::LdapResult { result }),
                    }
                }
            })
            .await
            .map_err(|e| domain_error(e, "listing group memberships"))?;
        let mut names: Vec<String> = entries
            .into_iter()
            .filter_map(|entry| {
                ldap3::SearchEntry::construct(entry).attrs.remove("cn")?.into_iter().next()
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn search_people(&self, term: &str, limit: usize) -> Result<Vec<Person>, DirectoryError> {
        let c = &self.cfg;
        let t = ldap3::ldap_escape(term.trim());
        let logins: String = c.login_attributes().map(|a| format!("({a}=*{t}*)")).collect();
        let filter = format!(
            "(&({login}=*)(|{logins}({name}=*{t}*)(mail=*{t}*)))",
            login = c.login_attribute,
            name = c.display_name_attribute
        );
        let attrs = self.person_attributes();
        let base = c.base_dn.clone();
        let timeout = self.timeout();
        let entries = self
            .with_connection(|mut ldap| {
                let (filter, attrs, base) = (filter.clone(), attrs.clone(), base.clone());
                async move {
                    let adapters: Vec<Box<dyn Adapter<_, _>>> =
                        vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(100))];
                    let mut stream = ldap
                        .with_timeout(timeout)
                        .streaming_search_with(adapters, &base, Scope::Subtree, &filter, attrs)
                        .await?;
                    let mut entries = Vec::new();
                    while entries.len() < limit {
                        match stream.next().await? {
                            Some(entry) => entries.push(entry),
                            None => break,
                        }
                    }
                    if entries.len() >= limit {
                        // Enough: ask the server to stop sending the rest.
                        let handle = stream.ldap_handle();
                        let msgid = handle.last_id();
                        let _ = handle.abandon(msgid).await;
                    } else {
                        stream.finish().await.non_error()?;
                    }
                    Ok(entries)
                }
            })
            .await
            .map_err(|e| domain_error(e, "searching people"))?;
        Ok(entries
            .into_iter()
            .map(SearchEntry::construct)
            .filter_map(|e| self.to_person(e))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_read_in_active_directory_byte_order_and_back() {
        // The example of MS-DTYP 2.3.4.3 as AD stores it.
        let stored = [
            0x7a, 0x3e, 0x5c, 0x6b, 0xa9, 0x3c, 0xd0, 0x11, 0x8b, 0x2a, 0x00, 0xa0, 0xc9, 0x0a,
            0x3c, 0x52,
        ];
        let text = guid_string(&stored).unwrap();
        assert_eq!(text, "6b5c3e7a-3ca9-11d0-8b2a-00a0c90a3c52");
        assert_eq!(guid_bytes(&text), Some(stored));
        assert_eq!(guid_bytes(&text.to_uppercase()), Some(stored));
        assert_eq!(guid_string(&stored[..15]), None);
        for junk in [
            "",
            "6b5c3e7a3ca911d08b2a00a0c90a3c52",
            "6b5c3e7a-3ca9-11d0-8b2a-00a0c90a3c5g",
            "{6b5c3e7a-3ca9-11d0-8b2a-00a0c90a3c52}",
            "6b5c3e7a-3ca9-11d0-8b2a-00a0c90a3c5+",
            "6b5c3e7a-3ca9-11d0-8b2a-00a0c90a-c52",
            "6b5c3e7a-3ca9-11d0-8b2a-00a0c90a3cé",
        ] {
            assert_eq!(guid_bytes(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn maps_every_directory_s_bind_answer() {
        use PasswordCheck::*;
        assert_eq!(password_check(0, None, false, ""), Accepted);
        assert_eq!(password_check(0, Some(2), false, ""), MustChangePassword, "ppolicy reset");
        assert_eq!(password_check(0, Some(0), false, ""), PasswordExpired);
        assert_eq!(password_check(0, None, true, ""), MustChangePassword, "389-ds reset");
        assert_eq!(password_check(49, Some(1), false, ""), AccountLocked);
        assert_eq!(password_check(49, Some(2), false, ""), WrongPassword, "not proven right");
        assert_eq!(password_check(49, None, false, ""), WrongPassword);
        let ad = |code: &str| {
            format!(
                "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {code}, v4563"
            )
        };
        assert_eq!(password_check(49, None, false, &ad("52e")), WrongPassword);
        assert_eq!(password_check(49, None, false, &ad("773")), MustChangePassword);
        assert_eq!(password_check(49, None, false, &ad("775")), AccountLocked);
        assert_eq!(password_check(49, None, false, &ad("532")), PasswordExpired);
        assert_eq!(password_check(49, None, false, &ad("533")), AccountDisabled);
        assert_eq!(password_check(49, None, false, &ad("701")), AccountDisabled);
        assert_eq!(password_check(53, None, false, ""), Refused(53));
        // 389-ds's own words for its lockout and for nsAccountLock.
        assert_eq!(
            password_check(19, None, false, "Exceed password retry limit. Please try later."),
            AccountLocked
        );
        assert_eq!(password_check(19, None, false, "other constraint"), Refused(19));
        assert_eq!(
            password_check(53, None, false, "Account inactivated. Contact system administrator."),
            AccountDisabled
        );
        assert_eq!(ad_data_code("no code here"), None);
        assert_eq!(ad_data_code("x, data "), None);
    }

    fn adapter(flavour: Flavour) -> LdapDirectory {
        LdapDirectory::new(DirectoryConfig::for_flavour(
            flavour,
            "ldap://127.0.0.1:389",
            "cn=svc",
            SecretString::from("pw"),
            "dc=lk,dc=test",
        ))
    }

    #[test]
    fn sign_in_names_are_looked_up_in_every_login_attribute_escaped() {
        assert_eq!(adapter(Flavour::OpenLdap).login_filter("alice"), "(uid=alice)");
        assert_eq!(
            adapter(Flavour::ActiveDirectory).login_filter("a*)(x=1"),
            "(|(sAMAccountName=a\\2a\\29\\28x=1)(userPrincipalName=a\\2a\\29\\28x=1))"
        );
    }

    #[test]
    fn membership_follows_nested_groups_only_where_asked() {
        let dn = "CN=Alice (IT),CN=Users,DC=lk,DC=test";
        assert_eq!(
            adapter(Flavour::ActiveDirectory).member_filter(dn),
            "(member:1.2.840.113556.1.4.1941:=CN=Alice \\28IT\\29,CN=Users,DC=lk,DC=test)"
        );
        assert_eq!(
            adapter(Flavour::Dirsrv389).member_filter("uid=a,dc=x"),
            "(|(member=uid=a,dc=x)(uniqueMember=uid=a,dc=x))"
        );
    }

    #[test]
    fn tells_each_directory_from_its_root_dse() {
        let dse = |pairs: &[(&str, &[&str])]| {
            read_root_dse(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.iter().map(|x| x.to_string()).collect()))
                    .collect(),
            )
        };
        let ad = dse(&[
            ("supportedCapabilities", &["1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670"]),
            ("domainControllerFunctionality", &["4"]),
        ]);
        assert_eq!(ad.flavour, Some(Flavour::ActiveDirectory));
        assert!(ad.description.contains("functional level 4"), "{}", ad.description);
        let ds = dse(&[
            ("vendorName", &["389 Project"]),
            ("vendorVersion", &["389-Directory/2.3.1 B2023.xxx"]),
        ]);
        assert_eq!(ds.flavour, Some(Flavour::Dirsrv389));
        assert_eq!(ds.description, "389 Project 389-Directory/2.3.1 B2023.xxx");
        // Attribute names in any case.
        let ol = dse(&[("objectclass", &["top", "OpenLDAProotDSE"])]);
        assert_eq!(ol.flavour, Some(Flavour::OpenLdap));
        let other = dse(&[("vendorName", &["Example Corp"])]);
        assert_eq!(other.flavour, None);
        assert_eq!(other.description, "Example Corp");
        assert_eq!(dse(&[]).description, "an unknown directory server");
    }

    #[test]
    fn reads_the_password_policy_error() {
        // SEQUENCE { error [1] accountLocked(1) }
        assert_eq!(ppolicy_error(&[0x30, 0x03, 0x81, 0x01, 0x01]), Some(1));
        // SEQUENCE { warning [0] { timeBeforeExpiration [0] 10 }, error [1] passwordExpired(0) }
        assert_eq!(ppolicy_error(&[0x30, 0x07, 0xa0, 0x02, 0x80, 0x00, 0x81, 0x01, 0x00]), Some(0));
        assert_eq!(ppolicy_error(&[0x30, 0x00]), None);
        assert_eq!(ppolicy_error(&[0x04, 0x00]), None);
        assert_eq!(ppolicy_error(&[0x30, 0x05, 0x81]), None);
        assert_eq!(ppolicy_error(&[]), None);
    }

    #[test]
    fn reads_password_change_times_of_every_directory() {
        // OpenLDAP and 389-ds: generalized time.
        assert_eq!(parse_generalized_time("19700101000000Z"), Some(0));
        assert_eq!(parse_generalized_time("20240229123456Z"), Some(1_709_210_096));
        assert_eq!(parse_generalized_time("20240229123456.123456Z"), Some(1_709_210_096));
        assert_eq!(parse_generalized_time("20240229133456+0100"), Some(1_709_210_096));
        assert_eq!(parse_generalized_time("20240229113456-0100"), Some(1_709_210_096));
        for junk in
            ["", "2024", "20241329123456Z", "2024022912345xZ", "20240229123456", "٢٠٢٤0229123456Z"]
        {
            assert_eq!(parse_generalized_time(junk), None, "{junk:?}");
        }
        // Active Directory: 100 ns ticks since 1601.
        assert_eq!(parse_filetime("116444736000000000"), Some(0));
        assert_eq!(parse_filetime("133537158960000000"), Some(1_709_242_296));
        assert_eq!(parse_filetime("0"), None, "must change at next logon");
        assert_eq!(parse_filetime("-1"), None);
        assert_eq!(parse_filetime("soon"), None);
    }
}
