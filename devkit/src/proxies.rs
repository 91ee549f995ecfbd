//! Real reverse proxies in front of an app, asking Latchkey about every request: Debian's nginx
//! (`auth_request`) and Caddy (`forward_auth`), each one process serving several apps as
//! name-based virtual hosts on one free port, from the example configuration operators copy
//! (`docs/forward-auth/`). The process and its files are removed when dropped, also when a test
//! panics.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The nginx `server` block for one app, as the docs show it.
pub const NGINX_SITE: &str = include_str!("../../docs/forward-auth/nginx.conf");
/// The Caddy site block for one app, as the docs show it.
pub const CADDY_SITE: &str = include_str!("../../docs/forward-auth/Caddyfile");

const NGINX: &str = "/usr/sbin/nginx";
const CADDY: &str = "/usr/bin/caddy";
const START_SECS: u64 = 10;
const START_ATTEMPTS: u32 = 5;
/// The host name of the harness's own site, which answers the readiness check.
pub const READY_HOST: &str = "devkit-ready.invalid";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Nginx,
    Caddy,
}

impl ProxyKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Nginx => "nginx",
            Self::Caddy => "caddy",
        }
    }

    fn program(self) -> &'static str {
        match self {
            Self::Nginx => NGINX,
            Self::Caddy => CADDY,
        }
    }

    /// The docs' block for one app, with the placeholders filled in.
    pub fn site(self, host: &str, port: u16, latchkey: &str, upstream: &str) -> String {
        let block = match self {
            Self::Nginx => NGINX_SITE,
            Self::Caddy => CADDY_SITE,
        };
        block
            .replace("APP_HOST", host)
            .replace("APP_LISTEN", &port.to_string())
            .replace("LATCHKEY", latchkey)
            .replace("UPSTREAM", upstream)
    }
}

