//! The Debian package as an administrator meets it (`make package-test`, part of `make test`):
//! installed with `dpkg -i` into a clean Debian (debootstrap's minbase, `.ci/package-root.sh`),
//! its files, user, conffile and hardened unit checked, the installed binary started as the
//! `latchkey` user with the installed configuration pointed at a throwaway slapd, someone signed
//! in over HTTP; then the next version installed over it, and the configuration, the database
//! and the session still there; then a purge removes the configuration and the data.
//!
//! It needs root (chroot) and the packages `make package-test` builds; run by hand, it says what
//! is missing and passes without testing anything:
//! `LATCHKEY_TEST_ROOT_TAR=… LATCHKEY_TEST_DEB=… LATCHKEY_TEST_DEB_NEXT=… cargo test -p devkit --test package`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use devkit::slapd::{Slapd, admin_group_ldif, person_ldif};
use secrecy::ExposeSecret;

const CONF: &str = "etc/latchkey/latchkey.toml";
const UNIT: &str = "lib/systemd/system/latchkey.service";
const PERSON: (&str, &str, &str) = ("pat", "Pat Packager", "pat-package-pw");
const HMAC_KEY: &str = "package-test-hmac-key-0123456789abcdef0123456789";

#[tokio::test]
async fn the_debian_package_installs_serves_signs_in_and_upgrades_keeping_data() {
    let vars = ["LATCHKEY_TEST_ROOT_TAR", "LATCHKEY_TEST_DEB", "LATCHKEY_TEST_DEB_NEXT"];
    let Some([tar, deb, next]) = vars
        .iter()
        .map(|v| std::env::var_os(v).map(PathBuf::from))
        .collect::<Option<Vec<_>>>()
        .and_then(|v| <[PathBuf; 3]>::try_from(v).ok())
    else {
        eprintln!("package test skipped: set {} (make package-test does)", vars.join(", "));
        return;
    };
    server::sms::install_crypto_provider();
    let root = Root::unpack(&tar);

    // Install, as on a fresh machine.
    root.dpkg_install(&deb);
    let version = root.run(&["dpkg-query", "-W", "-f=${Version}", "latchkey"]);
    let installed_files = root.run(&["dpkg-query", "-L", "latchkey"]);
    for file in
        ["/usr/bin/latchkey", "/etc/latchkey/latchkey.toml", "/lib/systemd/system/latchkey.service"]
    {
        assert!(installed_files.lines().any(|l| l == file), "{file} in {installed_files}");
    }
    let conffiles = root.run(&["dpkg-query", "-W", "-f=${Conffiles}", "latchkey"]);
    assert!(conffiles.contains("/etc/latchkey/latchkey.toml"), "a conffile: {conffiles}");
    assert!(root.path("usr/bin/latchkey").metadata().unwrap().permissions().mode() & 0o111 != 0);

    // The user: a system account that cannot log in, its home the state directory.
    let passwd = root.run(&["getent", "passwd", "latchkey"]);
    let fields: Vec<&str> = passwd.trim().split(':').collect();
    let uid: u32 = fields[2].parse().unwrap();
    let gid: u32 = fields[3].parse().unwrap();
    assert!(uid < 1000, "a system user: {passwd}");
    assert_eq!(fields[5], "/var/lib/latchkey", "{passwd}");
    assert_eq!(fields[6], "/usr/sbin/nologin", "{passwd}");
    let config_is_private = |when: &str| {
        let meta = root.path(CONF).metadata().unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o640, "{when}: latchkey.toml is 0640");
        assert_eq!((meta.uid(), meta.gid()), (0, gid), "{when}: root:latchkey");
    };
    config_is_private("installed");
    let state = root.path("var/lib/latchkey").metadata().unwrap();
    assert_eq!((state.uid(), state.gid(), state.mode() & 0o7777), (uid, gid, 0o750));
    let credentials = root.path("etc/latchkey/credentials").metadata().unwrap();
    assert_eq!((credentials.uid(), credentials.mode() & 0o7777), (0, 0o700));
    let packaged = std::fs::read_to_string(root.path(CONF)).unwrap();
    assert!(packaged.contains("url = \"sqlite:///var/lib/latchkey/latchkey.db\""));
    assert!(packaged.contains("site_root = \"\""), "the packaged binary's own assets");

    // The unit: hardened, and systemd accepts it.
    let unit = std::fs::read_to_string(root.path(UNIT)).unwrap();
    for line in [
        "User=latchkey",
        "ExecStart=/usr/bin/latchkey --config /etc/latchkey/latchkey.toml serve",
        "Restart=on-failure",
        "StateDirectory=latchkey",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "LoadCredential=directory.bind_password:/etc/latchkey/credentials/directory.bind_password",
        "SetCredential=directory.bind_password:\\n",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit has {line:?}");
    }
    assert!(!unit.lines().any(|l| l.starts_with("Environment=")), "no secrets in the environment");
    systemd_analyze_verify(&root);

    // The administrator's edits: the directory, the address, a name of their own; the secrets
    // as systemd credentials (copied where systemd puts them, readable by the service only).
    let slapd = Slapd::start(&format!(
        "{}{}",
        person_ldif(PERSON.0, PERSON.1, PERSON.2, &[]),
        admin_group_ldif(&[PERSON.0])
    ))
    .expect("slapd");
    let directory = slapd.directory_config();
    let addr = free_addr();
    let mut config = packaged.clone();
    for (section, key, value) in [
        ("server", "address", addr.to_string()),
        ("server", "public_url", format!("http://{addr}")),
        ("server", "product_name", "Packaged Latchkey".to_owned()),
        ("directory", "url", slapd.url()),
        ("directory", "bind_dn", directory.bind_dn.clone()),
        ("directory", "base_dn", directory.base_dn.clone()),
    ] {
        config = set_key(&config, section, key, &value);
    }
    std::fs::write(root.path(CONF), &config).unwrap();
    root.put_credential("directory.bind_password", directory.bind_password.expose_secret(), uid);
    root.put_credential("security.hmac_keys", HMAC_KEY, uid);

    // `latchkey check` as the service's user: the assets are the binary's own.
    let check = root.as_latchkey(&[
        "/usr/bin/latchkey",
        "--config",
        "/etc/latchkey/latchkey.toml",
        "check",
    ]);
    assert!(check.contains("assets") && check.contains("files built into the binary"), "{check}");
    assert!(check.contains("database") && check.contains("migrations applied"), "{check}");

    // Serve, sign in over HTTP, and the assets come out of the binary.
    let base = format!("http://{addr}");
    let server = root.serve("first");
    wait_ready(&base, &server.log).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // No idle connection to wait for when the server shuts down gracefully.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let cookie = sign_in(&http, &base).await;
    assert_eq!(signed_in_as(&http, &base, &cookie).await.as_deref(), Some(PERSON.1));
    embedded_assets_are_served(&http, &base, addr).await;
    drop(server);

    // The next version over it: configuration, database and session kept; migrations run at
    // start (they would apply any the new version brought).
    let db_before = root.path("var/lib/latchkey/latchkey.db").metadata().expect("the database");
    root.dpkg_install(&next);
    let upgraded = root.run(&["dpkg-query", "-W", "-f=${Version}", "latchkey"]);
    assert_ne!(upgraded, version, "the next version is installed");
    assert_eq!(std::fs::read_to_string(root.path(CONF)).unwrap(), config, "the edits are kept");
    config_is_private("upgraded");
    let db_after = root.path("var/lib/latchkey/latchkey.db").metadata().expect("the database");
    assert_eq!(db_after.ino(), db_before.ino(), "the same database file");
    let server = root.serve("upgraded");
    wait_ready(&base, &server.log).await;
    assert_eq!(
        signed_in_as(&http, &base, &cookie).await.as_deref(),
        Some(PERSON.1),
        "the session from before the upgrade is still in the database"
    );
    drop(server);

    // Remove keeps the configuration and the data; purge deletes them.
    root.run(&["dpkg", "--remove", "latchkey"]);
    assert!(!root.path("usr/bin/latchkey").exists());
    assert!(root.path(CONF).exists() && root.path("var/lib/latchkey/latchkey.db").exists());
    root.run(&["dpkg", "--purge", "latchkey"]);
    assert!(!root.path("etc/latchkey").exists() && !root.path("var/lib/latchkey").exists());
}

