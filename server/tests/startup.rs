//! The binary's start-up and operator commands, run as an operator would run them: each bad
//! configuration or unreachable dependency stops start-up with one line naming it.

mod common;

use std::process::{Command, Output};

use common::{Backend, TestDb, env_for};
use devkit::slapd::{self, Options, Slapd};

fn latchkey(args: &[&str], env: &[(String, String)], cwd: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LATCHKEY_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run latchkey")
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("latchkey: "))
        .map(str::to_owned)
        .collect()
}

/// `serve` with this environment must fail with exactly one line, which this returns.
fn serve_fails(env: &[(String, String)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = latchkey(&["serve"], env, dir.path());
    assert_eq!(out.status.code(), Some(2), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "one clear line, got {lines:?}");
    lines[0].clone()
}

fn set(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.into(), value.into()));
}

#[tokio::test]
async fn a_typo_in_the_config_file_stops_start_up() {
    let slapd = Slapd::start("").unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("latchkey.toml"), "[server]\nadress = \"127.0.0.1:0\"\n")
        .unwrap();
    let out = latchkey(&["serve"], &env_for(&slapd, &db.url, &[]), dir.path());
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("latchkey: config: unknown key server.adress"), "{}", lines[0]);
    assert!(lines[0].contains("latchkey.toml"), "{}", lines[0]);
}

#[tokio::test]
async fn branding_that_would_hurt_reading_stops_start_up() {
    let slapd = Slapd::start("").unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_for(&slapd, &db.url, &[]);
    set(&mut env, "LATCHKEY_SERVER__ACCENT_COLOR", "#ffcc00");
    set(&mut env, "LATCHKEY_SERVER__LOGO", "/no/such/logo.png");
    let out = latchkey(&["serve"], &env, dir.path());
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains(
            "server.accent_color = \"#ffcc00\" gives white button text a contrast of 1.5:1"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("server.logo = \"/no/such/logo.png\" cannot be read"),
        "{}",
        lines[1]
    );
}

#[tokio::test]
async fn a_missing_secret_stops_start_up() {
    let slapd = Slapd::start("").unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let mut env = env_for(&slapd, &db.url, &[]);
    env.retain(|(k, _)| k != "LATCHKEY_DIRECTORY__BIND_PASSWORD");
    let line = serve_fails(&env);
    assert!(line.starts_with("latchkey: config: directory.bind_password is missing"), "{line}");
}

#[tokio::test]
async fn an_unreachable_directory_stops_start_up() {
    let mut slapd = Slapd::start("").unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let env = env_for(&slapd, &db.url, &[]);
    slapd.stop();
    let line = serve_fails(&env);
    assert!(
        line.starts_with(&format!(
            "latchkey: directory: cannot reach the directory at {}",
            slapd.url()
        )),
        "{line}"
    );
}

#[tokio::test]
async fn a_wrong_service_password_stops_start_up() {
    let slapd = Slapd::start("").unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let mut env = env_for(&slapd, &db.url, &[]);
    set(&mut env, "LATCHKEY_DIRECTORY__BIND_PASSWORD", "wrong-password");
    let line = serve_fails(&env);
    assert!(line.contains("refused the service account"), "{line}");
    assert!(line.contains("invalid credentials"), "{line}");
    assert!(!line.contains("wrong-password"), "the password never appears: {line}");
}

#[tokio::test]
async fn an_unreachable_database_stops_start_up_without_showing_its_password() {
    let slapd = Slapd::start("").unwrap();
    let mut env = env_for(&slapd, "", &[]);
    // Nothing listens on port 1.
    set(&mut env, "LATCHKEY_DATABASE__URL", "postgres://app:db-secret-pw@127.0.0.1:1/latchkey");
    set(&mut env, "LATCHKEY_DATABASE__CONNECT_TIMEOUT_SECS", "2");
    let line = serve_fails(&env);
    assert!(
        line.starts_with("latchkey: database: cannot open the database at postgres://app:"),
        "{line}"
    );
    assert!(!line.contains("db-secret-pw"), "{line}");
}

#[tokio::test]
async fn an_address_in_use_stops_start_up() {
    let slapd = Slapd::start("").unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let env = env_for(&slapd, &db.url, &[("LATCHKEY_SERVER__ADDRESS", &addr)]);
    let line = serve_fails(&env);
    assert!(line.starts_with(&format!("latchkey: server: cannot listen on {addr}")), "{line}");
}

#[tokio::test]
async fn check_reports_each_dependency() {
    let slapd = Slapd::start(&common::demo_seed()).unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let out = latchkey(&["check"], &env_for(&slapd, &db.url, &[]), dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("database     ok:"), "{stdout}");
        assert!(stdout.contains("saw 5 people (4 with a mobile)"), "{stdout}");
        assert!(stdout.contains("admins       ok: group cn=latchkey-admins"), "{stdout}");
        assert!(
            stdout.contains("voice        ok: calls are printed to standard output"),
            "{stdout}"
        );
    }
}

