//! The subcommands: `serve`, `migrate`, `check`, `print-config`, `send-test-sms`,
//! `send-test-call`, `phones`.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::config::{Config, ConfigError, redact_url_str};
use crate::db::{Db, StoreError};
use crate::directory::{LdapDirectory, LdapError, SelfWrite};
use crate::ldap_transport::Transport;

/// Why the program could not do what it was asked. Displayed as one line per problem.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{}", .0.problems.iter().map(|p| format!("config: {p}")).collect::<Vec<_>>().join("\n"))]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Database(#[from] StoreError),
    #[error("directory: {0}")]
    Directory(#[from] LdapError),
    #[error("server: cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("sms: {0}")]
    Sms(String),
    #[error("phones: {0}")]
    Phones(String),
    #[error("check failed: {0} problem(s) above")]
    CheckFailed(usize),
}

/// Opens the database and brings its schema up to date.
pub async fn open_database(config: &Config) -> Result<Db, StartupError> {
    let db = Db::connect(&config.database).await?;
    db.migrate().await?;
    Ok(db)
}

/// Everything `serve` needs, proven to work: migrated database, answering directory, bound
/// listener. Any failure stops start-up with one line naming it.
pub struct Prepared {
    pub listener: TcpListener,
    pub app: axum::Router,
    pub db: Db,
}

pub async fn prepare(config: &Config) -> Result<Prepared, StartupError> {
    let db = open_database(config).await?;
    let directory = LdapDirectory::new(config.directory.clone());
    directory.ping().await?;
    warn_if_assets_missing(config);
    let listener = TcpListener::bind(&config.server.address)
        .await
        .map_err(|source| StartupError::Listen { addr: config.server.address.clone(), source })?;
    let app = crate::build_app(config, db.clone(), directory).map_err(StartupError::Sms)?;
    Ok(Prepared { listener, app, db })
}

/// Serves until SIGINT/SIGTERM, then finishes in-flight requests.
pub async fn serve(config: &Config) -> Result<(), StartupError> {
    let prepared = prepare(config).await?;
    run(prepared, config).await
}

pub async fn run(prepared: Prepared, config: &Config) -> Result<(), StartupError> {
    let Prepared { listener, app, db } = prepared;
    let addr = listener
        .local_addr()
        .map_err(|source| StartupError::Listen { addr: config.server.address.clone(), source })?;
    let expired = tokio::spawn(delete_expired_sessions(db.clone()));
    let pruning =
        tokio::spawn(crate::db::retention::prune_every_hour(db.clone(), config.retention()));
    tracing::info!(
        %addr,
        public_url = %config.server.public_url,
        database = db.backend(),
        directory = %config.directory.url,
        sms = ?config.sms.provider,
        "latchkey is serving"
    );
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await;
    expired.abort();
    pruning.abort();
    db.close().await;
    served.map_err(|source| StartupError::Listen { addr: addr.to_string(), source })
}

