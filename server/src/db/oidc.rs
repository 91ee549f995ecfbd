//! The OpenID Connect provider's tables (`migrations/*/0008_oidc.sql`): signing keys, waiting
//! authorization requests, grants and their codes and tokens (by HMAC).

use async_trait::async_trait;
use domain::directory::UserId;
use domain::oidc::records::{
    Grant, GrantDetails, GrantsOf, PendingRequest, StoredKey, Taken, TokenDetails, TokenKind,
    TokenRecord,
};
use domain::ports::{OidcStore, Unavailable};

use super::{Db, StoreError};

fn unavailable(e: impl Into<StoreError>) -> Unavailable {
    super::unavailable_in("oidc", e)
}

/// A stored JSON column that does not read back is a bug or tampering: refused, logged.
fn corrupt(what: &str, e: serde_json::Error) -> Unavailable {
    tracing::error!(error = %e, what, "an OpenID Connect record does not read back");
    Unavailable { kind: "database" }
}

type GrantRow = (String, String, String, String, i64, String, i64, i64, i64, Option<i64>);
type TokenRow = (String, String, String, String, i64, i64, Option<i64>);

/// A grant's columns, in [`GrantRow`]'s order, qualified with the alias `g`.
const GRANT_COLUMNS: &str = "g.id, g.client_id, g.user_id, g.sid, g.generation, g.details, \
                             g.created_at, g.last_used_at, g.expires_at, g.revoked_at";
/// The same, unqualified (SQLite's RETURNING takes no table alias).
const GRANT_FIELDS: &str = "id, client_id, user_id, sid, generation, details, created_at, \
                            last_used_at, expires_at, revoked_at";

fn grant_from(row: GrantRow) -> Result<Grant, Unavailable> {
    let (
        id,
        client_id,
        user_id,
        sid,
        generation,
        details,
        created_at,
        last_used_at,
        expires_at,
        revoked_at,
    ) = row;
    let details: GrantDetails =
        serde_json::from_str(&details).map_err(|e| corrupt("grant details", e))?;
    Ok(Grant {
        id,
        client_id,
        user_id: UserId(user_id),
        sid,
        generation,
        details,
        created_at,
        last_used_at,
        expires_at,
        revoked_at,
    })
}

fn kind_from(kind: &str) -> Result<TokenKind, Unavailable> {
    match kind {
        "code" => Ok(TokenKind::Code),
        "access" => Ok(TokenKind::Access),
        "refresh" => Ok(TokenKind::Refresh),
        "forward_code" => Ok(TokenKind::ForwardCode),
        "forward_session" => Ok(TokenKind::ForwardSession),
        other => {
            tracing::error!(kind = other, "an OpenID Connect token of an unknown kind");
            Err(Unavailable { kind: "database" })
        }
    }
}

fn token_from(row: TokenRow) -> Result<TokenRecord, Unavailable> {
    let (digest, kind, grant_id, details, created_at, expires_at, used_at) = row;
    let details: TokenDetails =
        serde_json::from_str(&details).map_err(|e| corrupt("token details", e))?;
    Ok(TokenRecord {
        digest,
        kind: kind_from(&kind)?,
        grant_id,
        details,
        created_at,
        expires_at,
        used_at,
    })
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, Unavailable> {
    serde_json::to_string(value).map_err(|e| corrupt("record", e))
}

impl Db {
    async fn grant_by_id(&self, id: &str) -> Result<Option<Grant>, Unavailable> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM oidc_grants g WHERE g.id = $1");
        let row: Option<GrantRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })
        .map_err(unavailable)?;
        row.map(grant_from).transpose()
    }

    async fn delete_tokens_of(&self, grant_id: &str) -> Result<(), Unavailable> {
        self.run_with("DELETE FROM oidc_tokens WHERE grant_id = $1", grant_id).await
    }

    /// Runs a statement whose one parameter is `value`.
    async fn run_with(&self, sql: &'static str, value: &str) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query(sql).bind(value).execute(pool).await.map(|_| ())
        })
        .map_err(unavailable)
    }
}

