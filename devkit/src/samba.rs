//! A throwaway Samba Active Directory domain controller for the tests: its own domain (realm
//! `LK.TEST`, `DC=lk,DC=test`) in a temporary directory, on a loopback address of its own
//! (Samba's ports are fixed: 389, 636, 3268, 3269), seeded with the [`Seed`]'s people and groups.
//!
//! Provisioning a domain takes ~5 s, so it is done once into a template under
//! [`std::env::temp_dir`] (keyed by Samba's version and this file's recipe, shared by every test
//! process, created atomically by a rename), and each server starts from a copy (~1 s).
//!
//! Samba runs as `samba -i` under a tiny `sh` janitor whose standard input is a pipe this process
//! holds: when the [`SambaDc`] is dropped, or when the test process ends in any way (also a
//! `static` whose Drop never runs, an abort or SIGKILL), the pipe closes, Samba stops by itself
//! (it exits on EOF on its standard input) and the janitor removes the files.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;

use server::config::{DirectoryConfig, Flavour};

use crate::directories::{LOCKOUT_THRESHOLD, Layout, Seed, TestDirectory, seeded_config};

pub const REALM: &str = "LK.TEST";
/// The NetBIOS domain name (`LK\alice` also signs in).
pub const DOMAIN: &str = "LK";
/// The `userPrincipalName` suffix: `alice@lk.test`.
pub const UPN_SUFFIX: &str = "lk.test";
pub const BASE_DN: &str = "DC=lk,DC=test";
/// Where the seeded people are (Latchkey's `base_dn`); the built-in accounts stay in CN=Users.
pub const PEOPLE_DN: &str = "OU=people,DC=lk,DC=test";
pub const GROUPS_DN: &str = "OU=groups,DC=lk,DC=test";
/// The administrators group; its only member is [`HELPDESK_DN`], so only nested membership
/// finds the administrators.
pub const ADMIN_GROUP_DN: &str = "CN=latchkey-admins,OU=groups,DC=lk,DC=test";
/// The group whose members are the seed's administrators.
pub const HELPDESK_DN: &str = "CN=helpdesk,OU=groups,DC=lk,DC=test";
/// Latchkey's service account: an ordinary user, member of [`PHONE_WRITERS_DN`].
pub const SERVICE_DN: &str = "CN=latchkey,CN=Users,DC=lk,DC=test";
/// The minimum rights Latchkey needs: members may write the phone attribute (`otherMobile`) of
/// users under [`PEOPLE_DN`] (one inherited ACE on that OU); reading is what every
/// authenticated user may do by default.
pub const PHONE_WRITERS_DN: &str = "CN=latchkey-phone-writers,CN=Users,DC=lk,DC=test";
pub const ADMINISTRATOR_DN: &str = "CN=Administrator,CN=Users,DC=lk,DC=test";

const SAMBA: &str = "/usr/sbin/samba";
const SAMBA_TOOL: &str = "/usr/bin/samba-tool";
const LDBMODIFY: &str = "/usr/bin/ldbmodify";
const LDBSEARCH: &str = "/usr/bin/ldbsearch";
const LDAPSEARCH: &str = "/usr/bin/ldapsearch";
const LDAPMODIFY: &str = "/usr/bin/ldapmodify";
const OPENSSL: &str = "/usr/bin/openssl";
const FLOCK: &str = "/usr/bin/flock";

/// `schemaIDGUID` of `otherMobile` (the same in every Active Directory forest), the phone
/// attribute of [`Flavour::ActiveDirectory`]: `mobile` is single-valued there.
const OTHER_MOBILE_GUID: &str = "0296c11e-40da-11d1-a9c0-0000f80367c1";
/// `schemaIDGUID` of the `user` class: the ACE is inherited by users only.
const USER_CLASS_GUID: &str = "bf967aba-0de6-11d0-a285-00aa003049e2";

/// How long Samba may take to answer after it is started (it takes ~1 s).
const START_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SambaError {
    #[error(
        "Samba as an Active Directory domain controller is not installed ({0} missing): run `make setup` (apt-get install samba samba-ad-dc samba-ad-provision ldb-tools ldap-utils)"
    )]
    NotInstalled(&'static str),
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
    #[error(
        "port {port} was taken on each of {tries} random loopback addresses: most likely another server listens on it on all addresses (0.0.0.0 or [::], e.g. a directory server's default LDAPS port); Samba's ports 389, 636, 3268 and 3269 are fixed, so other servers must not take them on all addresses"
    )]
    NoFreeAddress { tries: u32, port: u16 },
    #[error("Samba did not answer an LDAP bind on {addr} within {secs} s; its output:\n{log}")]
    NotAnswering { addr: Ipv4Addr, secs: u64, log: String },
    #[error("Samba stopped while starting on {addr}; its output:\n{log}")]
    Stopped { addr: Ipv4Addr, log: String },
}

fn io_step(step: &'static str) -> impl Fn(std::io::Error) -> SambaError {
    move |e| SambaError::Step { step, detail: e.to_string() }
}

