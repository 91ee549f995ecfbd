//! Configuration: defaults → `latchkey.toml` → `LATCHKEY_…` environment (`__` nests), with
//! `…_FILE` accepted for every secret, and systemd credentials (`$CREDENTIALS_DIRECTORY`). Unknown keys are errors; validation names the key and the
//! fix. Secrets are `SecretString` from the moment they are read.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use domain::codes::{CodeRules, SendLimits};
use domain::forward_auth::apps::ProtectedApp;
use domain::oidc::levels::{self, Level};
use domain::phone::PhonePolicy;
use domain::sign_in::throttle::{Rule, ThrottleRules};
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// Environment variables that are not configuration keys.
const ENV_PREFIX: &str = "LATCHKEY_";
const NOT_CONFIG_KEYS: &[&str] = &["CONFIG", "LOG", "LOG_FORMAT"];

/// Keys that hold secrets: only these accept `…_FILE`, and these are redacted when printed.
pub const SECRET_KEYS: &[&str] = &[
    "database.url",
    "directory.bind_password",
    "server.metrics_token",
    "sms.twilio.auth_token",
    "sms.twilio.api_key_secret",
    "security.hmac_keys",
];

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    pub directory: DirectoryConfig,
    #[serde(default)]
    pub sms: SmsConfig,
    pub security: SecurityConfig,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub phone: PhoneConfig,
    #[serde(default)]
    pub oidc: OidcConfig,
    #[serde(default)]
    pub forward_auth: ForwardAuthConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub address: String,
    /// The URL people use to reach Latchkey (scheme, host, optional port). Decides the cookie's
    /// `Secure` flag and the origin that form posts must come from.
    pub public_url: String,
    /// A directory holding `pkg/` (the wasm, JS and CSS cargo-leptos built) whose files win
    /// over the binary's own. Empty: the assets built into the binary (the `embed-assets`
    /// feature, as packaged), else `target/site` (development).
    pub site_root: String,
    /// Name shown in the header and page titles.
    pub product_name: String,
    /// A logo file (PNG, JPEG, WebP or SVG, up to 200 KB) shown beside the product name; empty
    /// for the built-in shield.
    pub logo: String,
    /// The accent colour of buttons, links and focus rings, `#rrggbb`. White text on it must
    /// reach WCAG AA contrast (4.5:1), checked at start-up.
    pub accent_color: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Pages and server functions handled at once; more wait their turn, first come first
    /// served, within the request timeout. Bounds memory under a burst.
    pub max_concurrent_requests: usize,
    /// Proxies or load balancers (addresses or CIDR ranges) whose `X-Forwarded-For` names the
    /// client. Empty: the connection's peer is the client and the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Bearer token Prometheus must send for `/metrics`. Unset: `/metrics` answers only
    /// requests from this machine (loopback).
    #[serde(serialize_with = "redact_opt")]
    pub metrics_token: Option<SecretString>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            address: "127.0.0.1:3000".into(),
            public_url: "http://127.0.0.1:3000".into(),
            site_root: String::new(),
            product_name: "Latchkey".into(),
            logo: String::new(),
            accent_color: crate::branding::DEFAULT_ACCENT.into(),
            max_body_bytes: 64 * 1024,
            max_concurrent_requests: 64,
            trusted_proxies: Vec::new(),
            metrics_token: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`. May hold a password: a secret.
    #[serde(serialize_with = "redact_url")]
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        // 4: each SQLite connection is a thread with its own page cache, and SQLite writes one
        // at a time anyway; on 2 cores the benchmark signs in as fast with 4 as with 8, on less
        // CPU and memory (docs/performance.md). Several instances on PostgreSQL may want more.
        Self { url: "sqlite://latchkey.db".into(), max_connections: 4, connect_timeout_secs: 5 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneFormat {
    /// `+15551234567`
    E164,
    /// `15551234567`, as Gluu Casa writes them.
    Digits,
}

/// Which directory server Latchkey talks to: it picks the defaults of the attribute settings
/// (each still overridable) and how group membership and password refusals are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum Flavour {
    /// OpenLDAP (and directories that behave like it): `uid`, `entryUUID`, `cn`.
    #[default]
    #[serde(rename = "openldap")]
    OpenLdap,
    /// Active Directory (or Samba as a domain controller): `sAMAccountName` or
    /// `userPrincipalName`, binary `objectGUID`, `displayName`, nested groups.
    #[serde(rename = "active_directory")]
    ActiveDirectory,
    /// 389 Directory Server (FreeIPA, Red Hat Directory Server): `uid`, `nsUniqueId`, `cn`.
    #[serde(rename = "389ds")]
    Dirsrv389,
}

impl Flavour {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::OpenLdap => "openldap",
            Flavour::ActiveDirectory => "active_directory",
            Flavour::Dirsrv389 => "389ds",
        }
    }

    /// The attribute holding the name a person signs in with (and is shown as).
    pub fn login_attribute(self) -> &'static str {
        match self {
            Flavour::ActiveDirectory => "sAMAccountName",
            Flavour::OpenLdap | Flavour::Dirsrv389 => "uid",
        }
    }

    /// Further attributes a person may sign in with: on Active Directory, `alice@example.org`
    /// works as well as `alice`, as it does in Windows.
    pub fn also_login_with(self) -> &'static [&'static str] {
        match self {
            Flavour::ActiveDirectory => &["userPrincipalName"],
            Flavour::OpenLdap | Flavour::Dirsrv389 => &[],
        }
    }

    pub fn user_id_attribute(self) -> &'static str {
        match self {
            Flavour::OpenLdap => "entryUUID",
            Flavour::ActiveDirectory => "objectGUID",
            Flavour::Dirsrv389 => "nsUniqueId",
        }
    }

    pub fn phone_attribute(self) -> &'static str {
        match self {
            Flavour::ActiveDirectory => "otherMobile",
            Flavour::OpenLdap | Flavour::Dirsrv389 => "mobile",
        }
    }

    pub fn display_name_attribute(self) -> &'static str {
        match self {
            Flavour::ActiveDirectory => "displayName",
            Flavour::OpenLdap | Flavour::Dirsrv389 => "cn",
        }
    }

    /// Whether group membership is followed through groups in groups (Active Directory's
    /// `LDAP_MATCHING_RULE_IN_CHAIN`, which only it offers).
    pub fn nested_groups(self) -> bool {
        self == Flavour::ActiveDirectory
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// The service account Latchkey searches and writes phone numbers with.
    pub bind_dn: String,
    #[serde(serialize_with = "redact")]
    pub bind_password: SecretString,
    /// Where people live.
    pub base_dn: String,
    /// The directory server's kind: the defaults of the attribute settings below.
    #[serde(default)]
    pub flavour: Flavour,
    /// The attribute holding a person's login name. Empty: the flavour's (`uid`, or
    /// `sAMAccountName` on Active Directory).
    #[serde(default)]
    pub login_attribute: String,
    /// More attributes a person may type at sign-in (e.g. `userPrincipalName`, `mail`).
    /// Unset: the flavour's (`userPrincipalName` on Active Directory, none elsewhere).
    #[serde(default)]
    pub also_login_with: Option<Vec<String>>,
    /// The entry's stable unique id. Empty: the flavour's (`entryUUID`, `objectGUID`,
    /// `nsUniqueId`).
    #[serde(default)]
    pub user_id_attribute: String,
    /// Where verified phone numbers are kept, one value per phone: a multi-valued attribute.
    /// Empty: the flavour's (`mobile`, or `otherMobile` on Active Directory, whose `mobile`
    /// holds one value only).
    #[serde(default)]
    pub phone_attribute: String,
    #[serde(default = "defaults::phone_format")]
    pub phone_format: PhoneFormat,
    /// Empty: the flavour's (`cn`, or `displayName` on Active Directory).
    #[serde(default)]
    pub display_name_attribute: String,
    /// Follow groups in groups for the administrators group and the `groups` claim. Unset: on
    /// Active Directory only (the only directory with a matching rule for it).
    #[serde(default)]
    pub nested_groups: Option<bool>,
    /// Members of this group (its `member` values) are administrators. Empty: nobody is.
    #[serde(default)]
    pub admin_group_dn: String,
    /// Where groups are looked for (the OpenID Connect `groups` claim, clients'
    /// `allowed_groups`). Empty: under `base_dn`.
    #[serde(default)]
    pub group_base_dn: String,
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "defaults::pool_size")]
    pub pool_size: usize,
    /// Upgrade an `ldap://` connection with StartTLS before anything is sent (an `ldaps://` URL
    /// is TLS from the start and must not set this).
    #[serde(default)]
    pub starttls: bool,
    /// A PEM file with the CA certificate(s) that signed the directory's certificate. Empty: the
    /// system's CA roots. The certificate is always verified against the host in `url`. (Not
    /// `ca_file`: `LATCHKEY_…_FILE` is how secrets are read from files.)
    #[serde(default)]
    pub ca_certificates: String,
    /// Allow plain `ldap://` without StartTLS to a host other than this machine: every
    /// password then crosses the network readable. Only for a network you trust completely.
    #[serde(default)]
    pub allow_plaintext: bool,
}

impl DirectoryConfig {
    /// A configuration with the flavour's defaults, as a file naming only these would give.
    pub fn for_flavour(
        flavour: Flavour,
        url: impl Into<String>,
        bind_dn: impl Into<String>,
        bind_password: SecretString,
        base_dn: impl Into<String>,
    ) -> Self {
        let mut cfg = Self {
            url: url.into(),
            bind_dn: bind_dn.into(),
            bind_password,
            base_dn: base_dn.into(),
            flavour,
            login_attribute: String::new(),
            also_login_with: None,
            user_id_attribute: String::new(),
            phone_attribute: String::new(),
            phone_format: defaults::phone_format(),
            display_name_attribute: String::new(),
            nested_groups: None,
            admin_group_dn: String::new(),
            group_base_dn: String::new(),
            timeout_secs: defaults::timeout_secs(),
            pool_size: defaults::pool_size(),
            starttls: false,
            ca_certificates: String::new(),
            allow_plaintext: false,
        };
        cfg.resolve();
        cfg
    }

    /// Fills the settings left empty with the flavour's defaults.
    pub fn resolve(&mut self) {
        let f = self.flavour;
        for (value, default) in [
            (&mut self.login_attribute, f.login_attribute()),
            (&mut self.user_id_attribute, f.user_id_attribute()),
            (&mut self.display_name_attribute, f.display_name_attribute()),
            (&mut self.phone_attribute, f.phone_attribute()),
        ] {
            if value.trim().is_empty() {
                *value = default.to_owned();
            }
        }
        if self.also_login_with.is_none() {
            self.also_login_with =
                Some(f.also_login_with().iter().map(|a| a.to_string()).collect());
        }
        if self.nested_groups.is_none() {
            self.nested_groups = Some(f.nested_groups());
        }
    }

