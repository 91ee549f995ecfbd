//! The demo (`latchkey-demo`, `make demo`): a throwaway directory with demo people, a fresh
//! SQLite file, texts shown on the demo phone page, the real server run in-process, two small
//! apps that sign in through it with OpenID Connect (`crate::demo_apps`), and a small app behind
//! nginx and Caddy under three host names, which the proxies ask Latchkey about (forward
//! authentication) — everything a newcomer needs to try Latchkey.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use domain::directory::Username;
use domain::ports::Directory;
use secrecy::ExposeSecret;

use server::commands::{self, StartupError};
use server::config::Config;
use server::directory::LdapDirectory;

use crate::demo_apps::{self, DemoApp, RunningApps};
use crate::directories::{Seed, SeedPerson};
use crate::proxies::{Proxy, ProxyKind};
use crate::slapd::{self, Slapd};
use crate::upstream::{self, Upstream};

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
        uid: "lena",
        password: "lena-demo-pw",
        name: "Lena Lund",
        // A London landline (Ofcom's range for drama): it takes calls, never texts.
        phones: &["+442079460018"],
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

static SEED_PEOPLE: std::sync::LazyLock<Vec<SeedPerson<'static>>> =
    std::sync::LazyLock::new(|| {
        PEOPLE
            .iter()
            .map(|p| SeedPerson {
                login: p.uid,
                name: p.name,
                password: p.password,
                phones: p.phones,
            })
            .collect()
    });
static SEED_ADMINS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| PEOPLE.iter().filter(|p| p.admin).map(|p| p.uid).collect());

/// The demo people and administrators, for a directory of any flavour.
pub fn seed() -> Seed<'static> {
    Seed { people: &SEED_PEOPLE, admins: &SEED_ADMINS }
}

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
/// The OpenID Connect and forward-auth parts are a `latchkey.toml` written into `data_dir`
/// (clients and protected apps can only be set in a file): one client per app, a committed
/// fixture signing key, so the provider never generates an RSA key (seconds of CPU in a debug
/// build) and none of it is secret, and the apps behind the proxies.
pub fn demo_config(
    listen: &str,
    data_dir: &Path,
    slapd: &Slapd,
    env: &[(String, String)],
    apps: &[DemoApp],
    forward_auth: &ForwardAuth,
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
    let file = write_config_file(data_dir, apps, forward_auth)?;
    Config::load_layers(Some(&file), &vars).map_err(|e| StartupError::Config(e).into())
}

/// Writes `latchkey.toml` (the `[oidc]` section and a client per app, the proxies and the apps
/// behind them) and the fixture RS256 key it names into `data_dir`; returns the file's path.
fn write_config_file(
    data_dir: &Path,
    apps: &[DemoApp],
    forward_auth: &ForwardAuth,
) -> Result<PathBuf, DemoError> {
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text)
            .map_err(|e| DemoError::Demo(format!("cannot write {}: {e}", path.display())))
    };
    let key = data_dir.join("oidc-rs256.pem");
    write(&key, &jose::fixtures::pem(jose::Alg::RS256))?;
    let file = data_dir.join("latchkey.toml");
    let toml = oidc_toml(&key.display().to_string(), apps) + &forward_auth_toml(forward_auth);
    write(&file, &toml)?;
    Ok(file)
}

/// The demo's `[oidc]` section and `[[oidc.clients]]` tables.
pub fn oidc_toml(key_file: &str, apps: &[DemoApp]) -> String {
    let mut toml = format!(
        "# Written by latchkey-demo at every start.\n[oidc]\nsigning_key_files = [{}]\n",
        toml_str(key_file)
    );
    for app in apps {
        toml.push_str(&format!(
            "\n[[oidc.clients]]\nid = {}\nname = {}\nsecret = {}\nredirect_uris = [{}]\npost_logout_redirect_uris = [{}]\n",
            toml_str(&app.client_id),
            toml_str(&app.name),
            toml_str(demo_apps::DEMO_APP_SECRET),
            toml_str(&app.redirect_uri()),
            toml_str(&app.post_logout_redirect_uri()),
        ));
    }
    toml
}

