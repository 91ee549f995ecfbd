//! `make bench`: starts the release `latchkey` against a throwaway slapd of 1 000+ people with
//! phones and 2-step sign-in on, the Twilio stand-in and a fresh database, then measures whole
//! sign-ins (as a browser without JavaScript) at several concurrencies beside the directory
//! floor, plus start-up, memory, the sign-in page alone and its weight, and forward
//! authentication's allowed check (what a proxy asks before each request to a protected app).
//! Prints a table and writes JSON and a PNG chart. Figures only: nothing here asserts a time.

mod floor;
mod forward_auth;
mod html;
mod instructions;
mod report;
mod signin;
mod soak;
mod stats;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use devkit::slapd::{self, Slapd};
use devkit::twilio_standin::{StandinAccount, TwilioStandin};
use domain::ports::{VerifiedBy, VerifiedPhones};
use signin::Person;

#[derive(Debug, Clone)]
struct Args {
    db: String,
    secs: f64,
    levels: Vec<usize>,
    people: usize,
    bin: PathBuf,
    site: PathBuf,
    out: PathBuf,
    /// Sign-ins of the soak (0: no soak, the levels instead).
    soak: u64,
    /// An older binary to measure first, for old/new ratios from one run.
    old: Option<PathBuf>,
    /// Sign-ins counted under callgrind for instructions per sign-in (0: none).
    instructions: u64,
    /// The directory over TLS (`ldaps://`, its certificate verified), as a deployment reaches
    /// it; plain loopback `ldap://` otherwise.
    directory_tls: bool,
}