/// A running throwaway Samba domain controller; stopped and removed when dropped.
#[derive(Debug)]
pub struct SambaDc {
    /// Removed by the janitor; also by this handle should the janitor be gone.
    dir: tempfile::TempDir,
    addr: Ipv4Addr,
    /// The janitor (`sh`), parent of samba.
    janitor: Child,
    /// Closing it stops Samba: see the module documentation.
    lifeline: Option<ChildStdin>,
    samba_pid: u32,
    admin_password: String,
    service_password: String,
    /// Login → DN of every seeded person.
    people: HashMap<String, String>,
}

impl SambaDc {
    /// Starts a domain controller from the template (built first if this machine has none) and
    /// seeds it: the service account, the seed's people (password, phones in `otherMobile`) and
    /// the seed's administrators in [`HELPDESK_DN`], itself in [`ADMIN_GROUP_DN`].
    pub fn start(seed: &Seed<'_>) -> Result<Self, SambaError> {
        let tools =
            [SAMBA, SAMBA_TOOL, LDBMODIFY, LDBSEARCH, LDAPSEARCH, LDAPMODIFY, OPENSSL, FLOCK];
        for tool in tools {
            if !Path::new(tool).exists() {
                return Err(SambaError::NotInstalled(tool));
            }
        }
        let template = template()?;
        let admin_password = std::fs::read_to_string(template.join("admin-password"))
            .map_err(io_step("reading the template's administrator password"))?;
        let dir = tempfile::Builder::new()
            .prefix("latchkey-samba-")
            .tempdir()
            .map_err(io_step("temp dir"))?;
        // 33 MB in ~0.05 s.
        run(
            "copying the template",
            Command::new("cp").arg("-a").arg(template.join(".")).arg(dir.path()),
            None,
        )?;
        let addr = free_loopback_addr()?;
        let conf = std::fs::read_to_string(template.join("smb.conf.template"))
            .map_err(io_step("reading the template's smb.conf"))?
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@ADDR@", &addr.to_string());
        let conf_path = dir.path().join("etc/smb.conf");
        std::fs::write(&conf_path, conf).map_err(io_step("writing smb.conf"))?;
        tls_files(&dir.path().join("tls"), addr)?;

        let (janitor, lifeline, samba_pid) = spawn_janitor(&conf_path, dir.path())?;
        let mut dc = Self {
            dir,
            addr,
            janitor,
            lifeline: Some(lifeline),
            samba_pid,
            admin_password,
            service_password: crate::slapd::random_token(),
            people: HashMap::new(),
        };
        dc.wait_until_answering()?;
        dc.seed(seed)?;
        Ok(dc)
    }

    /// Polls until an LDAP simple bind as Administrator works.
    fn wait_until_answering(&self) -> Result<(), SambaError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let sock = SocketAddr::from((self.addr, 389));
        while Instant::now() < deadline {
            if !process_alive(self.samba_pid) {
                return Err(SambaError::Stopped { addr: self.addr, log: self.log() });
            }
            // A connect is cheap; a bind only once the port is open.
            if TcpStream::connect_timeout(&sock, Duration::from_millis(100)).is_ok()
                && self.admin_ldap(LDAPSEARCH, &["-b", "", "-s", "base", "1.1"], None).is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(SambaError::NotAnswering {
            addr: self.addr,
            secs: START_TIMEOUT.as_secs(),
            log: self.log(),
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("samba.log")).unwrap_or_default()
    }

    fn seed(&mut self, seed: &Seed<'_>) -> Result<(), SambaError> {
        let phone_attribute = Flavour::ActiveDirectory.phone_attribute();
        let mut ldif = String::new();
        // 66048: a normal account whose password never expires.
        ldif_entry(&mut ldif, SERVICE_DN, "add");
        ldif_value(&mut ldif, "objectClass", "user");
        ldif_value(&mut ldif, "sAMAccountName", "latchkey");
        ldif_value(&mut ldif, "description", "Latchkey's service account");
        ldif_value(&mut ldif, "userAccountControl", "66048");
        ldif_password(&mut ldif, &self.service_password);
        ldif.push('\n');
        ldif_entry(&mut ldif, PHONE_WRITERS_DN, "modify");
        ldif.push_str("add: member\n");
        ldif_value(&mut ldif, "member", SERVICE_DN);
        ldif.push_str("-\n\n");

        for person in seed.people {
            let dn = format!("CN={},{PEOPLE_DN}", escape_rdn_value(person.name));
            let (given, family) = person.name.split_once(' ').unwrap_or((person.name, person.name));
            let upn = format!("{}@{UPN_SUFFIX}", person.login);
            ldif_entry(&mut ldif, &dn, "add");
            ldif_value(&mut ldif, "objectClass", "user");
            ldif_value(&mut ldif, "sAMAccountName", person.login);
            ldif_value(&mut ldif, "userPrincipalName", &upn);
            ldif_value(&mut ldif, "displayName", person.name);
            ldif_value(&mut ldif, "givenName", given);
            ldif_value(&mut ldif, "sn", family);
            ldif_value(&mut ldif, "mail", &upn);
            // 512: a normal, enabled account (without it AD creates the user disabled).
            ldif_value(&mut ldif, "userAccountControl", "512");
            ldif_password(&mut ldif, person.password);
            for phone in person.phones {
                ldif_value(&mut ldif, phone_attribute, phone);
            }
            ldif.push('\n');
            self.people.insert(person.login.to_owned(), dn);
        }

        if !seed.admins.is_empty() {
            ldif_entry(&mut ldif, HELPDESK_DN, "modify");
            ldif.push_str("add: member\n");
            for admin in seed.admins {
                let dn = self.people.get(*admin).ok_or_else(|| SambaError::Step {
                    step: "seeding",
                    detail: format!("administrator {admin:?} is not among the seed's people"),
                })?;
                ldif_value(&mut ldif, "member", dn);
            }
            ldif.push_str("-\n\n");
        }
        self.admin_ldap(LDAPMODIFY, &[], Some(&ldif)).map(|_| ())
    }

    /// Runs `ldapsearch` or `ldapmodify` bound as Administrator over plain LDAP.
    fn admin_ldap(
        &self,
        tool: &'static str,
        args: &[&str],
        input: Option<&str>,
    ) -> Result<String, SambaError> {
        let mut cmd = Command::new(tool);
        // LDAPNOINIT: no ldap.conf or ~/.ldaprc of this machine changes what is asked.
        cmd.env("LDAPNOINIT", "1").args([
            "-x",
            "-H",
            &self.url(),
            "-D",
            ADMINISTRATOR_DN,
            "-w",
            &self.admin_password,
        ]);
        if tool == LDAPSEARCH {
            // Plain LDIF, one line per value.
            cmd.args(["-LLL", "-o", "ldif-wrap=no"]);
        }
        cmd.args(args);
        run(if tool == LDAPMODIFY { "ldapmodify" } else { "ldapsearch" }, &mut cmd, input)
    }

    /// `ldap://<addr>:389`: plain LDAP, which Latchkey allows to a loopback address.
    pub fn url(&self) -> String {
        format!("ldap://{}:389", self.addr)
    }

    /// `ldaps://<addr>:636`, with a certificate naming the address (verify it with
    /// [`SambaDc::ca_file`]). StartTLS on [`SambaDc::url`] works too.
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://{}:636", self.addr)
    }