#[tokio::test]
async fn check_says_exactly_what_failed() {
    let slapd = Slapd::start(&common::demo_seed()).unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let env = env_for(
        &slapd,
        &db.url,
        &[
            ("LATCHKEY_DIRECTORY__BASE_DN", "ou=nobody,dc=example,dc=org"),
            ("LATCHKEY_DIRECTORY__ADMIN_GROUP_DN", "cn=missing,ou=groups,dc=example,dc=org"),
        ],
    );
    let out = latchkey(&["check"], &env, dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("database     ok:"), "{stdout}");
    assert!(
        stdout.contains("directory    FAILED:"),
        "a missing base DN fails the search: {stdout}"
    );
}

#[tokio::test]
async fn print_config_redacts_secrets() {
    let slapd = Slapd::start("").unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let out = latchkey(&["print-config"], &env_for(&slapd, &db.url, &[]), dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("bind_password = \"<redacted>\""), "{stdout}");
    assert!(!stdout.contains(&slapd.service_password), "{stdout}");
    assert!(!stdout.contains(common::KEY), "{stdout}");
}

#[tokio::test]
async fn migrate_creates_the_schema_on_both_databases() {
    let slapd = Slapd::start("").unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..2 {
            let out = latchkey(&["migrate"], &env_for(&slapd, &db.url, &[]), dir.path());
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(stdout.contains("is up to date"), "{stdout}");
        }
        let conn = db.open().await;
        conn.set_two_factor("someone", true, 1).await.expect("schema exists");
    }
}

mod sms {
    use super::*;
    use devkit::twilio_standin::{StandinAccount, TwilioStandin};

    fn twilio_env(
        slapd: &Slapd,
        db: &str,
        standin: &TwilioStandin,
        token: &str,
    ) -> Vec<(String, String)> {
        env_for(
            slapd,
            db,
            &[
                ("LATCHKEY_SMS__PROVIDER", "twilio"),
                ("LATCHKEY_SMS__TWILIO__ACCOUNT_SID", &standin.account.account_sid),
                ("LATCHKEY_SMS__TWILIO__AUTH_TOKEN", token),
                ("LATCHKEY_SMS__TWILIO__FROM", "+15017122661"),
                ("LATCHKEY_SMS__TWILIO__BASE_URL", &standin.url),
            ],
        )
    }

    /// Texts through a messaging service, and no `from` or `voice_from`: no calls.
    fn messaging_service_only(env: &[(String, String)]) -> Vec<(String, String)> {
        let mut service = env.to_vec();
        service.retain(|(k, _)| k != "LATCHKEY_SMS__TWILIO__FROM");
        set(
            &mut service,
            "LATCHKEY_SMS__TWILIO__MESSAGING_SERVICE_SID",
            &format!("MG{}", "2c".repeat(16)),
        );
        service
    }

    // Multi-threaded: the stand-in must answer while this thread waits for the command.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn check_verifies_twilio_credentials() {
        let slapd = Slapd::start(&common::demo_seed()).unwrap();
        let db = TestDb::new(Backend::Sqlite).await;
        let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();

        let good = twilio_env(&slapd, &db.url, &standin, &standin.account.auth_token);
        let out = latchkey(&["check"], &good, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("sms          ok: Twilio accepted the credentials"), "{stdout}");
        assert!(
            stdout.contains("voice        ok: calls from •••• 2661, ringing 30 s, at most 60 s"),
            "{stdout}"
        );

        let bad = twilio_env(&slapd, &db.url, &standin, "wrong-token-value");
        let out = latchkey(&["check"], &bad, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains("sms          FAILED: Twilio 20003"), "{stdout}");
        assert!(!stdout.contains("wrong-token-value"), "{stdout}");
        assert!(standin.texts().is_empty(), "checking sends nothing");
        assert!(standin.calls().is_empty(), "checking calls nobody");

