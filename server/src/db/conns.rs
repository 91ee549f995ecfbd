//! The connections statements run on: a pool that lends a connection and takes it back
//! without a round trip to it.
//!
//! sqlx 0.8's pool pings every connection it takes back (it cannot be told not to), in a task
//! it spawns for it: on SQLite a second hand-off to the connection's thread per statement, on
//! PostgreSQL a second round trip to the server. This pool puts a connection back as it is.
//! What that ping was for is kept another way:
//! - what a cancelled request left behind (a transaction neither committed nor rolled back, a
//!   reply not read) is settled by sqlx on the connection before the next borrower's first
//!   statement (the rollback is queued when the transaction is dropped);
//! - a connection a statement found lost ([`LostConnection`]) is not put back;
//! - a connection that may have gone stale while idle (PostgreSQL: the server restarted, a
//!   firewall dropped it) is pinged before it is lent, by the pool's own rule.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::StoreError;

pub struct Conns<C: Connection> {
    options: C::Options,
    /// Open connections not lent out and since when, the most recently used last (warm).
    idle: Mutex<Vec<(C, Instant)>>,
    /// One permit per connection that may be open; closed when the pool is.
    permits: Semaphore,
    acquire_timeout: Duration,
    /// Whether a connection idle this long is pinged before it is lent.
    ping_after: fn(Duration) -> bool,
}

impl<C: Connection> std::fmt::Debug for Conns<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conns")
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl<C: Connection> Conns<C> {
    pub fn new(
        options: C::Options,
        max: u32,
        acquire_timeout: Duration,
        ping_after: fn(Duration) -> bool,
    ) -> Self {
        let max = usize::try_from(max.max(1)).unwrap_or(1);
        Self {
            options,
            idle: Mutex::new(Vec::with_capacity(max)),
            permits: Semaphore::new(max),
            acquire_timeout,
            ping_after,
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(C, Instant)>> {
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A connection for one or more statements: an idle one, or a new one while fewer than the
    /// maximum are open. Waits up to the acquire timeout for one to come back.
    pub async fn lease(&self) -> Result<Lease<'_, C>, sqlx::Error> {
        let permit = match tokio::time::timeout(self.acquire_timeout, self.permits.acquire()).await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        };
        loop {
            let Some((mut conn, since)) = self.idle().pop() else {
                let conn = self.options.connect().await?;
                return Ok(Lease { conns: self, conn: Some(conn), _permit: permit });
            };
            if (self.ping_after)(since.elapsed())
                && let Err(e) = conn.ping().await
            {
                // Dropped, not closed: a close would talk to a connection that is gone.
                tracing::info!(error = %e, "an idle database connection was lost; opening another");
                continue;
            }
            return Ok(Lease { conns: self, conn: Some(conn), _permit: permit });
        }
    }

    /// Closes the idle connections and lends no more; those lent out close when they return.
    pub async fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle());
        for (conn, _) in idle {
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "closing a database connection failed");
            }
        }
    }
}

/// A lent connection; dropping it puts the connection back.
pub struct Lease<'a, C: Connection> {
    conns: &'a Conns<C>,
    conn: Option<C>,
    _permit: SemaphorePermit<'a>,
}

impl<C: Connection> Lease<'_, C> {
    /// Gives the connection back, unless `outcome` says it was lost; says whether it was.
    pub fn judge<T, E: LostConnection>(mut self, outcome: &Result<T, E>) -> bool {
        let lost = outcome.as_ref().is_err_and(LostConnection::is_lost_connection);
        if lost {
            tracing::info!("a database connection was lost; it is not lent again");
            self.conn = None;
        }
        lost
    }
}

impl<C: Connection> std::ops::Deref for Lease<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken only by drop and judge, which end the lease"))
    }
}

impl<C: Connection> std::ops::DerefMut for Lease<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("taken only by drop and judge, which end the lease"))
    }
}

impl<C: Connection> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.conns.permits.is_closed() {
            return; // closing: dropped, the connection ends
        }
        // Put back before the permit is (fields drop after this), so a waiter finds it.
        self.conns.idle().push((conn, Instant::now()));
    }
}

/// An error that says the connection, not the statement, failed.
pub trait LostConnection {
    fn is_lost_connection(&self) -> bool;
}

impl LostConnection for sqlx::Error {
    fn is_lost_connection(&self) -> bool {
        match self {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            // Class 08 (connection exception) and 57P (operator intervention: the server shut
            // down or ended this backend).
            sqlx::Error::Database(d) => {
                d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
            }
            _ => false,
        }
    }
}

impl LostConnection for StoreError {
    fn is_lost_connection(&self) -> bool {
        match self {
            StoreError::Query(e) | StoreError::Connect { source: e, .. } => e.is_lost_connection(),
            StoreError::Migrate(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

    use super::*;

    fn conns(dir: &tempfile::TempDir, max: u32) -> Conns<SqliteConnection> {
        conns_pinging(dir, max, |_| false)
    }

    fn conns_pinging(
        dir: &tempfile::TempDir,
        max: u32,
        ping_after: fn(Duration) -> bool,
    ) -> Conns<SqliteConnection> {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("pool.db"))
            .create_if_missing(true);
        Conns::new(options, max, Duration::from_millis(200), ping_after)
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
            let mut tx = lease.begin().await.unwrap();
            sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await.unwrap();
            // Dropped: neither committed nor rolled back by the code that began it.
        }
        let mut lease = pool.lease().await.unwrap();
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM t").fetch_one(&mut *lease).await.unwrap();
        assert_eq!(n, 0);
        // And the connection is out of the transaction: this one commits.
        let mut tx = lease.begin().await.unwrap();
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

    #[tokio::test]
    async fn a_connection_idle_past_the_rule_is_pinged_and_lent_when_alive() {
        let dir = tempfile::tempdir().unwrap();
        let pool = conns_pinging(&dir, 1, |_| true);
        {
            let mut lease = pool.lease().await.unwrap();
            sqlx::query("CREATE TEMP TABLE mine (x INTEGER)").execute(&mut *lease).await.unwrap();
        }
        // Pinged and alive: the same connection.
        let mut lease = pool.lease().await.unwrap();
        sqlx::query("INSERT INTO mine VALUES (1)").execute(&mut *lease).await.unwrap();
    }
}