    /// The throwaway CA's certificate (PEM) that signed the server's certificate, which names
    /// the server's IP address (Samba's own generated certificate names only `DC1.lk.test`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Where its files are (removed with it).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The samba process id (the benchmark reads its memory and CPU time).
    pub fn pid(&self) -> u32 {
        self.samba_pid
    }

    /// The domain administrator (`Administrator`, a Domain Admin), for what Latchkey may not do.
    pub fn administrator(&self) -> (&'static str, &str) {
        (ADMINISTRATOR_DN, &self.admin_password)
    }

    /// Unlocks a person locked by wrong passwords (as an administrator does), so that a test
    /// binary sharing one server can go on using them.
    pub fn unlock(&self, login: &str) {
        let mut ldif = String::new();
        ldif_entry(&mut ldif, &self.person_dn(login), "modify");
        ldif.push_str("replace: lockoutTime\nlockoutTime: 0\n-\n");
        self.admin_ldap(LDAPMODIFY, &[], Some(&ldif))
            .unwrap_or_else(|e| panic!("unlocking {login} on Samba: {e}"));
    }
}

impl TestDirectory for SambaDc {
    fn flavour(&self) -> Flavour {
        Flavour::ActiveDirectory
    }

    fn directory_config(&self) -> DirectoryConfig {
        let layout = Layout {
            service_dn: SERVICE_DN,
            people_dn: PEOPLE_DN,
            admin_group_dn: ADMIN_GROUP_DN,
            groups_dn: GROUPS_DN,
        };
        seeded_config(Flavour::ActiveDirectory, self.url(), &self.service_password, &layout)
    }

    fn service_password(&self) -> String {
        self.service_password.clone()
    }

    fn person_dn(&self, login: &str) -> String {
        self.people
            .get(login)
            .unwrap_or_else(|| panic!("{login:?} is not a seeded person of this Samba"))
            .clone()
    }

    fn alternative_login(&self, login: &str) -> Option<String> {
        Some(format!("{login}@{UPN_SUFFIX}"))
    }

    fn stored_phones(&self, login: &str) -> Vec<String> {
        let attribute = Flavour::ActiveDirectory.phone_attribute();
        let filter = format!("(sAMAccountName={})", escape_filter_value(login));
        let out = self
            .admin_ldap(LDAPSEARCH, &["-b", PEOPLE_DN, &filter, attribute], None)
            .unwrap_or_else(|e| panic!("reading {login}'s phones on Samba: {e}"));
        let mut phones = crate::directories::ldif_values(&out, attribute);
        phones.sort();
        phones
    }