    /// Every attribute a person may sign in with, the login attribute first.
    pub fn login_attributes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.login_attribute.as_str()).chain(
            self.also_login_with
                .iter()
                .flatten()
                .map(String::as_str)
                .filter(|a| !a.eq_ignore_ascii_case(&self.login_attribute)),
        )
    }

    /// Whether membership is followed through nested groups.
    pub fn follows_nested_groups(&self) -> bool {
        self.nested_groups.unwrap_or_else(|| self.flavour.nested_groups())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Texts are written to the log only.
    Console,
    /// Texts are written to the log and shown on the demo phone page. Never for production.
    Demo,
    /// Texts go through Twilio's Messaging API.
    Twilio,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    /// The text around a code: `{code}` (required), `{product}`, `{minutes}`, the same in every
    /// language. Unset: the catalog's text in the language of the person's page. The line
    /// `@<host> #<code>` is always appended for browser autofill.
    pub template: Option<String>,
    pub twilio: TwilioConfig,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self { provider: SmsProvider::Console, template: None, twilio: TwilioConfig::default() }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwilioConfig {
    pub account_sid: String,
    #[serde(serialize_with = "redact_opt")]
    pub auth_token: Option<SecretString>,
    pub api_key_sid: String,
    #[serde(serialize_with = "redact_opt")]
    pub api_key_secret: Option<SecretString>,
    /// Sender number in E.164. Either this or `messaging_service_sid`.
    pub from: String,
    pub messaging_service_sid: String,
    pub base_url: String,
    pub timeout_secs: u64,
    /// The number codes are called from (E.164): a voice-capable Twilio number or verified
    /// caller ID. Unset: `from`. With only `messaging_service_sid` and no `voice_from`, calls
    /// are not available ([`TwilioConfig::voice_from`]).
    pub voice_from: Option<String>,
    /// How long a call rings before Twilio gives up (Twilio's `Timeout`), 5 to 60 seconds.
    pub call_ring_secs: u64,
    /// The longest a call may last (Twilio's `TimeLimit`), 20 to 300 seconds.
    pub call_time_limit_secs: u64,
}

impl TwilioConfig {
    /// The number calls come from: `voice_from`, else `from`; `None` when calls cannot be placed
    /// (only a messaging service is configured).
    pub fn voice_from(&self) -> Option<&str> {
        match self.voice_from.as_deref() {
            Some(v) if !v.is_empty() => Some(v),
            _ if !self.from.is_empty() => Some(&self.from),
            _ => None,
        }
    }
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            account_sid: String::new(),
            auth_token: None,
            api_key_sid: String::new(),
            api_key_secret: None,
            from: String::new(),
            messaging_service_sid: String::new(),
            base_url: "https://api.twilio.com".into(),
            timeout_secs: 10,
            voice_from: None,
            call_ring_secs: 30,
            call_time_limit_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    /// Keys for the HMAC of stored codes and tokens, newest first: new codes use the first, and
    /// verification tries each, so a key can be rotated without invalidating codes in flight.
    #[serde(deserialize_with = "one_or_many_secrets", serialize_with = "redact_many")]
    pub hmac_keys: Vec<SecretString>,
    #[serde(default = "defaults::code_length")]
    pub code_length: u8,
    #[serde(default = "defaults::code_lifetime_secs")]
    pub code_lifetime_secs: u64,
    #[serde(default = "defaults::max_attempts_per_code")]
    pub max_attempts_per_code: u32,
    #[serde(default = "defaults::max_failures_before_lock")]
    pub max_failures_before_lock: u32,
    #[serde(default = "defaults::lock_secs")]
    pub lock_secs: u64,
    /// Wrong codes since a person's last right one (across the short locks) after which their
    /// second step stays locked until an administrator unlocks it (NIST SP 800-63B-4: ≤ 100).
    #[serde(default = "defaults::max_code_failures_before_reset")]
    pub max_code_failures_before_reset: u32,
    #[serde(default = "defaults::send_cooldown_secs")]
    pub send_cooldown_secs: u64,
    #[serde(default = "defaults::sends_per_number_per_10min")]
    pub sends_per_number_per_10min: u32,
    #[serde(default = "defaults::sends_per_user_per_day")]
    pub sends_per_user_per_day: u32,
    #[serde(default = "defaults::sends_per_ip_per_hour")]
    pub sends_per_ip_per_hour: u32,
    /// Circuit breaker: texts sent by the whole deployment per day.
    #[serde(default = "defaults::global_sends_per_day")]
    pub global_sends_per_day: u32,
    /// How many texts of `global_sends_per_day` a code by voice call costs (1 to 50): calls
    /// cost the operator several times a text. Every other limit counts a call as one send.
    #[serde(default = "defaults::call_weight")]
    pub call_weight: u32,
    #[serde(default = "defaults::session_idle_timeout_secs")]
    pub session_idle_timeout_secs: u64,
    #[serde(default = "defaults::session_absolute_timeout_secs")]
    pub session_absolute_timeout_secs: u64,
    /// A session asks the directory whether the password changed since it signed in at most
    /// this often (seconds): how long a session can outlive a password change. 0: every request.
    #[serde(default = "defaults::session_recheck_secs")]
    pub session_recheck_secs: u64,
    /// A sign-in older than this asks for the password again before sensitive changes.
    #[serde(default = "defaults::reauth_window_secs")]
    pub reauth_window_secs: u64,
    #[serde(default = "defaults::remember_browser_days")]
    pub remember_browser_days: u32,
    /// Wrong passwords for one login before each further try must wait (2 s, 4 s, 8 s … 60 s).
    #[serde(default = "defaults::login_failures_before_delay")]
    pub login_failures_before_delay: u32,
    /// Wrong passwords for one login that lock it for `login_lock_secs`.
    #[serde(default = "defaults::login_failures_before_lock")]
    pub login_failures_before_lock: u32,
    #[serde(default = "defaults::login_lock_secs")]
    pub login_lock_secs: u64,
    /// Wrong passwords from one client IP (any login) that lock the IP for `login_lock_secs`.
    #[serde(default = "defaults::ip_failures_before_lock")]
    pub ip_failures_before_lock: u32,
    /// Days the audit trail keeps an event; older ones are deleted (hourly).
    #[serde(default = "defaults::audit_retention_days")]
    pub audit_retention_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TwoFactorPolicy {
    /// Each person chooses whether to use 2-step sign-in.
    Optional,
    /// Everyone must; people without a phone enrol one before anything else.
    Required,
}

/// A kind of second factor (`policy.methods`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Codes texted to phones.
    Sms,
    /// Authenticator apps (RFC 6238).
    Totp,
    /// Single-use recovery codes.
    RecoveryCodes,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    pub two_factor: TwoFactorPolicy,
    /// Second factors (verified phones and authenticator apps; recovery codes do not count)
    /// needed before 2-step sign-in can be turned on. `min_phones`, its name before apps
    /// existed, is still read.
    #[serde(alias = "min_phones")]
    pub min_credentials: u32,
    /// Which second factors people may use.
    pub methods: Vec<Method>,
    /// Send sign-in codes to every number in the phone attribute, also those Latchkey never
    /// verified (anything another tool, or the person, wrote there). Off: only numbers proved
    /// with a code or marked verified by `latchkey phones mark-verified` are second factors.
    pub trust_unverified_directory_phones: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            two_factor: TwoFactorPolicy::Optional,
            min_credentials: 1,
            methods: vec![Method::Sms, Method::Totp, Method::RecoveryCodes],
            trust_unverified_directory_phones: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhoneConfig {
    /// ISO 3166 region numbers without a `+` are read in.
    pub default_region: String,
    /// Regions numbers may belong to. Empty: any.
    pub allowed_regions: Vec<String>,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        Self { default_region: "US".into(), allowed_regions: Vec::new() }
    }
}

/// The OpenID Connect provider: token lifetimes, signing keys and the apps (clients) that may
/// ask Latchkey who someone is. Clients are `[[oidc.clients]]` tables in `latchkey.toml` only:
/// arrays of tables do not fit in environment variables, and a secret in one would be the
/// weakest place to keep it (`secret_file` is the way to keep it out of the file).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The acr applied when an app asks for none and its client sets no `default_acr`.
    pub default_acr: String,
    /// Seconds an access token lives (60 to 86400).
    pub access_token_lifetime_secs: u64,
    /// Seconds an ID token's `exp` is after issue (60 to 86400).
    pub id_token_lifetime_secs: u64,
    /// Upper bound for a refresh token family (300 to 2592000); it never outlives the person's
    /// sign-in anyway.
    pub refresh_token_lifetime_secs: u64,
    /// Days a signing key signs before the next one takes over; 0 = never rotate.
    pub key_rotation_days: u32,
    /// Operator-supplied signing keys: PEM files (PKCS#8 or PKCS#1 RSA), the first signs, the
    /// rest are published. Empty: keys generated at first start and stored encrypted in the
    /// database. Only read here; parsing the PEM is done at start-up.
    pub signing_key_files: Vec<String>,
    /// Whether a person who has no phone may add one during sign-in when an app requires the
    /// code level.
    pub enrol_at_sign_in: bool,
    pub clients: Vec<OidcClientConfig>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            default_acr: levels::PASSWORD_ACR.into(),
            access_token_lifetime_secs: 600,
            id_token_lifetime_secs: 600,
            refresh_token_lifetime_secs: 8 * 3600,
            key_rotation_days: 90,
            signing_key_files: Vec::new(),
            enrol_at_sign_in: true,
            clients: Vec::new(),
        }
    }
}

/// One app that signs people in through Latchkey.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcClientConfig {
    /// The `client_id`: 1 to 128 of `A-Z a-z 0-9 . _ ~ -`, unique among clients.
    pub id: String,
    /// Shown to people ("Signed in to Grafana"). Empty in the file: the id (filled in at load).
    #[serde(default)]
    pub name: String,
    /// Absent: a public client (token endpoint auth "none", PKCE required). Filled from
    /// `secret_file` at load, so the rest of the code looks only here.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "redact_opt")]
    pub secret: Option<SecretString>,
    /// A file holding the secret (trailing newline trimmed), instead of `secret`. Cleared once
    /// read at load.
    #[serde(default)]
    pub secret_file: Option<String>,
    /// Where the app receives sign-ins: absolute https URLs (http only for this machine, or
    /// while `server.public_url` is itself http), no fragment, no wildcards. Matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where the app may send people after signing out; the same rules.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes the app may ask for: a subset of [`OIDC_SCOPES`] that includes `openid`.
    #[serde(default = "defaults::oidc_scopes")]
    pub scopes: Vec<String>,
    /// The acr applied when this app asks for none. Unset: `oidc.default_acr`.
    #[serde(default)]
    pub default_acr: Option<String>,
    /// Directory groups (their cn) whose members may sign in to this app. Empty: everyone.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// How ID tokens for this app are signed: "RS256", "ES256" or "EdDSA".
    #[serde(default = "defaults::signing_alg")]
    pub signing_alg: String,
    /// Whether the app gets refresh tokens.
    #[serde(default)]
    pub refresh_tokens: bool,
    /// Whether a browser the person chose to remember counts as the code level for this app.
    /// Off: a remembered browser never claims `sms` here.
    #[serde(default)]
    pub remembered_browser_satisfies_code: bool,
}

impl OidcClientConfig {
    /// A public client has no secret: it authenticates with nothing at the token endpoint and
    /// must use PKCE. (A `secret_file` not yet read still makes it confidential.)
    pub fn is_public(&self) -> bool {
        self.secret.is_none() && self.secret_file.is_none()
    }
}

/// Forward authentication: apps behind nginx (`auth_request`) or Caddy (`forward_auth`) that
/// Latchkey signs people in to. Only in a file, like `[[oidc.clients]]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwardAuthConfig {
    /// Empty: forward authentication is off and its endpoints refuse every request.
    pub apps: Vec<ForwardAuthAppConfig>,
}

/// One app behind a proxy (`[[forward_auth.apps]]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuthAppConfig {
    /// The app's origin as browsers see it, `https://wiki.example.org` (a port if not the
    /// default). A request for any other host is refused, never redirected to.
    pub origin: String,
    /// Shown to people ("Signed in to Wiki"). Empty: the origin.
    #[serde(default)]
    pub name: String,
    /// Directory groups (their cn) whose members may pass. Empty: everyone who can sign in.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// "password", or "code" (the password and a texted code; the default). An acr value
    /// of the OpenID Connect provider names the same levels.
    #[serde(default = "defaults::forward_auth_level")]
    pub level: String,
    /// Seconds since the person last proved who they are beyond which they prove it again
    /// (60 to 2592000). Unset: as long as their Latchkey sign-in lasts.
    #[serde(default)]
    pub max_age_secs: Option<u64>,
    /// Whether a browser the person chose to remember counts as the code level here.
    #[serde(default)]
    pub remembered_browser_satisfies_code: bool,
}

impl ForwardAuthAppConfig {
    /// The level `level` names ("password", "code", or an acr value).
    pub fn level(&self) -> Option<Level> {
        match self.level.as_str() {
            "password" => Some(Level::Password),
            "code" => Some(Level::Code),
            acr => Level::from_acr(acr),
        }
    }
}

/// Scopes a client may be allowed (the default: all of them).
pub const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "phone", "groups"];
/// Algorithms an ID token can be signed with.
pub const OIDC_SIGNING_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

mod defaults {
    use super::PhoneFormat;
    pub fn forward_auth_level() -> String {
        "code".into()
    }
    pub fn oidc_scopes() -> Vec<String> {
        super::OIDC_SCOPES.iter().map(|s| s.to_string()).collect()
    }
    pub fn signing_alg() -> String {
        "RS256".into()
    }
    pub fn phone_format() -> PhoneFormat {
        PhoneFormat::E164
    }
    pub fn timeout_secs() -> u64 {
        5
    }
    pub fn pool_size() -> usize {
        8
    }
    pub fn code_length() -> u8 {
        6
    }
    pub fn code_lifetime_secs() -> u64 {
        300
    }
    pub fn max_attempts_per_code() -> u32 {
        5
    }
    pub fn max_failures_before_lock() -> u32 {
        10
    }
    pub fn lock_secs() -> u64 {
        15 * 60
    }
    pub fn max_code_failures_before_reset() -> u32 {
        100
    }
    pub fn send_cooldown_secs() -> u64 {
        60
    }
    pub fn sends_per_number_per_10min() -> u32 {
        3
    }
    pub fn sends_per_user_per_day() -> u32 {
        10
    }
    pub fn sends_per_ip_per_hour() -> u32 {
        20
    }
    pub fn global_sends_per_day() -> u32 {
        1000
    }
    pub fn call_weight() -> u32 {
        3
    }
    pub fn session_idle_timeout_secs() -> u64 {
        30 * 60
    }
    pub fn session_absolute_timeout_secs() -> u64 {
        12 * 3600
    }
    pub fn session_recheck_secs() -> u64 {
        60
    }
    pub fn reauth_window_secs() -> u64 {
        10 * 60
    }
    pub fn remember_browser_days() -> u32 {
        30
    }
    pub fn login_failures_before_delay() -> u32 {
        3
    }
    pub fn login_failures_before_lock() -> u32 {
        10
    }
    pub fn login_lock_secs() -> u64 {
        15 * 60
    }
    pub fn ip_failures_before_lock() -> u32 {
        50
    }
    pub fn audit_retention_days() -> u32 {
        365
    }
}

/// Why the configuration cannot be used. Each problem is one line naming the key and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(problem: impl Into<String>) -> Self {
        Self { problems: vec![problem.into()] }
    }
}

impl Config {
    /// Loads from the process environment and the file it names (`LATCHKEY_CONFIG`, else
    /// `latchkey.toml` when it exists).
    pub fn load(explicit_path: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(explicit_path, &env)
    }

    /// Loads from an explicit environment (tests pass their own).
    pub fn load_from(
        explicit_path: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let path = match explicit_path {
            Some(p) => Some(p.to_path_buf()),
            None => match env.iter().find(|(k, _)| k == "LATCHKEY_CONFIG") {
                Some((_, v)) => Some(PathBuf::from(v)),
                None => Some(PathBuf::from("latchkey.toml")).filter(|p| p.exists()),
            },
        };
        Self::load_layers(path.as_deref(), env)
    }