/// A Debian root of its own under target/package/, deleted afterwards (nothing is mounted in it).
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn unpack(tar: &Path) -> Self {
        let parent = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/package");
        std::fs::create_dir_all(&parent).unwrap();
        let dir = tempfile::Builder::new().prefix("root-").tempdir_in(parent).unwrap();
        let out =
            Command::new("tar").arg("-C").arg(dir.path()).arg("-xf").arg(tar).output().unwrap();
        assert!(out.status.success(), "tar: {}", String::from_utf8_lossy(&out.stderr));
        // It is `/` inside: everyone may enter it (tempfile made it 0700, and so may the tar's `.`).
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.dir.path().join(inside.trim_start_matches('/'))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("/usr/sbin/chroot");
        command
            .arg(self.dir.path())
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null());
        command
    }

    /// Runs a command inside; its output, or a failure with both streams.
    fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("chroot runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    fn as_latchkey(&self, args: &[&str]) -> String {
        let mut all =
            vec!["setpriv", "--reuid=latchkey", "--regid=latchkey", "--init-groups", "--"];
        all.extend_from_slice(args);
        let mut command = self.command(&all);
        command.env("CREDENTIALS_DIRECTORY", "/run/credentials/latchkey.service");
        let out = command.output().expect("chroot runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{args:?}: {text}{}", String::from_utf8_lossy(&out.stderr));
        text
    }

    /// `dpkg -i`, unattended: where both the administrator and the new version changed the
    /// configuration, the administrator's is kept (`--force-confold`) instead of asking.
    fn dpkg_install(&self, deb: &Path) {
        let name = deb.file_name().unwrap().to_str().unwrap();
        std::fs::copy(deb, self.path("tmp").join(name)).unwrap();
        let deb = format!("/tmp/{name}");
        self.run(&["dpkg", "--force-confdef", "--force-confold", "-i", &deb]);
    }

    /// As systemd hands credentials over: a directory of files only the service's user reads.
    fn put_credential(&self, name: &str, value: &str, uid: u32) {
        let dir = self.path("run/credentials/latchkey.service");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(name);
        std::fs::write(&file, format!("{value}\n")).unwrap();
        std::os::unix::fs::chown(&dir, Some(uid), None).unwrap();
        std::os::unix::fs::chown(&file, Some(uid), None).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    }

    /// `latchkey serve` as the unit runs it, as the latchkey user, until dropped (SIGTERM).
    fn serve(&self, name: &str) -> Served {
        let log = self.dir.path().with_extension(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = self.command(&[
            "setpriv",
            "--reuid=latchkey",
            "--regid=latchkey",
            "--init-groups",
            "--",
            "/usr/bin/latchkey",
            "--config",
            "/etc/latchkey/latchkey.toml",
            "serve",
        ]);
        command
            .env("CREDENTIALS_DIRECTORY", "/run/credentials/latchkey.service")
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        Served { child: command.spawn().expect("latchkey starts"), log }
    }
}

