//! The numbers Latchkey verified (table `verified_phones`), on either database.

use async_trait::async_trait;
use domain::directory::UserId;
use domain::phone::E164;
use domain::ports::{Unavailable, VerifiedBy, VerifiedPhone, VerifiedPhones};

use super::{Db, StoreError};

fn unavailable(e: impl Into<StoreError>) -> Unavailable {
    super::unavailable_in("verified_phones", e)
}

#[async_trait]
impl VerifiedPhones for Db {
    async fn verified_phones(&self, user_id: &UserId) -> Result<Vec<VerifiedPhone>, Unavailable> {
        let rows: Vec<(String, i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT number, verified_at, method FROM verified_phones WHERE user_id = $1
                 ORDER BY number",
            )
            .bind(user_id.as_str())
            .fetch_all(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|(number, verified_at, method)| VerifiedPhone { number, verified_at, method })
            .collect())
    }

    async fn mark_verified(
        &self,
        user_id: &UserId,
        number: &E164,
        by: VerifiedBy,
        now: i64,
    ) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO verified_phones (user_id, number, verified_at, method)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id, number) DO UPDATE SET verified_at = $3, method = $4",
            )
            .bind(user_id.as_str())
            .bind(number.as_str())
            .bind(now)
            .bind(by.as_str())
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn forget_verified(&self, user_id: &UserId, number: &str) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM verified_phones WHERE user_id = $1 AND number = $2")
                .bind(user_id.as_str())
                .bind(number)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(unavailable)
    }
}
