//! A temporary PostgreSQL database on the local server, dropped when the guard is.

use sqlx::{Connection, Executor, PgConnection};

/// The server tests use: `LATCHKEY_TEST_POSTGRES` or the local one (trust auth).
pub fn admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[derive(Debug)]
pub struct TempPostgres {
    pub url: String,
    name: String,
    admin: String,
}

impl TempPostgres {
    pub async fn create() -> Result<Self, sqlx::Error> {
        let admin = admin_url();
        let name = format!("latchkey_test_{}_{:08x}", std::process::id(), rand::random::<u32>());
        let mut conn = PgConnection::connect(&admin).await?;
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str()).await?;
        conn.close().await?;
        let url = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => format!("{admin}/{name}"),
        };
        Ok(Self { url, name, admin })
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                let mut conn =
                    PgConnection::connect(&admin).await.map_err(std::io::Error::other)?;
                conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await
                    .map_err(std::io::Error::other)?;
                Ok::<_, std::io::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}
