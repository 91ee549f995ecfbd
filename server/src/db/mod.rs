//! The SQL store: one pool per process, SQLite or PostgreSQL, with the same queries on both.
//!
//! Queries are written once in portable SQL (`$1` placeholders work on both drivers) and run on
//! whichever pool is configured through [`on_pool!`].

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use domain::codes::Channel;
use domain::{DemoOutbox, DemoText, Probe, Unavailable};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::config::{DatabaseConfig, redact_url_str};

/// The table sessions live in (created by our migrations, not by the session store), as a
/// literal for `concat!`: the session statements run on every request.
macro_rules! sessions_table {
    () => {
        "sessions"
    };
}
const SESSIONS_TABLE: &str = sessions_table!();

#[derive(Debug, Clone)]
pub enum Db {
    /// sqlx's pool (migrations, expired sessions' deletion), and what this process keeps beside
    /// it: one instance owns a SQLite file.
    Sqlite(SqlitePool, Arc<SqliteShared>),
    /// sqlx's pool (migrations, expired sessions' deletion), and the connections statements
    /// run on ([`conns`]).
    Postgres(PgPool, Arc<conns::Conns<PgConnection>>),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// Runs `$body` with `$pool` bound to a connection of whichever database `$db` is, lent for
/// all of the body's statements ([`conns`]). The body is type-checked once per driver, so a
/// query that only one of them accepts fails to compile, not in production. It must not run
/// another `on_pool!` body: it would hold two connections at once.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite(_, shared) => on_lease!(shared.conns, $pool => $body),
            Db::Postgres(_, conns) => on_lease!(conns, $pool => $body),
        }
    };
}

/// [`on_pool!`] on one pool of [`conns`].
macro_rules! on_lease {
    ($conns:expr, $pool:ident => $body:expr) => {
        match $conns.lease().await {
            Ok(mut lease) => {
                // A connection's `begin` is the `Connection` trait's.
                #[allow(unused_imports)]
                use sqlx::Connection as _;
                let $pool = &mut *lease;
                let outcome = $body;
                if lease.judge(&outcome) {
                    $crate::db::note_lost_connection();
                }
                outcome
            }
            Err(e) => {
                if $crate::db::lost_or_timed_out(&e) {
                    $crate::db::note_lost_connection();
                }
                Err(e.into())
            }
        }
    };
}

/// What one process keeps beside its SQLite file.
#[derive(Debug)]
pub struct SqliteShared {
    /// The connections statements run on ([`conns`]).
    conns: conns::Conns<SqliteConnection>,
    /// The session generations read and written through them ([`generation_cache`]).
    generations: generation_cache::GenerationCache,
}

mod account;
mod authenticators;
mod codes;
mod conns;
mod factor_records;
mod generation_cache;
mod oidc;
pub mod retention;
mod session_cache;
mod sessions;
mod sign_in;
mod verified;

/// A failed query, as the domain sees it: the database is unavailable. The error (never a
/// value) is logged here, with the store that ran the query.
pub(super) fn unavailable_in(store: &'static str, e: impl Into<StoreError>) -> Unavailable {
    let e = e.into();
    note_trouble(&e);
    tracing::error!(error = %e, store, "database query failed");
    Unavailable { kind: "database" }
}

/// Connections of sqlx's own pool, beside `database.max_connections` of [`conns`]: it only
/// runs migrations and deletes expired sessions, so an instance opens at most this many more.
const SQLX_POOL_MAX: u32 = 2;

/// How long a PostgreSQL connection may sit idle in the pool before it is pinged when lent.
/// Shorter than any restart of the server takes, so a connection a restart (or an
/// administrator, or `idle_session_timeout`) dropped between two requests is found dead by the
/// ping and replaced, and the request that comes next is served. Under load connections come
/// back within milliseconds and are never pinged; a quiet pool pays one round trip per request.
const PING_AFTER_IDLE: Duration = Duration::from_millis(250);

/// When a statement last failed for want of its connection (Unix ms; 0: never). For
/// [`PING_AFTER_TROUBLE_MS`] after, every PostgreSQL connection is pinged before it is lent, so the
/// pool replaces those the server dropped (a restart, a failover) instead of lending each dead
/// one to a request in turn.
static TROUBLE_AT_MS: AtomicI64 = AtomicI64::new(0);

/// How long after a connection failure every connection is pinged before it is lent.
const PING_AFTER_TROUBLE_MS: i64 = 30_000;

/// Remembers `e` if it says the connection, rather than the statement, failed.
fn note_trouble(e: &StoreError) {
    if lost_connection(e) {
        note_lost_connection();
    }
}

/// Starts (again) the [`PING_AFTER_TROUBLE_MS`] in which every connection is pinged when lent.
fn note_lost_connection() {
    TROUBLE_AT_MS.store(domain::now_ms(), Ordering::Relaxed);
}

