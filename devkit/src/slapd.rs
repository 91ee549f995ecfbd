//! A throwaway OpenLDAP server: its own cn=config and mdb database in a temporary directory, on
//! a free loopback port, seeded from LDIF. Used by the tests, the benchmark and the demo; removed
//! (process and files) when dropped, also when a test panics.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use server::config::{DirectoryConfig, Flavour, PhoneFormat};

use crate::directories::{Layout, Seed, TestDirectory, seeded_config};

pub const SUFFIX: &str = "dc=example,dc=org";
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=org";
pub const GROUPS_DN: &str = "ou=groups,dc=example,dc=org";
pub const SERVICE_DN: &str = "cn=latchkey,ou=services,dc=example,dc=org";
pub const ADMIN_GROUP_DN: &str = "cn=latchkey-admins,ou=groups,dc=example,dc=org";
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const OPENSSL: &str = "/usr/bin/openssl";
/// The auxiliary class of the test schema that gives entries an Active Directory-like binary
/// `objectGUID` (an octet string), for [`Options::guid_schema`].
pub const GUID_CLASS: &str = "latchkeyTestGuid";
const SCHEMAS: &[&str] = &["core", "cosine", "inetorgperson", "nis"];

#[derive(Debug, thiserror::Error)]
pub enum SlapdError {
    #[error(
        "OpenLDAP is not installed ({0} missing): run `make setup` or apt-get install slapd ldap-utils"
    )]
    NotInstalled(&'static str),
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
    #[error("slapd did not start listening on {addr} within {secs} s; its output:\n{log}")]
    NotListening { addr: SocketAddr, secs: u64, log: String },
}

fn io_step(step: &'static str) -> impl Fn(std::io::Error) -> SlapdError {
    move |e| SlapdError::Step { step, detail: e.to_string() }
}

/// What a throwaway directory is started with, beyond its seed.
#[derive(Debug, Clone)]
pub struct Options {
    /// The phone attribute (`mobile` by default).
    pub phone_attribute: String,
    /// The password-policy overlay with lockout after this many wrong passwords.
    pub lockout: Option<u32>,
    /// The password-policy overlay with `pwdMustChange: TRUE`: a password the root DN (an
    /// administrator) resets must be changed before it is used ([`Slapd::reset_password`]).
    pub must_change: bool,
    /// A throwaway CA and a server certificate for 127.0.0.1 and localhost; the server then
    /// also listens on `ldaps://`, answers StartTLS on `ldap://` and refuses everything else
    /// without TLS (`olcSecurity: tls=1`) ([`Slapd::ca_file`]).
    pub tls: bool,
    /// A small schema giving entries a binary `objectGUID` (octet string, as Active Directory's),
    /// through the auxiliary class [`GUID_CLASS`].
    pub guid_schema: bool,
    /// The service account may read `cn=config` (where OpenLDAP keeps its access rules).
    pub service_reads_config: bool,
    /// People may write their own phone attribute (as Active Directory lets them by default).
    pub self_writes_phone: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            phone_attribute: "mobile".into(),
            lockout: None,
            must_change: false,
            tls: false,
            guid_schema: false,
            service_reads_config: false,
            self_writes_phone: false,
        }
    }
}

/// A running (or stopped, restartable) throwaway slapd.
#[derive(Debug)]
pub struct Slapd {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    /// The `ldaps://` listener, when started with [`Options::tls`].
    tls_addr: Option<SocketAddr>,
    child: Option<Child>,
    phone_attribute: String,
    /// Password of the service account (`SERVICE_DN`) and of the root DN (`ROOT_DN`).
    pub service_password: String,
    pub root_password: String,
}

impl Slapd {
    /// Starts a directory holding the base entries (people, groups, services, the service
    /// account) plus `seed_ldif`, with `mobile` as the phone attribute.
    pub fn start(seed_ldif: &str) -> Result<Self, SlapdError> {
        Self::start_with(seed_ldif, "mobile")
    }

    pub fn start_with(seed_ldif: &str, phone_attribute: &str) -> Result<Self, SlapdError> {
        Self::start_opts(
            seed_ldif,
            &Options { phone_attribute: phone_attribute.into(), ..Options::default() },
        )
    }

    /// With the password-policy overlay: `max_failures` wrong passwords lock an entry, and binds
    /// say why in the password-policy control, as a production directory with ppolicy does.
    pub fn start_with_lockout(seed_ldif: &str, max_failures: u32) -> Result<Self, SlapdError> {
        Self::start_opts(seed_ldif, &Options { lockout: Some(max_failures), ..Options::default() })
    }