async fn delete_expired_sessions(db: Db) {
    use tower_sessions::session_store::ExpiredDeletion;
    let store = db.session_store();
    let mut every = tokio::time::interval(std::time::Duration::from_secs(15 * 60));
    loop {
        every.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired sessions");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

fn warn_if_assets_missing(config: &Config) {
    if let Err(problem) = assets_line(config) {
        tracing::warn!("{problem}");
    }
}

/// Where the browser assets come from (built in, or `server.site_root`), or what is missing.
fn assets_line(config: &Config) -> Result<String, String> {
    use crate::http::assets::{AssetSource, Assets};
    match Assets::embedded(config.site_root_override()).source() {
        AssetSource::Embedded(files) => Ok(format!("{files} files built into the binary")),
        AssetSource::Directory(dir) => Ok(format!("from {}", dir.join("pkg").display())),
        AssetSource::Missing(dir) => Err(format!(
            "the browser assets (latchkey.wasm, .js, .css) are missing from {} and this binary has none built in: pages will render but not become interactive; build them with `make frontend`, or set server.site_root to a directory holding pkg/",
            dir.join("pkg").display()
        )),
    }
}

pub async fn migrate(config: &Config) -> Result<(), StartupError> {
    let db = open_database(config).await?;
    println!("database {} is up to date ({})", redact_url_str(&config.database.url), db.backend());
    db.close().await;
    Ok(())
}

/// Checks each dependency in turn and prints one line per check; fails if any failed.
pub async fn check(config: &Config) -> Result<(), StartupError> {
    let mut failures = 0;
    let mut report = |name: &str, outcome: Result<String, String>| match outcome {
        Ok(text) => println!("{name:<12} ok: {text}"),
        Err(text) => {
            failures += 1;
            println!("{name:<12} FAILED: {text}");
        }
    };
    report("config", Ok("valid".into()));
    // Missing assets leave pages working without JavaScript: a warning, not a failure.
    match assets_line(config) {
        Ok(text) => report("assets", Ok(text)),
        Err(problem) => println!("{:<12} WARNING: {problem}", "assets"),
    }

    let db = match open_database(config).await {
        Ok(db) => {
            report(
                "database",
                Ok(format!(
                    "{} at {}, migrations applied",
                    db.backend(),
                    redact_url_str(&config.database.url)
                )),
            );
            Some(db)
        }
        Err(e) => {
            report("database", Err(e.to_string()));
            None
        }
    };

    let directory = LdapDirectory::new(config.directory.clone());
    let d = &config.directory;
    let transport = match Transport::of(&d.url, d.starttls) {
        Transport::Plain => "no TLS".to_owned(),
        tls if d.ca_certificates.is_empty() => format!("{}, system CA roots", tls.describe()),
        tls => format!("{}, CA {}", tls.describe(), d.ca_certificates),
    };
    match directory.sample_search(20).await {
        Ok(sample) => {
            report(
                "directory",
                Ok(format!(
                    "bound as {} at {} ({transport}); a sample search under {} saw {} people ({} with a {})",
                    d.bind_dn,
                    d.url,
                    d.base_dn,
                    sample.people_seen,
                    sample.with_phone,
                    d.phone_attribute
                )),
            );
            match directory.root_dse().await {
                Ok(dse) => match dse.flavour {
                    Some(found) if found == d.flavour => report(
                        "flavour",
                        Ok(format!("{} ({})", d.flavour.as_str(), dse.description)),
                    ),
                    Some(found) => println!(
                        "{:<12} WARNING: the directory is {} but directory.flavour = {:?}: set directory.flavour = {:?} for its defaults (login, unique id, display name and phone attributes, nested groups)",
                        "flavour",
                        dse.description,
                        d.flavour.as_str(),
                        found.as_str()
                    ),
                    None => println!(
                        "{:<12} unknown: the directory describes itself as {}; using the {:?} defaults",
                        "flavour",
                        dse.description,
                        d.flavour.as_str()
                    ),
                },
                Err(e) => {
                    println!("{:<12} unknown: the root DSE could not be read: {e}", "flavour")
                }
            }
            // On this machine plain LDAP crosses no network; elsewhere it needed
            // directory.allow_plaintext, and still deserves a line.
            if Transport::of(&d.url, d.starttls) == Transport::Plain
                && !crate::ldap_transport::is_loopback_url(&d.url)
            {
                println!(
                    "{:<12} WARNING: passwords go to the directory without TLS ({}): use ldaps:// or directory.starttls = true, with directory.ca_certificates",
                    "tls", d.url
                );
            }
            if sample.people_seen == 0 {
                report(
                    "people",
                    Err(format!(
                        "nobody under {} has a {} attribute: check directory.base_dn and directory.login_attribute",
                        d.base_dn, d.login_attribute
                    )),
                );
            }
            // Read rights the service account lacks show as attributes missing from people.
            if sample.people_seen > 0 && sample.with_id == 0 {
                report(
                    "read rights",
                    Err(format!(
                        "the service account reads no {} on people, so nobody can sign in: grant it read on {} (or check directory.user_id_attribute)",
                        d.user_id_attribute, d.user_id_attribute
                    )),
                );
            } else if sample.people_seen > 0 && sample.with_name == 0 {
                println!(
                    "{:<12} WARNING: the service account reads no {} on people: pages will show logins instead of names (grant it read, or check directory.display_name_attribute)",
                    "read rights", d.display_name_attribute
                );
            }
            match sample.admin_group_found {
                None => report(
                    "admins",
                    Ok("no admin group configured: nobody is an administrator".into()),
                ),
                Some(true) => report("admins", Ok(format!("group {} exists", d.admin_group_dn))),
                Some(false) => report(
                    "admins",
                    Err(format!(
                        "group {} was not found: check directory.admin_group_dn",
                        d.admin_group_dn
                    )),
                ),
            }
            // A warning, not a failure: whether it matters depends on trusting the
            // directory's numbers (issue 14, finding 4).
            let name = "phone writes";
            match directory.phone_self_write().await {
                SelfWrite::Allowed(rule) => println!(
                    "{name:<12} WARNING: people may write their own {} (access rule {rule:?}): take `self write` off {} for people{}",
                    d.phone_attribute,
                    d.phone_attribute,
                    if config.policy.trust_unverified_directory_phones {
                        ", or set policy.trust_unverified_directory_phones = false: as it is, a number someone writes there themselves becomes a second factor"
                    } else {
                        " (Latchkey sends codes only to numbers it verified, so such a number is not a second factor until proved)"
                    }
                ),
                SelfWrite::NotAllowed => println!(
                    "{name:<12} ok: people cannot write their own {} (by the access rules the service account can read)",
                    d.phone_attribute
                ),
                SelfWrite::Unknown(why) => println!(
                    "{name:<12} unknown: could not tell whether people may write their own {}: {why}",
                    d.phone_attribute
                ),
            }
        }
        Err(e) => report("directory", Err(e.to_string())),
    }

    match &db {
        Some(db) => match crate::sms::build(&config.sms, db) {
            Ok(sms) => report("sms", sms.verify_credentials().await.map_err(|e| e.to_string())),
            Err(e) => report("sms", Err(e)),
        },
        None => report("sms", Err("not checked: the database is needed first".into())),
    }
    match voice_line(&config.sms) {
        Ok(text) => report("voice", Ok(text)),
        // Not a failure: texts work, only calls are off.
        Err(text) => println!("{:<12} not configured: {text}", "voice"),
    }
    if let Some(db) = db {
        db.close().await;
    }

    if failures == 0 { Ok(()) } else { Err(StartupError::CheckFailed(failures)) }
}

/// Whether codes can be read out by a call, and how: `Err` says why not (texts still work).
pub fn voice_line(sms: &crate::config::SmsConfig) -> Result<String, String> {
    use crate::config::SmsProvider;
    match sms.provider {
        SmsProvider::Console => Ok("calls are printed to standard output".into()),
        SmsProvider::Demo => Ok("calls go to standard output and the demo phone page".into()),
        SmsProvider::Twilio => match sms.twilio.voice_from() {
            Some(from) => {
                let last4 = from.get(from.len().saturating_sub(4)..).unwrap_or_default();
                Ok(format!(
                    "calls from •••• {last4}, ringing {} s, at most {} s, never recorded",
                    sms.twilio.call_ring_secs, sms.twilio.call_time_limit_secs
                ))
            }
            None => Err("sms.twilio has a messaging service and no voice_from, so Latchkey places no calls: landlines cannot be enrolled and nobody is offered \"Call me instead\" (set sms.twilio.voice_from to a voice-capable Twilio number)".into()),
        },
    }
}

pub fn print_config(config: &Config) {
    print!("{}", config.to_redacted_toml());
}

/// The number a test command was given, the database (the demo provider writes to it) and
/// the configured provider.
async fn test_target(
    config: &Config,
    to: &str,
) -> Result<(domain::phone::E164, Db, std::sync::Arc<dyn domain::ports::SmsSender>), StartupError> {
    let policy =
        config.phone_policy().map_err(|r| StartupError::Sms(format!("unknown region {r}")))?;
    let number = policy.parse(to).map_err(|rejection| {
        StartupError::Sms(format!(
            "{to:?} cannot be used: {}",
            app::i18n::t(rejection.message_id())
        ))
    })?;
    let db = open_database(config).await?;
    match crate::sms::build(&config.sms, &db) {
        Ok(sms) => Ok((number, db, sms)),
        Err(e) => {
            db.close().await;
            Err(StartupError::Sms(e))
        }
    }
}

/// Places one call through the configured provider that says the product's name (no code), to
/// prove the voice setup end to end.
pub async fn send_test_call(config: &Config, to: &str) -> Result<(), StartupError> {
    let (number, db, sms) = test_target(config, to).await?;
    if !sms.places_calls() {
        db.close().await;
        return Err(StartupError::Sms(voice_line(&config.sms).err().unwrap_or_default()));
    }
    let call = domain::voice::test_call(app::i18n::Lang::En, &config.server.product_name);
    let outcome = sms.call(&number, &call).await;
    db.close().await;
    match outcome {
        Ok(placed) => {
            println!("called {} (provider call id {})", number.masked(), placed.provider_id);
            Ok(())
        }
        Err(e) => Err(StartupError::Sms(e.to_string())),
    }
}

/// Sends one text through the configured provider, to prove the SMS setup end to end.
pub async fn send_test_sms(config: &Config, to: &str) -> Result<(), StartupError> {
    let (number, db, sms) = test_target(config, to).await?;
    let host = url::Url::parse(&config.server.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let body = format!(
        "{}: this is a test message from {host}. No action is needed.",
        config.server.product_name
    );
    let outcome = sms.send(&number, &body, config.security.code_lifetime_secs).await;
    db.close().await;
    match outcome {
        Ok(sent) => {
            println!("sent to {} (provider message id {})", number.masked(), sent.provider_id);
            Ok(())
        }
        Err(e) => Err(StartupError::Sms(e.to_string())),
    }
}

/// Whose numbers `latchkey phones mark-verified` records as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneSelection {
    /// Everyone in the directory with a phone number.
    All,
    /// One person, by login.
    Login(String),
}

impl PhoneSelection {
    /// The command as the operator ran it, for the audit trail.
    pub fn command(&self) -> String {
        match self {
            PhoneSelection::All => "latchkey phones mark-verified --all".to_owned(),
            PhoneSelection::Login(login) => {
                format!("latchkey phones mark-verified --login {login}")
            }
        }
    }
}

/// A person whose numbers were just recorded as verified.
#[derive(Debug, Clone)]
pub struct MarkedPhones {
    pub person: domain::directory::Person,
    pub numbers: Vec<domain::phone::E164>,
}

/// Reads the selected people from the directory and records each of their numbers that is not
/// verified yet as verified by an operator (numbers already verified keep their record). Shared
/// by `latchkey phones mark-verified` and the demo's seeding; the command also audits.
pub async fn mark_phones_verified(
    db: &Db,
    directory: &LdapDirectory,
    selection: &PhoneSelection,
    now: i64,
) -> Result<Vec<MarkedPhones>, StartupError> {
    use domain::ports::{VerifiedBy, VerifiedPhones};
    use domain::{directory::Username, ports::Directory};
    let failed = |e: domain::directory::DirectoryError| StartupError::Phones(e.to_string());
    let people = match selection {
        PhoneSelection::Login(login) => {
            let username = Username::parse(login)
                .map_err(|_| StartupError::Phones(format!("{login:?} is not a possible login")))?;
            let person = directory.find_by_login(&username).await.map_err(failed)?;
            let nobody = || StartupError::Phones(format!("nobody has login {login:?}"));
            vec![person.ok_or_else(nobody)?]
        }
        PhoneSelection::All => directory
            .people_with_phones()
            .await
            .map_err(|e| StartupError::Phones(format!("cannot list people with phones: {e}")))?,
    };
    let database = |e: domain::ports::Unavailable| StartupError::Phones(e.to_string());
    let mut marked = Vec::new();
    for person in people {
        let known = db.verified_phones(&person.id).await.map_err(database)?;
        let new: Vec<_> = person
            .phones
            .iter()
            .filter(|n| !known.iter().any(|r| r.number == n.as_str()))
            .cloned()
            .collect();
        for number in &new {
            db.mark_verified(&person.id, number, VerifiedBy::Operator, now)
                .await
                .map_err(database)?;
        }
        if !new.is_empty() {
            marked.push(MarkedPhones { person, numbers: new });
        }
    }
    Ok(marked)
}

/// `latchkey phones mark-verified`: for a move from a system that verified the numbers itself
/// (Gluu Casa), records the numbers now in the directory as verified, and writes one audit event
/// per person naming the command. Prints what it marked.
pub async fn phones_mark_verified(
    config: &Config,
    selection: &PhoneSelection,
) -> Result<(), StartupError> {
    let db = open_database(config).await?;
    let directory = LdapDirectory::new(config.directory.clone());
    let now = domain::now_ms() / 1000;
    let outcome = mark_phones_verified(&db, &directory, selection, now).await;
    let marked = match outcome {
        Ok(marked) => marked,
        Err(e) => {
            db.close().await;
            return Err(e);
        }
    };
    let command = selection.command();
    let operator = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    let client = domain::client::Client {
        ip: "local".to_owned(),
        user_agent: format!("{command} (run by {operator})"),
        now,
        lang: app::i18n::Lang::En,
    };
    for m in &marked {
        let masked: Vec<String> = m.numbers.iter().map(|n| n.masked()).collect();
        let entry = domain::audit::Entry {
            kind: "phone.marked_verified",
            actor: None,
            subject: Some(m.person.id.as_str()),
            outcome: "operator",
            detail: Some(format!("{command}: {}", masked.join(", "))),
        };
        domain::audit::write(&db, &client, entry).await;
        println!("{}: marked {} verified", m.person.login, masked.join(", "));
    }
    let numbers: usize = marked.iter().map(|m| m.numbers.len()).sum();
    println!("{numbers} number(s) of {} person(s) marked verified", marked.len());
    db.close().await;
    Ok(())
}
