//! A throwaway 389 Directory Server for the tests: its own instance (`dc=lk389,dc=test`) under a
//! private prefix in a temporary directory, without systemd, on a free loopback port, seeded with
//! the [`Seed`]'s people, the administrators group and Latchkey's service account.
//!
//! `dscreate` takes ~5 s, so it runs once into a template under [`std::env::temp_dir`] (keyed by
//! the installed version and [`TEMPLATE_REVISION`], shared by every test process, created
//! atomically by a rename): the instance's configuration (`dse.ldif` with its paths replaced by
//! placeholders, the empty NSS database). Each server is a copy of it with an empty database,
//! which ns-slapd creates at its first start (~0.5 s); the suffix and everything in it are then
//! added over LDAP.
//!
//! ns-slapd runs in the foreground (`-d 0`) under a tiny `sh` watchdog whose standard input is a
//! pipe this process holds: when the [`Dirsrv`] is dropped, or when the test process ends in any
//! way (also a `static` whose Drop never runs, a panic=abort or a SIGKILL), the pipe closes and
//! the watchdog kills ns-slapd and removes its files (the instance directory and
//! `/dev/shm/sem.slapd-NAME.stats`). [`shared`] gives a test binary one instance for all its
//! tests.
//!
//! Needs root: ns-slapd starts as root and drops to the `dirsrv` user, so the instance's files
//! belong to `dirsrv` and the temporary directory is made traversable for it.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use server::config::{DirectoryConfig, Flavour};

use crate::directories::{LOCKOUT_THRESHOLD, Layout, Seed, TestDirectory, seeded_config};

pub const SUFFIX: &str = "dc=lk389,dc=test";
pub const PEOPLE_DN: &str = "ou=people,dc=lk389,dc=test";
pub const GROUPS_DN: &str = "ou=groups,dc=lk389,dc=test";
pub const SERVICES_DN: &str = "ou=services,dc=lk389,dc=test";
/// Latchkey's service account: reads people and groups, writes `mobile` and nothing else.
pub const SERVICE_DN: &str = "uid=latchkey,ou=services,dc=lk389,dc=test";
pub const ADMIN_GROUP_DN: &str = "cn=latchkey-admins,ou=groups,dc=lk389,dc=test";
/// The directory's own administrator (bypasses access control and password policy).
pub const ROOT_DN: &str = "cn=Directory Manager";
/// Seeded people's `mail` is `<login>@MAIL_DOMAIN`.
pub const MAIL_DOMAIN: &str = "lk389.test";

/// Bump when the template recipe changes: the template's directory name carries it, so a stale
/// template left in the temporary directory by an older recipe is never used.
pub const TEMPLATE_REVISION: u32 = 1;

const NS_SLAPD: &str = "/usr/sbin/ns-slapd";
const DSCREATE: &str = "/usr/sbin/dscreate";
const PK12UTIL: &str = "/usr/bin/pk12util";
const LDAPMODIFY: &str = "/usr/bin/ldapmodify";
const LDAPSEARCH: &str = "/usr/bin/ldapsearch";
const OPENSSL: &str = "/usr/bin/openssl";
const DEFAULTS_INF: &str = "/usr/share/dirsrv/inf/defaults.inf";
/// What ns-slapd drops to; it must own the instance's files.
const DS_USER: &str = "dirsrv:dirsrv";
/// The NSS nickname `cn=RSA,cn=encryption,cn=config` names (`nsSSLPersonalitySSL`).
const SERVER_CERT_NICKNAME: &str = "Server-Cert";
/// How long ns-slapd gets to listen (it takes ~0.5 s).
const START_SECS: u64 = 20;

#[derive(Debug, thiserror::Error)]
pub enum DirsrvError {
    #[error(
        "389 Directory Server is not installed ({0} missing): run `make setup` or apt-get install 389-ds-base ldap-utils"
    )]
    NotInstalled(&'static str),
    #[error(
        "a throwaway 389 Directory Server needs root: ns-slapd starts as root and drops to the dirsrv user"
    )]
    NotRoot,
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
    #[error("ns-slapd did not start listening on {addr} within {secs} s; its output:\n{log}")]
    NotListening { addr: SocketAddr, secs: u64, log: String },
}

fn io_step(step: &'static str) -> impl Fn(std::io::Error) -> DirsrvError {
    move |e| DirsrvError::Step { step, detail: e.to_string() }
}

/// What a throwaway 389 Directory Server is started with, beyond its seed.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A throwaway CA and a server certificate for 127.0.0.1 and localhost (in the instance's
    /// NSS database): the server then also listens on `ldaps://` ([`Dirsrv::ldaps_url`]) and
    /// answers StartTLS on `ldap://`; [`Dirsrv::ca_file`] is the CA to trust. Plain LDAP stays
    /// allowed (389-ds refuses only the password modify extended operation without TLS).
    pub tls: bool,
}

/// A running throwaway 389 Directory Server; stopped and removed when dropped.
#[derive(Debug)]
pub struct Dirsrv {
    /// The private prefix (`etc/`, `var/`, `run/`, `tls/`). The watchdog removes it; the TempDir
    /// is only a fallback.
    dir: tempfile::TempDir,
    name: String,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    /// ns-slapd's pid (a child of the watchdog, not of this process).
    pid: u32,
    /// The `sh` watchdog; its standard input is the lifeline.
    watchdog: Child,
    root_password: String,
    service_password: String,
}

impl Dirsrv {
    /// Starts an instance seeded with `seed` (see the module documentation), plain LDAP only.
    pub fn start(seed: &Seed<'_>) -> Result<Self, DirsrvError> {
        Self::start_opts(seed, &Options::default())
    }

    /// [`Dirsrv::start`] with LDAPS and StartTLS as well ([`Options::tls`]).
    pub fn start_tls(seed: &Seed<'_>) -> Result<Self, DirsrvError> {
        Self::start_opts(seed, &Options { tls: true })
    }

