//! The demo (`latchkey-demo`, `make demo`): a throwaway directory with demo people, a fresh
//! SQLite file, texts shown on the demo phone page, the real server run in-process, and two
//! small apps that sign in through it with OpenID Connect (`crate::demo_apps`) — everything a
//! newcomer needs to try Latchkey.

use std::path::{Path, PathBuf};

use ldap3::{Scope, SearchEntry};

use server::commands::{self, StartupError};
use server::config::Config;
use server::directory::LdapDirectory;

use crate::demo_apps::{self, DemoApp, RunningApps};
use crate::slapd::{self, Slapd};

/// Why the demo stopped: the server's own start-up errors, or the demo's setting up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("demo: {0}")]
    Demo(String),
}

/// A demo person: login, password, display name, phones, 2-step sign-in on, administrator.
pub struct DemoPerson {
    pub uid: &'static str,
    pub password: &'static str,
    pub name: &'static str,
    pub phones: &'static [&'static str],
    pub two_factor: bool,
    pub admin: bool,
}

/// The demo's people. Numbers are in ranges reserved for fiction and examples.
pub const PEOPLE: &[DemoPerson] = &[
    DemoPerson {
        uid: "alice",
        password: "alice-demo-pw",
        name: "Alice Anders",
        phones: &["+12015550123"],
        two_factor: true,
        admin: false,
    },
    DemoPerson {
        uid: "bob",
        password: "bob-demo-pw",
        name: "Bob Brown",
        phones: &[],
        two_factor: false,
        admin: false,
    },
    DemoPerson {
        uid: "dave",
        password: "dave-demo-pw",
        name: "Dave Dias",
        phones: &["+12015550142", "+447400654321"],
        two_factor: true,
        admin: false,
    },
    DemoPerson {
        uid: "carol",
        password: "carol-demo-pw",
        name: "Carol Chen",
        phones: &["+447400123456"],
        two_factor: true,
        admin: true,
    },
];

/// The demo directory as LDIF (people and the administrators group).
pub fn seed_ldif() -> String {
    let mut ldif: String =
        PEOPLE.iter().map(|p| slapd::person_ldif(p.uid, p.name, p.password, p.phones)).collect();
    let admins: Vec<&str> = PEOPLE.iter().filter(|p| p.admin).map(|p| p.uid).collect();
    ldif.push_str(&slapd::admin_group_ldif(&admins));
    ldif
}

/// Which apps sign in through the demo (the OpenID Connect clients it registers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoApps {
    /// Start the demo's own two apps (`end2end/demo-app/app.mjs` under Node), when it can.
    Start,
    /// Register clients for apps someone else runs at these base URLs (the end-to-end suite).
    Register(Vec<String>),
    /// No apps.
    None,
}

/// The demo's configuration: the user's `LATCHKEY_…` environment may override server and SMS
/// settings (to try a real Twilio account, say); the directory and database are the demo's.
/// The OpenID Connect part is a `latchkey.toml` written into `data_dir` (clients can only be
/// set in a file): one client per app, and a committed fixture signing key, so the provider
/// never generates an RSA key (seconds of CPU in a debug build) and none of it is secret.
pub fn demo_config(
    listen: &str,
    data_dir: &Path,
    slapd: &Slapd,
    env: &[(String, String)],
    apps: &[DemoApp],
) -> Result<Config, DemoError> {
    let d = slapd.directory_config();
    let key = format!("demo-only-{}", random_hex(32));
    let mut vars: Vec<(String, String)> = vec![
        ("LATCHKEY_SERVER__ADDRESS".into(), listen.into()),
        ("LATCHKEY_SERVER__PUBLIC_URL".into(), format!("http://{listen}")),
        ("LATCHKEY_SMS__PROVIDER".into(), "demo".into()),
        ("LATCHKEY_SECURITY__HMAC_KEYS".into(), key),
    ];
    // The user's settings win, except for what the demo must own.
    let owned = ["LATCHKEY_DIRECTORY__", "LATCHKEY_DATABASE__", "LATCHKEY_CONFIG"];
    for (k, v) in env {
        if k.starts_with("LATCHKEY_") && !owned.iter().any(|o| k.starts_with(o)) {
            vars.retain(|(existing, _)| existing != k);
            vars.push((k.clone(), v.clone()));
        }
    }
    let database = format!("sqlite://{}", data_dir.join("latchkey.db").display());
    vars.extend([
        ("LATCHKEY_DATABASE__URL".into(), database),
        ("LATCHKEY_DIRECTORY__URL".into(), d.url.clone()),
        ("LATCHKEY_DIRECTORY__BIND_DN".into(), d.bind_dn.clone()),
        ("LATCHKEY_DIRECTORY__BIND_PASSWORD".into(), slapd.service_password.clone()),
        ("LATCHKEY_DIRECTORY__BASE_DN".into(), d.base_dn.clone()),
        ("LATCHKEY_DIRECTORY__ADMIN_GROUP_DN".into(), d.admin_group_dn.clone()),
        ("LATCHKEY_DIRECTORY__GROUP_BASE_DN".into(), d.group_base_dn.clone()),
    ]);
    let file = write_oidc_file(data_dir, apps)?;
    Config::load_layers(Some(&file), &vars).map_err(|e| StartupError::Config(e).into())
}