    /// Defaults, then the file (if any), then the environment.
    pub fn load_layers(path: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            if !path.exists() {
                return Err(ConfigError::one(format!(
                    "config file {} does not exist: create it (see docs/latchkey.example.toml) or point LATCHKEY_CONFIG at the right file",
                    path.display()
                )));
            }
            if let Err(e) = std::fs::File::open(path) {
                return Err(ConfigError::one(format!(
                    "config file {} cannot be read: {e}",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::finish(figment, env)
    }

    /// The configuration from TOML text (instead of a file) and environment pairs; the same
    /// checks as [`Config::load_layers`]. For tests and fuzzing.
    pub fn from_toml_str(text: &str, env: &[(String, String)]) -> Result<Self, ConfigError> {
        Self::finish(Figment::new().merge(Toml::string(text)), env)
    }

    fn finish(figment: Figment, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let figment = figment.merge(EnvProvider::new(env)?);
        let mut config: Config = figment.extract().map_err(|e| ConfigError {
            problems: e.into_iter().map(describe_figment_error).collect(),
        })?;
        config.resolve();
        config.validate()?;
        Ok(config)
    }

    /// Fills in what the rest of the code expects settled: each client's name (its id when
    /// unset) and its secret from `secret_file`, like `…_FILE` for the other secrets. A file
    /// that cannot be used stays named in `secret_file`, for `validate` to report.
    fn resolve(&mut self) {
        self.directory.resolve();
        for c in &mut self.oidc.clients {
            if c.name.is_empty() {
                c.name = c.id.clone();
            }
            if c.secret.is_none()
                && let Some(path) = &c.secret_file
                && let Ok(secret) = read_secret_file(path)
            {
                c.secret = Some(SecretString::from(secret));
                c.secret_file = None;
            }
        }
    }

    /// Checks what serde cannot: formats, ranges and combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        let s = &self.server;
        if s.address.parse::<SocketAddr>().is_err() {
            p.push(format!(
                "server.address = {:?} is not an address: write IP:port, e.g. \"127.0.0.1:3000\"",
                s.address
            ));
        }
        match url::Url::parse(&s.public_url) {
            Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
                if u.path() != "/" || u.query().is_some() {
                    p.push(format!(
                        "server.public_url = {:?} must be an origin without a path, e.g. \"https://security.example.org\"",
                        s.public_url
                    ));
                }
            }
            _ => p.push(format!(
                "server.public_url = {:?} is not an http(s) URL: write e.g. \"https://security.example.org\"",
                s.public_url
            )),
        }
        if s.product_name.trim().is_empty() || s.product_name.chars().count() > 60 {
            p.push("server.product_name must be 1 to 60 characters".into());
        }
        if let Err(problem) = crate::branding::check_accent(&s.accent_color) {
            p.push(problem);
        }
        if !s.logo.is_empty()
            && let Err(problem) = crate::branding::load_logo(&s.logo)
        {
            p.push(problem);
        }
        for range in &s.trusted_proxies {
            if let Err(problem) = domain::client_ip::IpRange::parse(range) {
                p.push(format!("server.trusted_proxies: {problem}"));
            }
        }
        if !(1024..=10 * 1024 * 1024).contains(&s.max_body_bytes) {
            p.push("server.max_body_bytes must be between 1024 and 10485760".into());
        }
        if !(1..=100_000).contains(&s.max_concurrent_requests) {
            p.push("server.max_concurrent_requests must be between 1 and 100000".into());
        }

        let db = &self.database;
        if !(db.url.starts_with("sqlite:")
            || db.url.starts_with("postgres://")
            || db.url.starts_with("postgresql://"))
        {
            p.push(format!(
                "database.url = {:?} is not supported: use sqlite://path/to/latchkey.db or postgres://user@host/database",
                redact_url_str(&db.url)
            ));
        }
        if db.max_connections == 0 {
            p.push("database.max_connections must be at least 1".into());
        }

        let d = &self.directory;
        match url::Url::parse(&d.url) {
            Ok(u) if (u.scheme() == "ldap" || u.scheme() == "ldaps") && u.host().is_some() => {
                validate_directory_transport(d, &u, &mut p);
            }
            _ => p.push(format!(
                "directory.url = {:?} is not an LDAP URL: write ldap://host:389 or ldaps://host:636",
                d.url
            )),
        }
        for (key, dn) in [("directory.bind_dn", &d.bind_dn), ("directory.base_dn", &d.base_dn)] {
            if !looks_like_dn(dn) {
                p.push(format!(
                    "{key} = {dn:?} is not a DN: write e.g. \"cn=latchkey,ou=services,dc=example,dc=org\""
                ));
            }
        }
        if !d.group_base_dn.is_empty() && !looks_like_dn(&d.group_base_dn) {
            p.push(format!(
                "directory.group_base_dn = {:?} is not a DN: write e.g. \"ou=groups,dc=example,dc=org\", or leave it empty to look under base_dn",
                d.group_base_dn
            ));
        }
        if !d.admin_group_dn.is_empty() && !looks_like_dn(&d.admin_group_dn) {
            p.push(format!(
                "directory.admin_group_dn = {:?} is not a DN: write e.g. \"cn=latchkey-admins,ou=groups,dc=example,dc=org\", or leave it empty for no administrators",
                d.admin_group_dn
            ));
        }
        if d.bind_password.expose_secret().is_empty() {
            p.push("directory.bind_password is empty: set it, or LATCHKEY_DIRECTORY__BIND_PASSWORD_FILE to a file holding it".into());
        }
        let also = d.also_login_with.iter().flatten().map(|a| ("directory.also_login_with", a));
        for (key, attr) in [
            ("directory.login_attribute", &d.login_attribute),
            ("directory.user_id_attribute", &d.user_id_attribute),
            ("directory.phone_attribute", &d.phone_attribute),
            ("directory.display_name_attribute", &d.display_name_attribute),
        ]
        .into_iter()
        .chain(also)
        {
            if !is_attribute_name(attr) {
                p.push(format!(
                    "{key} = {attr:?} is not an LDAP attribute name: letters, digits and '-', starting with a letter"
                ));
            }
        }
        if d.nested_groups == Some(true) && d.flavour != Flavour::ActiveDirectory {
            p.push(format!(
                "directory.nested_groups = true needs directory.flavour = \"active_directory\": only Active Directory can follow groups in groups in one search (flavour here: {:?})",
                d.flavour.as_str()
            ));
        }
        if d.also_login_with.as_ref().is_some_and(|a| a.len() > 4) {
            p.push("directory.also_login_with names more than 4 attributes: every sign-in searches all of them".into());
        }
        if !(1..=60).contains(&d.timeout_secs) {
            p.push("directory.timeout_secs must be between 1 and 60".into());
        }
        if !(1..=64).contains(&d.pool_size) {
            p.push("directory.pool_size must be between 1 and 64".into());
        }

        if self.sms.provider == SmsProvider::Twilio {
            validate_twilio(&self.sms.twilio, &mut p);
        }

        let sec = &self.security;
        if sec.hmac_keys.is_empty() {
            p.push("security.hmac_keys is empty: set at least one random key of 32+ characters (e.g. `openssl rand -base64 48`)".into());
        }
        for (i, key) in sec.hmac_keys.iter().enumerate() {
            if key.expose_secret().chars().count() < 32 {
                p.push(format!(
                    "security.hmac_keys[{i}] is shorter than 32 characters: use a random key, e.g. `openssl rand -base64 48`"
                ));
            }
        }
        if !(6..=10).contains(&sec.code_length) {
            p.push("security.code_length must be between 6 and 10 digits".into());
        }
        if !(30..=600).contains(&sec.code_lifetime_secs) {
            p.push("security.code_lifetime_secs must be between 30 and 600 (codes never live longer than 10 minutes)".into());
        }
        if !(1..=50).contains(&sec.call_weight) {
            p.push(format!(
                "security.call_weight is {}: it must be between 1 and 50 (how many texts of security.global_sends_per_day one code by voice call costs)",
                sec.call_weight
            ));
        }
        for (key, value) in [
            ("security.max_attempts_per_code", sec.max_attempts_per_code),
            ("security.max_failures_before_lock", sec.max_failures_before_lock),
            ("security.sends_per_number_per_10min", sec.sends_per_number_per_10min),
            ("security.sends_per_user_per_day", sec.sends_per_user_per_day),
            ("security.sends_per_ip_per_hour", sec.sends_per_ip_per_hour),
            ("security.global_sends_per_day", sec.global_sends_per_day),
            ("security.remember_browser_days", sec.remember_browser_days),
            ("security.login_failures_before_lock", sec.login_failures_before_lock),
            ("security.ip_failures_before_lock", sec.ip_failures_before_lock),
            ("security.audit_retention_days", sec.audit_retention_days),
        ] {
            if value == 0 {
                p.push(format!("{key} must be at least 1"));
            }
        }
        if !(sec.max_failures_before_lock..=100).contains(&sec.max_code_failures_before_reset) {
            p.push("security.max_code_failures_before_reset must be between security.max_failures_before_lock and 100 (NIST SP 800-63B-4 allows at most 100 failures in a row)".into());
        }
        if sec.max_attempts_per_code > 10 {
            p.push("security.max_attempts_per_code must be at most 10".into());
        }
        if sec.session_idle_timeout_secs < 60 {
            p.push("security.session_idle_timeout_secs must be at least 60".into());
        }
        if sec.session_absolute_timeout_secs < sec.session_idle_timeout_secs {
            p.push("security.session_absolute_timeout_secs must not be shorter than security.session_idle_timeout_secs".into());
        }
        // A page view writes the session (extending its idle timeout) only when it looks at the
        // directory again, so the look must come well within the idle timeout.
        if sec.session_recheck_secs.saturating_mul(2) > sec.session_idle_timeout_secs {
            p.push("security.session_recheck_secs must be at most half of security.session_idle_timeout_secs".into());
        }
        if sec.remember_browser_days > 365 {
            p.push("security.remember_browser_days must be at most 365".into());
        }
        if sec.login_failures_before_delay >= sec.login_failures_before_lock {
            p.push("security.login_failures_before_delay must be smaller than security.login_failures_before_lock".into());
        }
        if !(60..=86_400).contains(&sec.login_lock_secs) {
            p.push("security.login_lock_secs must be between 60 and 86400".into());
        }
        if let Some(template) = &self.sms.template {
            if !template.contains("{code}") {
                p.push("sms.template must contain {code}, where the code goes (or leave it out for the built-in text in each person's language)".into());
            }
            if template.chars().count() > 1400 {
                p.push("sms.template is too long: keep it under 1400 characters (an SMS body holds 1600, and the autofill line is added)".into());
            }
        }

        if !(1..=5).contains(&self.policy.min_credentials) {
            p.push("policy.min_credentials must be between 1 and 5".into());
        }
        // Sign-in enrols a phone when someone has no factor yet (policy "required", or an app
        // asking for the code level), so phones cannot be switched off in this release.
        if !self.policy.methods.contains(&Method::Sms) {
            p.push("policy.methods must include \"sms\": people without a second factor enrol a phone while signing in (\"totp\" and \"recovery_codes\" may be left out)".into());
        }

        if !is_region(&self.phone.default_region) {
            p.push(format!(
                "phone.default_region = {:?} is not a region code: write two capital letters, e.g. \"US\" or \"GB\"",
                self.phone.default_region
            ));
        }
        for region in &self.phone.allowed_regions {
            if !is_region(region) {
                p.push(format!(
                    "phone.allowed_regions contains {region:?}: write two capital letters per region, e.g. [\"US\", \"CA\"]"
                ));
            }
        }
        if let Err(unknown) = self.phone_policy()
            && is_region(&unknown)
        {
            p.push(format!("phone: {unknown:?} is not a region libphonenumber knows (ISO 3166 alpha-2, e.g. \"GB\", not \"UK\")"));
        }

        validate_oidc(&self.oidc, self.is_https(), &mut p);
        validate_forward_auth(&self.forward_auth, &s.trusted_proxies, self.is_https(), &mut p);

        if p.is_empty() { Ok(()) } else { Err(ConfigError { problems: p }) }
    }

    /// How typed and stored numbers are read (fails with the first unknown region code).
    pub fn phone_policy(&self) -> Result<PhonePolicy, String> {
        PhonePolicy::new(&self.phone.default_region, &self.phone.allowed_regions)
    }

    /// The code engine's rules.
    /// The second factors people may use, as the domain reads them.
    pub fn methods(&self) -> domain::authenticator::Methods {
        let has = |m| self.policy.methods.contains(&m);
        domain::authenticator::Methods {
            sms: has(Method::Sms),
            totp: has(Method::Totp),
            recovery_codes: has(Method::RecoveryCodes),
        }
    }

    pub fn code_rules(&self) -> CodeRules {
        let s = &self.security;
        let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        CodeRules {
            length: s.code_length,
            lifetime_secs: secs(s.code_lifetime_secs),
            max_attempts_per_code: s.max_attempts_per_code,
            failures_before_lock: s.max_failures_before_lock,
            lock_secs: secs(s.lock_secs),
            max_failures_before_reset: s.max_code_failures_before_reset,
            limits: SendLimits {
                cooldown_secs: secs(s.send_cooldown_secs),
                per_number_per_10min: s.sends_per_number_per_10min,
                per_user_per_day: s.sends_per_user_per_day,
                per_ip_per_hour: s.sends_per_ip_per_hour,
                global_per_day: s.global_sends_per_day,
                call_weight: s.call_weight,
            },
        }
    }

    /// Password throttling rules.
    pub fn throttle_rules(&self) -> ThrottleRules {
        let s = &self.security;
        let lock_secs = i64::try_from(s.login_lock_secs).unwrap_or(900);
        ThrottleRules {
            account: Rule {
                free: s.login_failures_before_delay,
                max_delay_secs: 60,
                lock_after: s.login_failures_before_lock,
                lock_secs,
                window_secs: 24 * 3600,
            },
            // An office shares one address: more room before waits, same lock.
            ip: Rule {
                free: s.ip_failures_before_lock / 2,
                max_delay_secs: 10,
                lock_after: s.ip_failures_before_lock,
                lock_secs,
                window_secs: 3600,
            },
        }
    }

    /// How long stored rows are kept: the audit trail as configured; throttle counts and sent
    /// texts for the longest window any limit reads them in.
    pub fn retention(&self) -> crate::db::retention::Retention {
        let s = &self.security;
        let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let rules = self.throttle_rules();
        crate::db::retention::Retention {
            audit_secs: i64::from(s.audit_retention_days).saturating_mul(86_400),
            login_failure_secs: [rules.account, rules.ip]
                .iter()
                .map(|r| r.window_secs.max(r.lock_secs))
                .max()
                .unwrap_or(86_400),
            // Per-person and global limits count a day; the cooldown may be set longer.
            send_counter_secs: secs(s.send_cooldown_secs).max(86_400),
            batch: 1000,
        }
    }

    /// The host people reach Latchkey at (for the SMS autofill line).
    pub fn public_host(&self) -> String {
        url::Url::parse(&self.server.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into())
    }

    /// `server.site_root` when set: a directory whose browser assets win over the binary's own.
    pub fn site_root_override(&self) -> Option<&str> {
        Some(self.server.site_root.as_str()).filter(|s| !s.is_empty())
    }

    /// Whether cookies must be `Secure` (and get the `__Host-` prefix).
    pub fn is_https(&self) -> bool {
        self.server.public_url.starts_with("https://")
    }

    /// The configuration as TOML with every secret replaced by a marker.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print: {e}"))
    }
}

fn validate_twilio(t: &TwilioConfig, p: &mut Vec<String>) {
    if !is_sid(&t.account_sid, "AC") {
        p.push("sms.twilio.account_sid must be your Account SID (AC followed by 32 hex digits), from the Twilio console".into());
    }
    let has_token = t.auth_token.as_ref().is_some_and(|s| !s.expose_secret().is_empty());
    let has_key = !t.api_key_sid.is_empty();
    match (has_token, has_key) {
        (false, false) => p.push(
            "sms.twilio needs credentials: set auth_token, or api_key_sid with api_key_secret"
                .into(),
        ),
        (true, true) => p.push(
            "sms.twilio has both auth_token and api_key_sid: keep one way to authenticate".into(),
        ),
        (false, true) => {
            if !is_sid(&t.api_key_sid, "SK") {
                p.push(
                    "sms.twilio.api_key_sid must be an API key SID (SK followed by 32 hex digits)"
                        .into(),
                );
            }
            if t.api_key_secret.as_ref().is_none_or(|s| s.expose_secret().is_empty()) {
                p.push("sms.twilio.api_key_secret is missing: set it, or LATCHKEY_SMS__TWILIO__API_KEY_SECRET_FILE".into());
            }
        }
        (true, false) => {}
    }
    match (t.from.is_empty(), t.messaging_service_sid.is_empty()) {
        (true, true) => p.push("sms.twilio needs a sender: set from (an E.164 number such as \"+15017122661\") or messaging_service_sid".into()),
        (false, false) => p.push("sms.twilio has both from and messaging_service_sid: keep one".into()),
        (false, true) => {
            let digits = t.from.strip_prefix('+').unwrap_or("");
            if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                p.push(format!(
                    "sms.twilio.from = {:?} is not an E.164 number: write it as + and 8 to 15 digits",
                    t.from
                ));
            }
        }
        (true, false) => {
            if !is_sid(&t.messaging_service_sid, "MG") {
                p.push("sms.twilio.messaging_service_sid must be MG followed by 32 hex digits".into());
            }
        }
    }
    match url::Url::parse(&t.base_url) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
        _ => p.push(format!("sms.twilio.base_url = {:?} is not an http(s) URL", t.base_url)),
    }
    if !(1..=60).contains(&t.timeout_secs) {
        p.push("sms.twilio.timeout_secs must be between 1 and 60".into());
    }
    if let Some(voice_from) = t.voice_from.as_deref()
        && !voice_from.is_empty()
        && !is_e164_number(voice_from)
    {
        p.push(format!(
            "sms.twilio.voice_from = {voice_from:?} is not an E.164 number: write it as + and 8 to 15 digits (a voice-capable Twilio number or verified caller ID), or leave it out to call from sms.twilio.from"
        ));
    }
    if !(5..=60).contains(&t.call_ring_secs) {
        p.push(format!(
            "sms.twilio.call_ring_secs = {} is out of range: a call rings 5 to 60 seconds before Twilio gives up (default 30)",
            t.call_ring_secs
        ));
    }
    if !(20..=300).contains(&t.call_time_limit_secs) {
        p.push(format!(
            "sms.twilio.call_time_limit_secs = {} is out of range: a call may last 20 to 300 seconds (default 60; saying a code twice takes about 20)",
            t.call_time_limit_secs
        ));
    }
}