struct Served {
    child: Child,
    log: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        // chroot and setpriv exec: the child is latchkey itself. SIGTERM: a clean shutdown.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_file(&self.log);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// `systemd-analyze verify` on the installed unit, inside the root (the unit's paths are the
/// root's: /usr/bin/latchkey exists there, not on this machine).
fn systemd_analyze_verify(root: &Root) {
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", root.dir.path().display()))
        .arg(root.path(UNIT))
        .output()
        .expect("systemd-analyze (Debian's systemd package) is installed");
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    assert!(!said.contains("latchkey.service"), "systemd-analyze says nothing about it: {said}");
}

/// Sets `key = value` in `[section]` of a TOML text, as an administrator edits it.
fn set_key(text: &str, section: &str, key: &str, value: &str) -> String {
    let header = format!("[{section}]");
    let mut inside = false;
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with('[') {
                inside = line.trim() == header;
            } else if inside && !done && line.starts_with(&format!("{key} = ")) {
                done = true;
                return format!("{key} = {value:?}");
            }
            line.to_owned()
        })
        .collect();
    assert!(done, "[{section}] {key} is in the packaged configuration");
    lines.join("\n") + "\n"
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

async fn wait_ready(base: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = reqwest::get(format!("{base}/readyz")).await
            && res.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the installed latchkey was not ready in 60 s:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A no-JavaScript sign-in, as a browser posts the form: the session cookie.
async fn sign_in(http: &reqwest::Client, base: &str) -> String {
    let body =
        serde_urlencoded::to_string([("username", PERSON.0), ("password", PERSON.2)]).unwrap();
    let res = http
        .post(format!("{base}/api/sign_in_password"))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", base)
        .header("referer", format!("{base}/sign-in"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "the sign-in form answers with a redirect");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with("latchkey="))
        .expect("a session cookie")
        .to_owned()
}

/// The name the home page shows as signed in (after the screen readers' "Signed in as"), if
/// anyone.
async fn signed_in_as(http: &reqwest::Client, base: &str, cookie: &str) -> Option<String> {
    let res = http.get(format!("{base}/")).header("cookie", cookie).send().await.unwrap();
    let html = res.text().await.unwrap();
    let at = html.find("data-testid=\"signed-in-as\"")?;
    let rest = &html[at..];
    let rest = &rest[rest.find("</span>")? + "</span>".len()..];
    let name = &rest[..rest.find("</span>")?];
    // Without any hydration markers (`<!-- -->`) between the parts.
    let mut text = String::new();
    let mut in_tag = false;
    for c in name.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text.trim().to_owned())
}