    pub fn start_opts(seed: &Seed<'_>, options: &Options) -> Result<Self, DirsrvError> {
        for tool in [NS_SLAPD, DSCREATE, LDAPMODIFY, LDAPSEARCH, DEFAULTS_INF] {
            if !Path::new(tool).exists() {
                return Err(DirsrvError::NotInstalled(tool));
            }
        }
        if options.tls {
            for tool in [PK12UTIL, OPENSSL] {
                if !Path::new(tool).exists() {
                    return Err(DirsrvError::NotInstalled(tool));
                }
            }
        }
        if std::fs::metadata("/proc/self").map_err(io_step("who am I"))?.uid() != 0 {
            return Err(DirsrvError::NotRoot);
        }
        let template = template()?;
        // Another process may take the free port between our choosing it and ns-slapd binding
        // it: then ns-slapd exits at once, and a fresh instance on other ports is tried.
        let mut attempt = 1;
        loop {
            match Self::launch(template, options) {
                Err(Launch::ExitedEarly(_)) if attempt < 3 => attempt += 1,
                Err(Launch::ExitedEarly(e) | Launch::Failed(e)) => return Err(e),
                Ok(dirsrv) => {
                    dirsrv.seed(seed)?;
                    return Ok(dirsrv);
                }
            }
        }
    }