/// `+` and 8 to 15 digits, not starting with 0.
fn is_e164_number(value: &str) -> bool {
    value.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

fn validate_oidc(o: &OidcConfig, public_https: bool, p: &mut Vec<String>) {
    let acrs =
        || levels::supported_acrs().iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ");
    if Level::from_acr(&o.default_acr).is_none() {
        p.push(format!(
            "oidc.default_acr = {:?} is not an acr Latchkey knows: use one of {}",
            o.default_acr,
            acrs()
        ));
    }
    for (key, value) in [
        ("oidc.access_token_lifetime_secs", o.access_token_lifetime_secs),
        ("oidc.id_token_lifetime_secs", o.id_token_lifetime_secs),
    ] {
        if !(60..=86_400).contains(&value) {
            p.push(format!("{key} must be between 60 and 86400 (a minute to a day)"));
        }
    }
    if !(300..=2_592_000).contains(&o.refresh_token_lifetime_secs) {
        p.push("oidc.refresh_token_lifetime_secs must be between 300 and 2592000 (5 minutes to 30 days)".into());
    }
    for (k, path) in o.signing_key_files.iter().enumerate() {
        match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => p.push(format!(
                "oidc.signing_key_files[{k}] = {path:?} is empty: put a PEM private key in it, or leave signing_key_files empty for keys Latchkey generates"
            )),
            Ok(_) => {}
            Err(e) => p.push(format!(
                "oidc.signing_key_files[{k}] = {path:?} cannot be read ({e}): point it at a PEM private key Latchkey's user can read"
            )),
        }
    }

    for (i, c) in o.clients.iter().enumerate() {
        let at = format!("oidc.clients[{i}]");
        if !is_client_id(&c.id) {
            p.push(format!(
                "{at}.id = {:?} is not a client id: write 1 to 128 of A-Z a-z 0-9 . _ ~ -, e.g. \"grafana\"",
                c.id
            ));
        }
        if let Some(j) = o.clients[..i].iter().position(|earlier| earlier.id == c.id) {
            p.push(format!(
                "{at}.id = {:?} is already the id of oidc.clients[{j}]: give each client its own id",
                c.id
            ));
        }
        let secret_hint = "use a random secret, e.g. `openssl rand -base64 48`";
        match (&c.secret, &c.secret_file) {
            (Some(_), Some(_)) => p.push(format!(
                "{at}.secret_file is set together with {at}.secret: keep one (secret_file keeps the secret out of latchkey.toml)"
            )),
            (Some(secret), None) => {
                if secret.expose_secret().chars().count() < 32 {
                    p.push(format!(
                        "{at}.secret is shorter than 32 characters: {secret_hint}; or leave it out for a public client (PKCE, no secret)"
                    ));
                }
            }
            // Not read yet (validate called on its own) or not readable: say which.
            (None, Some(path)) => match read_secret_file(path) {
                Ok(secret) if secret.chars().count() < 32 => p.push(format!(
                    "{at}.secret_file = {path:?} holds a secret shorter than 32 characters: {secret_hint}"
                )),
                Ok(_) => {}
                Err(problem) => p.push(format!("{at}.secret_file = {path:?} {problem}")),
            },
            (None, None) => {}
        }
        if c.redirect_uris.is_empty() {
            p.push(format!(
                "{at}.redirect_uris is empty: list where the app receives sign-ins, e.g. [\"https://grafana.example.org/login/generic_oauth\"]"
            ));
        }
        for (key, uris) in [
            ("redirect_uris", &c.redirect_uris),
            ("post_logout_redirect_uris", &c.post_logout_redirect_uris),
        ] {
            for (k, uri) in uris.iter().enumerate() {
                if let Err(problem) = check_redirect_uri(uri, public_https) {
                    p.push(format!("{at}.{key}[{k}] = {uri:?} {problem}"));
                }
            }
        }
        for scope in &c.scopes {
            if !OIDC_SCOPES.contains(&scope.as_str()) {
                p.push(format!(
                    "{at}.scopes contains {scope:?}: use only {} (refresh tokens are refresh_tokens = true)",
                    OIDC_SCOPES.join(", ")
                ));
            }
        }
        if !c.scopes.iter().any(|s| s == "openid") {
            p.push(format!(
                "{at}.scopes must include \"openid\" (without it this is not OpenID Connect)"
            ));
        }
        if let Some(acr) = &c.default_acr
            && Level::from_acr(acr).is_none()
        {
            p.push(format!(
                "{at}.default_acr = {acr:?} is not an acr Latchkey knows: use one of {}, or leave it out for oidc.default_acr",
                acrs()
            ));
        }
        for (k, group) in c.allowed_groups.iter().enumerate() {
            if group.trim().is_empty() {
                p.push(format!(
                    "{at}.allowed_groups[{k}] is empty: write a group's name (its cn), e.g. \"grafana-users\""
                ));
            } else if group.contains(',') && looks_like_dn(group) {
                p.push(format!(
                    "{at}.allowed_groups[{k}] = {group:?} is a DN: write the group's name (its cn) only, e.g. \"grafana-users\""
                ));
            }
        }
        if !OIDC_SIGNING_ALGS.contains(&c.signing_alg.as_str()) {
            p.push(format!(
                "{at}.signing_alg = {:?} is not supported: use \"RS256\" (the default, what every app understands), \"ES256\" or \"EdDSA\"",
                c.signing_alg
            ));
        }
    }
}

/// Why a redirect URI cannot be used, said after `key = "uri"`. Redirect URIs are matched
/// exactly, so a wildcard or a fragment is a mistake, and a code sent over plain http to
/// another machine can be read on the way.
fn check_redirect_uri(uri: &str, public_https: bool) -> Result<(), String> {
    if uri.contains('*') {
        return Err("has a wildcard: list every URI in full (they are matched exactly)".into());
    }
    let Ok(parsed) = url::Url::parse(uri) else {
        return Err(
            "is not an absolute URL: write e.g. \"https://grafana.example.org/login/generic_oauth\""
                .into(),
        );
    };
    if parsed.fragment().is_some() {
        return Err("has a fragment (#…): remove it (redirect URIs must not have one)".into());
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if !public_https || crate::ldap_transport::is_loopback_url(uri) => Ok(()),
        "http" => Err("uses http: use https (http only for localhost, 127.0.0.1 or [::1], or while server.public_url is itself http)".into()),
        _ => Err("is not an https URL: write e.g. \"https://grafana.example.org/login/generic_oauth\" (http only for localhost, or while server.public_url is itself http)".into()),
    }
}

fn validate_forward_auth(
    f: &ForwardAuthConfig,
    trusted_proxies: &[String],
    public_https: bool,
    p: &mut Vec<String>,
) {
    if !f.apps.is_empty() && trusted_proxies.is_empty() {
        p.push(
            "forward_auth.apps needs server.trusted_proxies: list the proxies (nginx, Caddy) whose X-Forwarded-* and X-Original-* headers say which app a request is for, e.g. [\"127.0.0.1\"]"
                .into(),
        );
    }
    let mut origins: Vec<String> = Vec::new();
    for (i, a) in f.apps.iter().enumerate() {
        let at = format!("forward_auth.apps[{i}]");
        match ProtectedApp::new(&a.name, &a.origin, Level::Code) {
            Ok(app) => {
                if let Some(j) = origins.iter().position(|o| *o == app.origin) {
                    p.push(format!(
                        "{at}.origin = {:?} is already the origin of forward_auth.apps[{j}]: list each app once",
                        a.origin
                    ));
                }
                if let Err(problem) = check_redirect_uri(&app.origin, public_https) {
                    p.push(format!("{at}.origin = {:?} {problem}", a.origin));
                }
                origins.push(app.origin);
            }
            Err(problem) => p.push(format!(
                "{at}.origin = {:?} {problem}, e.g. \"https://wiki.example.org\"",
                a.origin
            )),
        }
        if a.level().is_none() {
            p.push(format!(
                "{at}.level = {:?} is not a level: write \"password\" or \"code\" (the password and a texted code)",
                a.level
            ));
        }
        if let Some(max) = a.max_age_secs
            && !(60..=2_592_000).contains(&max)
        {
            p.push(format!(
                "{at}.max_age_secs must be between 60 and 2592000 (a minute to 30 days), or left out"
            ));
        }
        if a.name.chars().any(char::is_control) || a.name.chars().count() > 100 {
            p.push(format!("{at}.name must be at most 100 characters, on one line"));
        }
    }
}

fn is_client_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
}

/// A client secret from its file: the trailing newline trimmed, as for `…_FILE`. The error is
/// said after `secret_file = "path"`.
fn read_secret_file(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("cannot be read ({e}): point it at a file holding the client secret")
    })?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.trim().is_empty() {
        return Err(format!(
            "is empty: write the client secret into it, e.g. `openssl rand -base64 48 > {path}`"
        ));
    }
    Ok(secret.to_owned())
}

fn is_sid(value: &str, prefix: &str) -> bool {
    value.len() == 34
        && value.starts_with(prefix)
        && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_region(value: &str) -> bool {
    value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())
}