/// TOML string literal: a JSON string is a valid TOML basic string (the same escapes, UTF-8
/// kept as is).
fn toml_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The demo's `[server]` trusted proxy and `[[forward_auth.apps]]` tables; nothing when no
/// proxy runs, so the file says only what the demo serves.
pub fn forward_auth_toml(f: &ForwardAuth) -> String {
    if f.apps.is_empty() {
        return String::new();
    }
    // Every request through a proxy comes from loopback too, so Latchkey serves /metrics only
    // with a token once proxies are trusted: the demo's, public, printed in the banner.
    let mut toml = format!(
        "\n[server]\ntrusted_proxies = [{}]\nmetrics_token = {}\n",
        toml_str(&f.trusted_proxy),
        toml_str(DEMO_METRICS_TOKEN)
    );
    for app in &f.apps {
        let groups: Vec<String> = app.allowed_groups.iter().map(|g| toml_str(g)).collect();
        toml.push_str(&format!(
            "\n[[forward_auth.apps]]\nname = {}\norigin = {}\nlevel = {}\nallowed_groups = [{}]\n",
            toml_str(&app.name),
            toml_str(&app.origin),
            toml_str(app.level),
            groups.join(", "),
        ));
    }
    toml
}

fn random_hex(len: usize) -> String {
    (0..len).map(|_| char::from_digit(rand::random_range(0..16u32), 16).unwrap_or('0')).collect()
}

/// `/metrics`'s bearer token while the demo's proxies run. Public: a demo, never production.
pub const DEMO_METRICS_TOKEN: &str = "latchkey-demo-metrics-not-for-production";

/// The forward-auth part of the demo's file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardAuth {
    /// The address the proxies' requests to Latchkey come from (`server.trusted_proxies`).
    pub trusted_proxy: String,
    pub apps: Vec<ProxiedApp>,
}

/// One `[[forward_auth.apps]]` table: a host name on one proxy's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedApp {
    /// `Wiki (nginx)`: the security page names the app a person is signed in to.
    pub name: String,
    /// `http://wiki.localhost:PORT`
    pub origin: String,
    /// `password` or `code`.
    pub level: &'static str,
    pub allowed_groups: &'static [&'static str],
}

/// What the demo protects: one small app (`crate::upstream`, showing the identity headers it
/// gets) under three host names, each asking for something else. `*.localhost` needs no DNS
/// in Chromium, which resolves it to loopback by itself.
struct Site {
    host: &'static str,
    name: &'static str,
    level: &'static str,
    allowed_groups: &'static [&'static str],
    /// For the banner.
    asks: &'static str,
}

const SITES: [Site; 3] = [
    Site {
        host: "wiki.localhost",
        name: "Wiki",
        level: "password",
        allowed_groups: &[],
        asks: "the password",
    },
    Site {
        host: "vault.localhost",
        name: "Vault",
        level: "code",
        allowed_groups: &[],
        asks: "the password and a texted code",
    },
    Site {
        host: "admin.localhost",
        name: "Admin",
        level: "password",
        allowed_groups: &["latchkey-admins"],
        asks: "administrators only (carol)",
    },
];

/// Each proxy in front of the app, in banner order.
const PROXY_KINDS: [ProxyKind; 2] = [ProxyKind::Nginx, ProxyKind::Caddy];

fn proxy_label(kind: ProxyKind) -> &'static str {
    match kind {
        ProxyKind::Nginx => "nginx",
        ProxyKind::Caddy => "Caddy",
    }
}

impl ForwardAuth {
    /// Every site on each proxy's port; Latchkey trusts `trusted_proxy`.
    pub fn for_proxies(trusted_proxy: &str, proxies: &[(ProxyKind, u16)]) -> Self {
        let apps = SITES
            .iter()
            .flat_map(|site| {
                proxies.iter().map(move |&(kind, port)| ProxiedApp {
                    name: format!("{} ({})", site.name, proxy_label(kind)),
                    origin: format!("http://{}:{port}", site.host),
                    level: site.level,
                    allowed_groups: site.allowed_groups,
                })
            })
            .collect();
        Self { trusted_proxy: trusted_proxy.to_owned(), apps }
    }
}

/// Where the proxies reach Latchkey (`host:port`) and the address their requests then come
/// from, for `--listen`: loopback when Latchkey listens on every address. The proxies start
/// before Latchkey does (their ports are in its configuration), so the port must be known.
fn proxy_route(listen: &str) -> Result<(String, IpAddr), String> {
    let (host, port) = listen
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
        .filter(|&(_, port)| port != 0)
        .ok_or_else(|| {
            format!("the proxies need Latchkey's port before it starts: give --listen host:port, not {listen:?}")
        })?;
    let ip = match host.trim_start_matches('[').trim_end_matches(']') {
        "" | "localhost" | "0.0.0.0" | "::" => IpAddr::from([127, 0, 0, 1]),
        other => other.parse().map_err(|_| {
            format!("--listen {listen:?}: the proxies need an IP address there (or localhost)")
        })?,
    };
    Ok((std::net::SocketAddr::new(ip, port).to_string(), ip))
}

