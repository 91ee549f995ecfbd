//! The security page's store: phone metadata and remembered browsers, on either database.

use async_trait::async_trait;
use domain::directory::UserId;
use domain::ports::Unavailable;
use domain::{ports::AccountStore, security::TrustedBrowser};

use super::{Db, StoreError};

fn unavailable(e: impl Into<StoreError>) -> Unavailable {
    super::unavailable_in("account", e)
}

#[async_trait]
impl AccountStore for Db {
    async fn name_phone(
        &self,
        user_id: &UserId,
        number: &str,
        nickname: &str,
        now: i64,
    ) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO phone_settings (user_id, number, nickname, added_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id, number) DO UPDATE SET nickname = $3",
            )
            .bind(user_id.as_str())
            .bind(number)
            .bind(nickname)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn prefer_phone(
        &self,
        user_id: &UserId,
        number: &str,
        now: i64,
    ) -> Result<(), Unavailable> {
        self.ensure_phone_row(user_id.as_str(), number, now).await.map_err(unavailable)?;
        // One preferred second factor across phones and apps: both tables in one transaction.
        on_pool!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query("UPDATE phone_settings SET preferred = (number = $2) WHERE user_id = $1")
                    .bind(user_id.as_str())
                    .bind(number)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE totp_credentials SET preferred = FALSE WHERE user_id = $1")
                    .bind(user_id.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
            .await
        })
        .map_err(unavailable)
    }

    async fn forget_phone(&self, user_id: &UserId, number: &str) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM phone_settings WHERE user_id = $1 AND number = $2")
                .bind(user_id.as_str())
                .bind(number)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn prune_phones(&self, user_id: &UserId, keep: &[String]) -> Result<(), Unavailable> {
        let numbers: Vec<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT number FROM phone_settings WHERE user_id = $1")
                .bind(user_id.as_str())
                .fetch_all(pool)
                .await
        })
        .map_err(unavailable)?;
        for (number,) in numbers {
            if !keep.contains(&number) {
                self.forget_phone(user_id, &number).await?;
            }
        }
        Ok(())
    }

    async fn trusted_browsers(
        &self,
        user_id: &UserId,
        now: i64,
    ) -> Result<Vec<TrustedBrowser>, Unavailable> {
        let rows: Vec<(String, String, i64, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, description, created_at, last_used_at, expires_at FROM trusted_browsers
                 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
                 ORDER BY last_used_at DESC",
            )
            .bind(user_id.as_str())
            .bind(now)
            .fetch_all(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|(id, description, created_at, last_used_at, expires_at)| TrustedBrowser {
                id,
                description,
                created_at,
                last_used_at,
                expires_at,
            })
            .collect())
    }

    async fn forget_browsers(
        &self,
        user_id: &UserId,
        id: Option<&str>,
        now: i64,
    ) -> Result<u64, Unavailable> {
        // `$3 IS NULL` selects them all; a typed NULL keeps PostgreSQL sure of the type.
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE trusted_browsers SET revoked_at = $2
                 WHERE user_id = $1 AND revoked_at IS NULL AND (CAST($3 AS TEXT) IS NULL OR id = $3)",
            )
            .bind(user_id.as_str())
            .bind(now)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(unavailable)
    }
}