fn is_attribute_name(value: &str) -> bool {
    let mut chars = value.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A loose check that catches the usual mistakes (empty, a bare name, a URL); the directory
/// judges the rest.
fn looks_like_dn(value: &str) -> bool {
    let first = value.split(',').next().unwrap_or("");
    match first.split_once('=') {
        Some((attr, val)) => is_attribute_name(attr.trim()) && !val.trim().is_empty(),
        None => false,
    }
}

/// Turns a figment error into one line naming the key, where it came from, and the fix.
fn describe_figment_error(e: figment::Error) -> String {
    use figment::error::Kind;
    // `oidc.clients[0].id`, as validation names it, not figment's `oidc.clients.0.id`.
    let key = e.path.iter().fold(String::new(), |mut key, part| {
        if part.bytes().all(|b| b.is_ascii_digit()) && !key.is_empty() {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(part);
        }
        key
    });
    let origin = e
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(figment::Source::File(path)) => format!(" (in {})", path.display()),
            _ if m.name.starts_with("environment") => {
                let var = m.interpolate(&e.profile.clone().unwrap_or_default(), &e.path);
                format!(" (from environment variable {var})")
            }
            _ => format!(" (in {})", m.name),
        })
        .unwrap_or_default();
    match &e.kind {
        Kind::MissingField(field) => {
            let full = if key.is_empty() { field.to_string() } else { format!("{key}.{field}") };
            let env = format!("{ENV_PREFIX}{}", full.replace('.', "__").to_uppercase());
            if full.starts_with("oidc.clients") {
                format!("{full} is missing: set it in the [[oidc.clients]] table of latchkey.toml")
            } else if SECRET_KEYS.contains(&full.as_str()) {
                format!("{full} is missing: set it in latchkey.toml, {env} or {env}_FILE")
            } else {
                format!("{full} is missing: set it in latchkey.toml or {env}")
            }
        }
        Kind::UnknownField(field, expected) => {
            let full = if key.is_empty() { field.clone() } else { key.clone() };
            format!(
                "unknown key {full}{origin}: check the spelling; allowed here: {}",
                expected.join(", ")
            )
        }
        Kind::UnknownVariant(found, expected) => {
            format!("{key} = {found:?}{origin} is not allowed: use one of {}", expected.join(", "))
        }
        Kind::InvalidType(actual, expected) => {
            format!("{key}{origin} has the wrong type: found {actual}, expected {expected}")
        }
        _ => {
            if key.is_empty() {
                format!("configuration{origin}: {}", e.kind)
            } else {
                format!("{key}{origin}: {}", e.kind)
            }
        }
    }
}

/// Reads `LATCHKEY_…` variables from a given environment, and the files `…_FILE` names.
struct EnvProvider {
    dict: Dict,
}

impl EnvProvider {
    fn new(env: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut dict = Dict::new();
        let mut problems = Vec::new();
        // Sorted so a key set both ways reports the same way every time.
        let vars: BTreeMap<&str, &str> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if NOT_CONFIG_KEYS.contains(&rest) {
                continue;
            }
            let (rest, from_file) = match rest.strip_suffix("_FILE") {
                Some(base) => (base, true),
                None => (rest, false),
            };
            let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
            if path.starts_with(&["oidc".to_owned(), "clients".to_owned()]) {
                problems.push(format!(
                    "{name}: OpenID Connect clients can only be set in latchkey.toml, as [[oidc.clients]] tables (a client's secret can come from a file with secret_file)"
                ));
                continue;
            }
            if path.starts_with(&["forward_auth".to_owned(), "apps".to_owned()]) {
                problems.push(format!(
                    "{name}: forward-auth apps can only be set in latchkey.toml, as [[forward_auth.apps]] tables"
                ));
                continue;
            }
            let key = path.join(".");
            let is_secret = SECRET_KEYS.contains(&key.as_str());
            let value = if from_file {
                if !is_secret {
                    problems.push(format!(
                        "{name}: only secrets can be read from a file ({}); set {ENV_PREFIX}{rest} instead",
                        SECRET_KEYS.join(", ")
                    ));
                    continue;
                }
                match std::fs::read_to_string(value) {
                    Ok(text) => secret_file_value(&key, &text),
                    Err(e) => {
                        problems.push(format!("{name}: cannot read {value}: {e}"));
                        continue;
                    }
                }
            } else if is_secret {
                // Never guess a type for a secret: "12345" stays a string.
                Value::from(value.to_owned())
            } else if value.starts_with('+') || (value.starts_with('0') && value.len() > 1) {
                // "+15017122661" is a phone number and "0123" an identifier, not numbers.
                Value::from(value.to_owned())
            } else {
                value.parse::<Value>().unwrap_or_else(|_| Value::from(value.to_owned()))
            };
            insert_path(&mut dict, &path, value);
        }
        credentials(env, &mut dict, &mut problems);
        if problems.is_empty() { Ok(Self { dict }) } else { Err(ConfigError { problems }) }
    }
}

/// systemd credentials: under a unit with `LoadCredential=directory.bind_password:/path`,
/// `$CREDENTIALS_DIRECTORY/directory.bind_password` holds the secret, readable only by the
/// service. Each secret key is read from the file of its own name there, as if
/// `LATCHKEY_…_FILE` named it; a variable set for the key wins. A missing or empty file is no
/// value: the packaged unit gives every credential an empty `SetCredential=` default, so it
/// starts whichever secrets the administrator put under /etc/latchkey/credentials/.
fn credentials(env: &[(String, String)], dict: &mut Dict, problems: &mut Vec<String>) {
    let Some((_, dir)) = env.iter().find(|(k, _)| k == "CREDENTIALS_DIRECTORY") else {
        return;
    };
    for key in SECRET_KEYS {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        if has_path(dict, &path) {
            continue;
        }
        let file = Path::new(dir).join(key);
        match std::fs::read_to_string(&file) {
            Ok(text) if text.trim().is_empty() => {}
            Ok(text) => insert_path(dict, &path, secret_file_value(key, &text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => problems.push(format!("credential {}: cannot read it: {e}", file.display())),
        }
    }
}

fn has_path(dict: &Dict, path: &[String]) -> bool {
    match path {
        [] => true,
        [last] => dict.contains_key(last),
        [first, rest @ ..] => match dict.get(first) {
            Some(Value::Dict(_, inner)) => has_path(inner, rest),
            _ => false,
        },
    }
}

/// A secret file holds the value with a trailing newline; for the key list, one key per line.
fn secret_file_value(key: &str, text: &str) -> Value {
    if key == "security.hmac_keys" {
        let keys: Vec<Value> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| Value::from(l.to_owned()))
            .collect();
        Value::from(keys)
    } else {
        Value::from(text.trim_end_matches(['\n', '\r']).to_owned())
    }
}

fn insert_path(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict.entry(first.clone()).or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

impl Provider for EnvProvider {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment")
            .interpolater(|_, keys| format!("{ENV_PREFIX}{}", keys.join("__").to_uppercase()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::defaults(&self.dict).data()
    }
}

fn one_or_many_secrets<'de, D>(d: D) -> Result<Vec<SecretString>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![SecretString::from(s)],
        OneOrMany::Many(v) => v.into_iter().map(SecretString::from).collect(),
    })
}

const REDACTED: &str = "<redacted>";

fn redact<S: Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(REDACTED)
}

/// TLS to the directory: passwords never go to another host in clear unless the operator
/// says so in words (issue 14, finding 5), and the CA file is checked before start-up.
fn validate_directory_transport(d: &DirectoryConfig, url: &url::Url, p: &mut Vec<String>) {
    use crate::ldap_transport::{Transport, is_loopback_url, tls_client_config};
    let host = url.host_str().unwrap_or_default();
    match Transport::of(&d.url, d.starttls) {
        Transport::Ldaps if d.starttls => p.push(format!(
            "directory.starttls = true does not go with directory.url = {:?}: ldaps:// is TLS from the start; set starttls = false, or use ldap:// with StartTLS",
            d.url
        )),
        Transport::Ldaps | Transport::StartTls => {
            if let Err(problem) = tls_client_config(&d.ca_certificates) {
                p.push(problem);
            }
        }
        Transport::Plain => {
            if !d.ca_certificates.is_empty() {
                p.push(format!(
                    "directory.ca_certificates is set but directory.url = {:?} is used without TLS: set directory.starttls = true or use ldaps://",
                    d.url
                ));
            }
            if !is_loopback_url(&d.url) && !d.allow_plaintext {
                p.push(format!(
                    "directory.url = {:?} would send every password to {host} in clear: set directory.starttls = true, or use ldaps://{host}:636 (with directory.ca_certificates for a private CA); only on a network you trust completely, set directory.allow_plaintext = true",
                    d.url
                ));
            }
        }
    }
}

fn redact_opt<S: Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_str(""),
    }
}

fn redact_many<S: Serializer>(v: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for _ in v {
        seq.serialize_element(REDACTED)?;
    }
    seq.end()
}

fn redact_url<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url_str(v))
}