/// The protected apps while the demo runs: the app and each proxy in front of it, or why not.
/// Dropping it stops them.
pub struct ProtectedApps {
    trusted_proxy: Option<IpAddr>,
    proxies: Vec<(ProxyKind, Result<Proxy, String>)>,
    not_started: Option<String>,
    // After the proxies: dropped once nothing forwards to it.
    _upstream: Option<Upstream>,
}

impl ProtectedApps {
    /// Not asked for (`--no-proxies`, `--no-demo-apps`): nothing in the file or the banner.
    pub fn off() -> Self {
        ProtectedApps {
            trusted_proxy: None,
            proxies: Vec::new(),
            not_started: None,
            _upstream: None,
        }
    }

    fn not_started(why: String) -> Self {
        ProtectedApps { not_started: Some(why), ..Self::off() }
    }

    /// Starts the app, then nginx and Caddy side by side in front of it. Either may be missing
    /// or fail: the demo goes on without its apps, and the banner says why.
    pub async fn start(listen: String) -> Self {
        let (latchkey, trusted) = match proxy_route(&listen) {
            Ok(route) => route,
            Err(why) => return Self::not_started(why),
        };
        let app = match upstream::start().await {
            Ok(app) => app,
            Err(e) => return Self::not_started(format!("the app behind the proxies: {e}")),
        };
        let hosts: Vec<&'static str> = SITES.iter().map(|s| s.host).collect();
        // nginx on Latchkey's port + 3, Caddy on + 4 (after the two OpenID Connect apps), so
        // the demo's addresses stay the same from run to run; any free port if taken.
        let base = latchkey.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok());
        // Each waits (blocking) until its proxy answers: a thread each, so they start together.
        let starting: Vec<_> = PROXY_KINDS
            .into_iter()
            .zip([3u16, 4])
            .map(|(kind, offset)| {
                let (latchkey, app, hosts) = (latchkey.clone(), app.authority(), hosts.clone());
                let port = base.and_then(|b| b.checked_add(offset));
                tokio::task::spawn_blocking(move || {
                    Proxy::start_preferring(kind, port, &latchkey, &app, &hosts)
                })
            })
            .collect();
        let mut proxies = Vec::new();
        for (kind, start) in PROXY_KINDS.into_iter().zip(starting) {
            let outcome = match start.await {
                Ok(started) => started.map_err(|e| e.to_string()),
                Err(e) => Err(format!("its start failed: {e}")),
            };
            proxies.push((kind, outcome));
        }
        ProtectedApps {
            trusted_proxy: Some(trusted),
            proxies,
            not_started: None,
            _upstream: Some(app),
        }
    }

    /// Each proxy that runs, and its port.
    fn running(&self) -> Vec<(ProxyKind, u16)> {
        self.proxies
            .iter()
            .filter_map(|(kind, p)| p.as_ref().ok().map(|p| (*kind, p.port())))
            .collect()
    }

    /// What goes in the file: the sites on each proxy that runs.
    pub fn forward_auth(&self) -> ForwardAuth {
        let running = self.running();
        match self.trusted_proxy {
            Some(ip) if !running.is_empty() => ForwardAuth::for_proxies(&ip.to_string(), &running),
            _ => ForwardAuth::default(),
        }
    }

    /// The banner's lines: a line per site with its address on each proxy, a line per proxy
    /// that did not start, and how other browsers find `*.localhost`.
    pub fn print_banner_lines(&self) {
        if let Some(why) = &self.not_started {
            println!("  Protected apps: not started: {why}");
            return;
        }
        if self.proxies.is_empty() {
            return;
        }
        println!(
            "  Protected apps: one small app behind nginx and Caddy, which ask Latchkey about every"
        );
        println!("  request (forward authentication); it shows the Remote-User it is given.");
        let running = self.running();
        if !running.is_empty() {
            for site in &SITES {
                let urls: Vec<String> = running
                    .iter()
                    .map(|&(kind, port)| {
                        format!("http://{}:{port} ({})", site.host, proxy_label(kind))
                    })
                    .collect();
                let label = format!("{}:", site.name);
                println!("    {label:<8} {}   {}", urls.join("  "), site.asks);
            }
        }
        for (kind, outcome) in &self.proxies {
            if let Err(why) = outcome {
                let label = format!("{}:", proxy_label(*kind));
                let mut lines = why.lines();
                println!("    {label:<8} not started: {}", lines.next().unwrap_or_default());
                for line in lines {
                    println!("             {line}");
                }
            }
        }
        if let Some(&(_, port)) = running.first() {
            println!(
                "    Chromium finds *.localhost by itself; for other browsers add the names to /etc/hosts"
            );
            println!(
                "    (127.0.0.1 wiki.localhost …); with curl: --resolve wiki.localhost:{port}:127.0.0.1"
            );
        }
    }
}