fn lost_connection(e: &StoreError) -> bool {
    match e {
        StoreError::Query(e) | StoreError::Connect { source: e, .. } => lost_or_timed_out(e),
        StoreError::Migrate(_) => false,
    }
}

/// A lost connection, or none to be had in time (the server gone, or every connection stuck).
fn lost_or_timed_out(e: &sqlx::Error) -> bool {
    use conns::LostConnection as _;
    e.is_lost_connection() || matches!(e, sqlx::Error::PoolTimedOut)
}

/// Whether a PostgreSQL connection idle for `idle_for` is pinged before it is lent: it may
/// have gone stale (a restart, a firewall), or any connection was lost a moment ago.
fn pg_ping_before_lending(idle_for: Duration) -> bool {
    idle_for >= PING_AFTER_IDLE || recent_trouble()
}

/// Whether a connection failed within the last [`PING_AFTER_TROUBLE_MS`].
fn recent_trouble() -> bool {
    let at = TROUBLE_AT_MS.load(Ordering::Relaxed);
    at != 0 && domain::now_ms().saturating_sub(at) < PING_AFTER_TROUBLE_MS
}

impl Db {
    /// Makes sure `user_id` has a settings row for `number` (unnamed, added `now`) and leaves an
    /// existing one as it is.
    pub(super) async fn ensure_phone_row(
        &self,
        user_id: &str,
        number: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO phone_settings (user_id, number, added_at) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id, number) DO NOTHING",
            )
            .bind(user_id)
            .bind(number)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(StoreError::from)
    }

    /// Opens the pool and proves it with one connection, so a wrong URL fails at start-up.
    pub async fn connect(cfg: &DatabaseConfig) -> Result<Self, StoreError> {
        let timeout = Duration::from_secs(cfg.connect_timeout_secs.max(1));
        let connect_err = |source| StoreError::Connect { url: redact_url_str(&cfg.url), source };
        if cfg.url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(&cfg.url)
                .map_err(connect_err)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            // Statements run on [`conns`], which never pings a SQLite connection: it is a file
            // this process holds open and cannot go stale. sqlx's pool serves migrations and
            // the deletion of expired sessions (it proves the URL here with one connection);
            // its connections close after a minute idle.
            let pool = SqlitePoolOptions::new()
                .max_connections(SQLX_POOL_MAX)
                .acquire_timeout(timeout)
                .test_before_acquire(false)
                .idle_timeout(Duration::from_secs(60))
                .connect_with(options.clone())
                .await
                .map_err(connect_err)?;
            let shared = SqliteShared {
                conns: conns::Conns::new(options, cfg.max_connections, timeout, |_| false),
                generations: generation_cache::GenerationCache::default(),
            };
            Ok(Db::Sqlite(pool, Arc::new(shared)))
        } else {
            // A connection idle for a while is pinged before it is lent (the server may have
            // restarted or a firewall dropped it), and so is every connection for a while after
            // one failed ([`recent_trouble`]); one in steady use is not, which saves a round
            // trip to the server on every statement under load. The same rule on both pools.
            let options = PgConnectOptions::from_str(&cfg.url).map_err(connect_err)?;
            let pool = PgPoolOptions::new()
                .max_connections(SQLX_POOL_MAX)
                .acquire_timeout(timeout)
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if pg_ping_before_lending(meta.idle_for) {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .idle_timeout(Duration::from_secs(60))
                .connect_with(options.clone())
                .await
                .map_err(connect_err)?;
            let conns =
                conns::Conns::new(options, cfg.max_connections, timeout, pg_ping_before_lending);
            Ok(Db::Postgres(pool, Arc::new(conns)))
        }
    }

    /// Applies every migration not yet applied. Safe to run from several instances at once
    /// (sqlx takes a lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(pool, _) => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
            Db::Postgres(pool, _) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// One statement on a lent connection; a lost one opens the trouble window (`on_pool!`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(..) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool, shared) => {
                shared.conns.close().await;
                pool.close().await;
            }
            Db::Postgres(pool, conns) => {
                conns.close().await;
                pool.close().await;
            }
        }
    }

    /// The tower-sessions store on this pool.
    pub fn session_store(&self) -> SqlSessionStore {
        match self {
            Db::Sqlite(pool, _) => SqlSessionStore::Sqlite(
                SqliteStore::new(pool.clone())
                    .with_table_name(SESSIONS_TABLE)
                    .unwrap_or_else(|_| unreachable!("constant table name is valid")),
                self.clone(),
                session_cache::SessionCache::default(),
            ),
            Db::Postgres(pool, _) => SqlSessionStore::Postgres(
                PostgresStore::new(pool.clone())
                    .with_schema_name("public")
                    .and_then(|s| s.with_table_name(SESSIONS_TABLE))
                    .unwrap_or_else(|_| unreachable!("constant names are valid")),
                self.clone(),
            ),
        }
    }

    pub async fn two_factor_enabled(&self, user_id: &str) -> Result<bool, StoreError> {
        let row: Option<(bool,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT two_factor_enabled FROM user_settings WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.is_some_and(|(on,)| on))
    }

    pub async fn set_two_factor(
        &self,
        user_id: &str,
        on: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO user_settings (user_id, two_factor_enabled, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id) DO UPDATE SET two_factor_enabled = $2, updated_at = $3",
            )
            .bind(user_id)
            .bind(on)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn record_demo_text(
        &self,
        to: &str,
        body: &str,
        sent_at: i64,
    ) -> Result<(), StoreError> {
        self.record_demo_message(to, Channel::Text, body, sent_at).await
    }

    /// A text, or a call as its transcript, for the demo phone.
    pub async fn record_demo_message(
        &self,
        to: &str,
        kind: Channel,
        body: &str,
        sent_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO demo_texts (to_number, kind, body, sent_at) VALUES ($1, $2, $3, $4)")
                .bind(to)
                .bind(kind.as_str())
                .bind(body)
                .bind(sent_at)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn recent_demo_texts(&self, limit: u32) -> Result<Vec<DemoText>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT to_number, kind, body, sent_at FROM demo_texts ORDER BY id DESC LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(to, kind, body, sent_at)| DemoText {
                to,
                kind: Channel::parse(&kind),
                body,
                sent_at,
            })
            .collect())
    }
}