    pub fn start_opts(seed_ldif: &str, options: &Options) -> Result<Self, SlapdError> {
        let phone_attribute = options.phone_attribute.as_str();
        for tool in [SLAPD, SLAPADD] {
            if !Path::new(tool).exists() {
                return Err(SlapdError::NotInstalled(tool));
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("latchkey-slapd-")
            .tempdir()
            .map_err(io_step("temp dir"))?;
        let service_password = random_token();
        let root_password = random_token();
        let config_dir = dir.path().join("slapd.d");
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&config_dir).map_err(io_step("config dir"))?;
        std::fs::create_dir_all(&data_dir).map_err(io_step("data dir"))?;

        let mut config = config_ldif(dir.path(), &data_dir, &root_password, options);
        let mut data = base_ldif(&service_password);
        if options.lockout.is_some() || options.must_change {
            config = config.replace(
                "olcModuleLoad: back_mdb\n",
                "olcModuleLoad: back_mdb\nolcModuleLoad: ppolicy\n",
            );
            config.push_str(PPOLICY_OVERLAY);
            data.push_str(&format!("\n{}", ppolicy_ldif(options.lockout, options.must_change)));
        }
        if options.tls {
            let tls = dir.path().join("tls");
            std::fs::create_dir_all(&tls).map_err(io_step("tls dir"))?;
            throwaway_ca(&tls, "ca")?;
            server_certificate(&tls, "IP:127.0.0.1,DNS:localhost")?;
            // olcSecurity: nothing but StartTLS goes through without TLS, so a test that
            // signs in has proven the connection was encrypted.
            let files = format!(
                "olcTLSCACertificateFile: {0}/ca.pem\nolcTLSCertificateFile: {0}/server.pem\nolcTLSCertificateKeyFile: {0}/server.key\nolcSecurity: tls=1\n",
                tls.display()
            );
            config = config.replacen("\n\n", &format!("\n{files}\n"), 1);
        }
        slapadd(&config_dir, 0, &config)?;
        let data = format!("{data}\n{seed_ldif}");
        slapadd(&config_dir, 1, &data)?;

        let mut slapd = Self {
            dir,
            addr: free_loopback_addr()?,
            tls_addr: if options.tls { Some(free_loopback_addr()?) } else { None },
            child: None,
            phone_attribute: phone_attribute.to_owned(),
            service_password,
            root_password,
        };
        slapd.start_process()?;
        Ok(slapd)
    }

    fn start_process(&mut self) -> Result<(), SlapdError> {
        let log_path = self.dir.path().join("slapd.log");
        let log = std::fs::File::create(&log_path).map_err(io_step("slapd log"))?;
        let log_err = log.try_clone().map_err(io_step("slapd log"))?;
        let mut listen = format!("ldap://{}/", self.addr);
        if let Some(tls_addr) = self.tls_addr {
            listen.push_str(&format!(" ldaps://{tls_addr}/"));
        }
        // `-d 0` keeps slapd in the foreground (it is our child, so Drop can stop it) without
        // debug output.
        let child = Command::new(SLAPD)
            .arg("-F")
            .arg(self.dir.path().join("slapd.d"))
            .arg("-h")
            .arg(listen)
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io_step("starting slapd"))?;
        self.child = Some(child);
        // slapd returns before it listens: poll the port.
        let deadline = Instant::now() + Duration::from_secs(10);
        let listening = |addr: &SocketAddr| {
            TcpStream::connect_timeout(addr, Duration::from_millis(100)).is_ok()
        };
        while Instant::now() < deadline {
            if listening(&self.addr) && self.tls_addr.as_ref().is_none_or(listening) {
                return Ok(());
            }
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        Err(SlapdError::NotListening {
            addr: self.addr,
            secs: 10,
            log: std::fs::read_to_string(&log_path).unwrap_or_default(),
        })
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server; the data stays, so [`Slapd::restart`] brings the same directory back
    /// on the same port.
    pub fn stop(&mut self) {
        self.kill();
        // The port must be free again before anyone relies on the server being gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && TcpStream::connect(self.addr).is_ok() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn restart(&mut self) -> Result<(), SlapdError> {
        self.stop();
        self.start_process()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
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

    /// Sets a person's password as the root DN, as an administrator's reset does: with
    /// [`Options::must_change`] the directory then marks it `pwdReset: TRUE`.
    pub fn reset_password(&self, uid: &str, password: &str) -> Result<(), SlapdError> {
        let out = Command::new("ldappasswd")
            .args(["-x", "-H", &self.url(), "-D", ROOT_DN, "-w", &self.root_password])
            .args(["-s", password, &format!("uid={uid},{PEOPLE_DN}")])
            .output()
            .map_err(io_step("ldappasswd"))?;
        if !out.status.success() {
            return Err(SlapdError::Step {
                step: "ldappasswd",
                detail: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(())
    }

    /// The slapd process id while it runs (the benchmark reads its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A Latchkey directory configuration pointing at this server.
    pub fn directory_config(&self) -> DirectoryConfig {
        let layout = Layout {
            service_dn: SERVICE_DN,
            people_dn: PEOPLE_DN,
            admin_group_dn: ADMIN_GROUP_DN,
            groups_dn: GROUPS_DN,
        };
        let mut cfg = seeded_config(Flavour::OpenLdap, self.url(), &self.service_password, &layout);
        cfg.phone_attribute = self.phone_attribute.clone();
        cfg.phone_format = PhoneFormat::E164;
        cfg
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn slapadd(config_dir: &Path, db: u8, ldif: &str) -> Result<(), SlapdError> {
    let mut child = Command::new(SLAPADD)
        .arg("-F")
        .arg(config_dir)
        .args(["-n", &db.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io_step("slapadd"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(ldif.as_bytes()).map_err(io_step("slapadd input"))?;
    }
    let out = child.wait_with_output().map_err(io_step("slapadd"))?;
    if !out.status.success() {
        return Err(SlapdError::Step {
            step: if db == 0 { "slapadd (config)" } else { "slapadd (data)" },
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

fn free_loopback_addr() -> Result<SocketAddr, SlapdError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io_step("finding a free port"))?;
    listener.local_addr().map_err(io_step("finding a free port"))
}

/// Runs the `openssl` command (certificates for [`Options::tls`]).
fn openssl(step: &'static str, args: &[&str], cwd: &Path) -> Result<(), SlapdError> {
    if !Path::new(OPENSSL).exists() {
        return Err(SlapdError::NotInstalled(OPENSSL));
    }
    let out = Command::new(OPENSSL)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(io_step(step))?;
    if !out.status.success() {
        return Err(SlapdError::Step {
            step,
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

/// A throwaway CA, `<name>.pem` and `<name>.key` in `dir` (P-256, valid two days); returns the
/// certificate's path. Tests make a second one to prove a wrong CA is refused.
pub fn throwaway_ca(dir: &Path, name: &str) -> Result<PathBuf, SlapdError> {
    let (cert, key) = (format!("{name}.pem"), format!("{name}.key"));
    openssl(
        "openssl (CA)",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "2",
            "-subj",
            &format!("/CN=Latchkey throwaway test CA {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        dir,
    )?;
    Ok(dir.join(cert))
}

/// `server.pem` and `server.key` (P-256) in `dir`, signed by `ca.pem` and `ca.key` there (see
/// [`throwaway_ca`]), for the names in `subject_alt_name` (`IP:127.0.0.1,DNS:localhost`).
/// Every throwaway directory's TLS certificate is made here.
pub(crate) fn server_certificate(dir: &Path, subject_alt_name: &str) -> Result<(), SlapdError> {
    std::fs::write(
        dir.join("server.ext"),
        format!("subjectAltName={subject_alt_name}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"),
    )
    .map_err(io_step("server certificate extensions"))?;
    openssl(
        "openssl (server key)",
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        dir,
    )?;
    let serial = format!("0x{}", random_hex(16));
    openssl(
        "openssl (server certificate)",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-days",
            "2",
            "-out",
            "server.pem",
            "-extfile",
            "server.ext",
        ],
        dir,
    )
}

fn random_hex(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)])).collect()
}

/// A random password for throwaway accounts.
pub(crate) fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..24).map(|_| char::from(rng.sample(rand::distr::Alphanumeric))).collect()
}

/// The test schema of [`Options::guid_schema`]: `objectGUID` with Active Directory's OID and
/// syntax (an octet string), and an auxiliary class from OpenLDAP's experimental arc to carry it.
const GUID_SCHEMA: &str = "dn: cn=latchkey-test,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: latchkey-test
olcAttributeTypes: ( 1.2.840.113556.1.4.2 NAME 'objectGUID' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
olcObjectClasses: ( 1.3.6.1.4.1.4203.666.11.914.1 NAME 'latchkeyTestGuid' AUXILIARY MAY objectGUID )

";

fn config_ldif(dir: &Path, data_dir: &Path, root_password: &str, options: &Options) -> String {
    let dir = dir.display();
    let data = data_dir.display();
    let phone = options.phone_attribute.as_str();
    let mut schemas: String =
        SCHEMAS.iter().map(|s| format!("include: file:///etc/ldap/schema/{s}.ldif\n\n")).collect();
    if options.guid_schema {
        schemas.push_str(GUID_SCHEMA);
    }
    let config_access = if options.service_reads_config {
        format!("to * by dn.exact=\"{SERVICE_DN}\" read by * none")
    } else {
        "to * by * none".to_owned()
    };
    let self_phone = if options.self_writes_phone { "write" } else { "read" };
    format!(
        "dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {dir}/slapd.pid
olcArgsFile: {dir}/slapd.args

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: 500

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}{config_access}

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcDbDirectory: {data}
olcRootDN: {ROOT_DN}
olcRootPW: {root_password}
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcDbIndex: entryUUID eq
olcDbIndex: uid eq,sub
olcDbIndex: cn,sn,givenName,mail eq,sub
olcDbIndex: {phone} eq
olcDbIndex: member eq
olcLimits: {{0}}dn.exact=\"{SERVICE_DN}\" size=unlimited size.pr=unlimited time=unlimited
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to attrs={phone} by dn.exact=\"{SERVICE_DN}\" write by self {self_phone} by users read by * none
olcAccess: {{2}}to * by users read by * none
"
    )
}

const POLICY_DN: &str = "cn=default,ou=policies,dc=example,dc=org";

const PPOLICY_OVERLAY: &str = "
dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
olcPPolicyDefault: cn=default,ou=policies,dc=example,dc=org
olcPPolicyUseLockout: TRUE
";

fn ppolicy_ldif(max_failures: Option<u32>, must_change: bool) -> String {
    let lockout = match max_failures {
        Some(n) => format!("pwdLockout: TRUE\npwdMaxFailure: {n}\npwdLockoutDuration: 300\n"),
        None => "pwdLockout: FALSE\n".to_owned(),
    };
    let must_change = if must_change { "TRUE" } else { "FALSE" };
    format!(
        "dn: ou=policies,{SUFFIX}
objectClass: organizationalUnit
ou: policies

dn: {POLICY_DN}
objectClass: applicationProcess
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
{lockout}pwdMustChange: {must_change}
"
    )
}

fn base_ldif(service_password: &str) -> String {
    format!(
        "dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example Organisation

dn: {PEOPLE_DN}
objectClass: organizationalUnit
ou: people

dn: {GROUPS_DN}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{SUFFIX}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: latchkey
userPassword: {service_password}
"
    )
}

/// One person as LDIF, for seeds: `uid`, display name, password and phone values.
pub fn person_ldif(uid: &str, name: &str, password: &str, phones: &[&str]) -> String {
    let (given, family) = name.split_once(' ').unwrap_or((name, name));
    let mut ldif = format!(
        "dn: uid={uid},{PEOPLE_DN}
objectClass: inetOrgPerson
uid: {uid}
cn: {name}
givenName: {given}
sn: {family}
mail: {uid}@example.org
userPassword: {password}
"
    );
    for phone in phones {
        ldif.push_str(&format!("mobile: {phone}\n"));
    }
    ldif.push('\n');
    ldif
}

/// The administrators group with the given members (uids).
pub fn admin_group_ldif(member_uids: &[&str]) -> String {
    let mut ldif = format!(
        "dn: {ADMIN_GROUP_DN}
objectClass: groupOfNames
cn: latchkey-admins
"
    );
    for uid in member_uids {
        ldif.push_str(&format!("member: uid={uid},{PEOPLE_DN}\n"));
    }
    ldif.push('\n');
    ldif
}

impl Slapd {
    /// A directory holding `seed`'s people and administrators (direct members of the
    /// administrators group), with the password policy every seeded directory has: lockout
    /// after [`crate::directories::LOCKOUT_THRESHOLD`] wrong passwords, and a password reset by
    /// an administrator must be changed before it is used.
    pub fn start_seeded(seed: &Seed) -> Result<Self, SlapdError> {
        let mut ldif: String = seed
            .people
            .iter()
            .map(|p| person_ldif(p.login, p.name, p.password, p.phones))
            .collect();
        ldif.push_str(&admin_group_ldif(seed.admins));
        Self::start_opts(
            &ldif,
            &Options {
                lockout: Some(crate::directories::LOCKOUT_THRESHOLD),
                must_change: true,
                ..Options::default()
            },
        )
    }
}

impl TestDirectory for Slapd {
    fn flavour(&self) -> Flavour {
        Flavour::OpenLdap
    }

    fn directory_config(&self) -> DirectoryConfig {
        Slapd::directory_config(self)
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
        let out = Command::new("ldapsearch")
            .args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", &self.url(), "-D", ROOT_DN])
            .args(["-w", &self.root_password, "-b", &self.person_dn(login), "-s", "base"])
            .arg(&self.phone_attribute)
            .output()
            .expect("ldapsearch");
        assert!(out.status.success(), "ldapsearch: {}", String::from_utf8_lossy(&out.stderr));
        let prefix = format!("{}: ", self.phone_attribute);
        let mut values: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        values.sort();
        values
    }

    fn reset_password_must_change(&self, login: &str, password: &str) {
        self.reset_password(login, password).expect("resetting a password as the root DN");
    }
}