        // Only a messaging service: texts work, calls are off, and check says so without failing.
        let service = messaging_service_only(&good);
        let out = latchkey(&["check"], &service, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("voice        not configured: "), "{stdout}");
        assert!(stdout.contains("landlines cannot be enrolled"), "{stdout}");
        assert!(stdout.contains("\"Call me instead\""), "{stdout}");
    }

    // Multi-threaded: the stand-in must answer while this thread waits for the command.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn send_test_call_calls_through_the_provider() {
        let slapd = Slapd::start("").unwrap();
        let db = TestDb::new(Backend::Sqlite).await;
        let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let env = twilio_env(&slapd, &db.url, &standin, &standin.account.auth_token);

        let out = latchkey(&["send-test-call", "--to", "(201) 555-0123"], &env, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("called •••• 0123 (provider call id CA"), "{stdout}");
        let calls = standin.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].to, "+12015550123");
        assert_eq!(calls[0].from, "+15017122661");
        assert!(calls[0].said.contains("test call from"), "{}", calls[0].said);
        assert!(standin.texts().is_empty(), "a call, not a text");

        let out = latchkey(&["send-test-call", "--to", "1-800-555-0199"], &env, dir.path());
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            stderr_lines(&out),
            ["latchkey: sms: \"1-800-555-0199\" cannot be used: Toll-free numbers cannot be used."]
        );

        standin.fail_next(1, devkit::twilio_standin::Fault::Error { status: 400, code: 21216 });
        let out = latchkey(&["send-test-call", "--to", "+12015550123"], &env, dir.path());
        let lines = stderr_lines(&out);
        assert_eq!(out.status.code(), Some(2));
        assert!(lines[0].contains("Twilio 21216"), "{lines:?}");

        let service = messaging_service_only(&env);
        let out = latchkey(&["send-test-call", "--to", "+12015550123"], &service, dir.path());
        let lines = stderr_lines(&out);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            lines[0]
                .starts_with("latchkey: sms: sms.twilio has a messaging service and no voice_from"),
            "{lines:?}"
        );
        assert_eq!(standin.calls().len(), 1, "no second call");
    }

    // Multi-threaded: the stand-in must answer while this thread waits for the command.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn send_test_sms_texts_through_the_provider() {
        let slapd = Slapd::start("").unwrap();
        let db = TestDb::new(Backend::Sqlite).await;
        let standin = TwilioStandin::start(StandinAccount::test()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let env = twilio_env(&slapd, &db.url, &standin, &standin.account.auth_token);

        let out = latchkey(&["send-test-sms", "--to", "(201) 555-0123"], &env, dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("sent to •••• 0123"), "{stdout}");
        let texts = standin.texts();
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0].to, "+12015550123");
        assert!(texts[0].body.contains("test message"), "{}", texts[0].body);

        let out = latchkey(&["send-test-sms", "--to", "1-800-555-0199"], &env, dir.path());
        let lines = stderr_lines(&out);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            lines,
            ["latchkey: sms: \"1-800-555-0199\" cannot be used: Toll-free numbers cannot be used."]
        );

        standin.fail_next(1, devkit::twilio_standin::Fault::Error { status: 400, code: 21610 });
        let out = latchkey(&["send-test-sms", "--to", "+12015550123"], &env, dir.path());
        let lines = stderr_lines(&out);
        assert_eq!(out.status.code(), Some(2));
        assert!(lines[0].contains("Twilio 21610"), "{lines:?}");
        assert_eq!(standin.texts().len(), 1, "no second text");
    }
}

// --- TLS to the directory (issue 14, finding 5) ---

#[tokio::test]
async fn plain_ldap_to_another_host_stops_start_up_unless_allowed_in_words() {
    let slapd = Slapd::start("").unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let mut env = env_for(&slapd, &db.url, &[]);
    // 192.0.2.1 (TEST-NET-1): another host, which nothing answers.
    set(&mut env, "LATCHKEY_DIRECTORY__URL", "ldap://192.0.2.1:389");
    set(&mut env, "LATCHKEY_DIRECTORY__TIMEOUT_SECS", "1");
    let line = serve_fails(&env);
    assert_eq!(
        line,
        "latchkey: config: directory.url = \"ldap://192.0.2.1:389\" would send every password to 192.0.2.1 in clear: set directory.starttls = true, or use ldaps://192.0.2.1:636 (with directory.ca_certificates for a private CA); only on a network you trust completely, set directory.allow_plaintext = true"
    );
    // Allowed in words: the configuration passes, and start-up goes on to the directory.
    set(&mut env, "LATCHKEY_DIRECTORY__ALLOW_PLAINTEXT", "true");
    let line = serve_fails(&env);
    assert!(line.starts_with("latchkey: directory: "), "{line}");
}

