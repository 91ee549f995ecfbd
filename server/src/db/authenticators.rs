//! Authenticator apps and recovery codes, on either database. Every check-and-change is one
//! statement (replay of an app's time step, single use of a recovery code), so parallel
//! requests on several instances cannot both win.

use std::collections::HashMap;

use async_trait::async_trait;
use domain::authenticator::{RecoveryStatus, StoredApp};
use domain::directory::UserId;
use domain::ports::{AuthenticatorStore, Unavailable};

use super::{Db, StoreError};

fn unavailable(e: impl Into<StoreError>) -> Unavailable {
    super::unavailable_in("authenticators", e)
}

type AppRow = (String, String, String, i64, Option<i64>, i64, bool);

fn stored_app(user_id: &UserId, row: AppRow) -> StoredApp {
    let (id, name, sealed_secret, created_at, last_used_at, last_step, preferred) = row;
    StoredApp {
        id,
        user_id: user_id.clone(),
        name,
        sealed_secret,
        created_at,
        last_used_at,
        last_step,
        preferred,
    }
}

#[async_trait]
impl AuthenticatorStore for Db {
    async fn factors(
        &self,
        user_id: &UserId,
    ) -> Result<(Vec<StoredApp>, RecoveryStatus), Unavailable> {
        let apps: Vec<AppRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, sealed_secret, created_at, last_used_at, last_step, preferred
                 FROM totp_credentials WHERE user_id = $1 ORDER BY created_at, id",
            )
            .bind(user_id.as_str())
            .fetch_all(pool)
            .await
        })
        .map_err(unavailable)?;
        let codes: (i64, Option<i64>, Option<i64>) = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*) - COUNT(used_at), MIN(created_at), MAX(used_at)
                 FROM recovery_codes WHERE user_id = $1",
            )
            .bind(user_id.as_str())
            .fetch_one(pool)
            .await
        })
        .map_err(unavailable)?;
        let apps = apps.into_iter().map(|row| stored_app(user_id, row)).collect();
        let recovery = RecoveryStatus {
            remaining: u32::try_from(codes.0).unwrap_or(0),
            created_at: codes.1,
            last_used_at: codes.2,
        };
        Ok((apps, recovery))
    }

    async fn app(&self, user_id: &UserId, app_id: &str) -> Result<Option<StoredApp>, Unavailable> {
        let row: Option<AppRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, sealed_secret, created_at, last_used_at, last_step, preferred
                 FROM totp_credentials WHERE user_id = $1 AND id = $2",
            )
            .bind(user_id.as_str())
            .bind(app_id)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(row.map(|row| stored_app(user_id, row)))
    }

    async fn add_app(&self, app: &StoredApp) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO totp_credentials
                 (id, user_id, name, sealed_secret, created_at, last_used_at, last_step, preferred)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&app.id)
            .bind(app.user_id.as_str())
            .bind(&app.name)
            .bind(&app.sealed_secret)
            .bind(app.created_at)
            .bind(app.last_used_at)
            .bind(app.last_step)
            .bind(app.preferred)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn use_app_step(
        &self,
        user_id: &UserId,
        app_id: &str,
        step: i64,
        now: i64,
    ) -> Result<bool, Unavailable> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE totp_credentials SET last_step = $3, last_used_at = $4
                 WHERE user_id = $1 AND id = $2 AND last_step < $3",
            )
            .bind(user_id.as_str())
            .bind(app_id)
            .bind(step)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(unavailable)?;
        Ok(done == 1)
    }

    async fn reseal_app(
        &self,
        user_id: &UserId,
        app_id: &str,
        sealed: &str,
    ) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE totp_credentials SET sealed_secret = $3 WHERE user_id = $1 AND id = $2")
                .bind(user_id.as_str())
                .bind(app_id)
                .bind(sealed)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn rename_app(
        &self,
        user_id: &UserId,
        app_id: &str,
        name: &str,
    ) -> Result<bool, Unavailable> {
        let n = on_pool!(self, pool => {
            sqlx::query("UPDATE totp_credentials SET name = $3 WHERE user_id = $1 AND id = $2")
                .bind(user_id.as_str())
                .bind(app_id)
                .bind(name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(unavailable)?;
        Ok(n == 1)
    }

    async fn remove_app(&self, user_id: &UserId, app_id: &str) -> Result<bool, Unavailable> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1 AND id = $2")
                .bind(user_id.as_str())
                .bind(app_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(unavailable)?;
        Ok(n == 1)
    }

    async fn prefer_app(
        &self,
        user_id: &UserId,
        app_id: &str,
        _now: i64,
    ) -> Result<bool, Unavailable> {
        let n = on_pool!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                let n = sqlx::query(
                    "UPDATE totp_credentials SET preferred = (id = $2) WHERE user_id = $1",
                )
                .bind(user_id.as_str())
                .bind(app_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let found: Option<(String,)> = sqlx::query_as(
                    "SELECT id FROM totp_credentials WHERE user_id = $1 AND id = $2",
                )
                .bind(user_id.as_str())
                .bind(app_id)
                .fetch_optional(&mut *tx)
                .await?;
                if found.is_none() {
                    // Gone meanwhile: nothing changes.
                    tx.rollback().await?;
                    return Ok::<_, sqlx::Error>(0);
                }
                sqlx::query("UPDATE phone_settings SET preferred = FALSE WHERE user_id = $1")
                    .bind(user_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(n)
            }
            .await
        })
        .map_err(unavailable)?;
        Ok(n > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &UserId,
        digests: &[String],
        now: i64,
    ) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(user_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                for digest in digests {
                    sqlx::query(
                        "INSERT INTO recovery_codes (user_id, digest, created_at) VALUES ($1, $2, $3)",
                    )
                    .bind(user_id.as_str())
                    .bind(digest)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }
            .await
        })
        .map_err(unavailable)
    }

    async fn use_recovery_code(
        &self,
        user_id: &UserId,
        digests: &[String],
        now: i64,
    ) -> Result<Option<u32>, Unavailable> {
        let mut used = false;
        for digest in digests {
            let n = on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE recovery_codes SET used_at = $3
                     WHERE user_id = $1 AND digest = $2 AND used_at IS NULL",
                )
                .bind(user_id.as_str())
                .bind(digest)
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
            })
            .map_err(unavailable)?;
            if n == 1 {
                used = true;
                break;
            }
        }
        if !used {
            return Ok(None);
        }
        let (left,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
                .bind(user_id.as_str())
                .fetch_one(pool)
                .await
        })
        .map_err(unavailable)?;
        Ok(Some(u32::try_from(left).unwrap_or(0)))
    }

    async fn remove_recovery_codes(&self, user_id: &UserId) -> Result<u64, Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id.as_str())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(unavailable)
    }

    async fn remove_all(&self, user_id: &UserId) -> Result<(u64, u64), Unavailable> {
        on_pool!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                let apps = sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1")
                    .bind(user_id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let codes = sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok::<_, sqlx::Error>((apps, codes))
            }
            .await
        })
        .map_err(unavailable)
    }

    async fn counts(
        &self,
        user_ids: &[UserId],
    ) -> Result<HashMap<String, (u32, u32)>, Unavailable> {
        let mut out = HashMap::new();
        // A page of people (at most the admin page size): one small query each keeps the SQL
        // portable (no array binds on SQLite).
        for id in user_ids {
            let (apps, codes): (i64, i64) = on_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT (SELECT COUNT(*) FROM totp_credentials WHERE user_id = $1),
                            (SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL)",
                )
                .bind(id.as_str())
                .fetch_one(pool)
                .await
            })
            .map_err(unavailable)?;
            out.insert(
                id.as_str().to_owned(),
                (u32::try_from(apps).unwrap_or(0), u32::try_from(codes).unwrap_or(0)),
            );
        }
        Ok(out)
    }
}