    fn reset_password_must_change(&self, login: &str, password: &str) {
        // pwdLastSet 0: must change at the next sign-in; a bind then fails with `data 773`.
        let mut ldif = String::new();
        ldif_entry(&mut ldif, &self.person_dn(login), "modify");
        ldif.push_str("replace: unicodePwd\n");
        ldif_password(&mut ldif, password);
        ldif.push_str("-\nreplace: pwdLastSet\npwdLastSet: 0\n-\n");
        self.admin_ldap(LDAPMODIFY, &[], Some(&ldif))
            .unwrap_or_else(|e| panic!("resetting {login}'s password on Samba: {e}"));
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        // EOF on Samba's standard input: it stops, then the janitor removes the directory.
        drop(self.lifeline.take());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.janitor.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => break,
            }
        }
        // Stuck: kill both; the TempDir removes the files.
        let _ = Command::new("kill").args(["-KILL", &self.samba_pid.to_string()]).status();
        let _ = self.janitor.kill();
        let _ = self.janitor.wait();
    }
}

/// One domain controller for a whole test binary, started by the first caller with its seed
/// (later callers' seeds are ignored: give every caller the same). It lives in a `static`, so
/// its Drop never runs: Samba stops and its files go when the test process exits (see the
/// module documentation). Tests sharing it must not leave a person locked or with a changed
/// password that another test relies on (see [`SambaDc::unlock`]).
pub fn shared(seed: &Seed<'_>) -> Result<&'static SambaDc, String> {
    static SHARED: OnceLock<Result<SambaDc, String>> = OnceLock::new();
    // A failed start is remembered: the other tests fail at once rather than retry for 30 s.
    SHARED
        .get_or_init(|| SambaDc::start(seed).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// The janitor: samba runs as its child with the janitor's standard input (the lifeline pipe);
/// when the pipe closes, Samba exits on its own (EOF on stdin), the janitor makes sure of it,
/// reaps it and removes the directory. It prints samba's pid first.
const JANITOR: &str = r#"
exec 3<&0
"$3" -i -M single -s "$1" <&3 3<&- >"$2/samba.log" 2>&1 &
samba=$!
echo "$samba"
exec >/dev/null
cat <&3 >/dev/null
exec 3<&-
kill -TERM "$samba" 2>/dev/null
( sleep 10; kill -KILL "$samba" 2>/dev/null ) &
guard=$!
wait "$samba"
kill "$guard" 2>/dev/null
rm -rf "$2"
"#;

fn spawn_janitor(conf: &Path, dir: &Path) -> Result<(Child, ChildStdin, u32), SambaError> {
    let mut janitor = Command::new("/bin/sh")
        .args(["-c", JANITOR, "latchkey-samba-janitor"])
        .arg(conf)
        .arg(dir)
        .arg(SAMBA)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C meant for the tests does not stop the cleaning up.
        .process_group(0)
        .spawn()
        .map_err(io_step("starting samba"))?;
    let lifeline = janitor.stdin.take().ok_or(SambaError::Step {
        step: "starting samba",
        detail: "no pipe to the janitor".into(),
    })?;
    let mut line = String::new();
    if let Some(stdout) = janitor.stdout.take() {
        BufReader::new(stdout).read_line(&mut line).map_err(io_step("starting samba"))?;
    }
    let pid = line.trim().parse().map_err(|_| SambaError::Step {
        step: "starting samba",
        detail: format!("the janitor printed {line:?}, not samba's pid"),
    })?;
    Ok((janitor, lifeline, pid))
}

/// Whether a process runs (exists and is not a zombie), from `/proc`.
fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// A random 127.x.y.z (never 127.0.*.*) on which Samba's fixed ports are free. Linux routes all
/// of 127.0.0.0/8 to `lo`, so no address needs adding to the interface.
fn free_loopback_addr() -> Result<Ipv4Addr, SambaError> {
    use rand::Rng;
    let mut rng = rand::rng();
    const TRIES: u32 = 20;
    let mut last_taken = 0;
    for _ in 0..TRIES {
        let addr =
            Ipv4Addr::new(127, rng.random_range(1..=254), rng.random(), rng.random_range(1..=254));
        // Listeners dropped at once: only proves nobody else has these ports on this address.
        let mut taken = None;
        for port in [389, 636, 3268, 3269] {
            match TcpListener::bind((addr, port)) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(SambaError::Step {
                        step: "binding port 389",
                        detail: format!("{e}: Samba's ports need root (or CAP_NET_BIND_SERVICE)"),
                    });
                }
                Err(_) => taken = Some(port),
            }
        }
        match taken {
            None => return Ok(addr),
            Some(port) => last_taken = port,
        }
    }
    Err(SambaError::NoFreeAddress { tries: TRIES, port: last_taken })
}

/// Runs a command to completion; its standard output, or the step's error with what it said.
fn run(step: &'static str, cmd: &mut Command, input: Option<&str>) -> Result<String, SambaError> {
    let mut child = cmd
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io_step(step))?;
    // Written from a thread: ldapmodify answers every entry as it reads, and a large seed
    // would otherwise fill both pipes.
    let writer = match (input, child.stdin.take()) {
        (Some(input), Some(mut stdin)) => {
            let input = input.to_owned();
            Some(std::thread::spawn(move || stdin.write_all(input.as_bytes())))
        }
        _ => None,
    };
    let out = child.wait_with_output().map_err(io_step(step))?;
    let written = writer.map_or(Ok(()), |w| w.join().unwrap_or(Ok(())));
    // A tool that failed says why; its unread input (broken pipe) would not.
    if !out.status.success() {
        return Err(SambaError::Step {
            step,
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ),
        });
    }
    written.map_err(io_step(step))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------------------------------------