#[async_trait]
impl Probe for Db {
    async fn probe(&self) -> Result<(), Unavailable> {
        self.ping().await.map_err(|e| {
            tracing::warn!(error = %e, backend = self.backend(), "database probe failed");
            Unavailable { kind: "unreachable" }
        })
    }
}

/// The demo phone reads what the demo SMS provider wrote.
#[derive(Debug, Clone)]
pub struct DemoInbox(pub Db);

#[async_trait]
impl DemoOutbox for DemoInbox {
    async fn recent(&self, limit: u32) -> Result<Vec<DemoText>, Unavailable> {
        self.0.recent_demo_texts(limit).await.map_err(|e| {
            tracing::error!(error = %e, "cannot read the demo texts");
            Unavailable { kind: "query" }
        })
    }
}

/// tower-sessions' store for whichever database is configured. Rows are created only by
/// `create`, always under a new id, and `save` only ever updates a row that still exists, so a
/// request that read a session before it was signed out or cycled cannot write it back when it
/// ends ([`sessions::create_session`], [`sessions::update_session`]). Every statement but the
/// deletion of expired sessions runs on the database's own connections ([`on_pool!`]).
#[derive(Debug, Clone)]
pub enum SqlSessionStore {
    /// The published store (expired sessions), the database, and the sessions read or written,
    /// in memory: SQLite serves one instance, so nobody else changes its rows.
    Sqlite(SqliteStore, Db, session_cache::SessionCache),
    /// The published store (expired sessions), and the database.
    Postgres(PostgresStore, Db),
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(_, db, cache) => {
                sessions::create_session(db, record).await?;
                cache.created(record);
                Ok(())
            }
            Self::Postgres(_, db) => sessions::create_session(db, record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(_, db, cache) => {
                let ticket = cache.ticket();
                match sessions::update_session(db, record).await {
                    Ok(written) => {
                        cache.saved(record, written, ticket);
                        Ok(())
                    }
                    Err(e) => {
                        cache.forget(&record.id);
                        Err(e)
                    }
                }
            }
            Self::Postgres(_, db) => sessions::update_session(db, record).await.map(|_| ()),
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(_, db, cache) => {
                if let Some(record) = cache.get(id) {
                    return Ok(Some(record));
                }
                let ticket = cache.ticket();
                let record = sessions::load_session(db, id).await?;
                if let Some(record) = &record {
                    cache.loaded(record, ticket);
                }
                Ok(record)
            }
            Self::Postgres(_, db) => sessions::load_session(db, id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(_, db, cache) => {
                // Out of memory before and after the row goes: a request of this session still
                // in flight cannot put it back, whatever order its read or write lands in.
                cache.ending(id);
                let deleted = sessions::delete_session(db, id).await;
                cache.ending(id);
                deleted
            }
            Self::Postgres(_, db) => sessions::delete_session(db, id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for SqlSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s, _, _) => s.delete_expired().await,
            Self::Postgres(s, _) => s.delete_expired().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_has_every_connection_pinged_for_a_while() {
        let io = || StoreError::Query(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()));
        assert!(lost_connection(&io()));
        assert!(lost_connection(&StoreError::Query(sqlx::Error::PoolTimedOut)));
        assert!(
            !lost_connection(&StoreError::Query(sqlx::Error::RowNotFound)),
            "a statement's own"
        );
        note_trouble(&io());
        assert!(recent_trouble());
    }
}