/// Runs the demo until interrupted. The directory and database are thrown away at every start;
/// the demo's own apps (if it started them) stop with it. `protect`: the app behind nginx and
/// Caddy too.
pub async fn run(
    listen: &str,
    data_dir: &Path,
    apps: DemoApps,
    protect: bool,
) -> Result<(), DemoError> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)
            .map_err(|e| DemoError::Demo(format!("cannot clear {}: {e}", data_dir.display())))?;
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| DemoError::Demo(format!("cannot create {}: {e}", data_dir.display())))?;
    // The proxies need only Latchkey's address, and their ports go in its configuration: they
    // start now, beside the directory, rather than after it.
    let protecting = protect.then(|| tokio::spawn(ProtectedApps::start(listen.to_owned())));
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
    let protected = match protecting {
        Some(task) => task.await.unwrap_or_else(|e| ProtectedApps::not_started(e.to_string())),
        None => ProtectedApps::off(),
    };
    let config =
        demo_config(listen, data_dir, &slapd, &env, &registered, &protected.forward_auth())?;

    let prepared = commands::prepare(&config).await?;
    seed_settings(&config, &prepared.db).await?;
    let addr = prepared.listener.local_addr().map_err(|e| DemoError::Demo(e.to_string()))?;
    // The server is listening (not yet serving: connections wait), so the apps may start.
    let running = match own {
        Ok(planned) => demo_apps::start(planned, &config.server.public_url).await,
        Err(why) => RunningApps::not_started(why),
    };
    print_banner(&config, addr, &slapd, &running, &registered, &protected);
    let served = commands::run(prepared, &config).await;
    drop(running);
    drop(protected);
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
    // Through the directory port, so each flavour's login attributes and ids (a binary
    // objectGUID on Active Directory) are read as the server reads them.
    for person in PEOPLE.iter().filter(|p| p.two_factor) {
        let login = Username::parse(person.uid).expect("a demo login");
        let found = directory
            .find_by_login(&login)
            .await
            .map_err(|e| DemoError::Demo(format!("cannot read {}: {e}", person.uid)))?
            .ok_or_else(|| DemoError::Demo(format!("{} is not in the directory", person.uid)))?;
        db.set_two_factor(found.id.as_str(), true, domain::now_ms() / 1000)
            .await
            .map_err(StartupError::from)?;
    }
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
    protected: &ProtectedApps,
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
    protected.print_banner_lines();
    if config.server.metrics_token.as_ref().map(|t| t.expose_secret()) == Some(DEMO_METRICS_TOKEN) {
        println!(
            "  Metrics:     {base}/metrics   (header Authorization: Bearer {DEMO_METRICS_TOKEN})"
        );
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

    fn env() -> Vec<(String, String)> {
        [
            ("LATCHKEY_SERVER__PUBLIC_URL", "http://127.0.0.1:4000"),
            ("LATCHKEY_DIRECTORY__URL", "ldap://127.0.0.1:389"),
            ("LATCHKEY_DIRECTORY__BIND_DN", "cn=latchkey,ou=services,dc=example,dc=org"),
            ("LATCHKEY_DIRECTORY__BIND_PASSWORD", "12345"),
            ("LATCHKEY_DIRECTORY__BASE_DN", "ou=people,dc=example,dc=org"),
            ("LATCHKEY_SECURITY__HMAC_KEYS", "demo-only-0123456789abcdef0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The file the demo writes loads as a configuration with a client per app and the fixture
    /// key, so no RSA key is generated.
    #[test]
    fn the_oidc_file_registers_each_app_and_the_fixture_key() {
        let dir = tempfile::tempdir().unwrap();
        let urls = ["http://127.0.0.1:4001".to_owned(), "http://127.0.0.1:4002".to_owned()];
        let apps = demo_apps::registered(&urls).unwrap();
        let file = write_config_file(dir.path(), &apps, &ForwardAuth::default()).unwrap();
        let config = Config::load_layers(Some(&file), &env()).expect("the demo's file loads");
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
        assert!(config.forward_auth.apps.is_empty(), "no proxy, no protected app");
        assert!(config.server.trusted_proxies.is_empty());
        assert!(config.server.metrics_token.is_none(), "/metrics from loopback, as before");
    }

    /// Each site once per proxy that runs, at the levels and groups the banner promises, with
    /// the proxies' address trusted (Latchkey refuses forward-auth apps without one).
    #[test]
    fn the_file_protects_each_site_on_each_proxy() {
        let dir = tempfile::tempdir().unwrap();
        let apps = demo_apps::registered(&["http://127.0.0.1:4001".to_owned()]).unwrap();
        let proxies = [(ProxyKind::Nginx, 4003), (ProxyKind::Caddy, 4004)];
        let forward_auth = ForwardAuth::for_proxies("127.0.0.1", &proxies);
        let file = write_config_file(dir.path(), &apps, &forward_auth).unwrap();
        let config = Config::load_layers(Some(&file), &env()).expect("the demo's file loads");
        assert_eq!(config.server.trusted_proxies, ["127.0.0.1"]);
        let token = config.server.metrics_token.as_ref().map(|t| t.expose_secret().to_owned());
        assert_eq!(token.as_deref(), Some(DEMO_METRICS_TOKEN), "/metrics stays reachable");
        assert_eq!(config.oidc.clients.len(), 1, "the OpenID Connect apps stay");
        let apps: Vec<(&str, &str, &str, Vec<&str>)> = config
            .forward_auth
            .apps
            .iter()
            .map(|a| {
                let groups = a.allowed_groups.iter().map(String::as_str).collect();
                (a.name.as_str(), a.origin.as_str(), a.level.as_str(), groups)
            })
            .collect();
        assert!(slapd::ADMIN_GROUP_DN.starts_with("cn=latchkey-admins,"), "carol's group");
        let admins = vec!["latchkey-admins"];
        assert_eq!(
            apps,
            [
                ("Wiki (nginx)", "http://wiki.localhost:4003", "password", vec![]),
                ("Wiki (Caddy)", "http://wiki.localhost:4004", "password", vec![]),
                ("Vault (nginx)", "http://vault.localhost:4003", "code", vec![]),
                ("Vault (Caddy)", "http://vault.localhost:4004", "code", vec![]),
                ("Admin (nginx)", "http://admin.localhost:4003", "password", admins.clone()),
                ("Admin (Caddy)", "http://admin.localhost:4004", "password", admins),
            ]
        );
        assert!(
            config.forward_auth.apps.iter().all(|a| !a.remembered_browser_satisfies_code),
            "a remembered browser is the password level: vault steps it up"
        );
    }

    /// nginx or Caddy missing or failing: the demo runs without their apps, and nothing in the
    /// file names a port nobody listens on.
    #[test]
    fn a_proxy_that_did_not_start_protects_nothing() {
        let failed = ProtectedApps {
            trusted_proxy: Some(IpAddr::from([127, 0, 0, 1])),
            proxies: PROXY_KINDS.into_iter().map(|k| (k, Err(format!("{k} missing")))).collect(),
            ..ProtectedApps::off()
        };
        assert_eq!(failed.forward_auth(), ForwardAuth::default());
        assert_eq!(forward_auth_toml(&failed.forward_auth()), "");
        let none = ProtectedApps::not_started("no port".into());
        assert_eq!(none.forward_auth(), ForwardAuth::default());
    }

    #[test]
    fn the_proxies_reach_latchkey_on_loopback_or_the_address_given() {
        let route = |listen: &str| proxy_route(listen).map(|(to, ip)| (to, ip.to_string()));
        let loopback = ("127.0.0.1:3000".to_owned(), "127.0.0.1".to_owned());
        for listen in ["127.0.0.1:3000", "0.0.0.0:3000", "localhost:3000", "[::]:3000"] {
            assert_eq!(route(listen), Ok(loopback.clone()), "{listen}");
        }
        assert_eq!(route("[::1]:3000"), Ok(("[::1]:3000".to_owned(), "::1".to_owned())));
        assert_eq!(route("10.1.2.3:80"), Ok(("10.1.2.3:80".to_owned(), "10.1.2.3".to_owned())));
        for bad in ["127.0.0.1:0", "127.0.0.1", "example.org:3000"] {
            assert!(route(bad).is_err(), "{bad}");
        }
    }
}