// The template: a provisioned domain with the policies, OUs, groups and rights of every test
// domain controller, never started itself.

/// What goes into the template beyond `samba-tool domain provision`: lockout after
/// [`LOCKOUT_THRESHOLD`] wrong passwords for 5 minutes, no complexity or length rule (seed
/// passwords such as `alice-pw`), no minimum age or history (tests change passwords at will),
/// and the OUs and groups.
fn template_ldif() -> String {
    format!(
        "dn: {BASE_DN}
changetype: modify
replace: lockoutThreshold
lockoutThreshold: {LOCKOUT_THRESHOLD}
-
replace: lockoutDuration
lockoutDuration: -3000000000
-
replace: lockOutObservationWindow
lockOutObservationWindow: -3000000000
-
replace: minPwdLength
minPwdLength: 0
-
replace: pwdProperties
pwdProperties: 0
-
replace: minPwdAge
minPwdAge: 0
-
replace: pwdHistoryLength
pwdHistoryLength: 0
-

dn: {PEOPLE_DN}
changetype: add
objectClass: organizationalUnit

dn: {GROUPS_DN}
changetype: add
objectClass: organizationalUnit

dn: {HELPDESK_DN}
changetype: add
objectClass: group

dn: {ADMIN_GROUP_DN}
changetype: add
objectClass: group
member: {HELPDESK_DN}

dn: {PHONE_WRITERS_DN}
changetype: add
objectClass: group
description: May write otherMobile of the users in {PEOPLE_DN}
"
    )
}

/// Added to `[global]` of the provisioned smb.conf. `@DIR@` and `@ADDR@` are filled in per
/// server.
const GLOBAL_ADDITIONS: &str = "\
\t# Plain simple binds (Latchkey on loopback, the tests): Samba refuses them otherwise.
\tldap server require strong auth = no
\t# Test data need not survive a power cut: writes get ~50x faster (~50 ms per entry without).
\tldb:nosync = true
\t# Our certificate for the IP address (Samba would generate a 4096-bit RSA one for
\t# DC1.lk.test at first start, ~3 s, which no client can verify for an IP address).
\ttls enabled = yes
\ttls keyfile = @DIR@/tls/server.key
\ttls certfile = @DIR@/tls/server.pem
\ttls cafile = @DIR@/tls/ca.pem
";

/// Part of the template's key with the recipe below: bump it when [`build_template`] changes.
const TEMPLATE_VERSION: u32 = 1;

/// The provisioning arguments besides the paths and the password; part of the template's key.
const PROVISION_ARGS: &[&str] = &[
    "--realm=LK.TEST",
    "--domain=LK",
    "--server-role=dc",
    "--dns-backend=NONE",
    "--host-name=dc1",
    "--host-ip=127.0.0.1",
    // LDAP alone: no KDC, CLDAP, RPC, DNS or replication, so fewer ports and a faster start.
    "--option=server services = ldap",
    "--option=bind interfaces only = yes",
];

/// The template directory for this Samba version and recipe, built if missing. One process
/// builds at a time (the mutex); across processes the first rename wins.
fn template() -> Result<PathBuf, SambaError> {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.as_ref() {
        return Ok(path.clone());
    }
    let version = run("samba --version", Command::new(SAMBA).arg("--version"), None)?;
    let version: String = version
        .trim()
        .trim_start_matches("Version ")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
        .collect();
    let recipe = format!(
        "{TEMPLATE_VERSION}\n{}\n{GLOBAL_ADDITIONS}\n{}",
        template_ldif(),
        PROVISION_ARGS.join(" ")
    );
    let name = format!("latchkey-samba-template-{version}-{:016x}", fnv1a(recipe.as_bytes()));
    let path = std::env::temp_dir().join(&name);
    let complete = |path: &Path| path.join("complete").exists();
    if !complete(&path) {
        // One builder at a time across processes (two builds on two cores take ~4x as long).
        let _lock = FileLock::acquire(&std::env::temp_dir().join(format!("{name}.lock")))?;
        if !complete(&path) {
            if path.exists() {
                // Incomplete (a temp cleaner?): move it aside, then rebuild.
                let aside = std::env::temp_dir()
                    .join(format!(".latchkey-samba-stale-{}", crate::slapd::random_token()));
                if std::fs::rename(&path, &aside).is_ok() {
                    let _ = std::fs::remove_dir_all(&aside);
                }
            }
            let build = tempfile::Builder::new()
                .prefix(".latchkey-samba-build-")
                .tempdir()
                .map_err(io_step("template temp dir"))?;
            build_template(build.path())?;
            // Atomic: a process copying the template never sees half of it.
            std::fs::rename(build.path(), &path).map_err(io_step("storing the template"))?;
        }
    }
    *built = Some(path.clone());
    Ok(path)
}