/// The URL with any password replaced, safe for logs and error messages.
pub fn redact_url_str(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some(REDACTED));
            u.to_string()
        }
        Ok(_) => raw.to_owned(),
        // Unparseable: it may still hold a secret, so show only the scheme.
        Err(_) => raw.split_once(':').map(|(scheme, _)| format!("{scheme}:…")).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef-test";

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn minimal() -> Vec<(String, String)> {
        env(&[
            ("LATCHKEY_DIRECTORY__URL", "ldap://127.0.0.1:389"),
            ("LATCHKEY_DIRECTORY__BIND_DN", "cn=latchkey,ou=services,dc=example,dc=org"),
            ("LATCHKEY_DIRECTORY__BIND_PASSWORD", "12345"),
            ("LATCHKEY_DIRECTORY__BASE_DN", "ou=people,dc=example,dc=org"),
            ("LATCHKEY_SECURITY__HMAC_KEYS", KEY),
        ])
    }

    fn load(pairs: Vec<(String, String)>) -> Result<Config, ConfigError> {
        Config::load_from(None, &pairs)
    }

    fn one_problem(pairs: Vec<(String, String)>) -> String {
        let e = load(pairs).expect_err("config must be refused");
        assert_eq!(e.problems.len(), 1, "expected one problem, got {:?}", e.problems);
        e.problems[0].clone()
    }

    #[test]
    fn environment_alone_is_enough_and_defaults_fill_the_rest() {
        let c = load(minimal()).unwrap();
        assert_eq!(c.server.address, "127.0.0.1:3000");
        assert_eq!(c.directory.phone_attribute, "mobile");
        assert_eq!(c.directory.phone_format, PhoneFormat::E164);
        // A numeric-looking password stays a string.
        assert_eq!(c.directory.bind_password.expose_secret(), "12345");
        assert_eq!(c.security.code_length, 6);
        assert_eq!(c.security.code_lifetime_secs, 300);
        assert_eq!(c.security.sends_per_ip_per_hour, 20);
        assert_eq!(c.policy.two_factor, TwoFactorPolicy::Optional);
        assert_eq!(c.sms.provider, SmsProvider::Console);
    }

    #[test]
    fn each_directory_flavour_brings_its_defaults_and_each_stays_overridable() {
        let c = load(minimal()).unwrap().directory;
        assert_eq!(c.flavour, Flavour::OpenLdap);
        assert_eq!(
            (
                c.login_attribute.as_str(),
                c.user_id_attribute.as_str(),
                c.display_name_attribute.as_str()
            ),
            ("uid", "entryUUID", "cn")
        );
        assert_eq!(c.login_attributes().collect::<Vec<_>>(), ["uid"]);
        assert!(!c.follows_nested_groups());

        let mut e = minimal();
        e.push(("LATCHKEY_DIRECTORY__FLAVOUR".into(), "active_directory".into()));
        let ad = load(e.clone()).unwrap().directory;
        assert_eq!(
            ad.login_attributes().collect::<Vec<_>>(),
            ["sAMAccountName", "userPrincipalName"]
        );
        assert_eq!(ad.user_id_attribute, "objectGUID");
        assert_eq!(ad.display_name_attribute, "displayName");
        // AD's `mobile` is single-valued: one value per phone needs `otherMobile`.
        assert_eq!(ad.phone_attribute, "otherMobile");
        assert!(ad.follows_nested_groups());

        e.push(("LATCHKEY_DIRECTORY__LOGIN_ATTRIBUTE".into(), "userPrincipalName".into()));
        e.push(("LATCHKEY_DIRECTORY__ALSO_LOGIN_WITH".into(), "[]".into()));
        e.push(("LATCHKEY_DIRECTORY__PHONE_ATTRIBUTE".into(), "mobile".into()));
        e.push(("LATCHKEY_DIRECTORY__NESTED_GROUPS".into(), "false".into()));
        let ad = load(e).unwrap().directory;
        assert_eq!(ad.login_attributes().collect::<Vec<_>>(), ["userPrincipalName"]);
        assert_eq!(ad.phone_attribute, "mobile");
        assert!(!ad.follows_nested_groups());

        let mut e = minimal();
        e.push(("LATCHKEY_DIRECTORY__FLAVOUR".into(), "389ds".into()));
        let ds = load(e).unwrap().directory;
        assert_eq!(
            (ds.login_attribute.as_str(), ds.user_id_attribute.as_str()),
            ("uid", "nsUniqueId")
        );

        let ad = Config::from_toml_str(
            "[directory]\nflavour = \"active_directory\"\nalso_login_with = [\"userPrincipalName\", \"mail\"]\n",
            &minimal(),
        )
        .unwrap()
        .directory;
        assert_eq!(
            ad.login_attributes().collect::<Vec<_>>(),
            ["sAMAccountName", "userPrincipalName", "mail"]
        );
    }

    #[test]
    fn directory_flavour_mistakes_are_named() {
        let mut e = minimal();
        e.push(("LATCHKEY_DIRECTORY__FLAVOUR".into(), "ad".into()));
        let problem = one_problem(e);
        assert!(problem.contains("directory.flavour"), "{problem}");
        assert!(problem.contains("active_directory"), "{problem}");

        let mut e = minimal();
        e.push(("LATCHKEY_DIRECTORY__NESTED_GROUPS".into(), "true".into()));
        let problem = one_problem(e);
        assert!(problem.contains("only Active Directory"), "{problem}");

        let mut e = minimal();
        e.push(("LATCHKEY_DIRECTORY__ALSO_LOGIN_WITH".into(), "[mail, \"x)(uid=*\"]".into()));
        let problem = one_problem(e);
        assert!(problem.contains("directory.also_login_with"), "{problem}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.toml");
        std::fs::write(
            &file,
            "[server]\nproduct_name = \"From file\"\naddress = \"0.0.0.0:8080\"\n",
        )
        .unwrap();
        let mut e = minimal();
        e.push(("LATCHKEY_SERVER__PRODUCT_NAME".into(), "From env".into()));
        let c = Config::load_from(Some(&file), &e).unwrap();
        assert_eq!(c.server.product_name, "From env");
        assert_eq!(c.server.address, "0.0.0.0:8080");
    }

    #[test]
    fn secrets_come_from_systemd_credentials_and_a_variable_wins() {
        let creds = tempfile::tempdir().unwrap();
        let put = |name: &str, text: &str| std::fs::write(creds.path().join(name), text).unwrap();
        put("directory.bind_password", "from-credential\n");
        put("security.hmac_keys", &format!("{KEY}\n{}\n", KEY.replace('a', "b")));
        // An empty file is the unit's `SetCredential=` default: no value.
        put("database.url", "");
        let dir = ("CREDENTIALS_DIRECTORY".to_owned(), creds.path().display().to_string());
        let mut e: Vec<_> = minimal()
            .into_iter()
            .filter(|(k, _)| !k.ends_with("BIND_PASSWORD") && !k.ends_with("HMAC_KEYS"))
            .collect();
        e.push(dir.clone());
        let c = load(e.clone()).unwrap();
        assert_eq!(c.directory.bind_password.expose_secret(), "from-credential");
        assert_eq!(c.security.hmac_keys.len(), 2);
        assert_eq!(c.database.url, DatabaseConfig::default().url);
        // A variable set for the key wins over the credential.
        e.push(("LATCHKEY_DIRECTORY__BIND_PASSWORD".into(), "from-env".into()));
        let c = load(e).unwrap();
        assert_eq!(c.directory.bind_password.expose_secret(), "from-env");
        // Without the directory's variable, credentials are not looked for.
        let mut e = minimal();
        e.retain(|(k, _)| !k.ends_with("BIND_PASSWORD"));
        assert!(load(e).is_err());
    }

    #[test]
    fn the_old_min_phones_key_is_still_read_and_methods_default_to_all() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.toml");
        std::fs::write(&file, "[policy]\nmin_phones = 2\n").unwrap();
        let c = Config::load_from(Some(&file), &minimal()).unwrap();
        assert_eq!(c.policy.min_credentials, 2);
        assert_eq!(c.methods(), domain::authenticator::Methods::default());
        std::fs::write(&file, "[policy]\nmin_credentials = 3\nmethods = [\"sms\"]\n").unwrap();
        let c = Config::load_from(Some(&file), &minimal()).unwrap();
        assert_eq!(c.policy.min_credentials, 3);
        let m = c.methods();
        assert!(m.sms && !m.totp && !m.recovery_codes);
    }

    #[test]
    fn a_typo_in_the_file_names_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latchkey.toml");
        std::fs::write(&file, "[directory]\nbnd_dn = \"cn=x\"\n").unwrap();
        let e = Config::load_from(Some(&file), &minimal()).unwrap_err();
        let line = e.problems.join("\n");
        assert!(line.contains("unknown key directory.bnd_dn"), "{line}");
        assert!(line.contains("latchkey.toml"), "{line}");
        assert!(line.contains("bind_dn"), "lists the allowed keys: {line}");
    }

    #[test]
    fn a_typo_in_the_environment_names_the_variable() {
        let mut e = minimal();
        e.push(("LATCHKEY_SMS__PROVIDR".into(), "twilio".into()));
        let line = one_problem(e);
        assert!(line.contains("unknown key sms.providr"), "{line}");
        assert!(line.contains("LATCHKEY_SMS__PROVIDR"), "{line}");
    }

    #[test]
    fn a_missing_secret_says_how_to_set_it() {
        let e: Vec<_> = minimal()
            .into_iter()
            .filter(|(k, _)| k != "LATCHKEY_DIRECTORY__BIND_PASSWORD")
            .collect();
        let line = one_problem(e);
        assert_eq!(
            line,
            "directory.bind_password is missing: set it in latchkey.toml, LATCHKEY_DIRECTORY__BIND_PASSWORD or LATCHKEY_DIRECTORY__BIND_PASSWORD_FILE"
        );
    }

    #[test]
    fn secrets_can_come_from_files_and_only_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret from file\n").unwrap();
        let keys = dir.path().join("keys");
        std::fs::write(&keys, format!("{KEY}-new\n{KEY}-old\n")).unwrap();
        let mut e: Vec<_> = minimal()
            .into_iter()
            .filter(|(k, _)| !k.contains("BIND_PASSWORD") && !k.contains("HMAC"))
            .collect();
        e.push(("LATCHKEY_DIRECTORY__BIND_PASSWORD_FILE".into(), pw.display().to_string()));
        e.push(("LATCHKEY_SECURITY__HMAC_KEYS_FILE".into(), keys.display().to_string()));
        let c = load(e.clone()).unwrap();
        assert_eq!(c.directory.bind_password.expose_secret(), "s3cret from file");
        assert_eq!(c.security.hmac_keys.len(), 2);
        assert_eq!(c.security.hmac_keys[1].expose_secret(), &format!("{KEY}-old"));

        e.push(("LATCHKEY_SERVER__ADDRESS_FILE".into(), pw.display().to_string()));
        let line = one_problem(e);
        assert!(line.starts_with("LATCHKEY_SERVER__ADDRESS_FILE: only secrets"), "{line}");
    }

    #[test]
    fn an_unreadable_secret_file_is_named() {
        let mut e: Vec<_> =
            minimal().into_iter().filter(|(k, _)| !k.contains("BIND_PASSWORD")).collect();
        e.push(("LATCHKEY_DIRECTORY__BIND_PASSWORD_FILE".into(), "/nonexistent/pw".into()));
        let line = one_problem(e);
        assert!(
            line.starts_with("LATCHKEY_DIRECTORY__BIND_PASSWORD_FILE: cannot read /nonexistent/pw"),
            "{line}"
        );
    }

    #[test]
    fn validation_names_key_and_fix() {
        let cases: &[(&str, &str, &str)] = &[
            ("LATCHKEY_SERVER__ADDRESS", "localhost", "server.address"),
            ("LATCHKEY_SERVER__PUBLIC_URL", "example.org", "server.public_url"),
            ("LATCHKEY_DATABASE__URL", "mysql://db", "database.url"),
            ("LATCHKEY_DIRECTORY__URL", "http://ldap", "directory.url"),
            ("LATCHKEY_DIRECTORY__BASE_DN", "people", "directory.base_dn"),
            ("LATCHKEY_DIRECTORY__PHONE_ATTRIBUTE", "mob ile", "directory.phone_attribute"),
            ("LATCHKEY_SECURITY__HMAC_KEYS", "short", "security.hmac_keys[0]"),
            ("LATCHKEY_SECURITY__CODE_LIFETIME_SECS", "3600", "security.code_lifetime_secs"),
            ("LATCHKEY_SECURITY__CODE_LENGTH", "4", "security.code_length"),
            (
                "LATCHKEY_SECURITY__MAX_CODE_FAILURES_BEFORE_RESET",
                "101",
                "security.max_code_failures_before_reset",
            ),
            (
                "LATCHKEY_SECURITY__MAX_CODE_FAILURES_BEFORE_RESET",
                "9",
                "security.max_code_failures_before_reset",
            ),
            ("LATCHKEY_POLICY__MIN_PHONES", "0", "policy.min_credentials"),
            ("LATCHKEY_POLICY__MIN_CREDENTIALS", "6", "policy.min_credentials"),
            ("LATCHKEY_POLICY__METHODS", r#"["totp"]"#, "policy.methods"),
            ("LATCHKEY_PHONE__DEFAULT_REGION", "usa", "phone.default_region"),
            ("LATCHKEY_PHONE__DEFAULT_REGION", "UK", "phone: \"UK\""),
            ("LATCHKEY_SERVER__TRUSTED_PROXIES", r#"["10.0.0.0/33"]"#, "server.trusted_proxies"),
            ("LATCHKEY_SERVER__ACCENT_COLOR", "#fff", "server.accent_color"),
            ("LATCHKEY_SERVER__LOGO", "/nonexistent.png", "server.logo"),
        ];
        for (var, value, key) in cases {
            let mut e = minimal();
            e.retain(|(k, _)| k != var);
            e.push((var.to_string(), value.to_string()));
            let line = one_problem(e);
            assert!(line.starts_with(key), "{var}={value}: {line}");
        }
    }

    #[test]
    fn plain_ldap_to_another_host_is_refused_unless_allowed_in_words() {
        let with = |pairs: &[(&str, &str)]| {
            let mut e = minimal();
            for (k, v) in pairs {
                e.retain(|(existing, _)| existing != k);
                e.push((k.to_string(), v.to_string()));
            }
            e
        };
        let url = "LATCHKEY_DIRECTORY__URL";
        let line = one_problem(with(&[(url, "ldap://ldap.example.org:389")]));
        assert!(line.starts_with("directory.url = \"ldap://ldap.example.org:389\" would send every password to ldap.example.org in clear"), "{line}");
        assert!(
            line.contains("directory.starttls = true")
                && line.contains("directory.allow_plaintext = true"),
            "{line}"
        );
        let allowed = load(with(&[
            (url, "ldap://ldap.example.org:389"),
            ("LATCHKEY_DIRECTORY__ALLOW_PLAINTEXT", "true"),
        ]))
        .unwrap();
        assert!(allowed.directory.allow_plaintext);
        // This machine: nothing crosses a network.
        for local in
            ["ldap://127.0.0.1:389", "ldap://127.0.0.2", "ldap://[::1]:389", "ldap://localhost"]
        {
            assert!(load(with(&[(url, local)])).is_ok(), "{local}");
        }
        // StartTLS and LDAPS are fine (the system's roots, or a CA file).
        if !rustls_native_certs::load_native_certs().certs.is_empty() {
            assert!(
                load(with(&[
                    (url, "ldap://ldap.example.org"),
                    ("LATCHKEY_DIRECTORY__STARTTLS", "true")
                ]))
                .is_ok()
            );
            assert!(load(with(&[(url, "ldaps://ldap.example.org")])).is_ok());
        }
        let line = one_problem(with(&[
            (url, "ldaps://ldap.example.org"),
            ("LATCHKEY_DIRECTORY__STARTTLS", "true"),
        ]));
        assert!(line.starts_with("directory.starttls = true does not go with"), "{line}");
        let line = one_problem(with(&[
            (url, "ldaps://ldap.example.org"),
            ("LATCHKEY_DIRECTORY__CA_CERTIFICATES", "/nonexistent/ca.pem"),
        ]));
        assert!(
            line.starts_with("directory.ca_certificates = \"/nonexistent/ca.pem\" cannot be read"),
            "{line}"
        );
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "not a certificate\n").unwrap();
        let line = one_problem(with(&[
            (url, "ldaps://ldap.example.org"),
            ("LATCHKEY_DIRECTORY__CA_CERTIFICATES", &not_pem.display().to_string()),
        ]));
        assert!(line.contains("holds no certificate"), "{line}");
        let line = one_problem(with(&[
            (url, "ldap://127.0.0.1"),
            ("LATCHKEY_DIRECTORY__CA_CERTIFICATES", &not_pem.display().to_string()),
        ]));
        assert!(line.starts_with("directory.ca_certificates is set but"), "{line}");
    }

    #[test]
    fn an_unknown_enum_value_lists_the_choices() {
        let mut e = minimal();
        e.push(("LATCHKEY_POLICY__TWO_FACTOR".into(), "always".into()));
        let line = one_problem(e);
        assert!(line.contains("policy.two_factor"), "{line}");
        assert!(line.contains("optional") && line.contains("required"), "{line}");
    }

    #[test]
    fn twilio_needs_credentials_and_a_sender() {
        let mut e = minimal();
        e.push(("LATCHKEY_SMS__PROVIDER".into(), "twilio".into()));
        let problems = load(e.clone()).unwrap_err().problems;
        assert!(problems.iter().any(|p| p.starts_with("sms.twilio.account_sid")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("sms.twilio needs credentials")));
        assert!(problems.iter().any(|p| p.starts_with("sms.twilio needs a sender")));

        e.push(("LATCHKEY_SMS__TWILIO__ACCOUNT_SID".into(), format!("AC{}", "a".repeat(32))));
        e.push(("LATCHKEY_SMS__TWILIO__AUTH_TOKEN".into(), "token".into()));
        e.push(("LATCHKEY_SMS__TWILIO__FROM".into(), "+15017122661".into()));
        let c = load(e).unwrap();
        assert_eq!(c.sms.provider, SmsProvider::Twilio);
    }

    #[test]
    fn voice_calls_come_from_voice_from_or_from_within_bounds() {
        let mut e = minimal();
        e.push(("LATCHKEY_SMS__PROVIDER".into(), "twilio".into()));
        e.push(("LATCHKEY_SMS__TWILIO__ACCOUNT_SID".into(), format!("AC{}", "a".repeat(32))));
        e.push(("LATCHKEY_SMS__TWILIO__AUTH_TOKEN".into(), "token".into()));
        let with = |extra: &[(&str, &str)]| {
            let mut e = e.clone();
            e.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            e
        };
        let from = ("LATCHKEY_SMS__TWILIO__FROM", "+15017122661");
        let c = load(with(&[from])).unwrap();
        assert_eq!(c.sms.twilio.voice_from(), Some("+15017122661"), "defaults to from");
        assert_eq!((c.sms.twilio.call_ring_secs, c.sms.twilio.call_time_limit_secs), (30, 60));
        let c = load(with(&[from, ("LATCHKEY_SMS__TWILIO__VOICE_FROM", "+15017120199")])).unwrap();
        assert_eq!(c.sms.twilio.voice_from(), Some("+15017120199"));
        let service =
            ("LATCHKEY_SMS__TWILIO__MESSAGING_SERVICE_SID", "MG0123456789abcdef0123456789abcdef");
        let c = load(with(&[service])).unwrap();
        assert_eq!(c.sms.twilio.voice_from(), None, "a messaging service places no calls");
        let c =
            load(with(&[service, ("LATCHKEY_SMS__TWILIO__VOICE_FROM", "+15017120199")])).unwrap();
        assert_eq!(c.sms.twilio.voice_from(), Some("+15017120199"));

        let problems = load(with(&[
            from,
            ("LATCHKEY_SMS__TWILIO__VOICE_FROM", "(501) 712-0199"),
            ("LATCHKEY_SMS__TWILIO__CALL_RING_SECS", "4"),
            ("LATCHKEY_SMS__TWILIO__CALL_TIME_LIMIT_SECS", "301"),
        ]))
        .unwrap_err()
        .problems;
        assert!(
            problems.iter().any(|p| p
                .starts_with("sms.twilio.voice_from = \"(501) 712-0199\" is not an E.164 number")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with(
                "sms.twilio.call_ring_secs = 4 is out of range: a call rings 5 to 60 seconds"
            )),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("sms.twilio.call_time_limit_secs = 301 is out of range: a call may last 20 to 300 seconds")),
            "{problems:?}"
        );
        for (key, ok) in [
            ("LATCHKEY_SMS__TWILIO__CALL_RING_SECS", "5"),
            ("LATCHKEY_SMS__TWILIO__CALL_RING_SECS", "60"),
            ("LATCHKEY_SMS__TWILIO__CALL_TIME_LIMIT_SECS", "20"),
            ("LATCHKEY_SMS__TWILIO__CALL_TIME_LIMIT_SECS", "300"),
        ] {
            assert!(load(with(&[from, (key, ok)])).is_ok(), "{key}={ok}");
        }
    }

    #[test]
    fn printing_redacts_every_secret() {
        let mut e = minimal();
        e.retain(|(k, _)| k != "LATCHKEY_DIRECTORY__BIND_PASSWORD");
        e.push(("LATCHKEY_DIRECTORY__BIND_PASSWORD".into(), "hunter2-bind".into()));
        e.push(("LATCHKEY_DATABASE__URL".into(), "postgres://app:dbpass-xyz@db/latchkey".into()));
        e.push(("LATCHKEY_SMS__TWILIO__AUTH_TOKEN".into(), "twilio-token-xyz".into()));
        let c = load(e).unwrap();
        let printed = c.to_redacted_toml();
        for secret in ["hunter2-bind", "dbpass-xyz", "twilio-token-xyz", KEY] {
            assert!(!printed.contains(secret), "{secret} leaked:\n{printed}");
        }
        assert!(
            printed.contains("postgres://app:%3Credacted%3E@db/latchkey")
                || printed.contains("<redacted>@db"),
            "{printed}"
        );
        assert!(!format!("{c:?}").contains("hunter2-bind"), "Debug must redact");
    }

    const CLIENT_SECRET: &str = "grafana-client-secret-0123456789abcdef-test";

    /// A client table with its required keys, `overrides` replacing (or adding) keys; an empty
    /// value leaves the key out.
    fn client(overrides: &[(&str, &str)]) -> String {
        let mut keys = vec![
            ("id", r#""grafana""#.to_owned()),
            ("redirect_uris", r#"["https://grafana.example.org/login/generic_oauth"]"#.to_owned()),
        ];
        for (key, value) in overrides {
            keys.retain(|(k, _)| k != key);
            keys.push((key, value.to_string()));
        }
        let mut text = String::from("[[oidc.clients]]\n");
        for (key, value) in keys.iter().filter(|(_, v)| !v.is_empty()) {
            text.push_str(&format!("{key} = {value}\n"));
        }
        text
    }

    fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str(text, &minimal())
    }

    fn one_toml_problem(text: &str) -> String {
        let e = from_toml(text).expect_err("config must be refused");
        assert_eq!(e.problems.len(), 1, "expected one problem, got {:?}", e.problems);
        e.problems[0].clone()
    }

    /// Issue 21: a call costs `security.call_weight` texts of the global budget, 3 unless set,
    /// 1 to 50; anything else is one line naming the key.
    #[test]
    fn call_weight_defaults_to_three_and_is_bounded() {
        let c = load(minimal()).unwrap();
        assert_eq!(c.security.call_weight, 3);
        assert_eq!(c.code_rules().limits.call_weight, 3);
        let set = |v: &str| {
            let mut pairs = minimal();
            pairs.push(("LATCHKEY_SECURITY__CALL_WEIGHT".into(), v.into()));
            pairs
        };
        assert_eq!(load(set("1")).unwrap().code_rules().limits.call_weight, 1);
        assert_eq!(load(set("50")).unwrap().security.call_weight, 50);
        for bad in ["0", "51"] {
            let problem = one_problem(set(bad));
            assert!(
                problem.starts_with(&format!(
                    "security.call_weight is {bad}: it must be between 1 and 50"
                )),
                "{problem}"
            );
        }
    }

    #[test]
    fn without_an_oidc_section_the_defaults_apply_and_there_are_no_clients() {
        let o = load(minimal()).unwrap().oidc;
        assert_eq!(o.default_acr, "urn:latchkey:acr:password");
        assert_eq!(o.access_token_lifetime_secs, 600);
        assert_eq!(o.id_token_lifetime_secs, 600);
        assert_eq!(o.refresh_token_lifetime_secs, 28_800);
        assert_eq!(o.key_rotation_days, 90);
        assert!(o.signing_key_files.is_empty());
        assert!(o.enrol_at_sign_in);
        assert!(o.clients.is_empty());
    }

    #[test]
    fn a_full_oidc_section_with_a_confidential_and_a_public_client_parses() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("signing.pem");
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nnot parsed here\n").unwrap();
        let text = format!(
            r#"
[server]
public_url = "https://sso.example.org"

[oidc]
default_acr = "urn:latchkey:acr:password+code"
access_token_lifetime_secs = 300
id_token_lifetime_secs = 120
refresh_token_lifetime_secs = 3600
key_rotation_days = 0
signing_key_files = [{key:?}]
enrol_at_sign_in = false

[[oidc.clients]]
id = "grafana"
name = "Grafana"
secret = "{CLIENT_SECRET}"
redirect_uris = ["https://grafana.example.org/login/generic_oauth"]
post_logout_redirect_uris = ["https://grafana.example.org/login"]
scopes = ["openid", "profile", "email", "groups"]
default_acr = "twilio_sms"
allowed_groups = ["grafana-users", "ops"]
signing_alg = "ES256"
refresh_tokens = true
remembered_browser_satisfies_code = true

[[oidc.clients]]
id = "cli.tool_~-1"
redirect_uris = ["http://127.0.0.1:8400/callback", "http://localhost/cb", "http://[::1]:9/cb"]
"#,
            key = key.display().to_string()
        );
        let o = from_toml(&text).unwrap().oidc;
        assert_eq!(o.default_acr, "urn:latchkey:acr:password+code");
        assert_eq!(o.access_token_lifetime_secs, 300);
        assert_eq!(o.id_token_lifetime_secs, 120);
        assert_eq!(o.refresh_token_lifetime_secs, 3600);
        assert_eq!(o.key_rotation_days, 0);
        assert_eq!(o.signing_key_files, vec![key.display().to_string()]);
        assert!(!o.enrol_at_sign_in);
        assert_eq!(o.clients.len(), 2);

        let grafana = &o.clients[0];
        assert_eq!(grafana.id, "grafana");
        assert_eq!(grafana.name, "Grafana");
        assert!(!grafana.is_public());
        assert_eq!(grafana.secret.as_ref().unwrap().expose_secret(), CLIENT_SECRET);
        assert_eq!(grafana.secret_file, None);
        assert_eq!(grafana.redirect_uris, ["https://grafana.example.org/login/generic_oauth"]);
        assert_eq!(grafana.post_logout_redirect_uris, ["https://grafana.example.org/login"]);
        assert_eq!(grafana.scopes, ["openid", "profile", "email", "groups"]);
        assert_eq!(grafana.default_acr.as_deref(), Some("twilio_sms"));
        assert_eq!(grafana.allowed_groups, ["grafana-users", "ops"]);
        assert_eq!(grafana.signing_alg, "ES256");
        assert!(grafana.refresh_tokens);
        assert!(grafana.remembered_browser_satisfies_code);

        let cli = &o.clients[1];
        assert_eq!(cli.id, "cli.tool_~-1");
        assert_eq!(cli.name, "cli.tool_~-1", "the name defaults to the id");
        assert!(cli.is_public());
        assert!(cli.secret.is_none());
        assert_eq!(cli.redirect_uris.len(), 3);
        assert!(cli.post_logout_redirect_uris.is_empty());
        assert_eq!(cli.scopes, ["openid", "profile", "email", "phone", "groups"]);
        assert_eq!(cli.default_acr, None);
        assert!(cli.allowed_groups.is_empty());
        assert_eq!(cli.signing_alg, "RS256");
        assert!(!cli.refresh_tokens);
        assert!(!cli.remembered_browser_satisfies_code);
    }

    #[test]
    fn each_invalid_oidc_value_is_one_line_naming_its_key_and_the_fix() {
        let https = "[server]\npublic_url = \"https://sso.example.org\"\n";
        let section = |lines: &str| format!("{https}[oidc]\n{lines}\n{}", client(&[]));
        let at = "oidc.clients[0]";
        let secret = format!("{CLIENT_SECRET:?}");
        let cases: Vec<(String, String)> = vec![
            (
                section("default_acr = \"sms\""),
                r#"oidc.default_acr = "sms" is not an acr Latchkey knows: use one of "urn:latchkey:acr:password", "urn:latchkey:acr:password+code", "twilio_sms""#.into(),
            ),
            (
                section("access_token_lifetime_secs = 59"),
                "oidc.access_token_lifetime_secs must be between 60 and 86400 (a minute to a day)".into(),
            ),
            (
                section("access_token_lifetime_secs = 86401"),
                "oidc.access_token_lifetime_secs must be between 60 and 86400 (a minute to a day)".into(),
            ),
            (
                section("id_token_lifetime_secs = 0"),
                "oidc.id_token_lifetime_secs must be between 60 and 86400 (a minute to a day)".into(),
            ),
            (
                section("refresh_token_lifetime_secs = 299"),
                "oidc.refresh_token_lifetime_secs must be between 300 and 2592000 (5 minutes to 30 days)".into(),
            ),
            (
                section("refresh_token_lifetime_secs = 2592001"),
                "oidc.refresh_token_lifetime_secs must be between 300 and 2592000 (5 minutes to 30 days)".into(),
            ),
            (
                format!("{https}{}", client(&[("id", r#""graf ana""#)])),
                format!(r#"{at}.id = "graf ana" is not a client id: write 1 to 128 of A-Z a-z 0-9 . _ ~ -, e.g. "grafana""#),
            ),
            (
                format!("{https}{}", client(&[("id", &format!("{:?}", "a".repeat(129)))])),
                format!(r#"{at}.id = "{}" is not a client id: write 1 to 128 of A-Z a-z 0-9 . _ ~ -, e.g. "grafana""#, "a".repeat(129)),
            ),
            (
                format!("{https}{}", client(&[("id", r#""""#)])),
                format!(r#"{at}.id = "" is not a client id: write 1 to 128 of A-Z a-z 0-9 . _ ~ -, e.g. "grafana""#),
            ),
            (
                format!("{https}{}{}{}", client(&[]), client(&[("id", r#""other""#)]), client(&[])),
                r#"oidc.clients[2].id = "grafana" is already the id of oidc.clients[0]: give each client its own id"#.into(),
            ),
            (
                format!("{https}{}", client(&[("secret", r#""too-short""#)])),
                format!("{at}.secret is shorter than 32 characters: use a random secret, e.g. `openssl rand -base64 48`; or leave it out for a public client (PKCE, no secret)"),
            ),
            (
                format!("{https}{}", client(&[("secret", &secret), ("secret_file", r#""/nonexistent/s""#)])),
                format!("{at}.secret_file is set together with {at}.secret: keep one (secret_file keeps the secret out of latchkey.toml)"),
            ),
            (
                format!("{https}{}", client(&[("redirect_uris", "[]")])),
                format!(r#"{at}.redirect_uris is empty: list where the app receives sign-ins, e.g. ["https://grafana.example.org/login/generic_oauth"]"#),
            ),
            (
                format!("{https}{}", client(&[("redirect_uris", r#"["https://grafana.example.org/ok", "/login/generic_oauth"]"#)])),
                format!(r#"{at}.redirect_uris[1] = "/login/generic_oauth" is not an absolute URL: write e.g. "https://grafana.example.org/login/generic_oauth""#),
            ),
            (
                format!("{https}{}", client(&[("redirect_uris", r#"["https://*.example.org/cb"]"#)])),
                format!(r#"{at}.redirect_uris[0] = "https://*.example.org/cb" has a wildcard: list every URI in full (they are matched exactly)"#),
            ),
            (
                format!("{https}{}", client(&[("redirect_uris", r#"["https://grafana.example.org/cb#x"]"#)])),
                format!(r#"{at}.redirect_uris[0] = "https://grafana.example.org/cb#x" has a fragment (#…): remove it (redirect URIs must not have one)"#),
            ),
            (
                format!("{https}{}", client(&[("redirect_uris", r#"["http://grafana.example.org/cb"]"#)])),
                format!(r#"{at}.redirect_uris[0] = "http://grafana.example.org/cb" uses http: use https (http only for localhost, 127.0.0.1 or [::1], or while server.public_url is itself http)"#),
            ),
            (
                format!("{https}{}", client(&[("redirect_uris", r#"["com.example.app:/cb"]"#)])),
                format!(r#"{at}.redirect_uris[0] = "com.example.app:/cb" is not an https URL: write e.g. "https://grafana.example.org/login/generic_oauth" (http only for localhost, or while server.public_url is itself http)"#),
            ),
            (
                format!("{https}{}", client(&[("post_logout_redirect_uris", r#"["http://grafana.example.org/"]"#)])),
                format!(r#"{at}.post_logout_redirect_uris[0] = "http://grafana.example.org/" uses http: use https (http only for localhost, 127.0.0.1 or [::1], or while server.public_url is itself http)"#),
            ),
            (
                format!("{https}{}", client(&[("scopes", r#"["openid", "offline_access"]"#)])),
                format!(r#"{at}.scopes contains "offline_access": use only openid, profile, email, phone, groups (refresh tokens are refresh_tokens = true)"#),
            ),
            (
                format!("{https}{}", client(&[("scopes", r#"["profile", "email"]"#)])),
                format!(r#"{at}.scopes must include "openid" (without it this is not OpenID Connect)"#),
            ),
            (
                format!("{https}{}", client(&[("default_acr", r#""urn:latchkey:acr:code""#)])),
                format!(r#"{at}.default_acr = "urn:latchkey:acr:code" is not an acr Latchkey knows: use one of "urn:latchkey:acr:password", "urn:latchkey:acr:password+code", "twilio_sms", or leave it out for oidc.default_acr"#),
            ),
            (
                format!("{https}{}", client(&[("allowed_groups", r#"["ops", " "]"#)])),
                format!(r#"{at}.allowed_groups[1] is empty: write a group's name (its cn), e.g. "grafana-users""#),
            ),
            (
                format!("{https}{}", client(&[("allowed_groups", r#"["cn=ops,ou=groups,dc=example,dc=org"]"#)])),
                format!(r#"{at}.allowed_groups[0] = "cn=ops,ou=groups,dc=example,dc=org" is a DN: write the group's name (its cn) only, e.g. "grafana-users""#),
            ),
            (
                format!("{https}{}", client(&[("signing_alg", r#""HS256""#)])),
                format!(r#"{at}.signing_alg = "HS256" is not supported: use "RS256" (the default, what every app understands), "ES256" or "EdDSA""#),
            ),
        ];
        for (text, expected) in &cases {
            assert_eq!(&one_toml_problem(text), expected, "for:\n{text}");
        }
    }

    #[test]
    fn http_redirect_uris_are_fine_while_latchkey_itself_is_on_http() {
        // The default public_url is http://127.0.0.1:3000: a development setup.
        let c = from_toml(&client(&[("redirect_uris", r#"["http://grafana.lan/cb"]"#)])).unwrap();
        assert_eq!(c.oidc.clients[0].redirect_uris, ["http://grafana.lan/cb"]);
    }

    #[test]
    fn signing_key_files_must_be_readable_and_not_empty() {
        let line = one_toml_problem("[oidc]\nsigning_key_files = [\"/nonexistent/key.pem\"]\n");
        assert!(
            line.starts_with(
                "oidc.signing_key_files[0] = \"/nonexistent/key.pem\" cannot be read ("
            ) && line.ends_with("): point it at a PEM private key Latchkey's user can read"),
            "{line}"
        );
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "\n").unwrap();
        let line = one_toml_problem(&format!(
            "[oidc]\nsigning_key_files = [{:?}]\n",
            empty.display().to_string()
        ));
        assert_eq!(
            line,
            format!(
                "oidc.signing_key_files[0] = {:?} is empty: put a PEM private key in it, or leave signing_key_files empty for keys Latchkey generates",
                empty.display().to_string()
            )
        );
    }

    #[test]
    fn an_unknown_key_in_a_client_is_named_with_the_allowed_ones() {
        let text = client(&[
            ("redirect_uris", ""),
            ("redirect_uri", r#"["https://grafana.example.org/cb"]"#),
        ]);
        let line = from_toml(&text).unwrap_err().problems.join("\n");
        assert!(line.contains("unknown key oidc.clients[0].redirect_uri"), "{line}");
        assert!(line.contains("redirect_uris, post_logout_redirect_uris"), "{line}");
    }

    #[test]
    fn a_missing_client_key_says_where_to_set_it() {
        let line = one_toml_problem(&client(&[("redirect_uris", "")]));
        assert_eq!(
            line,
            "oidc.clients[0].redirect_uris is missing: set it in the [[oidc.clients]] table of latchkey.toml"
        );
    }

    #[test]
    fn a_client_secret_file_is_read_trimmed_and_becomes_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("grafana.secret");
        std::fs::write(&file, format!("{CLIENT_SECRET}\r\n")).unwrap();
        let path = format!("{:?}", file.display().to_string());
        let c = from_toml(&client(&[("secret_file", &path)])).unwrap();
        let grafana = &c.oidc.clients[0];
        assert_eq!(grafana.secret.as_ref().unwrap().expose_secret(), CLIENT_SECRET);
        assert_eq!(grafana.secret_file, None, "the rest of the code sees only secret");
        assert!(!grafana.is_public());

        std::fs::write(&file, "short\n").unwrap();
        assert_eq!(
            one_toml_problem(&client(&[("secret_file", &path)])),
            "oidc.clients[0].secret is shorter than 32 characters: use a random secret, e.g. `openssl rand -base64 48`; or leave it out for a public client (PKCE, no secret)"
        );

        std::fs::write(&file, "\n").unwrap();
        assert_eq!(
            one_toml_problem(&client(&[("secret_file", &path)])),
            format!(
                "oidc.clients[0].secret_file = {path} is empty: write the client secret into it, e.g. `openssl rand -base64 48 > {}`",
                file.display()
            )
        );

        let line =
            one_toml_problem(&client(&[("secret_file", r#""/nonexistent/grafana.secret""#)]));
        assert!(
            line.starts_with(
                "oidc.clients[0].secret_file = \"/nonexistent/grafana.secret\" cannot be read ("
            ) && line.ends_with("): point it at a file holding the client secret"),
            "{line}"
        );
    }

    #[test]
    fn oidc_scalars_come_from_the_environment_but_clients_only_from_the_file() {
        let mut e = minimal();
        e.push(("LATCHKEY_OIDC__DEFAULT_ACR".into(), "urn:latchkey:acr:password+code".into()));
        e.push(("LATCHKEY_OIDC__ACCESS_TOKEN_LIFETIME_SECS".into(), "120".into()));
        e.push(("LATCHKEY_OIDC__ENROL_AT_SIGN_IN".into(), "false".into()));
        e.push(("LATCHKEY_OIDC__SIGNING_KEY_FILES".into(), "[]".into()));
        let c = Config::from_toml_str(&client(&[]), &e).unwrap();
        assert_eq!(c.oidc.default_acr, "urn:latchkey:acr:password+code");
        assert_eq!(c.oidc.access_token_lifetime_secs, 120);
        assert!(!c.oidc.enrol_at_sign_in);
        assert_eq!(c.oidc.clients.len(), 1, "the file's clients stay");

        for var in ["LATCHKEY_OIDC__CLIENTS", "LATCHKEY_OIDC__CLIENTS__0__SECRET_FILE"] {
            let mut e = minimal();
            e.push((var.into(), "x".into()));
            assert_eq!(
                one_problem(e),
                format!(
                    "{var}: OpenID Connect clients can only be set in latchkey.toml, as [[oidc.clients]] tables (a client's secret can come from a file with secret_file)"
                )
            );
        }
    }

    #[test]
    fn forward_auth_apps_are_read_and_checked() {
        let ok = "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n\n[[forward_auth.apps]]\norigin = \"HTTPS://Wiki.Example.org:443\"\nname = \"Wiki\"\nallowed_groups = [\"staff\"]\nmax_age_secs = 3600\n";
        let c = from_toml(ok).unwrap();
        let app = &c.forward_auth.apps[0];
        assert_eq!(app.level(), Some(Level::Code), "the code level unless said otherwise");
        assert_eq!(app.max_age_secs, Some(3600));

        let without_proxies = "[[forward_auth.apps]]\norigin = \"https://wiki.example.org\"\n";
        assert!(
            one_toml_problem(without_proxies)
                .starts_with("forward_auth.apps needs server.trusted_proxies")
        );

        let proxies = "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n";
        for (app, problem) in [
            (
                "origin = \"https://wiki.example.org/path\"",
                "forward_auth.apps[0].origin = \"https://wiki.example.org/path\" is not an origin",
            ),
            (
                "origin = \"wiki.example.org\"",
                "forward_auth.apps[0].origin = \"wiki.example.org\" is not an origin",
            ),
            (
                "origin = \"http://wiki.example.org\"",
                "forward_auth.apps[0].origin = \"http://wiki.example.org\" uses http",
            ),
            (
                "origin = \"https://wiki.example.org\"\nlevel = \"sms\"",
                "forward_auth.apps[0].level = \"sms\" is not a level",
            ),
            (
                "origin = \"https://wiki.example.org\"\nmax_age_secs = 5",
                "forward_auth.apps[0].max_age_secs must be between 60 and 2592000",
            ),
        ] {
            let text = format!(
                "[server]\npublic_url = \"https://id.example.org\"\ntrusted_proxies = [\"127.0.0.1\"]\n\n[[forward_auth.apps]]\n{app}\n"
            );
            let got = one_toml_problem(&text);
            assert!(got.starts_with(problem), "{got}");
        }
        let twice = format!(
            "{proxies}\n[[forward_auth.apps]]\norigin = \"http://a.localhost:8080\"\n\n[[forward_auth.apps]]\norigin = \"http://A.localhost:8080/\"\n"
        );
        assert!(one_toml_problem(&twice).contains("is already the origin of forward_auth.apps[0]"));

        let mut e = minimal();
        e.push(("LATCHKEY_FORWARD_AUTH__APPS".into(), "[]".into()));
        assert!(one_problem(e).contains("forward-auth apps can only be set in latchkey.toml"));
    }

    #[test]
    fn printing_never_shows_a_client_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s");
        let from_file = "client-secret-read-from-a-file-0123456789";
        std::fs::write(&file, format!("{from_file}\n")).unwrap();
        let text = format!(
            "{}{}",
            client(&[("secret", &format!("{CLIENT_SECRET:?}"))]),
            client(&[
                ("id", "\"other\""),
                ("secret_file", &format!("{:?}", file.display().to_string()))
            ])
        );
        let c = from_toml(&text).unwrap();
        let printed = c.to_redacted_toml();
        let debug = format!("{c:?}");
        for secret in [CLIENT_SECRET, from_file] {
            assert!(!printed.contains(secret), "{secret} leaked:\n{printed}");
            assert!(!debug.contains(secret), "{secret} leaked by Debug");
        }
        assert_eq!(printed.matches("secret = \"<redacted>\"").count(), 2, "{printed}");
        // A public client prints without a secret line, so it reads as public.
        let printed = from_toml(&client(&[])).unwrap().to_redacted_toml();
        let (_, public) = printed.split_once("[[oidc.clients]]").expect("the client is printed");
        assert!(public.contains("id = \"grafana\"") && !public.contains("secret"), "{public}");
    }

    #[test]
    fn the_example_config_parses_and_documents_every_key() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/latchkey.example.toml");
        let c = Config::load_from(Some(Path::new(example)), &[]).unwrap();
        assert_eq!(c.sms.provider, SmsProvider::Console);
        // The worked client is live, so the checks above cover it too.
        let grafana = &c.oidc.clients[0];
        assert_eq!((grafana.id.as_str(), grafana.name.as_str()), ("grafana", "Grafana"));
        assert!(!grafana.is_public());
        // Every key the structs know appears in the example (at the start of a line, set or
        // commented out), so the example stays a reference.
        let text = std::fs::read_to_string(example).unwrap();
        let known = toml::to_string(&c).unwrap();
        for line in known.lines() {
            if let Some((key, _)) = line.split_once(" = ") {
                let documented = text.lines().any(|l| {
                    l.trim_start_matches('#').trim_start().starts_with(&format!("{key} ="))
                });
                assert!(documented, "docs/latchkey.example.toml does not document {key}");
            }
        }
        // Unset options are not printed, so name them here.
        assert!(
            text.contains("\n# secret_file ="),
            "docs/latchkey.example.toml does not document secret_file"
        );
    }

    #[test]
    fn a_missing_config_file_is_named() {
        let line = Config::load_from(Some(Path::new("/nonexistent/latchkey.toml")), &minimal())
            .unwrap_err()
            .problems
            .join("\n");
        assert!(
            line.starts_with("config file /nonexistent/latchkey.toml does not exist"),
            "{line}"
        );
    }
}