/// Writes `latchkey.toml` (the `[oidc]` section and a client per app) and the fixture RS256 key
/// it names into `data_dir`; returns the file's path.
fn write_oidc_file(data_dir: &Path, apps: &[DemoApp]) -> Result<PathBuf, DemoError> {
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text)
            .map_err(|e| DemoError::Demo(format!("cannot write {}: {e}", path.display())))
    };
    let key = data_dir.join("oidc-rs256.pem");
    write(&key, &jose::fixtures::pem(jose::Alg::RS256))?;
    let file = data_dir.join("latchkey.toml");
    write(&file, &oidc_toml(&key.display().to_string(), apps))?;
    Ok(file)
}

/// The demo's `[oidc]` section and `[[oidc.clients]]` tables.
pub fn oidc_toml(key_file: &str, apps: &[DemoApp]) -> String {
    // A JSON string is a valid TOML basic string (the same escapes, UTF-8 kept as is).
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let mut toml = format!(
        "# Written by latchkey-demo at every start.\n[oidc]\nsigning_key_files = [{}]\n",
        q(key_file)
    );
    for app in apps {
        toml.push_str(&format!(
            "\n[[oidc.clients]]\nid = {}\nname = {}\nsecret = {}\nredirect_uris = [{}]\npost_logout_redirect_uris = [{}]\n",
            q(&app.client_id),
            q(&app.name),
            q(demo_apps::DEMO_APP_SECRET),
            q(&app.redirect_uri()),
            q(&app.post_logout_redirect_uri()),
        ));
    }
    toml
}

fn random_hex(len: usize) -> String {
    (0..len).map(|_| char::from_digit(rand::random_range(0..16u32), 16).unwrap_or('0')).collect()
}

/// Runs the demo until interrupted. The directory and database are thrown away at every start;
/// the demo's own apps (if it started them) stop with it.
pub async fn run(listen: &str, data_dir: &Path, apps: DemoApps) -> Result<(), DemoError> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)
            .map_err(|e| DemoError::Demo(format!("cannot clear {}: {e}", data_dir.display())))?;
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| DemoError::Demo(format!("cannot create {}: {e}", data_dir.display())))?;
    let slapd = Slapd::start(&seed_ldif()).map_err(|e| DemoError::Demo(e.to_string()))?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    // The apps' ports are chosen before the configuration: their redirect URIs are in it.
    let (registered, own) = match apps {
        DemoApps::Start => match demo_apps::plan(listen) {
            Ok(planned) => (planned.iter().map(|p| p.app.clone()).collect(), Ok(planned)),
            Err(why) => (Vec::new(), Err(why)),
        },
        DemoApps::Register(urls) => (demo_apps::registered(&urls)?, Ok(Vec::new())),
        DemoApps::None => (Vec::new(), Ok(Vec::new())),
    };
    let config = demo_config(listen, data_dir, &slapd, &env, &registered)?;

    let prepared = commands::prepare(&config).await?;
    seed_settings(&config, &prepared.db).await?;
    let addr = prepared.listener.local_addr().map_err(|e| DemoError::Demo(e.to_string()))?;
    // The server is listening (not yet serving: connections wait), so the apps may start.
    let running = match own {
        Ok(planned) => demo_apps::start(planned, &config.server.public_url).await,
        Err(why) => RunningApps::not_started(why),
    };
    print_banner(&config, addr, &slapd, &running, &registered);
    let served = commands::run(prepared, &config).await;
    drop(running);
    drop(slapd);
    Ok(served?)
}