/// An exclusive lock on a file, across processes (util-linux `flock`, which holds it while its
/// standard input, a pipe from us, is open): released when dropped or when this process ends in
/// any way, so a crashed builder never blocks the others.
struct FileLock(Child);

impl FileLock {
    fn acquire(path: &Path) -> Result<Self, SambaError> {
        const WAIT_SECS: &str = "300";
        let mut child = Command::new(FLOCK)
            .args(["--wait", WAIT_SECS])
            .arg(path)
            .args(["sh", "-c", "echo locked; exec cat >/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io_step("locking the template"))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line).map_err(io_step("locking the template"))?;
        }
        let lock = Self(child);
        if line.trim() != "locked" {
            return Err(SambaError::Step {
                step: "locking the template",
                detail: format!("another process held {} for {WAIT_SECS} s", path.display()),
            });
        }
        Ok(lock)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

fn build_template(dir: &Path) -> Result<(), SambaError> {
    let d = dir.display().to_string();
    // The complexity rule applies to the provisioning password: the suffix satisfies it.
    let admin_password = format!("{}-Aa1", crate::slapd::random_token());
    run(
        "samba-tool domain provision",
        Command::new(SAMBA_TOOL)
            .args(["domain", "provision"])
            .args(PROVISION_ARGS)
            .arg(format!("--adminpass={admin_password}"))
            .arg(format!("--targetdir={d}"))
            // Everything under the directory, so that servers never share a file.
            .arg("--option=interfaces = 127.0.0.1")
            .arg(format!("--option=pid directory = {d}/run"))
            .arg(format!("--option=ncalrpc dir = {d}/ncalrpc"))
            .arg(format!("--option=winbindd socket directory = {d}/winbindd"))
            .arg(format!("--option=ntp signd socket directory = {d}/ntp_signd"))
            .arg(format!("--option=log file = {d}/log.%m")),
        None,
    )?;
    std::fs::create_dir_all(dir.join("cache")).map_err(io_step("template cache dir"))?;
    let conf = dir.join("etc/smb.conf");
    let sam = dir.join("private/sam.ldb");
    // Offline, straight into the database (no server yet): as the system, no rights needed.
    let configfile = format!("--configfile={}", conf.display());
    run(
        "ldbmodify (template)",
        Command::new(LDBMODIFY).arg(&configfile).arg("-H").arg(&sam),
        Some(&template_ldif()),
    )?;
    let out = run(
        "ldbsearch (template)",
        Command::new(LDBSEARCH).arg(&configfile).arg("-H").arg(&sam).args([
            "-b",
            PHONE_WRITERS_DN,
            "-s",
            "base",
            "objectSid",
        ]),
        None,
    )?;
    let sid = crate::directories::ldif_values(&out, "objectSid").into_iter().next().ok_or(
        SambaError::Step {
            step: "ldbsearch (template)",
            detail: format!("no objectSid for {PHONE_WRITERS_DN} in:\n{out}"),
        },
    )?;
    // Latchkey's minimum rights, delegated as an administrator would: write otherMobile (WP on
    // that one attribute) of user objects below the OU (CI, inherited by users only).
    run(
        "samba-tool dsacl set",
        Command::new(SAMBA_TOOL)
            .args(["dsacl", "set", "-s"])
            .arg(&conf)
            .arg("-H")
            .arg(&sam)
            .arg(format!("--objectdn={PEOPLE_DN}"))
            .arg(format!("--sddl=(OA;CI;WP;{OTHER_MOBILE_GUID};{USER_CLASS_GUID};{sid})")),
        None,
    )?;

    // smb.conf for any server: paths relative to @DIR@, listening on @ADDR@ only.
    let provisioned = std::fs::read_to_string(&conf).map_err(io_step("reading smb.conf"))?;
    let mut template = String::new();
    let mut replaced_interfaces = false;
    for line in provisioned.replace(&d, "@DIR@").lines() {
        if line.trim_start().starts_with("interfaces =") {
            // A bare 127.x.y.z that no device carries is no interface to Samba ("no network
            // interfaces found"); with a netmask, an address that is not the network's own is
            // taken as an interface of its own: no `ip addr add` needed.
            template.push_str("\tinterfaces = @ADDR@/8\n");
            replaced_interfaces = true;
        } else {
            template.push_str(line);
            template.push('\n');
        }
        if line.trim() == "[global]" {
            template.push_str(GLOBAL_ADDITIONS);
        }
    }
    if !replaced_interfaces || !template.contains(GLOBAL_ADDITIONS) {
        return Err(SambaError::Step {
            step: "templating smb.conf",
            detail: format!("no interfaces line or [global] section in:\n{provisioned}"),
        });
    }
    std::fs::write(dir.join("smb.conf.template"), template)
        .map_err(io_step("smb.conf template"))?;
    std::fs::write(dir.join("admin-password"), &admin_password)
        .map_err(io_step("template password"))?;
    std::fs::write(dir.join("complete"), "").map_err(io_step("template marker"))
}

/// A throwaway CA and a certificate for the IP address, in `tls/`; Samba insists on a private
/// key only its owner may read.
fn tls_files(tls: &Path, addr: Ipv4Addr) -> Result<(), SambaError> {
    std::fs::create_dir_all(tls).map_err(io_step("tls dir"))?;
    crate::slapd::throwaway_ca(tls, "ca")
        .map_err(|e| SambaError::Step { step: "throwaway CA", detail: e.to_string() })?;
    crate::slapd::server_certificate(tls, &format!("IP:{addr}"))
        .map_err(|e| SambaError::Step { step: "server certificate", detail: e.to_string() })?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tls.join("server.key"), std::fs::Permissions::from_mode(0o600))
        .map_err(io_step("server key permissions"))
}

// ---------------------------------------------------------------------------------------------
// LDIF, DNs and filters.

fn ldif_entry(ldif: &mut String, dn: &str, changetype: &str) {
    ldif_value(ldif, "dn", dn);
    ldif.push_str(&format!("changetype: {changetype}\n"));
}

/// `attr: value`, or base64 (`attr:: …`) when LDIF needs it (non-ASCII, leading space, …).
fn ldif_value(ldif: &mut String, attr: &str, value: &str) {
    ldif.push_str(&crate::directories::ldif_line(attr, value));
}

/// Active Directory's password attribute: the password in double quotes, UTF-16LE.
fn ldif_password(ldif: &mut String, password: &str) {
    let utf16: Vec<u8> =
        format!("\"{password}\"").encode_utf16().flat_map(u16::to_le_bytes).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(utf16);
    ldif.push_str(&format!("unicodePwd:: {encoded}\n"));
}

/// Escapes an RDN value (RFC 4514): a person's name becomes their CN.
fn escape_rdn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i == last && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes a value for an LDAP filter (RFC 4515).
fn escape_filter_value(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '*' => "\\2a".to_owned(),
            '(' => "\\28".to_owned(),
            ')' => "\\29".to_owned(),
            '\\' => "\\5c".to_owned(),
            '\0' => "\\00".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

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
            name: "Carol Cook",
            password: "carol-pw",
            phones: &["+15550003"],
        },
    ];
    const SEED: Seed<'static> = Seed { people: PEOPLE, admins: &["carol"] };

