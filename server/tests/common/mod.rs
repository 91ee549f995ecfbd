//! Shared by the integration tests: real slapd, real SQLite file or PostgreSQL database, the
//! real server on a free port.
#![allow(dead_code)] // each test binary uses a different part

use std::net::SocketAddr;

pub mod browser;

use devkit::directories::TestDirectory;
use devkit::postgres::TempPostgres;
use devkit::slapd::Slapd;
use server::config::Config;
use server::db::Db;

/// Declares each listed `async fn name(backend: Backend)` as two tests, one on SQLite and one
/// on PostgreSQL: one contract, every store.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
              async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
              async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

pub const KEY: &str = "integration-test-key-0123456789abcdef";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of the chosen kind that lives as long as the value.
pub struct TestDb {
    pub url: String,
    _pg: Option<TempPostgres>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", dir.path().join("latchkey.db").display()),
                _pg: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let pg = TempPostgres::create()
                    .await
                    .expect("PostgreSQL on 127.0.0.1:5432 must be running for the tests");
                Self { url: pg.url.clone(), _pg: Some(pg), _dir: dir }
            }
        }
    }

    pub async fn open(&self) -> Db {
        let db = Db::connect(&server::config::DatabaseConfig {
            url: self.url.clone(),
            max_connections: 5,
            connect_timeout_secs: 5,
        })
        .await
        .expect("connect");
        db.migrate().await.expect("migrate");
        db
    }
}

/// The environment a test server runs with.
pub fn env_for(
    directory: &dyn TestDirectory,
    db_url: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let d = directory.directory_config();
    let service_password = directory.service_password();
    let mut env: Vec<(String, String)> = [
        ("LATCHKEY_SERVER__ADDRESS", "127.0.0.1:0"),
        ("LATCHKEY_SERVER__PUBLIC_URL", "http://127.0.0.1:3000"),
        ("LATCHKEY_DATABASE__URL", db_url),
        ("LATCHKEY_DIRECTORY__URL", d.url.as_str()),
        ("LATCHKEY_DIRECTORY__BIND_DN", d.bind_dn.as_str()),
        ("LATCHKEY_DIRECTORY__BIND_PASSWORD", service_password.as_str()),
        ("LATCHKEY_DIRECTORY__BASE_DN", d.base_dn.as_str()),
        ("LATCHKEY_DIRECTORY__FLAVOUR", d.flavour.as_str()),
        ("LATCHKEY_DIRECTORY__ADMIN_GROUP_DN", d.admin_group_dn.as_str()),
        ("LATCHKEY_DIRECTORY__GROUP_BASE_DN", d.group_base_dn.as_str()),
        ("LATCHKEY_SECURITY__HMAC_KEYS", KEY),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        env.retain(|(existing, _)| existing != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

pub fn demo_seed() -> String {
    devkit::demo::seed_ldif()
}

/// A running server with its own directory (OpenLDAP unless the test chose another flavour)
/// and database.
pub struct TestApp<D: TestDirectory = Slapd> {
    pub url: String,
    pub addr: SocketAddr,
    pub directory: D,
    pub db: Db,
    pub config: Config,
    _db: TestDb,
    task: tokio::task::JoinHandle<()>,
}

impl<D: TestDirectory> TestApp<D> {
    pub fn client(&self) -> reqwest::Client {
        server::sms::install_crypto_provider();
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client")
    }
}

impl<D: TestDirectory> Drop for TestApp<D> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn spawn_app(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    spawn_app_seeded(backend, extra, &demo_seed()).await
}

/// [`spawn_app`] with a directory of one's own.
pub async fn spawn_app_seeded(backend: Backend, extra: &[(&str, &str)], seed: &str) -> TestApp {
    spawn_app_with_slapd(backend, extra, Slapd::start(seed).expect("slapd")).await
}

/// [`spawn_app`] on a directory started by the test (e.g. with the password-policy overlay).
pub async fn spawn_app_with_slapd<D: TestDirectory>(
    backend: Backend,
    extra: &[(&str, &str)],
    slapd: D,
) -> TestApp<D> {
    // LATCHKEY_TEST_LOG=debug shows the server's log beside a failing test's output.
    if let Ok(filter) = std::env::var("LATCHKEY_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
    let test_db = TestDb::new(backend).await;
    let env = env_for(&slapd, &test_db.url, extra);
    let config = Config::load_layers(None, &env).expect("config");
    spawn_configured(config, slapd, test_db).await
}

/// Starts the server with a configuration of the test's own (e.g. from a file).
pub async fn spawn_configured<D: TestDirectory>(
    config: Config,
    directory: D,
    test_db: TestDb,
) -> TestApp<D> {
    let prepared = server::commands::prepare(&config).await.expect("start-up");
    let addr = prepared.listener.local_addr().expect("addr");
    let db = prepared.db.clone();
    let run_config = config.clone();
    let task = tokio::spawn(async move {
        let _ = server::commands::run(prepared, &run_config).await;
    });
    TestApp { url: format!("http://{addr}"), addr, directory, db, config, _db: test_db, task }
}