#[async_trait]
impl OidcStore for Db {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, Unavailable> {
        let rows: Vec<(String, i64, String, String, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT alg, generation, kid, sealed, created_at, activates_at FROM oidc_keys
                 ORDER BY generation, alg",
            )
            .fetch_all(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|(alg, generation, kid, sealed, created_at, activates_at)| StoredKey {
                alg,
                generation,
                kid,
                sealed,
                created_at,
                activates_at,
            })
            .collect())
    }

    async fn add_signing_key(&self, key: &StoredKey) -> Result<bool, Unavailable> {
        let added = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO oidc_keys (alg, generation, kid, sealed, created_at, activates_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(&key.alg)
            .bind(key.generation)
            .bind(&key.kid)
            .bind(&key.sealed)
            .bind(key.created_at)
            .bind(key.activates_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(unavailable)?;
        Ok(added == 1)
    }

    async fn delete_signing_key(&self, kid: &str) -> Result<(), Unavailable> {
        self.run_with("DELETE FROM oidc_keys WHERE kid = $1", kid).await
    }

    async fn save_request(&self, r: &PendingRequest) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO oidc_requests (id, client_id, request, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&r.id)
            .bind(&r.client_id)
            .bind(&r.request)
            .bind(r.created_at)
            .bind(r.expires_at)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn load_request(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<PendingRequest>, Unavailable> {
        let row: Option<(String, String, String, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, client_id, request, created_at, expires_at FROM oidc_requests
                 WHERE id = $1 AND expires_at > $2",
            )
            .bind(id)
            .bind(now)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(row.map(|(id, client_id, request, created_at, expires_at)| PendingRequest {
            id,
            client_id,
            request,
            created_at,
            expires_at,
        }))
    }

    async fn delete_request(&self, id: &str) -> Result<(), Unavailable> {
        self.run_with("DELETE FROM oidc_requests WHERE id = $1", id).await
    }

    async fn create_grant(&self, g: &Grant, code: &TokenRecord) -> Result<(), Unavailable> {
        let details = json(&g.details)?;
        let code_details = json(&code.details)?;
        on_pool!(self, pool => {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "INSERT INTO oidc_grants (id, client_id, user_id, sid, generation, details,
                     created_at, last_used_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
                )
                .bind(&g.id)
                .bind(&g.client_id)
                .bind(g.user_id.as_str())
                .bind(&g.sid)
                .bind(g.generation)
                .bind(&details)
                .bind(g.created_at)
                .bind(g.expires_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO oidc_tokens (digest, kind, grant_id, details, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&code.digest)
                .bind(code.kind.as_str())
                .bind(&code.grant_id)
                .bind(&code_details)
                .bind(code.created_at)
                .bind(code.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await
            }
            .await
        })
        .map_err(unavailable)
    }

    async fn add_token(&self, t: &TokenRecord) -> Result<(), Unavailable> {
        let details = json(&t.details)?;
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO oidc_tokens (digest, kind, grant_id, details, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&t.digest)
            .bind(t.kind.as_str())
            .bind(&t.grant_id)
            .bind(&details)
            .bind(t.created_at)
            .bind(t.expires_at)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn take_once(
        &self,
        digest: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Taken, Unavailable> {
        // Marked used in the statement that checks it was not: of two uses, one gets the row.
        let taken: Option<TokenRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "UPDATE oidc_tokens SET used_at = $3
                 WHERE digest = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3
                 RETURNING digest, kind, grant_id, details, created_at, expires_at, used_at",
            )
            .bind(digest)
            .bind(kind.as_str())
            .bind(now)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        if let Some(row) = taken {
            let token = token_from(row)?;
            return Ok(match self.grant_by_id(&token.grant_id).await? {
                Some(g) if g.revoked_at.is_none() && g.expires_at > now => Taken::Fresh(token, g),
                _ => Taken::Unknown,
            });
        }
        let used: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT grant_id FROM oidc_tokens WHERE digest = $1 AND kind = $2 AND used_at IS NOT NULL",
            )
            .bind(digest)
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        Ok(match used {
            Some((grant_id,)) => match self.grant_by_id(&grant_id).await? {
                Some(g) if g.revoked_at.is_none() => Taken::Reused(g),
                _ => Taken::Unknown,
            },
            None => Taken::Unknown,
        })
    }

    async fn live_token(
        &self,
        digest: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Option<(TokenRecord, Grant)>, Unavailable> {
        let row: Option<TokenRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT t.digest, t.kind, t.grant_id, t.details, t.created_at, t.expires_at, t.used_at
                 FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id
                 WHERE t.digest = $1 AND t.kind = $2 AND t.used_at IS NULL AND t.expires_at > $3
                   AND g.revoked_at IS NULL AND g.expires_at > $3",
            )
            .bind(digest)
            .bind(kind.as_str())
            .bind(now)
            .fetch_optional(pool)
            .await
        })
        .map_err(unavailable)?;
        let Some(row) = row else { return Ok(None) };
        let token = token_from(row)?;
        Ok(self.grant_by_id(&token.grant_id).await?.map(|grant| (token, grant)))
    }

    async fn delete_token(&self, digest: &str) -> Result<(), Unavailable> {
        self.run_with("DELETE FROM oidc_tokens WHERE digest = $1", digest).await
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE oidc_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(grant_id)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(unavailable)?;
        self.delete_tokens_of(grant_id).await
    }

    async fn revoke_grants(
        &self,
        which: GrantsOf<'_>,
        now: i64,
    ) -> Result<Vec<Grant>, Unavailable> {
        let (filter, first, second) = match which {
            GrantsOf::Person(user) => ("user_id = $2", user.as_str(), None),
            GrantsOf::SignIn(sid) => ("sid = $2", sid, None),
            GrantsOf::PersonAtClient(user, client) => {
                ("user_id = $2 AND client_id = $3", user.as_str(), Some(client))
            }
        };
        let sql = format!(
            "UPDATE oidc_grants SET revoked_at = $1 WHERE {filter} AND revoked_at IS NULL
             RETURNING {GRANT_FIELDS}"
        );
        let rows: Vec<GrantRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql).bind(now).bind(first);
            if let Some(second) = second {
                query = query.bind(second);
            }
            query.fetch_all(pool).await
        })
        .map_err(unavailable)?;
        let grants = rows.into_iter().map(grant_from).collect::<Result<Vec<_>, _>>()?;
        for grant in &grants {
            self.delete_tokens_of(&grant.id).await?;
        }
        Ok(grants)
    }

    async fn live_grants(&self, user_id: &UserId, now: i64) -> Result<Vec<Grant>, Unavailable> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM oidc_grants g
             WHERE g.user_id = $1 AND g.revoked_at IS NULL AND g.expires_at > $2
               AND EXISTS (SELECT 1 FROM oidc_tokens t WHERE t.grant_id = g.id
                           AND t.kind IN ('access', 'refresh', 'forward_session'))
             ORDER BY g.created_at DESC"
        );
        let rows: Vec<GrantRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(user_id.as_str()).bind(now).fetch_all(pool).await
        })
        .map_err(unavailable)?;
        rows.into_iter().map(grant_from).collect()
    }

    async fn touch_grant(&self, grant_id: &str, now: i64) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE oidc_grants SET last_used_at = $2 WHERE id = $1")
                .bind(grant_id)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn restamp_grants(&self, sid: &str, generation: i64) -> Result<(), Unavailable> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE oidc_grants SET generation = $2 WHERE sid = $1 AND revoked_at IS NULL",
            )
            .bind(sid)
            .bind(generation)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(unavailable)
    }

    async fn live_grant_by_token(
        &self,
        digest: &str,
        kind: TokenKind,
        now: i64,
    ) -> Result<Option<(Grant, i64)>, Unavailable> {
        // One statement: it runs for every request a forward-auth proxy lets through.
        let sql = format!(
            "SELECT {GRANT_COLUMNS}, COALESCE(s.generation, 0)
             FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id
             LEFT JOIN session_generations s ON s.user_id = g.user_id
             WHERE t.digest = $1 AND t.kind = $2 AND t.used_at IS NULL AND t.expires_at > $3
               AND g.revoked_at IS NULL AND g.expires_at > $3"
        );
        type Row = (String, String, String, String, i64, String, i64, i64, i64, Option<i64>, i64);
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(digest).bind(kind.as_str()).bind(now).fetch_optional(pool).await
        })
        .map_err(unavailable)?;
        let Some((
            id,
            client_id,
            user_id,
            sid,
            generation,
            details,
            created,
            used,
            expires,
            revoked,
            current,
        )) = row
        else {
            return Ok(None);
        };
        let grant = grant_from((
            id, client_id, user_id, sid, generation, details, created, used, expires, revoked,
        ))?;
        Ok(Some((grant, current)))
    }
}