#[tokio::test]
async fn starttls_and_ldaps_serve_and_check_with_the_right_ca_and_stop_with_a_wrong_one() {
    let slapd =
        Slapd::start_opts(&common::demo_seed(), &Options { tls: true, ..Options::default() })
            .unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = slapd.ca_file().unwrap().display().to_string();
    let mut env = env_for(&slapd, &db.url, &[]);
    set(&mut env, "LATCHKEY_DIRECTORY__STARTTLS", "true");
    set(&mut env, "LATCHKEY_DIRECTORY__CA_CERTIFICATES", &ca);
    let out = latchkey(&["check"], &env, dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("({}, CA {ca})", "StartTLS")), "{stdout}");
    assert!(stdout.contains("saw 5 people"), "{stdout}");

    let mut ldaps = env.clone();
    set(&mut ldaps, "LATCHKEY_DIRECTORY__URL", &slapd.ldaps_url().unwrap());
    set(&mut ldaps, "LATCHKEY_DIRECTORY__STARTTLS", "false");
    let out = latchkey(&["check"], &ldaps, dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(LDAPS, CA "), "{stdout}");

    let wrong = slapd::throwaway_ca(dir.path(), "wrong").unwrap();
    set(&mut env, "LATCHKEY_DIRECTORY__CA_CERTIFICATES", &wrong.display().to_string());
    let line = serve_fails(&env);
    assert!(
        line.starts_with(&format!(
            "latchkey: directory: TLS with the directory at {} failed: invalid peer certificate: UnknownIssuer: check directory.ca_certificates",
            slapd.url()
        )),
        "{line}"
    );
    set(&mut env, "LATCHKEY_DIRECTORY__CA_CERTIFICATES", "/no/such/ca.pem");
    let line = serve_fails(&env);
    assert!(
        line.starts_with(
            "latchkey: config: directory.ca_certificates = \"/no/such/ca.pem\" cannot be read"
        ),
        "{line}"
    );
}

// --- Can people write their own phone? (issue 14, finding 4) ---

#[tokio::test]
async fn check_warns_when_people_may_write_their_own_phone() {
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let run = |slapd: &Slapd| {
        let out = latchkey(&["check"], &env_for(slapd, &db.url, &[]), dir.path());
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(0), "a warning does not fail the check: {stdout}");
        stdout.lines().find(|l| l.starts_with("phone writes")).expect(&stdout).to_owned()
    };
    let reads_config = Options { service_reads_config: true, ..Options::default() };
    let open = Options { self_writes_phone: true, ..reads_config.clone() };
    let line = run(&Slapd::start_opts(&common::demo_seed(), &open).unwrap());
    assert!(line.starts_with("phone writes WARNING: people may write their own mobile (access rule \"{1}to attrs=mobile"), "{line}");
    let line = run(&Slapd::start_opts(&common::demo_seed(), &reads_config).unwrap());
    assert!(line.starts_with("phone writes ok: people cannot write their own mobile"), "{line}");
    let line = run(&Slapd::start(&common::demo_seed()).unwrap());
    assert!(
        line.starts_with(
            "phone writes unknown: could not tell whether people may write their own mobile"
        ),
        "{line}"
    );
}

/// Attributes the service account cannot read (here: that nobody has) show up as what they
/// would break: no unique id means nobody can sign in; no display name, pages show logins.
#[tokio::test]
async fn check_names_attributes_the_service_account_cannot_read() {
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let slapd = Slapd::start(&common::demo_seed()).unwrap();
    let run = |extra: &[(&str, &str)]| {
        let out = latchkey(&["check"], &env_for(&slapd, &db.url, extra), dir.path());
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, stdout) = run(&[("LATCHKEY_DIRECTORY__USER_ID_ATTRIBUTE", "employeeNumber")]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("read rights  FAILED: the service account reads no employeeNumber on people, so nobody can sign in"),
        "{stdout}"
    );
    let (code, stdout) = run(&[("LATCHKEY_DIRECTORY__DISPLAY_NAME_ATTRIBUTE", "displayName")]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("read rights  WARNING: the service account reads no displayName"),
        "{stdout}"
    );
    let (_, stdout) = run(&[]);
    assert!(!stdout.contains("read rights"), "{stdout}");
    assert!(stdout.contains("flavour      ok: openldap (OpenLDAP)"), "{stdout}");
}

#[tokio::test]
async fn check_says_where_the_browser_assets_come_from() {
    let slapd = Slapd::start(&common::demo_seed()).unwrap();
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    // An explicit server.site_root holding the wasm: the assets come from there.
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/latchkey.wasm"), b"\0asm").unwrap();
    let site_root = site.display().to_string();
    let env = env_for(&slapd, &db.url, &[("LATCHKEY_SERVER__SITE_ROOT", &site_root)]);
    let out = latchkey(&["check"], &env, dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(&format!("assets       ok: from {site_root}/pkg")), "{stdout}");
    // A site root without them: a warning naming the directory, not a failure (pages still work
    // without JavaScript); unless this binary carries its own, which then serve.
    let env = env_for(&slapd, &db.url, &[("LATCHKEY_SERVER__SITE_ROOT", "/nonexistent")]);
    let out = latchkey(&["check"], &env, dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("assets       WARNING: the browser assets (latchkey.wasm, .js, .css) are missing from /nonexistent/pkg")
            || stdout.contains("files built into the binary"),
        "{stdout}"
    );
}