async fn embedded_assets_are_served(http: &reqwest::Client, base: &str, addr: SocketAddr) {
    for (accept, encoding) in
        [("gzip, deflate, br", Some("br")), ("gzip", Some("gzip")), ("identity", None)]
    {
        let res = http
            .get(format!("{base}/pkg/latchkey.wasm"))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{accept}");
        let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header("content-encoding").as_deref(), encoding, "{accept}");
        assert_eq!(header("content-type").as_deref(), Some("application/wasm"));
        assert_eq!(header("vary").as_deref(), Some("accept-encoding"));
        assert!(header("etag").is_some());
        let body = res.bytes().await.unwrap();
        if encoding.is_none() {
            assert_eq!(&body[..4], b"\0asm", "the wasm itself");
        }
    }
    let css = http.get(format!("{base}/pkg/latchkey.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // Unhashed names: revalidated each time, which the ETag makes a 304.
    assert_eq!(css.headers()["cache-control"], "no-cache");
    let etag = css.headers()["etag"].clone();
    let again = http
        .get(format!("{base}/pkg/latchkey.css"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let missing = http.get(format!("{base}/pkg/nothing-here.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    // Raw, so no client tidies the path first.
    for path in ["/pkg/../../../../etc/passwd", "/pkg/%2e%2e/%2e%2e/etc/passwd", "/../etc/passwd"] {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer.split(' ').nth(1).unwrap_or("");
        assert!(status == "404" || status == "400", "{path}: {status}");
        assert!(!answer.contains("root:x:0:0"), "{path} reached /etc/passwd");
    }
}
