//! The LDAP directory adapter (ldap3).

use std::time::Duration;

use app::domain::{Probe, Unavailable};
use async_trait::async_trait;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use secrecy::ExposeSecret;

use crate::config::DirectoryConfig;

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
    ServiceBindRefused {
        bind_dn: String,
        rc: u32,
        text: String,
    },
    #[error("directory operation failed: {0}")]
    Protocol(#[source] Box<ldap3::LdapError>),
}

impl LdapError {
    /// The short, safe word a health endpoint may show.
    pub fn kind(&self) -> &'static str {
        match self {
            LdapError::Unreachable { .. } => "unreachable",
            LdapError::Timeout { .. } => "timeout",
            LdapError::ServiceBindRefused { .. } => "refused",
            LdapError::Protocol(_) => "protocol",
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
}

#[derive(Debug, Clone)]
pub struct LdapDirectory {
    cfg: DirectoryConfig,
}

impl LdapDirectory {
    pub fn new(cfg: DirectoryConfig) -> Self {
        Self { cfg }
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.cfg
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_secs)
    }

    /// A fresh connection, not yet bound.
    async fn connect(&self) -> Result<Ldap, LdapError> {
        let settings = LdapConnSettings::new().set_conn_timeout(self.timeout());
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.cfg.url)
            .await
            .map_err(|source| match source {
                ldap3::LdapError::Timeout { .. } => LdapError::Timeout {
                    url: self.cfg.url.clone(),
                    secs: self.cfg.timeout_secs,
                },
                source => LdapError::Unreachable {
                    url: self.cfg.url.clone(),
                    source: Box::new(source),
                },
            })?;
        ldap3::drive!(conn);
        Ok(ldap)
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
            ldap3::LdapError::Timeout { .. } => LdapError::Timeout {
                url: self.cfg.url.clone(),
                secs: self.cfg.timeout_secs,
            },
            other => LdapError::Protocol(Box::new(other)),
        }
    }

    /// Binds as the service account and reads the base entry: the cheapest proof that the
    /// directory answers and the configuration is right.
    pub async fn ping(&self) -> Result<(), LdapError> {
        let mut ldap = self.service_connection().await?;
        let outcome = ldap
            .with_timeout(self.timeout())
            .search(
                &self.cfg.base_dn,
                Scope::Base,
                "(objectClass=*)",
                vec!["1.1"],
            )
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
                ],
            )
            .await
            .map_err(|e| self.op_error(e))?;
        // rc 4 (size limit exceeded) is expected: we asked for a sample.
        if result.1.rc != 0 && result.1.rc != 4 {
            let _ = ldap.unbind().await;
            return Err(LdapError::Protocol(Box::new(
                ldap3::LdapError::LdapResult { result: result.1 },
            )));
        }
        let entries: Vec<SearchEntry> = result.0.into_iter().map(SearchEntry::construct).collect();
        let with_phone = entries
            .iter()
            .filter(|e| {
                e.attrs
                    .get(&self.cfg.phone_attribute)
                    .is_some_and(|v| !v.is_empty())
            })
            .count();
        let admin_group_found = if self.cfg.admin_group_dn.is_empty() {
            None
        } else {
            let found = ldap
                .with_timeout(self.timeout())
                .search(
                    &self.cfg.admin_group_dn,
                    Scope::Base,
                    "(objectClass=*)",
                    vec!["1.1"],
                )
                .await
                .map_err(|e| self.op_error(e))?;
            Some(found.1.rc == 0 && !found.0.is_empty())
        };
        let _ = ldap.unbind().await;
        Ok(SampleSearch {
            people_seen: entries.len(),
            with_phone,
            admin_group_found,
        })
    }
}

#[async_trait]
impl Probe for LdapDirectory {
    async fn probe(&self) -> Result<(), Unavailable> {
        self.ping().await.map_err(|e| {
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