    /// One instance from the template, started and listening, not yet seeded.
    fn launch(template: &Path, options: &Options) -> Result<Self, Launch> {
        let name = format!("lk{}", random_lower(10));
        let dir = tempfile::Builder::new()
            .prefix("latchkey-dirsrv-")
            .tempdir()
            .map_err(io_step("temp dir"))?;
        let prefix = dir.path().to_path_buf();
        // ns-slapd runs as dirsrv: it must reach etc/, var/ and run/ inside.
        std::fs::set_permissions(&prefix, std::fs::Permissions::from_mode(0o755))
            .map_err(io_step("temp dir permissions"))?;
        let config_dir = prefix.join(format!("etc/dirsrv/slapd-{name}"));
        for sub in [
            format!("etc/dirsrv/slapd-{name}"),
            format!("var/log/dirsrv/slapd-{name}"),
            format!("var/lib/dirsrv/slapd-{name}/db"),
            format!("var/lib/dirsrv/slapd-{name}/bak"),
            format!("var/lib/dirsrv/slapd-{name}/ldif"),
            format!("run/lock/dirsrv/slapd-{name}"),
            "run/dirsrv".to_owned(),
        ] {
            std::fs::create_dir_all(prefix.join(sub)).map_err(io_step("instance directories"))?;
        }
        copy_dir(template, &config_dir).map_err(io_step("copying the template"))?;

        let ports = free_loopback_addrs(if options.tls { 2 } else { 1 })?;
        let (addr, tls_addr) = (ports[0], ports.get(1).copied());
        let root_password = crate::slapd::random_token();
        let dse = std::fs::read_to_string(template.join("dse.ldif"))
            .map_err(io_step("reading the template's dse.ldif"))?;
        let dse = instance_dse(&dse, &prefix, &name, &root_password, addr, tls_addr)?;
        std::fs::write(config_dir.join("dse.ldif"), dse).map_err(io_step("writing dse.ldif"))?;
        std::fs::write(
            config_dir.join("pkcs11.txt"),
            std::fs::read_to_string(template.join("pkcs11.txt"))
                .map_err(io_step("reading pkcs11.txt"))?
                .replace("@PREFIX@", &prefix.display().to_string())
                .replace("@NAME@", &name),
        )
        .map_err(io_step("writing pkcs11.txt"))?;
        if tls_addr.is_some() {
            server_certificate_in_nss(&prefix.join("tls"), &config_dir)?;
        }
        // After every edit: files written as root would be unreadable to ns-slapd.
        run(
            "chown",
            Command::new("chown")
                .arg("-R")
                .arg(DS_USER)
                .args(["etc", "var", "run"].map(|sub| prefix.join(sub))),
        )?;

        let log_path = prefix.join("ns-slapd.log");
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("dirsrv-watchdog")
            .arg(NS_SLAPD)
            .arg(&config_dir)
            .arg(prefix.join(format!("run/dirsrv/slapd-{name}.pid")))
            .arg(&prefix)
            .arg(&name)
            .arg(&log_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C at the terminal ends the tests, not the watchdog,
            // which then cleans up as the lifeline closes.
            .process_group(0)
            .spawn()
            .map_err(io_step("starting the watchdog"))?;
        let mut first_line = String::new();
        let read = watchdog
            .stdout
            .take()
            .map(|out| BufReader::new(out).read_line(&mut first_line))
            .transpose()
            .map_err(io_step("reading ns-slapd's pid"));
        let pid = match (read, first_line.trim().parse::<u32>()) {
            (Ok(_), Ok(pid)) => pid,
            (read, _) => {
                // Closing the lifeline makes the watchdog clean up whatever it started.
                drop(watchdog.stdin.take());
                let _ = watchdog.wait();
                read?;
                return Err(Launch::Failed(DirsrvError::Step {
                    step: "starting ns-slapd",
                    detail: format!("the watchdog printed {first_line:?}"),
                }));
            }
        };
        let dirsrv = Self {
            dir,
            name,
            addr,
            tls_addr,
            pid,
            watchdog,
            root_password,
            service_password: crate::slapd::random_token(),
        };

        // ns-slapd listens once its backends are up: poll the ports.
        let deadline = Instant::now() + Duration::from_secs(START_SECS);
        let listening = |addr: &SocketAddr| {
            TcpStream::connect_timeout(addr, Duration::from_millis(100)).is_ok()
        };
        let mut exited = false;
        while Instant::now() < deadline {
            if listening(&dirsrv.addr) && dirsrv.tls_addr.as_ref().is_none_or(listening) {
                return Ok(dirsrv);
            }
            if !process_runs(dirsrv.pid) {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let error =
            DirsrvError::NotListening { addr: dirsrv.addr, secs: START_SECS, log: dirsrv.logs() };
        // Dropping it stops the watchdog, which removes the files.
        drop(dirsrv);
        Err(if exited { Launch::ExitedEarly(error) } else { Launch::Failed(error) })
    }

    /// ns-slapd's output and the tail of its error log, for a failed start.
    fn logs(&self) -> String {
        let prefix = self.dir.path();
        let errors = std::fs::read_to_string(
            prefix.join(format!("var/log/dirsrv/slapd-{}/errors", self.name)),
        )
        .unwrap_or_default();
        let tail: Vec<&str> = errors.lines().rev().take(30).collect();
        format!(
            "{}\n--- errors (last lines) ---\n{}",
            std::fs::read_to_string(prefix.join("ns-slapd.log")).unwrap_or_default(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// The suffix, the seed, the access rules and the password policy, in one `ldapmodify` as
    /// the Directory Manager.
    fn seed(&self, seed: &Seed<'_>) -> Result<(), DirsrvError> {
        self.ldapmodify("seeding", &seed_ldif(seed, &self.service_password))
    }

    /// Runs `ldapmodify` as the Directory Manager with `ldif` (records with `changetype`).
    pub fn ldapmodify(&self, step: &'static str, ldif: &str) -> Result<(), DirsrvError> {
        let out = output_with_input(
            Command::new(LDAPMODIFY).args([
                "-x",
                "-H",
                &self.url(),
                "-D",
                ROOT_DN,
                "-w",
                &self.root_password,
            ]),
            ldif,
        )
        .map_err(io_step(step))?;
        succeeded(step, &out)
    }

    pub fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }

    /// The `ldaps://` URL, when started with [`Options::tls`].
    pub fn ldaps_url(&self) -> Option<String> {
        self.tls_addr.map(|addr| format!("ldaps://{addr}"))
    }

    /// The throwaway CA's certificate (PEM), when started with [`Options::tls`].
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls_addr.map(|_| self.dir.path().join("tls/ca.pem"))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Directory Manager's DN and password (access control and password policy do not
    /// apply to it).
    pub fn root(&self) -> (&'static str, &str) {
        (ROOT_DN, &self.root_password)
    }

    /// The instance name (`slapd-NAME`), unique per instance.
    pub fn instance_name(&self) -> &str {
        &self.name
    }

    /// ns-slapd's process id (the benchmark and the tests read its memory).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The instance's private prefix (configuration in `etc/dirsrv/slapd-NAME`, logs in
    /// `var/log/dirsrv/slapd-NAME`).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Waits until the entry is marked as reset (`passwordExpirationTime: 19700101000000Z`) or
    /// no longer is. 389-ds sends a password modify's result before it records the password
    /// policy's bookkeeping (`update_pw_info` runs after the backend answered), so a bind right
    /// after the result can still see the old state.
    fn wait_for_reset_mark(&self, login: &str, marked: bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let out = Command::new(LDAPSEARCH)
                .args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", &self.url()])
                .args(["-D", ROOT_DN, "-w", &self.root_password, "-s", "base"])
                .args(["-b", &self.person_dn(login), "(objectClass=*)", "passwordExpirationTime"])
                .output()
                .unwrap_or_else(|e| panic!("ldapsearch: {e}"));
            let values = crate::directories::ldif_values(
                &String::from_utf8_lossy(&out.stdout),
                "passwordExpirationTime",
            );
            if values.iter().any(|v| v == "19700101000000Z") == marked {
                return;
            }
            assert!(Instant::now() < deadline, "{login}'s reset mark is not {marked} after 5 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Clears a person's lockout (wrong-password count and unlock time) as the Directory
    /// Manager, for tests sharing an instance.
    pub fn unlock(&self, login: &str) {
        let ldif = format!(
            "dn: {}\nchangetype: modify\nreplace: passwordRetryCount\npasswordRetryCount: 0\n-\nreplace: accountUnlockTime\n-\n",
            self.person_dn(login)
        );
        self.ldapmodify("unlocking", &ldif).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Why a launch failed: ns-slapd exiting at once is retried (most likely a port taken).
enum Launch {
    ExitedEarly(DirsrvError),
    Failed(DirsrvError),
}

impl From<DirsrvError> for Launch {
    fn from(e: DirsrvError) -> Self {
        Launch::Failed(e)
    }
}

impl Drop for Dirsrv {
    fn drop(&mut self) {
        // Closing the lifeline is the watchdog's signal: it kills ns-slapd (SIGKILL: nothing
        // needs saving) and removes the files, then exits.
        drop(self.watchdog.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.watchdog.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Stuck: kill both; the TempDir removes the files.
        let _ = Command::new("kill").args(["-KILL", &self.pid.to_string()]).status();
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
        let _ = std::fs::remove_file(format!("/dev/shm/sem.slapd-{}.stats", self.name));
    }
}

impl TestDirectory for Dirsrv {
    fn flavour(&self) -> Flavour {
        Flavour::Dirsrv389
    }

    fn directory_config(&self) -> DirectoryConfig {
        let layout = Layout {
            service_dn: SERVICE_DN,
            people_dn: PEOPLE_DN,
            admin_group_dn: ADMIN_GROUP_DN,
            groups_dn: GROUPS_DN,
        };
        seeded_config(Flavour::Dirsrv389, self.url(), &self.service_password, &layout)
    }

    fn service_password(&self) -> String {
        self.service_password.clone()
    }

    fn person_dn(&self, login: &str) -> String {
        format!("uid={login},{PEOPLE_DN}")
    }

    fn alternative_login(&self, _login: &str) -> Option<String> {
        None
    }

    fn stored_phones(&self, login: &str) -> Vec<String> {
        let out = Command::new(LDAPSEARCH)
            .args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", &self.url()])
            .args(["-D", ROOT_DN, "-w", &self.root_password, "-s", "base"])
            .args(["-b", &self.person_dn(login), "(objectClass=*)", "mobile"])
            .output()
            .unwrap_or_else(|e| panic!("ldapsearch: {e}"));
        assert!(
            out.status.success(),
            "ldapsearch for {login}'s phones: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut phones =
            crate::directories::ldif_values(&String::from_utf8_lossy(&out.stdout), "mobile");
        phones.sort();
        phones
    }

    /// A replace of `userPassword` as the Directory Manager: with the global
    /// `passwordMustChange: on`, 389-ds marks the entry (`pwdReset: TRUE`,
    /// `passwordExpirationTime: 19700101000000Z`), the next bind succeeds with the
    /// password-expired control 2.16.840.1.113730.3.4.4 and every later operation on that
    /// connection gets 53. (Not `ldappasswd`: the password modify extended operation needs TLS
    /// on 389-ds, "Operation requires a secure connection", rc 13.) It also clears a lockout.
    fn reset_password_must_change(&self, login: &str, password: &str) {
        let ldif = format!(
            "dn: {}\nchangetype: modify\nreplace: userPassword\n{}-\n",
            self.person_dn(login),
            crate::directories::ldif_line("userPassword", password)
        );
        self.ldapmodify("resetting a password", &ldif).unwrap_or_else(|e| panic!("{e}"));
        self.wait_for_reset_mark(login, true);
    }
}

/// One instance for a whole test binary, started by the first caller with its seed (later
/// callers' seeds are ignored: give every caller the same). It lives in a `static`, so its Drop
/// never runs: ns-slapd stops and its files go when the test process exits (the watchdog's
/// lifeline closes). Tests sharing it must not leave a person locked or with a reset password
/// that another test relies on (see [`Dirsrv::unlock`]); a test that locks people out or resets
/// passwords is better off with its own [`Dirsrv::start`].
pub fn shared(seed: &Seed<'_>) -> Result<&'static Dirsrv, String> {
    static SHARED: OnceLock<Result<Dirsrv, String>> = OnceLock::new();
    // A failed start is remembered: the other tests fail at once rather than retry it each.
    SHARED
        .get_or_init(|| Dirsrv::start(seed).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// The watchdog: starts ns-slapd in the foreground as its child, prints its pid, then waits for
/// EOF on its standard input (the lifeline this process holds; it closes on Drop and when the
/// process ends in any way), kills ns-slapd and removes the instance's files.
/// Arguments: ns-slapd, config dir, pid file, instance prefix, instance name, log file.
const WATCHDOG: &str = r#"
"$1" -D "$2" -i "$3" -d 0 </dev/null >"$6" 2>&1 &
server=$!
echo "$server"
exec >/dev/null
cat >/dev/null
kill -KILL "$server" 2>/dev/null
wait "$server"
rm -rf "$4" "/dev/shm/sem.slapd-$5.stats"
"#;

/// The template's directory (see the module documentation), built by the first caller in this
/// process unless another process already left it in the temporary directory.
fn template() -> Result<&'static Path, DirsrvError> {
    static TEMPLATE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| ensure_template().map_err(|e| e.to_string()))
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(|detail| DirsrvError::Step { step: "389-ds template", detail: detail.clone() })
}

/// Where this version's template lives, and whether it is complete.
fn template_dir() -> Result<PathBuf, DirsrvError> {
    let inf = std::fs::read_to_string(DEFAULTS_INF).map_err(io_step("reading defaults.inf"))?;
    let version = inf
        .lines()
        .find_map(|line| line.strip_prefix("version = "))
        .map(|v| v.trim().replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "_"))
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(std::env::temp_dir()
        .join(format!("latchkey-dirsrv-template-{version}-r{TEMPLATE_REVISION}")))
}

const TEMPLATE_FILES: &[&str] = &["dse.ldif", "pkcs11.txt", "cert9.db", "key4.db", "pin.txt"];

fn template_complete(dir: &Path) -> bool {
    TEMPLATE_FILES.iter().all(|f| dir.join(f).is_file())
}

fn ensure_template() -> Result<PathBuf, DirsrvError> {
    let target = template_dir()?;
    if template_complete(&target) {
        return Ok(target);
    }
    if target.exists() {
        // Half gone (a temporary-directory cleaner): it cannot be renamed over, so remove it.
        let _ = std::fs::remove_dir_all(&target);
    }
    let building = tempfile::Builder::new()
        .prefix("latchkey-dirsrv-template-building-")
        .tempdir()
        .map_err(io_step("template temp dir"))?;
    let config = build_template(building.path())?;
    // Only root reads it (it holds the NSS database's PIN); instances are copies.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o700))
        .map_err(io_step("template permissions"))?;
    // A rename is atomic: other processes see a complete template or none. If another process
    // won the race, the rename fails (the target is a non-empty directory) and theirs is used.
    match std::fs::rename(&config, &target) {
        Ok(()) => Ok(target),
        Err(_) if template_complete(&target) => Ok(target),
        Err(e) => Err(DirsrvError::Step { step: "placing the template", detail: e.to_string() }),
    }
}

/// Runs `dscreate` under a private prefix inside `building` (no systemd: `with_systemd = 0` in
/// a copy of `defaults.inf` with every system path moved under the prefix), then keeps only the
/// instance's configuration directory, with the prefix and instance name in `dse.ldif` and
/// `pkcs11.txt` turned into `@PREFIX@` and `@NAME@`. Returns that directory.
fn build_template(building: &Path) -> Result<PathBuf, DirsrvError> {
    std::fs::set_permissions(building, std::fs::Permissions::from_mode(0o755))
        .map_err(io_step("template temp dir permissions"))?;
    let prefix = building.join("p");
    let name = format!("lkt{}", random_lower(10));
    // dscreate makes missing parents as root with mode 0770, which dirsrv cannot enter: make
    // them first and give them to dirsrv.
    for sub in [
        "share/dirsrv/inf",
        "etc/dirsrv",
        "var/log/dirsrv",
        "var/lib/dirsrv",
        "run/dirsrv",
        "run/lock/dirsrv",
    ] {
        std::fs::create_dir_all(prefix.join(sub)).map_err(io_step("template directories"))?;
    }
    let inf = std::fs::read_to_string(DEFAULTS_INF).map_err(io_step("reading defaults.inf"))?;
    let p = prefix.display().to_string();
    let defaults: String = inf
        .lines()
        .map(|line| {
            let line = if line.trim() == "with_systemd = 1" { "with_systemd = 0" } else { line };
            match line.split_once(" = ") {
                Some((key, value))
                    if ["/etc", "/var", "/run", "/dev/shm"]
                        .iter()
                        .any(|d| value.starts_with(d)) =>
                {
                    format!("{key} = {p}{value}\n")
                }
                _ => format!("{line}\n"),
            }
        })
        .collect();
    std::fs::write(prefix.join("share/dirsrv/inf/defaults.inf"), defaults)
        .map_err(io_step("writing defaults.inf"))?;
    for sub in ["config", "schema"] {
        copy_dir(&Path::new("/etc/dirsrv").join(sub), &prefix.join("etc/dirsrv").join(sub))
            .map_err(io_step("copying /etc/dirsrv"))?;
    }
    run(
        "chown (template)",
        Command::new("chown").arg("-R").arg(DS_USER).args([prefix.join("var"), prefix.join("run")]),
    )?;
    // dscreate starts the server once to create the backend: it needs a port of its own.
    let port = free_loopback_addrs(1)?[0].port();
    let inst_inf = prefix.join("inst.inf");
    std::fs::write(
        &inst_inf,
        format!(
            "[general]\nconfig_version = 2\nfull_machine_name = localhost\nstart = False\n\n\
             [slapd]\ninstance_name = {name}\nport = {port}\nroot_password = {}\n\
             self_sign_cert = False\n\n\
             [backend-userroot]\nsuffix = {SUFFIX}\ncreate_suffix_entry = False\nsample_entries = no\n",
            crate::slapd::random_token()
        ),
    )
    .map_err(io_step("writing inst.inf"))?;
    let out = Command::new(DSCREATE)
        .env("PREFIX", &prefix)
        .arg("from-file")
        .arg(&inst_inf)
        .stdin(Stdio::null())
        .output()
        .map_err(io_step("dscreate"))?;
    let _ = std::fs::remove_file(format!("/dev/shm/sem.slapd-{name}.stats"));
    if !out.status.success() {
        return Err(DirsrvError::Step {
            step: "dscreate",
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    let created = prefix.join(format!("etc/dirsrv/slapd-{name}"));
    let config = building.join("config");
    copy_dir(&created, &config).map_err(io_step("copying the configuration"))?;
    for stale in ["dse.ldif.bak", "dse.ldif.startOK", "dse.ldif.tmp"] {
        let _ = std::fs::remove_file(config.join(stale));
    }
    for file in ["dse.ldif", "pkcs11.txt"] {
        let path = config.join(file);
        let text = std::fs::read_to_string(&path).map_err(io_step("reading the configuration"))?;
        // Unfolded (continuation lines joined), so that instances edit whole attribute lines.
        let text = text.replace("\n ", "").replace(&p, "@PREFIX@").replace(&name, "@NAME@");
        std::fs::write(&path, text).map_err(io_step("writing the template"))?;
    }
    let _ = std::fs::remove_dir_all(&prefix);
    Ok(config)
}

/// An instance's `dse.ldif` from the template's: its paths and name, its ports on 127.0.0.1
/// only, a root password of its own (in clear: `nsslapd-rootpwstoragescheme` must come before
/// `nsslapd-rootpw`, or ns-slapd refuses the entry), no LDAPI socket, small caches (389-ds
/// otherwise sizes its database cache to a quarter of the machine's memory) and, with TLS,
/// `nsslapd-securePort` before `nsslapd-security: on` (in the other order ns-slapd exits at
/// start without a word).
fn instance_dse(
    template: &str,
    prefix: &Path,
    name: &str,
    root_password: &str,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
) -> Result<String, DirsrvError> {
    let text = template.replace("@PREFIX@", &prefix.display().to_string()).replace("@NAME@", name);
    let mut out = String::with_capacity(text.len() + 512);
    let mut dn = String::new();
    let (mut port_set, mut rootpw_set) = (false, false);
    for line in text.lines() {
        if let Some(entry) = line.strip_prefix("dn: ") {
            dn = entry.trim().to_ascii_lowercase();
        }
        let attr = line.split_once(':').map(|(a, _)| a.to_ascii_lowercase()).unwrap_or_default();
        if dn == "cn=config" {
            match attr.as_str() {
                "nsslapd-port" => {
                    out.push_str(&format!(
                        "nsslapd-port: {}\nnsslapd-listenhost: 127.0.0.1\n",
                        addr.port()
                    ));
                    if let Some(tls) = tls_addr {
                        out.push_str(&format!(
                            "nsslapd-securelistenhost: 127.0.0.1\nnsslapd-securePort: {}\nnsslapd-security: on\n",
                            tls.port()
                        ));
                    }
                    port_set = true;
                    continue;
                }
                "nsslapd-rootpw" => {
                    out.push_str(&format!(
                        "nsslapd-rootpwstoragescheme: CLEAR\nnsslapd-rootpw: {root_password}\n"
                    ));
                    rootpw_set = true;
                    continue;
                }
                "nsslapd-ldapilisten" => {
                    out.push_str("nsslapd-ldapilisten: off\n");
                    continue;
                }
                "nsslapd-listenhost"
                | "nsslapd-securelistenhost"
                | "nsslapd-secureport"
                | "nsslapd-security"
                | "nsslapd-rootpwstoragescheme" => continue,
                _ => {}
            }
        }
        match attr.as_str() {
            "nsslapd-cache-autosize" => out.push_str("nsslapd-cache-autosize: 0\n"),
            "nsslapd-dbcachesize" => out.push_str("nsslapd-dbcachesize: 8388608\n"),
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if !(port_set && rootpw_set) {
        return Err(DirsrvError::Step {
            step: "editing dse.ldif",
            detail: "the template's cn=config has no nsslapd-port or nsslapd-rootpw".into(),
        });
    }
    Ok(out)
}

/// The LDIF the instance is seeded with (see [`Dirsrv::seed`]).
///
/// Access control, all on the suffix entry (without an `aci` a bound user reads nothing):
/// - the service account reads, searches and compares everything but `userPassword` under
///   `ou=people` and `ou=groups`, and writes `mobile` on people: Latchkey's minimum rights;
/// - the service account reads the `aci` values themselves (optional: `latchkey check` then
///   tells whether people may write their own phone);
/// - people read their own entry (but `userPassword`) and change their own password.
///
/// The password policy is global (`cn=config`) and comes last, so that adding the seeded
/// passwords as the Directory Manager does not count as resets that must be changed.
fn seed_ldif(seed: &Seed<'_>, service_password: &str) -> String {
    let service = SERVICE_DN;
    let mut ldif = format!(
        "dn: {SUFFIX}
changetype: add
objectClass: top
objectClass: domain
dc: lk389
aci: (targetattr != \"userPassword\")(target = \"ldap:///{PEOPLE_DN}\")(version 3.0; acl \"latchkey service reads people\"; allow (read, search, compare) userdn = \"ldap:///{service}\";)
aci: (targetattr != \"userPassword\")(target = \"ldap:///{GROUPS_DN}\")(version 3.0; acl \"latchkey service reads groups\"; allow (read, search, compare) userdn = \"ldap:///{service}\";)
aci: (targetattr = \"mobile\")(target = \"ldap:///uid=*,{PEOPLE_DN}\")(version 3.0; acl \"latchkey service writes phones\"; allow (write) userdn = \"ldap:///{service}\";)
aci: (targetattr != \"userPassword\")(version 3.0; acl \"people read their own entry\"; allow (read, search, compare) userdn = \"ldap:///self\";)
aci: (targetattr = \"userPassword\")(version 3.0; acl \"people change their own password\"; allow (write) userdn = \"ldap:///self\";)
aci: (targetattr = \"aci || objectClass\")(version 3.0; acl \"latchkey service reads access rules\"; allow (read, search) userdn = \"ldap:///{service}\";)

dn: {PEOPLE_DN}
changetype: add
objectClass: top
objectClass: organizationalUnit
ou: people

dn: {GROUPS_DN}
changetype: add
objectClass: top
objectClass: organizationalUnit
ou: groups

dn: {SERVICES_DN}
changetype: add
objectClass: top
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
changetype: add
objectClass: top
objectClass: account
objectClass: simpleSecurityObject
uid: latchkey
{}
",
        crate::directories::ldif_line("userPassword", service_password)
    );
    for person in seed.people {
        let (given, family) = person.name.split_once(' ').unwrap_or((person.name, person.name));
        ldif.push_str(&format!(
            "dn: uid={},{PEOPLE_DN}\nchangetype: add\nobjectClass: top\nobjectClass: inetOrgPerson\nuid: {}\n",
            person.login, person.login
        ));
        ldif.push_str(&crate::directories::ldif_line("cn", person.name));
        ldif.push_str(&crate::directories::ldif_line("givenName", given));
        ldif.push_str(&crate::directories::ldif_line("sn", family));
        ldif.push_str(&format!("mail: {}@{MAIL_DOMAIN}\n", person.login));
        ldif.push_str(&crate::directories::ldif_line("userPassword", person.password));
        for phone in person.phones {
            ldif.push_str(&crate::directories::ldif_line("mobile", phone));
        }
        ldif.push('\n');
    }
    ldif.push_str(&format!(
        "dn: {ADMIN_GROUP_DN}\nchangetype: add\nobjectClass: top\nobjectClass: groupOfNames\ncn: latchkey-admins\n"
    ));
    for admin in seed.admins {
        ldif.push_str(&format!("member: uid={admin},{PEOPLE_DN}\n"));
    }
    ldif.push_str(&format!(
        "
dn: cn=config
changetype: modify
replace: passwordLockout
passwordLockout: on
-
replace: passwordMaxFailure
passwordMaxFailure: {LOCKOUT_THRESHOLD}
-
replace: passwordLockoutDuration
passwordLockoutDuration: 600
-
replace: passwordMustChange
passwordMustChange: on
-
"
    ));
    ldif
}

/// A throwaway CA (`tls/ca.pem`) and a server certificate for 127.0.0.1 and localhost, put in
/// the instance's NSS database under the nickname its `cn=RSA,cn=encryption,cn=config` names.
fn server_certificate_in_nss(tls: &Path, config_dir: &Path) -> Result<(), DirsrvError> {
    std::fs::create_dir_all(tls).map_err(io_step("tls dir"))?;
    crate::slapd::throwaway_ca(tls, "ca")
        .map_err(|e| DirsrvError::Step { step: "throwaway CA", detail: e.to_string() })?;
    crate::slapd::server_certificate(tls, "IP:127.0.0.1,DNS:localhost")
        .map_err(|e| DirsrvError::Step { step: "server certificate", detail: e.to_string() })?;
    let openssl = |step: &'static str, args: &[&str]| {
        run(step, Command::new(OPENSSL).args(args).current_dir(tls))
    };
    // NSS takes a key and its certificate together only as PKCS#12.
    let p12_password = crate::slapd::random_token();
    openssl(
        "openssl (PKCS#12)",
        &[
            "pkcs12",
            "-export",
            "-in",
            "server.pem",
            "-inkey",
            "server.key",
            "-certfile",
            "ca.pem",
            "-name",
            SERVER_CERT_NICKNAME,
            "-out",
            "server.p12",
            "-passout",
            &format!("pass:{p12_password}"),
        ],
    )?;
    // dscreate left the NSS database's password in pwdfile.txt (and pin.txt for ns-slapd).
    run(
        "pk12util",
        Command::new(PK12UTIL)
            .arg("-i")
            .arg(tls.join("server.p12"))
            .arg("-d")
            .arg(format!("sql:{}", config_dir.display()))
            .arg("-k")
            .arg(config_dir.join("pwdfile.txt"))
            .args(["-W", &p12_password]),
    )
}

/// Runs a command to completion; its output is the error's detail when it fails.
fn run(step: &'static str, command: &mut Command) -> Result<(), DirsrvError> {
    let out = command.stdin(Stdio::null()).output().map_err(io_step(step))?;
    succeeded(step, &out)
}

/// A finished command's outcome: its output is the error's detail when it failed.
fn succeeded(step: &'static str, out: &std::process::Output) -> Result<(), DirsrvError> {
    if out.status.success() {
        return Ok(());
    }
    let detail =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Err(DirsrvError::Step { step, detail })
}

/// Runs a command with `input` on its standard input (written from a thread, so that a command
/// answering as it reads never blocks on a full pipe).
fn output_with_input(command: &mut Command, input: &str) -> std::io::Result<std::process::Output> {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("no stdin"))?;
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    writer.join().map_err(|_| std::io::Error::other("writer panicked"))??;
    Ok(out)
}

/// `n` distinct free ports on 127.0.0.1 (held together while choosing, so they differ).
fn free_loopback_addrs(n: usize) -> Result<Vec<SocketAddr>, DirsrvError> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_step("finding a free port"))?;
    listeners
        .iter()
        .map(TcpListener::local_addr)
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_step("finding a free port"))
}

/// Whether a process runs (exists and is not a zombie), from `/proc`.
fn process_runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()))
        .is_some_and(|state| state != 'Z' && state != 'X')
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn random_lower(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use ldap3::{LdapConnAsync, LdapResult, Mod, Scope, SearchEntry};
    use server::directory::LdapDirectory;

    use super::*;
    use crate::directories::SeedPerson;

    const PEOPLE: &[SeedPerson<'static>] = &[
        SeedPerson {
            login: "alice",
            name: "Alice Archer",
            password: "alice-pw",
            phones: &["+15550001", "+15550002"],
        },
        SeedPerson { login: "bob", name: "Bob Baker", password: "bob-pw", phones: &[] },
        SeedPerson {
            login: "carol",
            name: "Carol Çelik",
            password: "carol-pw",
            phones: &["+15550003"],
        },
    ];
    const SEED: Seed<'static> = Seed { people: PEOPLE, admins: &["carol"] };

    const PASSWORD_EXPIRED_OID: &str = "2.16.840.1.113730.3.4.4";

    async fn connect(url: &str) -> ldap3::Ldap {
        let (conn, ldap) = LdapConnAsync::new(url).await.expect("connecting to 389-ds");
        ldap3::drive!(conn);
        ldap
    }

    async fn bind(url: &str, dn: &str, password: &str) -> LdapResult {
        let mut ldap = connect(url).await;
        let result = ldap.simple_bind(dn, password).await.expect("bind");
        let _ = ldap.unbind().await;
        result
    }

    async fn bound(url: &str, dn: &str, password: &str) -> ldap3::Ldap {
        let mut ldap = connect(url).await;
        ldap.simple_bind(dn, password).await.expect("bind").success().expect("bind accepted");
        ldap
    }

    fn rss_kib(pid: u32) -> String {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS"))
            .unwrap_or("VmRSS: ?")
            .to_owned()
    }

    /// One server for all of it: each start costs about a second.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_seeded_389_directory_server_behaves_as_latchkey_expects() {
        let started = Instant::now();
        let ds = Dirsrv::start(&SEED).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("389-ds started and seeded in {:?}; {}", started.elapsed(), rss_kib(ds.pid()));
        let url = ds.url();
        let (alice, bob, carol) =
            (ds.person_dn("alice"), ds.person_dn("bob"), ds.person_dn("carol"));

        let cfg = ds.directory_config();
        assert_eq!(cfg.flavour, Flavour::Dirsrv389);
        assert_eq!(
            (cfg.login_attribute.as_str(), cfg.user_id_attribute.as_str()),
            ("uid", "nsUniqueId")
        );
        assert_eq!(cfg.bind_dn, SERVICE_DN);
        assert_eq!(cfg.admin_group_dn, ADMIN_GROUP_DN);

        // A person binds, without the password-expired control, and reads their own entry.
        let ok = bind(&url, &alice, "alice-pw").await;
        assert_eq!(ok.rc, 0, "{ok:?}");
        assert!(ok.ctrls.iter().all(|c| c.1.ctype != PASSWORD_EXPIRED_OID), "{ok:?}");
        let mut own = bound(&url, &alice, "alice-pw").await;
        let (entries, _) = own
            .search(&alice, Scope::Base, "(objectClass=*)", vec!["cn", "userPassword"])
            .await
            .unwrap()
            .success()
            .unwrap();
        let entry = SearchEntry::construct(entries[0].clone());
        assert_eq!(entry.attrs["cn"], ["Alice Archer"]);
        assert!(!entry.attrs.contains_key("userPassword"));

        // The service account finds people with nsUniqueId, never a password, and the group.
        let mut service = bound(&url, SERVICE_DN, &ds.service_password()).await;
        let (entries, _) = service
            .search(PEOPLE_DN, Scope::Subtree, "(uid=carol)", vec!["*", "nsUniqueId"])
            .await
            .unwrap()
            .success()
            .unwrap();
        let entry = SearchEntry::construct(entries[0].clone());
        let id = &entry.attrs["nsUniqueId"][0];
        eprintln!("carol: {:?}", entry.attrs);
        assert_eq!(id.split('-').map(str::len).collect::<Vec<_>>(), [8, 8, 8, 8], "{id}");
        assert_eq!(entry.attrs["cn"], ["Carol Çelik"]);
        assert_eq!(entry.attrs["mail"], ["carol@lk389.test"]);
        assert!(!entry.attrs.contains_key("userPassword"));
        let (entries, _) = service
            .search(GROUPS_DN, Scope::Subtree, &format!("(member={carol})"), vec!["cn"])
            .await
            .unwrap()
            .success()
            .unwrap();
        assert_eq!(SearchEntry::construct(entries[0].clone()).dn, ADMIN_GROUP_DN);

        // It writes mobile, and nothing else.
        assert_eq!(ds.stored_phones("alice"), ["+15550001", "+15550002"]);
        let phone =
            service.modify(&bob, vec![Mod::Add("mobile", ["+15550009"].into())]).await.unwrap();
        assert_eq!(phone.rc, 0, "{phone:?}");
        assert_eq!(ds.stored_phones("bob"), ["+15550009"]);
        let name = service.modify(&bob, vec![Mod::Replace("cn", ["Evil"].into())]).await.unwrap();
        assert_eq!(name.rc, 50, "{name:?}");
        eprintln!("service writing cn: rc {} {:?}", name.rc, name.text);
        let _ = service.unbind().await;

        // Wrong passwords up to the threshold are rc 49; then the account is locked (rc 19),
        // even for the right password; unlock lifts it.
        for attempt in 1..=LOCKOUT_THRESHOLD {
            let wrong = bind(&url, &bob, "wrong").await;
            assert_eq!(wrong.rc, 49, "attempt {attempt}: {wrong:?}");
        }
        let locked = bind(&url, &bob, "bob-pw").await;
        eprintln!("locked: rc {} {:?}", locked.rc, locked.text);
        assert_eq!(
            (locked.rc, locked.text.as_str()),
            (19, "Exceed password retry limit. Please try later.")
        );
        ds.unlock("bob");
        assert_eq!(bind(&url, &bob, "bob-pw").await.rc, 0);

        // After an administrator's reset the bind succeeds with the password-expired control,
        // and the next operation is refused (53).
        ds.reset_password_must_change("alice", "fresh-pw");
        let mut expired = connect(&url).await;
        let reset = expired.simple_bind(&alice, "fresh-pw").await.unwrap();
        assert_eq!(reset.rc, 0, "{reset:?}");
        assert!(reset.ctrls.iter().any(|c| c.1.ctype == PASSWORD_EXPIRED_OID), "{reset:?}");
        let refused =
            expired.search(&alice, Scope::Base, "(objectClass=*)", vec!["cn"]).await.unwrap();
        eprintln!("after reset: rc {} {:?}", refused.1.rc, refused.1.text);
        assert_eq!(refused.1.rc, 53, "{:?}", refused.1);
        // The person changes it themself (a plain modify: allowed, and it clears the mark, a moment
        // after the result: see wait_for_reset_mark).
        let changed = expired
            .modify(&alice, vec![Mod::Replace("userPassword", ["alice-new-pw"].into())])
            .await
            .unwrap();
        assert_eq!(changed.rc, 0, "{changed:?}");
        ds.wait_for_reset_mark("alice", false);
        let again = bind(&url, &alice, "alice-new-pw").await;
        assert!(again.rc == 0 && again.ctrls.is_empty(), "{again:?}");

        // The root DSE says what it is (what `latchkey check` can read anonymously).
        let mut anonymous = connect(&url).await;
        let (entries, _) = anonymous
            .search("", Scope::Base, "(objectClass=*)", vec!["vendorName", "vendorVersion"])
            .await
            .unwrap()
            .success()
            .unwrap();
        let root_dse = SearchEntry::construct(entries[0].clone());
        eprintln!("root DSE: {:?}", root_dse.attrs);
        assert_eq!(root_dse.attrs["vendorName"], ["389 Project"]);
        assert!(root_dse.attrs["vendorVersion"][0].starts_with("389-Directory/"));

        // Drop removes everything.
        let (pid, dir, name) =
            (ds.pid(), ds.data_dir().to_path_buf(), ds.instance_name().to_owned());
        let stopping = Instant::now();
        drop(ds);
        eprintln!("stopped and removed in {:?}", stopping.elapsed());
        assert!(!process_runs(pid));
        assert!(!dir.exists());
        assert!(!Path::new(&format!("/dev/shm/sem.slapd-{name}.stats")).exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ldaps_and_starttls_with_the_throwaway_ca() {
        let started = Instant::now();
        let ds = Dirsrv::start_tls(&SEED).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("389-ds with TLS started in {:?}", started.elapsed());
        let ca = ds.ca_file().expect("a CA");
        let whoami = |url: &str, starttls: bool| {
            let mut cmd = Command::new("ldapwhoami");
            cmd.env("LDAPTLS_CACERT", &ca).args(["-x", "-H", url]);
            if starttls {
                cmd.arg("-ZZ");
            }
            let out = cmd
                .args(["-D", &ds.person_dn("bob"), "-w", "bob-pw"])
                .output()
                .expect("ldapwhoami");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        };
        let ldaps = ds.ldaps_url().expect("an ldaps URL");
        let (ok, out) = whoami(&ldaps, false);
        assert!(ok, "ldaps: {out}");
        assert!(out.contains("uid=bob"), "{out}");
        let (ok, out) = whoami(&ds.url(), true);
        assert!(ok, "StartTLS: {out}");
        // Another CA is refused.
        let other = tempfile::tempdir().unwrap();
        let wrong_ca = crate::slapd::throwaway_ca(other.path(), "other").unwrap();
        let out = Command::new("ldapwhoami")
            .env("LDAPTLS_CACERT", &wrong_ca)
            .args(["-x", "-H", &ldaps, "-D", &ds.person_dn("bob"), "-w", "bob-pw"])
            .output()
            .unwrap();
        assert!(!out.status.success());

        // Latchkey's own directory code over both: it tells 389-ds from the root DSE and the
        // service account sees every person with an id and a name, and the administrators.
        let ca = ca.display().to_string();
        let cfg = ds.directory_config();
        let over_ldaps =
            DirectoryConfig { url: ldaps.clone(), ca_certificates: ca.clone(), ..cfg.clone() };
        let directory = LdapDirectory::new(over_ldaps);
        let root = directory.root_dse().await.expect("root DSE over LDAPS");
        assert_eq!(root.flavour, Some(Flavour::Dirsrv389), "{root:?}");
        let sample = directory.sample_search(10).await.expect("sample search over LDAPS");
        assert_eq!(
            (sample.people_seen, sample.with_id, sample.with_name, sample.admin_group_found),
            (3, 3, 3, Some(true)),
            "{sample:?}"
        );
        let starttls = DirectoryConfig { starttls: true, ca_certificates: ca, ..cfg };
        LdapDirectory::new(starttls).ping().await.expect("ping over StartTLS");
    }

    /// What the lifeline test runs in a child process: a shared instance that is never dropped.
    #[test]
    #[ignore = "run by the_watchdog_removes_a_shared_instance_when_the_test_process_ends"]
    fn shared_instance_left_behind() {
        if std::env::var_os("LATCHKEY_DIRSRV_CHILD").is_none() {
            return;
        }
        let ds = shared(&SEED).unwrap_or_else(|e| panic!("{e}"));
        assert!(std::ptr::eq(ds, shared(&SEED).unwrap()), "one instance per test binary");
        println!("INSTANCE {} {} {}", ds.pid(), ds.data_dir().display(), ds.instance_name());
    }

    #[test]
    fn the_watchdog_removes_a_shared_instance_when_the_test_process_ends() {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "dirsrv::tests::shared_instance_left_behind",
                "--ignored",
                "--nocapture",
            ])
            .env("LATCHKEY_DIRSRV_CHILD", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let line = stdout.lines().find_map(|l| l.strip_prefix("INSTANCE ")).expect(&stdout);
        let mut parts = line.split(' ');
        let (pid, dir, name) = (
            parts.next().unwrap().parse::<u32>().unwrap(),
            PathBuf::from(parts.next().unwrap()),
            parts.next().unwrap().to_owned(),
        );
        let ended = Instant::now();
        let deadline = ended + Duration::from_secs(10);
        while (process_runs(pid) || dir.exists()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("gone {:?} after the test process ended", ended.elapsed());
        assert!(!process_runs(pid), "ns-slapd outlived the test process");
        assert!(!dir.exists(), "{} outlived the test process", dir.display());
        assert!(!Path::new(&format!("/dev/shm/sem.slapd-{name}.stats")).exists());
    }
}