    async fn connect(url: &str) -> ldap3::Ldap {
        let (conn, ldap) = LdapConnAsync::new(url).await.expect("connecting to Samba");
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

    /// One server for all of it: each start costs about a second.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_seeded_domain_controller_behaves_as_active_directory() {
        let started = Instant::now();
        let dc = SambaDc::start(&SEED).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("samba started and seeded in {:?}", started.elapsed());
        let url = dc.url();
        let cfg = dc.directory_config();
        let (alice, bob, carol) =
            (dc.person_dn("alice"), dc.person_dn("bob"), dc.person_dn("carol"));

        // People bind by DN and by userPrincipalName; objectGUID is 16 bytes.
        assert_eq!(bind(&url, &alice, "alice-pw").await.rc, 0);
        let upn = dc.alternative_login("bob").expect("a UPN");
        assert_eq!(bind(&url, &upn, "bob-pw").await.rc, 0);
        let mut ldap = bound(&url, &alice, "alice-pw").await;
        let (entries, _) = ldap
            .search(
                PEOPLE_DN,
                Scope::Subtree,
                "(sAMAccountName=bob)",
                vec!["objectGUID", "displayName"],
            )
            .await
            .and_then(|r| r.success())
            .expect("search as a person");
        let entry = SearchEntry::construct(entries.into_iter().next().expect("bob found"));
        assert_eq!(entry.dn, bob);
        let guid_len = entry.bin_attrs.get("objectGUID").map(|v| v[0].len());
        let guid_len = guid_len.or_else(|| entry.attrs.get("objectGUID").map(|v| v[0].len()));
        assert_eq!(guid_len, Some(16));
        let _ = ldap.unbind().await;

        // Nested membership: carol is in helpdesk, helpdesk in latchkey-admins.
        let mut service = bound(&url, &cfg.bind_dn, &dc.service_password()).await;
        let groups_of = |dn: &str| format!("(member:1.2.840.113556.1.4.1941:={dn})");
        let (entries, _) = service
            .search(GROUPS_DN, Scope::Subtree, &groups_of(&carol), vec!["1.1"])
            .await
            .and_then(|r| r.success())
            .expect("nested group search");
        let dns: Vec<String> =
            entries.into_iter().map(|e| SearchEntry::construct(e).dn.to_lowercase()).collect();
        assert!(dns.contains(&ADMIN_GROUP_DN.to_lowercase()), "{dns:?}");
        let (entries, _) = service
            .search(GROUPS_DN, Scope::Subtree, &groups_of(&alice), vec!["1.1"])
            .await
            .and_then(|r| r.success())
            .expect("nested group search");
        assert!(entries.is_empty());

        // The service account may write the phone attribute of people, and nothing else.
        assert_eq!(cfg.phone_attribute, "otherMobile");
        assert_eq!(dc.stored_phones("alice"), ["+15550001", "+15550002"]);
        let add = |attr: &'static str| vec![Mod::Add(attr, HashSet::from(["+15550009"]))];
        let written = service.modify(&bob, add("otherMobile")).await.expect("modify");
        assert_eq!(written.rc, 0, "{written:?}");
        assert_eq!(dc.stored_phones("bob"), ["+15550009"]);
        let refused = service.modify(&bob, add("mobile")).await.expect("modify");
        assert_eq!(refused.rc, 50, "{refused:?}");
        let _ = service.unbind().await;

        // Lockout after LOCKOUT_THRESHOLD wrong passwords: AD says why in the text.
        for _ in 0..LOCKOUT_THRESHOLD {
            let wrong = bind(&url, &bob, "wrong").await;
            assert!(wrong.rc == 49 && wrong.text.contains("data 52e"), "{wrong:?}");
        }
        let locked = bind(&url, &bob, "bob-pw").await;
        assert!(locked.rc == 49 && locked.text.contains("data 775"), "{locked:?}");
        dc.unlock("bob");
        assert_eq!(bind(&url, &bob, "bob-pw").await.rc, 0);

        // A password reset by an administrator must be changed: data 773.
        dc.reset_password_must_change("alice", "alice-new-pw");
        let must_change = bind(&url, &alice, "alice-new-pw").await;
        assert!(must_change.rc == 49 && must_change.text.contains("data 773"), "{must_change:?}");

        // Latchkey itself, over LDAPS and StartTLS, verifying the certificate by IP address.
        let ca = dc.ca_file().display().to_string();
        let ldaps =
            DirectoryConfig { url: dc.ldaps_url(), ca_certificates: ca.clone(), ..cfg.clone() };
        let directory = LdapDirectory::new(ldaps);
        let root = directory.root_dse().await.expect("root DSE over LDAPS");
        assert_eq!(root.flavour, Some(Flavour::ActiveDirectory), "{root:?}");
        let sample = directory.sample_search(10).await.expect("sample search over LDAPS");
        assert_eq!((sample.people_seen, sample.admin_group_found), (3, Some(true)), "{sample:?}");
        let starttls = DirectoryConfig { starttls: true, ca_certificates: ca, ..cfg.clone() };
        LdapDirectory::new(starttls).ping().await.expect("ping over StartTLS");

        let status =
            std::fs::read_to_string(format!("/proc/{}/status", dc.pid())).unwrap_or_default();
        let peak = status.lines().find(|l| l.starts_with("VmHWM")).unwrap_or("VmHWM: ?");
        eprintln!("samba peak memory {peak}");

        // Dropped: process, port and files gone.
        let (pid, dir, addr) = (dc.pid(), dc.data_dir().to_path_buf(), dc.addr());
        let stopping = Instant::now();
        drop(dc);
        eprintln!("samba stopped and removed in {:?}", stopping.elapsed());
        assert!(!process_alive(pid));
        assert!(!dir.exists(), "{dir:?} left behind");
        assert!(TcpStream::connect((addr, 389)).is_err());
    }