impl std::fmt::Display for ProxyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{kind} is not installed ({path} missing): run `make setup`")]
    NotInstalled { kind: ProxyKind, path: &'static str },
    #[error("{0}")]
    Invalid(String),
    #[error("{kind}: {step} failed: {source}")]
    Io {
        kind: ProxyKind,
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{kind} exited while starting ({status}); its output:\n{log}")]
    Exited { kind: ProxyKind, status: std::process::ExitStatus, log: String },
    #[error("{kind} did not start listening on port {port} within {secs} s; its output:\n{log}")]
    NotListening { kind: ProxyKind, port: u16, secs: u64, log: String },
    #[error("{kind}: another process took port {port} first, {START_ATTEMPTS} times in a row")]
    PortTaken { kind: ProxyKind, port: u16 },
}

/// A running nginx or Caddy.
#[derive(Debug)]
pub struct Proxy {
    kind: ProxyKind,
    port: u16,
    child: Child,
    // Declared after the child: dropped once the process is gone.
    dir: tempfile::TempDir,
}

impl Proxy {
    /// nginx on a free port serving each of `hosts` (`app-a.localhost`, …): `/_latchkey/` goes to
    /// `latchkey` (host:port), every other request asks it first and then goes to `upstream`.
    pub fn start_nginx(latchkey: &str, upstream: &str, hosts: &[&str]) -> Result<Self, ProxyError> {
        Self::start(ProxyKind::Nginx, latchkey, upstream, hosts)
    }

    /// Caddy, as [`Proxy::start_nginx`].
    pub fn start_caddy(latchkey: &str, upstream: &str, hosts: &[&str]) -> Result<Self, ProxyError> {
        Self::start(ProxyKind::Caddy, latchkey, upstream, hosts)
    }

    /// nginx or Caddy, as [`Proxy::start_nginx`].
    pub fn start(
        kind: ProxyKind,
        latchkey: &str,
        upstream: &str,
        hosts: &[&str],
    ) -> Result<Self, ProxyError> {
        Self::start_preferring(kind, None, latchkey, upstream, hosts)
    }

    /// [`Proxy::start`] on `port` if it is free (the demo's stable addresses), else on a free
    /// one.
    pub fn start_preferring(
        kind: ProxyKind,
        port: Option<u16>,
        latchkey: &str,
        upstream: &str,
        hosts: &[&str],
    ) -> Result<Self, ProxyError> {
        if !Path::new(kind.program()).exists() {
            return Err(ProxyError::NotInstalled { kind, path: kind.program() });
        }
        check_inputs(latchkey, upstream, hosts)?;
        // A free port is only free until someone else binds it: another process may take it
        // before the proxy does. Then the next port.
        let mut preferred = port.filter(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok());
        let mut attempt = 1;
        loop {
            match Self::start_once(kind, preferred.take(), latchkey, upstream, hosts) {
                Err(ProxyError::PortTaken { .. }) if attempt < START_ATTEMPTS => attempt += 1,
                outcome => return outcome,
            }
        }
    }

    fn start_once(
        kind: ProxyKind,
        port: Option<u16>,
        latchkey: &str,
        upstream: &str,
        hosts: &[&str],
    ) -> Result<Self, ProxyError> {
        let io = |step| move |source| ProxyError::Io { kind, step, source };
        let dir = tempfile::Builder::new()
            .prefix(&format!("latchkey-{kind}-"))
            .tempdir()
            .map_err(io("temp dir"))?;
        let port = match port {
            Some(port) => port,
            None => free_port().map_err(io("finding a free port"))?,
        };
        let token = crate::slapd::random_token();
        let mut sites: Vec<String> =
            hosts.iter().map(|host| kind.site(host, port, latchkey, upstream)).collect();
        sites.push(ready_site(kind, port, &token));
        let sites = sites.join("\n");
        let (config, mut command) = match kind {
            ProxyKind::Nginx => {
                // The directory just made is owned by whoever this process runs as.
                let root = dir.path().metadata().map_err(io("temp dir"))?.uid() == 0;
                (nginx_config(dir.path(), root, &sites), nginx_command(dir.path()))
            }
            ProxyKind::Caddy => (caddy_config(dir.path(), &sites), caddy_command(dir.path())),
        };
        std::fs::write(config_path(kind, dir.path()), config).map_err(io("writing the config"))?;
        let log = File::create(dir.path().join("stderr.log")).map_err(io("log file"))?;
        let log_out = log.try_clone().map_err(io("log file"))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log_out)
            .stderr(log)
            .spawn()
            .map_err(io("starting the process"))?;
        let mut proxy = Self { kind, port, child, dir };
        proxy.wait_ready(&token)?;
        Ok(proxy)
    }

    /// Waits until the port answers with `token`: accepting connections is not enough, since
    /// whoever took the port first (see [`Proxy::start`]) accepts them too.
    fn wait_ready(&mut self, token: &str) -> Result<(), ProxyError> {
        let deadline = Instant::now() + Duration::from_secs(START_SECS);
        while Instant::now() < deadline {
            match ask_ready(self.addr()) {
                Some(answer) if answer.contains(token) => return Ok(()),
                Some(_) => return Err(ProxyError::PortTaken { kind: self.kind, port: self.port }),
                None => {}
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log();
                if log.contains("ddress already in use") {
                    return Err(ProxyError::PortTaken { kind: self.kind, port: self.port });
                }
                return Err(ProxyError::Exited { kind: self.kind, status, log });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(ProxyError::NotListening {
            kind: self.kind,
            port: self.port,
            secs: START_SECS,
            log: self.log(),
        })
    }

    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where to connect: every app host name resolves here (`reqwest`'s `.resolve()`, Chromium's
    /// `*.localhost`).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `http://app-a.localhost:PORT`.
    pub fn origin(&self, host: &str) -> String {
        format!("http://{host}:{}", self.port)
    }

    /// The complete configuration the process runs.
    pub fn config_path(&self) -> PathBuf {
        config_path(self.kind, self.dir.path())
    }

    /// What the process has written to stdout and stderr so far (nginx's error log, Caddy's log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log"))
            .unwrap_or_else(|e| format!("(no log: {e})"))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The values go into configuration files verbatim: refuse what would change their syntax.
fn check_inputs(latchkey: &str, upstream: &str, hosts: &[&str]) -> Result<(), ProxyError> {
    if hosts.is_empty() {
        return Err(ProxyError::Invalid("a proxy needs at least one app host name".into()));
    }
    let plain = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    };
    for (what, value) in [("Latchkey address", latchkey), ("upstream address", upstream)]
        .into_iter()
        .chain(hosts.iter().map(|h| ("app host name", *h)))
    {
        if !plain(value) {
            return Err(ProxyError::Invalid(format!(
                "{what} {value:?}: expected a host name or host:port"
            )));
        }
    }
    for host in hosts {
        if host.contains(':') {
            return Err(ProxyError::Invalid(format!(
                "app host name {host:?}: without a port (the proxy picks its own)"
            )));
        }
    }
    Ok(())
}

/// A port free on every interface (nginx listens on all of them: the docs' `listen APP_LISTEN`).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("0.0.0.0:0")?.local_addr()?.port())
}

/// A site of the harness's own beside the apps, answering [`READY_HOST`] with `token`.
fn ready_site(kind: ProxyKind, port: u16, token: &str) -> String {
    match kind {
        ProxyKind::Nginx => format!(
            "server {{\n    listen {port};\n    server_name {READY_HOST};\n    return 200 \"{token}\\n\";\n}}\n"
        ),
        ProxyKind::Caddy => {
            format!("http://{READY_HOST}:{port} {{\n\trespond \"{token}\" 200\n}}\n")
        }
    }
}

/// The readiness site's answer on `addr`; `None` while nothing listens there (or says nothing).
fn ask_ready(addr: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(100)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    // HTTP/1.0: the server closes the connection after answering, so reading to the end works.
    let request = format!("GET / HTTP/1.0\r\nHost: {READY_HOST}\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    // Whatever arrived before an error or the timeout is the answer.
    let _ = stream.read_to_end(&mut answer);
    (!answer.is_empty()).then(|| String::from_utf8_lossy(&answer).into_owned())
}

fn config_path(kind: ProxyKind, dir: &Path) -> PathBuf {
    dir.join(match kind {
        ProxyKind::Nginx => "nginx.conf",
        ProxyKind::Caddy => "Caddyfile",
    })
}

/// The docs' server blocks inside a configuration of the harness's own: everything nginx writes
/// stays in `dir`, and one process in the foreground (no master, no workers) is ours to kill.
fn nginx_config(dir: &Path, root: bool, sites: &str) -> String {
    let dir = dir.display();
    // As root, nginx chowns its temp directories to `nobody` unless told whose they are.
    let user = if root { "user root;\n" } else { "" };
    format!(
        "# Written by devkit::proxies; the server blocks are docs/forward-auth/nginx.conf.
{user}daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log stderr warn;
events {{
    worker_connections 256;
}}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

{sites}
}}
"
    )
}

fn nginx_command(dir: &Path) -> Command {
    let mut command = Command::new(NGINX);
    // -e: errors before the configuration is read go to stderr too, not to /var/log/nginx.
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(config_path(ProxyKind::Nginx, dir))
        .args(["-e", "stderr"]);
    command
}

/// Global options of the harness's own before the docs' site blocks: no admin endpoint, plain
/// HTTP only, loopback only, storage in `dir`.
fn caddy_config(dir: &Path, sites: &str) -> String {
    format!(
        "# Written by devkit::proxies; the site blocks are docs/forward-auth/Caddyfile.
{{
\tadmin off
\tauto_https off
\tdefault_bind 127.0.0.1
\tstorage file_system {}
}}

{sites}",
        dir.join("data").display()
    )
}

fn caddy_command(dir: &Path) -> Command {
    let mut command = Command::new(CADDY);
    command
        .arg("run")
        .arg("--config")
        .arg(config_path(ProxyKind::Caddy, dir))
        .args(["--adapter", "caddyfile"])
        // Caddy keeps its autosaved config and certificates under these: never the user's own.
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("xdg-data"))
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"));
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README shows operators these files; it must show them as the tests run them.
    #[test]
    fn the_readme_shows_the_files_as_they_are() {
        let readme = include_str!("../../README.md");
        for (name, file) in [("nginx.conf", NGINX_SITE), ("Caddyfile", CADDY_SITE)] {
            assert!(
                readme.contains(file.trim_end()),
                "README.md's copy of docs/forward-auth/{name} differs from the file: paste the file in again"
            );
        }
    }

    #[test]
    fn every_placeholder_is_filled_in() {
        for kind in [ProxyKind::Nginx, ProxyKind::Caddy] {
            let site = kind.site("app-a.localhost", 8080, "127.0.0.1:1", "127.0.0.1:2");
            for placeholder in ["APP_HOST", "APP_LISTEN", "LATCHKEY", "UPSTREAM"] {
                assert!(!site.contains(placeholder), "{kind}: {placeholder} left in\n{site}");
            }
            assert!(site.contains("app-a.localhost") && site.contains("127.0.0.1:2"), "{site}");
        }
    }

    #[test]
    fn inputs_that_would_change_the_config_syntax_are_refused() {
        assert!(check_inputs("127.0.0.1:1", "127.0.0.1:2", &["app-a.localhost"]).is_ok());
        assert!(check_inputs("127.0.0.1:1", "127.0.0.1:2", &[]).is_err());
        assert!(check_inputs("127.0.0.1:1; evil", "127.0.0.1:2", &["a"]).is_err());
        assert!(check_inputs("127.0.0.1:1", "127.0.0.1:2", &["a { }"]).is_err());
        assert!(check_inputs("127.0.0.1:1", "127.0.0.1:2", &["a.localhost:80"]).is_err());
    }
}