const USAGE: &str = "usage: latchkey-bench [--db sqlite|postgres] [--secs N] [--levels 1,8,32,128] \
[--people N] [--bin target/release/latchkey] [--site target/site] [--out target/bench] [--soak N] \
[--old path/to/an/older/latchkey] [--instructions N] [--directory-tls]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        db: "sqlite".into(),
        secs: 20.0,
        levels: vec![1, 8, 32, 128],
        people: 1000,
        bin: "target/release/latchkey".into(),
        site: "target/site".into(),
        out: "target/bench".into(),
        soak: 0,
        old: None,
        instructions: 100,
        directory_tls: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--db" => a.db = value()?,
            "--secs" => a.secs = value()?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--people" => a.people = value()?.parse().map_err(|e| format!("--people: {e}"))?,
            "--levels" => {
                a.levels = value()?
                    .split(',')
                    .map(|l| l.trim().parse().map_err(|e| format!("--levels: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--bin" => a.bin = value()?.into(),
            "--site" => a.site = value()?.into(),
            "--out" => a.out = value()?.into(),
            "--old" => a.old = Some(value()?.into()),
            "--instructions" => {
                a.instructions = value()?.parse().map_err(|e| format!("--instructions: {e}"))?;
            }
            "--soak" => a.soak = value()?.parse().map_err(|e| format!("--soak: {e}"))?,
            "--directory-tls" => a.directory_tls = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if !matches!(a.db.as_str(), "sqlite" | "postgres") {
        return Err(format!("--db must be sqlite or postgres, not {}", a.db));
    }
    if a.levels.is_empty()
        || a.levels.contains(&0)
        || a.people < *a.levels.iter().max().unwrap_or(&1)
    {
        return Err("--levels must be positive and --people at least the largest level".into());
    }
    Ok(a)
}

/// Person `i` of the benchmark directory. UK mobile numbers (+44 7400 …), which the phone
/// rules accept as mobile; the texts only ever reach the stand-in.
fn person(i: usize) -> Person {
    Person {
        login: format!("bench{i:05}"),
        password: format!("bench-pw-{i:05}"),
        phone: format!("+4474009{i:05}"),
    }
}

/// Deals `people` out to `n` workers, so no two workers ever sign in as the same person.
pub fn shares(people: &[Person], n: usize) -> Vec<Vec<Person>> {
    let mut out = vec![Vec::new(); n];
    for (i, p) in people.iter().enumerate() {
        out[i % n].push(p.clone());
    }
    out
}

fn seed_ldif(people: &[Person]) -> String {
    let mut ldif: String = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            slapd::person_ldif(&p.login, &format!("Bench Person{i}"), &p.password, &[&p.phone])
        })
        .collect();
    // An administrator nobody signs in as, so the group exists as in a real directory.
    ldif.push_str(&slapd::person_ldif("bench-admin", "Bench Admin", "bench-admin-pw", &[]));
    ldif.push_str(&slapd::admin_group_ldif(&["bench-admin"]));
    ldif
}

/// What the running server needs from its surroundings.
struct Env {
    slapd: Slapd,
    /// How everything connects to the directory: TLS trusting slapd's throwaway CA when it has
    /// one (`--directory-tls`), else plain.
    ldap_settings: ldap3::LdapConnSettings,
    standin: Arc<TwilioStandin>,
    db_url: String,
    _pg: Option<devkit::postgres::TempPostgres>,
    dir: PathBuf,
    _tmp: tempfileless::Dir,
}

impl Env {
    /// The URL everything reaches the directory at: `ldaps://` when slapd has TLS.
    fn ldap_url(&self) -> String {
        self.slapd.ldaps_url().unwrap_or_else(|| self.slapd.url())
    }
}

/// A temporary directory without another dependency: removed when dropped.
mod tempfileless {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Writes the server's configuration; `forward_auth`: with the proxy trusted and the app the
/// forward-auth phase checks.
fn write_config(env: &Env, args: &Args, port: u16, forward_auth: bool) -> PathBuf {
    let d = env.slapd.directory_config();
    let limits = if args.soak > 0 {
        soak::LIMITS
    } else {
        "send_cooldown_secs = 0
sends_per_number_per_10min = 1000000
sends_per_user_per_day = 1000000
sends_per_ip_per_hour = 100000000
global_sends_per_day = 100000000
ip_failures_before_lock = 1000000"
    };
    let (trusted, apps) =
        if forward_auth { (forward_auth::TRUSTED_PROXIES, forward_auth::APPS) } else { ("", "") };
    let site = std::fs::canonicalize(&args.site).unwrap_or_else(|_| args.site.clone());
    let config = format!(
        r#"# Written by latchkey-bench. The abuse limits are raised because every virtual user comes
# from 127.0.0.1 and signs the same people in again and again (the network's password attempts
# too: every sign-in in flight counts until its password is checked, and C = 32 passes the
# default 25 free ones); everything else is the default.
[server]
address = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
site_root = "{site}"
{trusted}

[database]
url = "{db}"

[directory]
url = "{url}"
ca_certificates = "{ca}"
bind_dn = "{bind_dn}"
bind_password = "{bind_pw}"
base_dn = "{base_dn}"
admin_group_dn = "{admin}"

[sms]
provider = "twilio"

[sms.twilio]
account_sid = "{sid}"
auth_token = "{token}"
from = "+15017122661"
base_url = "{standin}"

[security]
hmac_keys = ["latchkey-bench-key-0123456789abcdef0123456789"]
{limits}
{apps}"#,
        site = site.display(),
        db = env.db_url,
        url = env.ldap_url(),
        ca = env.slapd.ca_file().map(|ca| ca.display().to_string()).unwrap_or_default(),
        bind_dn = d.bind_dn,
        bind_pw = env.slapd.service_password,
        base_dn = d.base_dn,
        admin = d.admin_group_dn,
        sid = env.standin.account.account_sid,
        token = env.standin.account.auth_token,
        standin = env.standin.url,
    );
    let path = env.dir.join("latchkey.toml");
    std::fs::write(&path, config).expect("write the config");
    path
}

/// The `latchkey` binary with `config`, in the environment the bench gives it.
fn latchkey(args: &Args, config: &Path) -> Command {
    let mut command = Command::new(&args.bin);
    command
        .arg("--config")
        .arg(config)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // The default filter, as an operator runs it; LATCHKEY_BENCH_LOG overrides it (e.g.
        // `sqlx::query=debug` to count statements).
        .env("LATCHKEY_LOG", std::env::var("LATCHKEY_BENCH_LOG").unwrap_or_else(|_| "info".into()))
        // Any LATCHKEY_… setting of the bench's own environment reaches the server, to try a
        // configuration (e.g. LATCHKEY_DATABASE__MAX_CONNECTIONS=4) without editing code; so
        // do glibc's MALLOC_… and GLIBC_TUNABLES tunables.
        .envs(std::env::vars().filter(|(k, _)| {
            (k.starts_with("LATCHKEY_") && k != "LATCHKEY_BENCH_LOG" && k != "LATCHKEY_LOG")
                || k.starts_with("MALLOC_")
                || k == "GLIBC_TUNABLES"
                || k == "_RJEM_MALLOC_CONF"
        }))
        .stdin(Stdio::null());
    command
}

/// Whether the binary accepts `config` (`latchkey print-config` parses it as `serve` would):
/// `Err` with the binary's own words when not.
fn accepts(args: &Args, config: &Path) -> Result<(), String> {
    let out = latchkey(args, config)
        .arg("print-config")
        .output()
        .map_err(|e| format!("cannot start {}: {e} (run `make bench`)", args.bin.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    Err(said.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join(" / "))
}

/// The configuration to run with, and why the forward-auth phase is skipped if it is: a binary
/// from before forward authentication refuses its keys (unknown keys are errors), and is then
/// benchmarked without them, so old and new binaries can be compared on everything else.
fn config_for(env: &Env, args: &Args, port: u16) -> (PathBuf, Option<String>) {
    let with = write_config(env, args, port, true);
    let Err(refused) = accepts(args, &with) else {
        return (with, None);
    };
    let without = write_config(env, args, port, false);
    if let Err(e) = accepts(args, &without) {
        panic!("{} refuses the bench's configuration: {e}", args.bin.display());
    }
    let why = format!(
        "{} does not accept the forward-auth configuration (a binary from before forward \
         authentication?): {refused}",
        args.bin.display()
    );
    eprintln!("  forward-auth phase skipped: {why}");
    (without, Some(why))
}

/// The release server, started from its config file; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts it and returns it with the time until `/readyz` answered 200.
    async fn start(args: &Args, config: &Path, port: u16, log: &Path) -> (Self, Duration) {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
        let started = Instant::now();
        let child = latchkey(args, config)
            .arg("serve")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {}: {e} (run `make bench`)", args.bin.display())
            });
        let mut server = Self { child, base: format!("http://127.0.0.1:{port}") };
        let http = reqwest::Client::new();
        let ready = format!("{}/readyz", server.base);
        loop {
            if http.get(&ready).send().await.is_ok_and(|r| r.status().is_success()) {
                return (server, started.elapsed());
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("latchkey exited with {status} at start-up; see its log");
            }
            assert!(started.elapsed() < Duration::from_secs(30), "latchkey was not ready in 30 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Turns 2-step sign-in on for everyone, keyed by `entryUUID`, as each person would.
async fn two_step_on(env: &Env) {
    let mut ldap = {
        let (conn, ldap) =
            ldap3::LdapConnAsync::with_settings(env.ldap_settings.clone(), &env.ldap_url())
                .await
                .expect("ldap");
        ldap3::drive!(conn);
        ldap
    };
    ldap.simple_bind(slapd::ROOT_DN, &env.slapd.root_password)
        .await
        .and_then(ldap3::LdapResult::success)
        .expect("root bind");
    let (entries, _) = ldap
        .search(slapd::PEOPLE_DN, ldap3::Scope::OneLevel, "(mobile=*)", vec!["entryUUID", "mobile"])
        .await
        .and_then(ldap3::SearchResult::success)
        .expect("list people");
    let db = server::db::Db::connect(&server::config::DatabaseConfig {
        url: env.db_url.clone(),
        max_connections: 2,
        connect_timeout_secs: 5,
    })
    .await
    .expect("database");
    let now = server_now();
    for entry in entries {
        let entry = ldap3::SearchEntry::construct(entry);
        let id = entry.attrs.get("entryUUID").and_then(|v| v.first()).expect("entryUUID");
        db.set_two_factor(id, true, now).await.expect("2-step on");
        // Codes only go to numbers Latchkey verified: vouch for the seeded ones, as an operator
        // migrating from another system would (`latchkey phones mark-verified`).
        let user = domain::directory::UserId(id.clone());
        for raw in entry.attrs.get("mobile").into_iter().flatten() {
            let number = domain::phone::PhonePolicy::from_directory(raw).expect("a seeded number");
            VerifiedPhones::mark_verified(&db, &user, &number, VerifiedBy::Operator, now)
                .await
                .expect("number verified");
        }
    }
    db.close().await;
    let _ = ldap.unbind().await;
}

fn server_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// GETs `/sign-in` from `concurrency` clients (no cookies) for `secs`: requests per second.
async fn page_rps(base: &str, concurrency: usize, secs: f64) -> (f64, stats::Percentiles, u64) {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let handles: Vec<_> = (0..concurrency)
        .map(|_| {
            let url = format!("{base}/sign-in");
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut tally = stats::Tally::default();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match http.get(&url).send().await {
                        Ok(r) if r.status().is_success() => match r.bytes().await {
                            Ok(_) => {
                                tally.sample("page", t.elapsed());
                                tally.completed += 1;
                            }
                            Err(_) => tally.error("body".into()),
                        },
                        Ok(r) => tally.error(format!("status {}", r.status().as_u16())),
                        Err(_) => tally.error("transport".into()),
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = stats::Tally::default();
    for h in handles {
        total.merge(h.await.expect("page worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let errors = total.errors.values().sum();
    let p = stats::percentiles(total.steps.entry("page").or_default());
    (total.completed as f64 / elapsed, p, errors)
}

/// Each page of a sign-in (password step, code step, home, security) and what the browser
/// loads for it: the HTML, the stylesheet, and the JS and wasm where the page loads them (a page
/// with an island; a hydrated page before islands, which preloaded them everywhere). Raw and brotli bytes; the person's second browser is
/// left at the code step.
async fn page_weights(
    base: &str,
    standin: &TwilioStandin,
    person: &Person,
) -> Vec<report::PageWeight> {
    let http = reqwest::Client::new();
    let fetch = |path: String| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move { http.get(url).send().await.expect("GET").bytes().await.expect("body") }
    };
    let pages = signin::pages_of_a_sign_in(base, standin, person)
        .await
        .unwrap_or_else(|e| panic!("page weights: {e}"));
    let mut weights = Vec::new();
    for (label, path, html) in pages {
        let mut assets = vec![report::Asset::of(&format!("{path} (HTML)"), html.as_bytes())];
        let loads_wasm = html.contains("<leptos-island") || html.contains("rel=\"modulepreload\"");
        for asset in html::pkg_assets(&html) {
            if !loads_wasm && (asset.ends_with(".js") || asset.ends_with(".wasm")) {
                continue;
            }
            let body = fetch(asset.clone()).await;
            assets.push(report::Asset::of(&asset, &body));
        }
        weights.push(report::PageWeight { page: label.to_owned(), loads_wasm, assets });
    }
    weights
}

async fn run_level(
    server: &Server,
    env: &Env,
    floor_target: &Arc<floor::Target>,
    people: &[Person],
    c: usize,
    secs: f64,
) -> report::Level {
    // The floor first, with the server idle.
    let floor_secs = (secs / 2.0).max(3.0);
    let (floor_tally, floor_elapsed) = floor::run(floor_target, people, c, floor_secs).await;
    let floor_per_sec = floor_tally.completed as f64 / floor_elapsed;
    eprintln!(
        "  C={c:<3} floor: {floor_per_sec:.0}/s ({} errors)",
        floor_tally.errors.values().sum::<u64>()
    );

    env.standin.clear();
    stats::reset_peak(server.pid());
    let slapd_pid = env.slapd.pid();
    let before = stats::proc_sample(server.pid());
    let slapd_before = slapd_pid.map(stats::proc_sample);
    let bench_before = stats::proc_sample(std::process::id());
    let machine_before = stats::machine_busy_secs();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let handles: Vec<_> = shares(people, c)
        .into_iter()
        .map(|share| {
            tokio::spawn(signin::virtual_user(
                server.base.clone(),
                env.standin.clone(),
                share,
                signin::Stop::At(deadline),
            ))
        })
        .collect();
    let mut tally = stats::Tally::default();
    for h in handles {
        tally.merge(h.await.expect("virtual user"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = stats::proc_sample(server.pid());
    let slapd_after = slapd_pid.map(stats::proc_sample);
    let bench_after = stats::proc_sample(std::process::id());
    let machine_busy = stats::machine_busy_secs() - machine_before;
    let per_sec = tally.completed as f64 / elapsed;
    let per_sign_in =
        |cpu: f64| if tally.completed == 0 { 0.0 } else { cpu / tally.completed as f64 };
    let level = report::Level {
        concurrency: c,
        seconds: elapsed,
        sign_ins: tally.completed,
        sign_ins_per_sec: per_sec,
        floor_per_sec,
        ratio_to_floor: if floor_per_sec > 0.0 { per_sec / floor_per_sec } else { 0.0 },
        floor_errors: floor_tally.errors.clone(),
        steps: signin::STEPS
            .iter()
            .map(|s| ((*s).to_owned(), stats::percentiles(tally.steps.entry(s).or_default())))
            .collect(),
        errors: tally.errors.clone(),
        server_peak_rss_kb: after.hwm_kb,
        server_cpu_ms_per_sign_in: per_sign_in(after.cpu_secs - before.cpu_secs) * 1000.0,
        slapd_cpu_ms_per_sign_in: match (slapd_before, slapd_after) {
            (Some(b), Some(a)) => per_sign_in(a.cpu_secs - b.cpu_secs) * 1000.0,
            _ => 0.0,
        },
        bench_cpu_ms_per_sign_in: per_sign_in(bench_after.cpu_secs - bench_before.cpu_secs)
            * 1000.0,
        machine_busy_cores: machine_busy / elapsed,
        server_busy_cores: (after.cpu_secs - before.cpu_secs) / elapsed,
        server_switches_per_sign_in: per_sign_in(
            after.switches.saturating_sub(before.switches) as f64
        ),
    };
    eprintln!(
        "  C={c:<3} sign-ins: {per_sec:.1}/s ({:.0} % of the floor), {} errors",
        level.ratio_to_floor * 100.0,
        tally.errors.values().sum::<u64>()
    );
    level
}

/// After the sign-in levels: a cookie per virtual user (one journey each, for as many people as
/// the largest level has users), then allowed checks at each level for `--secs / 2`.
async fn forward_auth_phase(
    server: &Server,
    env: &Env,
    people: &[Person],
    args: &Args,
    skipped: Option<String>,
) -> report::ForwardAuth {
    let skip = |why: String, journeys| report::ForwardAuth {
        skipped: Some(why),
        journeys,
        levels: Vec::new(),
    };
    if let Some(why) = skipped {
        return skip(why, report::Journeys::default());
    }
    env.standin.clear();
    let users = args.levels.iter().max().copied().unwrap_or(1);
    let (cookies, journeys) =
        forward_auth::journeys(&server.base, &env.standin, &people[..users]).await;
    eprintln!(
        "  forward auth: {} of {} journeys gave a cookie in {:.1} s",
        journeys.cookies, journeys.attempted, journeys.seconds
    );
    if cookies.is_empty() {
        let why = format!("no journey gave a cookie: {:?}", journeys.errors);
        eprintln!("  forward-auth phase skipped: {why}");
        return skip(why, journeys);
    }
    let secs = args.secs / 2.0;
    let mut levels = Vec::new();
    for &c in &args.levels {
        let level = forward_auth::level(server.pid(), &server.base, &cookies, c, secs).await;
        eprintln!(
            "  C={c:<3} forward-auth checks: {:.0}/s, {:.1} µs server CPU each, {} errors",
            level.checks_per_sec,
            level.server_cpu_us_per_check,
            level.errors.values().sum::<u64>()
        );
        levels.push(level);
    }
    report::ForwardAuth { skipped: None, journeys, levels }
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    server::sms::install_crypto_provider();
    std::fs::create_dir_all(&args.out).expect("output directory");
    // With --old, the same measurement of the old binary first, on a fresh directory and
    // database of its own, so that both binaries meet the same machine in one run.
    let old = args.old.clone().map(|old| {
        let out = args.out.join("old");
        Args { bin: old, out, old: None, ..args.clone() }
    });
    let old = match old {
        Some(old_args) => {
            std::fs::create_dir_all(&old_args.out).expect("output directory");
            eprintln!("old binary: {}", old_args.bin.display());
            Some(measure(&old_args).await)
        }
        None => None,
    };
    if old.is_some() {
        eprintln!("new binary: {}", args.bin.display());
    }
    let new = measure(&args).await;
    if let Some(old) = old {
        println!("{}", report::compare(&old, &new));
    }
}

/// Instructions per sign-in under callgrind, on a server of its own over the same database.
async fn count_instructions(
    env: &Env,
    args: &Args,
    people: &[Person],
) -> Option<instructions::Instructions> {
    if args.instructions == 0 {
        return None;
    }
    let port = free_port();
    let config = write_config(env, args, port, false);
    let mut command = latchkey(args, &config);
    command.arg("serve");
    let people = &people[..people.len().min(50)];
    match instructions::count(command, port, &args.out, &env.standin, people, args.instructions)
        .await
    {
        Ok(figure) => {
            eprintln!(
                "  instructions: {:.2} million per sign-in ({} sign-ins under callgrind)",
                figure.per_sign_in / 1e6,
                figure.sign_ins
            );
            Some(figure)
        }
        Err(why) => {
            eprintln!("  instructions not counted: {why}");
            None
        }
    }
}

/// What one binary measured: the levels, or the soak.
pub enum Measured {
    Levels(Box<report::Results>),
    Soak(soak::Soak),
}

/// Everything `make bench` measures of `args.bin`, printed and written under `args.out`.
async fn measure(args: &Args) -> Measured {
    let binary_bytes = std::fs::metadata(&args.bin)
        .unwrap_or_else(|e| {
            panic!("{}: {e} (build it with `cargo leptos build --release`)", args.bin.display())
        })
        .len();

    eprintln!(
        "latchkey-bench: {} people, database {}, {} s per level",
        args.people, args.db, args.secs
    );
    let people: Vec<Person> = (0..args.people).map(person).collect();
    let slapd = Slapd::start_opts(
        &seed_ldif(&people),
        &slapd::Options { tls: args.directory_tls, ..slapd::Options::default() },
    )
    .expect("slapd");
    let mut ldap_settings =
        ldap3::LdapConnSettings::new().set_conn_timeout(std::time::Duration::from_secs(5));
    if let Some(ca) = slapd.ca_file() {
        let tls = server::ldap_transport::tls_client_config(&ca.display().to_string())
            .expect("a TLS client trusting slapd's CA");
        ldap_settings = ldap_settings.set_config(tls);
    }
    let standin = Arc::new(TwilioStandin::start(StandinAccount::test()).await.expect("stand-in"));
    let dir = std::env::temp_dir().join(format!("latchkey-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (db_url, pg) = if args.db == "postgres" {
        let pg =
            devkit::postgres::TempPostgres::create().await.expect("PostgreSQL on 127.0.0.1:5432");
        (pg.url.clone(), Some(pg))
    } else {
        (format!("sqlite://{}", dir.join("latchkey.db").display()), None)
    };
    let env = Env {
        slapd,
        ldap_settings,
        standin,
        db_url,
        _pg: pg,
        dir: dir.clone(),
        _tmp: tempfileless::Dir(dir),
    };

    let port = free_port();
    let (config, forward_auth_skipped) = config_for(&env, args, port);
    let log = args.out.join(format!("latchkey-{}.log", args.db));
    let _ = std::fs::remove_file(&log);

    // First start: a fresh database (migrations run). Then 2-step on for everyone, and a second
    // start on the migrated database: what a restart costs.
    let (first, first_start) = Server::start(args, &config, port, &log).await;
    two_step_on(&env).await;
    drop(first);
    let (server, cold_start) = Server::start(args, &config, port, &log).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = stats::proc_sample(server.pid());
    eprintln!(
        "  start-up: {:.0} ms (fresh database), {:.0} ms (restart); idle RSS {} KiB",
        first_start.as_secs_f64() * 1000.0,
        cold_start.as_secs_f64() * 1000.0,
        idle.rss_kb
    );

    if args.soak > 0 {
        let soak = soak::run(&server.base, server.pid(), &env.standin, &people, args.soak).await;
        let path = args.out.join(format!("bench-{}-soak.json", args.db));
        std::fs::write(&path, serde_json::to_string_pretty(&soak).expect("json"))
            .expect("write JSON");
        println!("{}\nwritten: {}", soak::table(&soak), path.display());
        return Measured::Soak(soak);
    }

    let pages = page_weights(&server.base, &env.standin, &people[0]).await;
    let page_c = 32;
    let (page_per_sec, page_latency, page_errors) =
        page_rps(&server.base, page_c, (args.secs / 2.0).max(3.0)).await;
    eprintln!("  sign-in page alone: {page_per_sec:.0} requests/s at C={page_c}");

    let floor_target = Arc::new(floor::Target {
        url: env.ldap_url(),
        settings: env.ldap_settings.clone(),
        base_dn: slapd::PEOPLE_DN.into(),
        bind_dn: slapd::SERVICE_DN.into(),
        bind_password: env.slapd.service_password.clone(),
        attrs: ["entryUUID", "uid", "cn", "mail", "mobile"].map(String::from).to_vec(),
    });
    let mut levels = Vec::new();
    for &c in &args.levels {
        levels.push(run_level(&server, &env, &floor_target, &people, c, args.secs).await);
    }
    let after_load = stats::proc_sample(server.pid());
    let forward_auth = forward_auth_phase(&server, &env, &people, args, forward_auth_skipped).await;
    drop(server);
    let instructions = count_instructions(&env, args, &people).await;

    let results = report::Results {
        database: args.db.clone(),
        people: args.people,
        seconds_per_level: args.secs,
        commit: git_commit(),
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        cold_start_fresh_db_ms: first_start.as_secs_f64() * 1000.0,
        cold_start_ms: cold_start.as_secs_f64() * 1000.0,
        idle_rss_kb: idle.rss_kb,
        rss_after_load_kb: after_load.rss_kb,
        binary_bytes,
        sign_in_page: report::PageFigures {
            concurrency: page_c,
            requests_per_sec: page_per_sec,
            latency: page_latency,
            errors: page_errors,
        },
        pages,
        levels,
        forward_auth,
        instructions,
    };
    let stem = args.out.join(format!("bench-{}", args.db));
    let json = serde_json::to_string_pretty(&results).expect("json");
    std::fs::write(stem.with_extension("json"), json).expect("write JSON");
    let png = report::chart(&results, &stem);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(report::table(&results).as_bytes());
    let _ =
        writeln!(out, "\nwritten: {} and {}", stem.with_extension("json").display(), png.display());
    Measured::Levels(Box::new(results))
}

fn git_commit() -> String {
    Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_dealt_out_without_overlap() {
        let people: Vec<Person> = (0..10).map(person).collect();
        let shares = shares(&people, 3);
        assert_eq!(shares.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 3, 3]);
        let mut logins: Vec<&str> = shares.iter().flatten().map(|p| p.login.as_str()).collect();
        logins.sort_unstable();
        logins.dedup();
        assert_eq!(logins.len(), 10, "each person in exactly one share");
    }

    #[test]
    fn benchmark_people_have_mobile_numbers_the_portal_reads() {
        for i in [0, 999, 99_999] {
            let p = person(i);
            let number = domain::phone::PhonePolicy::from_directory(&p.phone);
            assert_eq!(number.map(|n| n.as_str().to_owned()), Some(p.phone.clone()));
        }
        let ldif = seed_ldif(&[person(7)]);
        assert!(ldif.contains("uid: bench00007") && ldif.contains("mobile: +447400900007"));
    }
}