/// Turns 2-step sign-in on for the demo people who have it, keyed by their directory id, and
/// records every number in the directory as verified through the code path of
/// `latchkey phones mark-verified --all` (the demo's numbers stand for numbers proved before;
/// a test that wants an unverified number writes it into the directory afterwards). The
/// command's audit events are not written: this is the fixture, not an operator's decision.
pub async fn seed_settings(config: &Config, db: &server::db::Db) -> Result<(), DemoError> {
    let directory = LdapDirectory::new(config.directory.clone());
    let mut ldap = directory.service_connection().await.map_err(StartupError::from)?;
    let id_attr = config.directory.user_id_attribute.as_str();
    for person in PEOPLE.iter().filter(|p| p.two_factor) {
        let filter = format!("(uid={})", ldap3::ldap_escape(person.uid));
        let (entries, _) = ldap
            .search(&config.directory.base_dn, Scope::Subtree, &filter, vec![id_attr])
            .await
            .and_then(ldap3::SearchResult::success)
            .map_err(|e| DemoError::Demo(format!("cannot read {}: {e}", person.uid)))?;
        let id = entries
            .into_iter()
            .next()
            .map(SearchEntry::construct)
            .and_then(|e| e.attrs.get(id_attr).and_then(|v| v.first().cloned()))
            .ok_or_else(|| DemoError::Demo(format!("{} has no {id_attr}", person.uid)))?;
        db.set_two_factor(&id, true, domain::now_ms() / 1000).await.map_err(StartupError::from)?;
    }
    let _ = ldap.unbind().await;
    let now = domain::now_ms() / 1000;
    commands::mark_phones_verified(db, &directory, &commands::PhoneSelection::All, now).await?;
    Ok(())
}

fn print_banner(
    config: &Config,
    addr: std::net::SocketAddr,
    slapd: &Slapd,
    apps: &RunningApps,
    registered: &[DemoApp],
) {
    let base = format!("http://{addr}");
    let phone = match config.sms.provider {
        server::config::SmsProvider::Demo => format!("{base}/demo/phone"),
        _ => "(texts go through the configured SMS provider)".into(),
    };
    println!();
    println!("  Latchkey demo is running.");
    println!();
    println!("  Portal:      {base}");
    println!("  Demo phone:  {phone}   (open it beside the portal: codes arrive there)");
    apps.print_banner_lines();
    if apps.is_empty() {
        for app in registered {
            println!(
                "  Client:      {} for {} (secret {})",
                app.client_id,
                app.url,
                demo_apps::DEMO_APP_SECRET
            );
        }
    }
    println!(
        "  OpenID Connect discovery: {}/.well-known/openid-configuration",
        config.server.public_url.trim_end_matches('/')
    );
    println!("  Directory:   {} (throwaway OpenLDAP, base {})", slapd.url(), slapd::PEOPLE_DN);
    println!();
    println!("  Sign in as:");
    for p in PEOPLE {
        let phones = if p.phones.is_empty() { "no phone".to_owned() } else { p.phones.join(", ") };
        let mut notes = vec![phones];
        if p.two_factor {
            notes.push("2-step sign-in on".into());
        }
        if p.admin {
            notes.push("administrator".into());
        }
        println!("    {:<6} / {:<14} {}", p.uid, p.password, notes.join(", "));
    }
    println!();
    println!("  Press Ctrl-C to stop; the demo directory and database are thrown away.");
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file the demo writes loads as a configuration with a client per app and the fixture
    /// key, so no RSA key is generated.
    #[test]
    fn the_oidc_file_registers_each_app_and_the_fixture_key() {
        let dir = tempfile::tempdir().unwrap();
        let urls = ["http://127.0.0.1:4001".to_owned(), "http://127.0.0.1:4002".to_owned()];
        let apps = demo_apps::registered(&urls).unwrap();
        let file = write_oidc_file(dir.path(), &apps).unwrap();
        let env: Vec<(String, String)> = [
            ("LATCHKEY_SERVER__PUBLIC_URL", "http://127.0.0.1:4000"),
            ("LATCHKEY_DIRECTORY__URL", "ldap://127.0.0.1:389"),
            ("LATCHKEY_DIRECTORY__BIND_DN", "cn=latchkey,ou=services,dc=example,dc=org"),
            ("LATCHKEY_DIRECTORY__BIND_PASSWORD", "12345"),
            ("LATCHKEY_DIRECTORY__BASE_DN", "ou=people,dc=example,dc=org"),
            ("LATCHKEY_SECURITY__HMAC_KEYS", "demo-only-0123456789abcdef0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let config = Config::load_layers(Some(&file), &env).expect("the demo's file loads");
        let o = &config.oidc;
        assert_eq!(o.signing_key_files.len(), 1);
        let pem = std::fs::read_to_string(&o.signing_key_files[0]).unwrap();
        assert_eq!(
            jose::SigningKey::from_pem(&pem).unwrap().pkcs8_der(),
            jose::fixtures::key(jose::Alg::RS256).pkcs8_der()
        );
        let ids: Vec<&str> = o.clients.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["demo-app-a", "demo-app-b"]);
        let b = &o.clients[1];
        assert_eq!(b.redirect_uris, ["http://127.0.0.1:4002/callback"]);
        assert_eq!(b.post_logout_redirect_uris, ["http://127.0.0.1:4002/signed-out"]);
        assert!(!b.is_public(), "confidential: the apps authenticate with the demo secret");
    }
}