    /// Run by the next test in a process of its own: starts the shared server and ends the
    /// process without dropping it, as a test binary does.
    #[test]
    #[ignore = "a helper process of a_shared_server_goes_with_the_test_process"]
    fn shared_server_helper_process() {
        let dc = shared(&SEED).unwrap_or_else(|e| panic!("{e}"));
        println!("SAMBA {} {}", dc.pid(), dc.data_dir().display());
    }

    #[test]
    fn a_shared_server_goes_with_the_test_process() {
        let out = Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "samba::tests::shared_server_helper_process",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("running the helper process");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find_map(|l| l.strip_prefix("SAMBA ")).unwrap_or_else(|| {
            panic!("no SAMBA line:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr))
        });
        let (pid, dir) = line.split_once(' ').expect("pid and dir");
        let (pid, dir): (u32, PathBuf) = (pid.parse().expect("pid"), dir.into());
        let deadline = Instant::now() + Duration::from_secs(15);
        while (process_alive(pid) || dir.exists()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!process_alive(pid), "samba {pid} outlived its test process");
        assert!(!dir.exists(), "{dir:?} outlived its test process");
    }

    #[test]
    fn ldif_and_dn_helpers() {
        let mut ldif = String::new();
        ldif_value(&mut ldif, "displayName", "Zoë");
        ldif_value(&mut ldif, "sn", "Plain");
        assert_eq!(ldif, "displayName:: Wm/Dqw==\nsn: Plain\n");
        assert_eq!(crate::directories::ldif_values(&ldif, "displayname"), ["Zoë"]);
        assert_eq!(escape_rdn_value("Doe, John "), "Doe\\, John\\ ");
        assert_eq!(escape_filter_value("a*(b)"), "a\\2a\\28b\\29");
        let mut pw = String::new();
        ldif_password(&mut pw, "a");
        // "\"a\"" in UTF-16LE.
        assert_eq!(pw, "unicodePwd:: IgBhACIA\n");
    }
}
