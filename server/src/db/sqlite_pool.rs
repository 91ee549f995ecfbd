//! The SQLite connections statements run on: a pool that lends a connection and takes it back
//! without a round trip to it.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands it every command over a
//! channel. Its pool pings a connection whenever it takes one back (sqlx 0.8 cannot turn this
//! off), so a statement through it cost two hand-offs to that thread and back, and a task
//! spawned to make the second. A SQLite connection is a file this process holds open: it does
//! not go stale, and what a dropped statement or transaction left behind (a rollback) is
//! already queued on its thread ahead of the next command. So this pool lends a connection and
//! puts it back as it is; one whose thread is gone ([`sqlx::Error::WorkerCrashed`]) is not put
//! back, and a new one is opened in its place when needed.

use std::sync::Mutex;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::StoreError;

pub struct SqliteConns {
    options: SqliteConnectOptions,
    /// Open connections not lent out, the most recently used last (its pages are warm).
    idle: Mutex<Vec<SqliteConnection>>,
    /// One permit per connection that may be open; closed when the pool is.
    permits: Semaphore,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for SqliteConns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteConns")
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl SqliteConns {
    pub fn new(options: SqliteConnectOptions, max: u32, acquire_timeout: Duration) -> Self {
        let max = usize::try_from(max.max(1)).unwrap_or(1);
        Self {
            options,
            idle: Mutex::new(Vec::with_capacity(max)),
            permits: Semaphore::new(max),
            acquire_timeout,
        }
    }

    /// A connection for one or more statements: an idle one, or a new one while fewer than the
    /// maximum are open. Waits up to the acquire timeout for one to come back.
    pub async fn lease(&self) -> Result<Lease<'_>, sqlx::Error> {
        let permit = match tokio::time::timeout(self.acquire_timeout, self.permits.acquire()).await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        };
        let idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.options.connect().await?,
        };
        Ok(Lease { conns: self, conn: Some(conn), _permit: permit })
    }

    /// Closes the idle connections and lends no more; those lent out close when they return.
    pub async fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(
            &mut *self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for conn in idle {
            if let Err(e) = sqlx::Connection::close(conn).await {
                tracing::warn!(error = %e, "closing a SQLite connection failed");
            }
        }
    }
}

/// A lent connection; dropping it puts the connection back.
pub struct Lease<'a> {
    conns: &'a SqliteConns,
    conn: Option<SqliteConnection>,
    _permit: SemaphorePermit<'a>,
}

impl Lease<'_> {
    /// Keeps the connection out of the pool if `outcome` says its thread is gone.
    pub fn judge<T, E: LostConnection>(&mut self, outcome: &Result<T, E>) {
        if outcome.as_ref().is_err_and(LostConnection::is_lost_connection) {
            tracing::warn!("a SQLite connection's worker thread is gone; it is not reused");
            self.conn = None;
        }
    }
}

impl std::ops::Deref for Lease<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().unwrap_or_else(|| unreachable!("taken only on drop or when judged lost"))
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().unwrap_or_else(|| unreachable!("taken only on drop or when judged lost"))
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.conns.permits.is_closed() {
            return; // closing: the connection's thread ends when it is dropped
        }
        self.conns.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(conn);
    }
}

/// An error that says the connection, not the statement, failed.
pub trait LostConnection {
    fn is_lost_connection(&self) -> bool;
}

impl LostConnection for sqlx::Error {
    fn is_lost_connection(&self) -> bool {
        matches!(self, sqlx::Error::WorkerCrashed)
    }
}

impl LostConnection for StoreError {
    fn is_lost_connection(&self) -> bool {
        matches!(self, StoreError::Query(e) if e.is_lost_connection())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conns(dir: &tempfile::TempDir, max: u32) -> SqliteConns {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("pool.db"))
            .create_if_missing(true);
        SqliteConns::new(options, max, Duration::from_millis(200))
    }

    #[tokio::test]
    async fn a_connection_goes_back_as_it_is_and_is_lent_again() {
        let dir = tempfile::tempdir().unwrap();
        let pool = conns(&dir, 2);
        {
            let mut lease = pool.lease().await.unwrap();
            sqlx::query("CREATE TEMP TABLE mine (x INTEGER)").execute(&mut *lease).await.unwrap();
        }
        // A temporary table lives on its connection: the one lent next is the same.
        let mut lease = pool.lease().await.unwrap();
        sqlx::query("INSERT INTO mine VALUES (1)").execute(&mut *lease).await.unwrap();
    }

    #[tokio::test]
    async fn a_transaction_dropped_unfinished_is_rolled_back_before_the_next_borrower() {
        let dir = tempfile::tempdir().unwrap();
        let pool = conns(&dir, 1);
        {
            let mut lease = pool.lease().await.unwrap();
            sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut *lease).await.unwrap();
            let mut tx = sqlx::Connection::begin(&mut *lease).await.unwrap();
            sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await.unwrap();
            // Dropped: neither committed nor rolled back by the code that began it.
        }
        let mut lease = pool.lease().await.unwrap();
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM t").fetch_one(&mut *lease).await.unwrap();
        assert_eq!(n, 0);
        // And the connection is out of the transaction: this one commits.
        let mut tx = sqlx::Connection::begin(&mut *lease).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (2)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn no_more_than_the_maximum_are_lent_and_a_waiter_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let pool = conns(&dir, 2);
        let a = pool.lease().await.unwrap();
        let _b = pool.lease().await.unwrap();
        assert!(matches!(pool.lease().await.err(), Some(sqlx::Error::PoolTimedOut)));
        drop(a);
        pool.lease().await.unwrap();
    }

    #[tokio::test]
    async fn a_lost_connection_is_not_reused_and_a_closed_pool_lends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pool = conns(&dir, 1);
        {
            let mut lease = pool.lease().await.unwrap();
            sqlx::query("CREATE TEMP TABLE mine (x INTEGER)").execute(&mut *lease).await.unwrap();
            lease.judge::<(), _>(&Err(sqlx::Error::WorkerCrashed));
        }
        // A new connection: the temporary table of the old one is not there.
        let mut lease = pool.lease().await.unwrap();
        assert!(sqlx::query("INSERT INTO mine VALUES (1)").execute(&mut *lease).await.is_err());
        drop(lease);
        pool.close().await;
        assert!(matches!(pool.lease().await.err(), Some(sqlx::Error::PoolClosed)));
    }
}
