//! Sessions: each person's session generation ([`SessionGenerations`]), and the session store
//! tower-sessions writes through, whose save can never bring a deleted session back.

use async_trait::async_trait;
use domain::directory::UserId;
use domain::ports::{SessionGenerations, Unavailable};

use super::generation_cache::Lookup;
use super::{Db, StoreError};

fn unavailable(e: impl Into<StoreError>) -> Unavailable {
    super::unavailable_in("sessions", e)
}

#[async_trait]
impl SessionGenerations for Db {
    async fn generation(&self, user_id: &UserId) -> Result<i64, Unavailable> {
        let cached = match self {
            Db::Sqlite(_, shared) => match shared.generations.get(user_id.as_str()) {
                Lookup::Hit(generation) => return Ok(generation),
                Lookup::Miss { epoch } => Some((&shared.generations, epoch)),
            },
            Db::Postgres(..) => None,
        };
        let row: Option<(i64,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT generation FROM session_generations WHERE user_id = $1")
                .bind(user_id.as_str())
                .fetch_optional(pool)
                .await
        })
        .map_err(unavailable)?;
        let generation = row.map_or(0, |(g,)| g);
        if let Some((cache, epoch)) = cached {
            cache.loaded(user_id.as_str(), generation, epoch);
        }
        Ok(generation)
    }

    async fn bump(&self, user_id: &UserId, now: i64) -> Result<i64, Unavailable> {
        // One statement: two bumps at once each get their own, higher generation.
        let (generation,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO session_generations (user_id, generation, updated_at) VALUES ($1, 1, $2)
                 ON CONFLICT (user_id) DO UPDATE
                 SET generation = session_generations.generation + 1, updated_at = $2
                 RETURNING generation",
            )
            .bind(user_id.as_str())
            .bind(now)
            .fetch_one(pool)
            .await
        })
        .map_err(unavailable)?;
        if let Db::Sqlite(_, shared) = self {
            shared.generations.bumped(user_id.as_str(), generation);
        }
        Ok(generation)
    }
}

/// A failed session statement, as tower-sessions reports it.
fn backend(e: sqlx::Error) -> tower_sessions::session_store::Error {
    tower_sessions::session_store::Error::Backend(e.to_string())
}

/// tower-sessions' `save`: an UPDATE of the session's row, never an insert. tower-sessions
/// calls `create` for a session without an id (new, flushed, cycled, or whose row was not
/// found when loaded) and `save` only for one it loaded from its row. If that row is gone by
/// the time the request ends (signed out, cycled, ended elsewhere or expired meanwhile), the
/// write finds nothing and nothing comes back: the published store's upsert would re-insert the
/// signed-in session under its old id.
pub(super) async fn update_session(
    db: &Db,
    record: &tower_sessions::session::Record,
) -> tower_sessions::session_store::Result<bool> {
    use tower_sessions::session_store::Error;
    let data = rmp_serde::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
    let sql =
        concat!("UPDATE ", sessions_table!(), " SET data = $1, expiry_date = $2 WHERE id = $3");
    let updated = on_pool!(db, pool => {
        sqlx::query(sql)
            .bind(data)
            .bind(record.expiry_date)
            .bind(record.id.to_string())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
    .map_err(backend)?;
    if updated == 0 {
        tracing::info!("a session that ended during the request was not written back");
    }
    Ok(updated == 1)
}

/// tower-sessions' `create`: a new row under a new random id, whatever id the record carries.
/// After `flush` (sign-out) the record still holds the old id, and the published stores would
/// create the next session under it: a request of the signed-out session still in flight would
/// then find "its" row again and write the signed-in data into it. One `ON CONFLICT DO
/// NOTHING` insert per attempt (the published SQLite store spends three round trips in a
/// transaction, holding the write lock across them); a collision draws another id.
pub(super) async fn create_session(
    db: &Db,
    record: &mut tower_sessions::session::Record,
) -> tower_sessions::session_store::Result<()> {
    use tower_sessions::session::Id;
    use tower_sessions::session_store::Error;
    let sql = concat!(
        "INSERT INTO ",
        sessions_table!(),
        " (id, data, expiry_date) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING"
    );
    loop {
        record.id = Id::default();
        let data = rmp_serde::to_vec(record).map_err(|e| Error::Encode(e.to_string()))?;
        let inserted = on_pool!(db, pool => {
            sqlx::query(sql)
                .bind(record.id.to_string())
                .bind(data)
                .bind(record.expiry_date)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(backend)?;
        if inserted == 1 {
            return Ok(());
        }
    }
}

/// tower-sessions' `load`: the session's record, if its row is there and not expired.
pub(super) async fn load_session(
    db: &Db,
    id: &tower_sessions::session::Id,
) -> tower_sessions::session_store::Result<Option<tower_sessions::session::Record>> {
    use tower_sessions::session_store::Error;
    let sql =
        concat!("SELECT data FROM ", sessions_table!(), " WHERE id = $1 AND expiry_date > $2");
    let row: Option<(Vec<u8>,)> = on_pool!(db, pool => {
        sqlx::query_as(sql)
            .bind(id.to_string())
            .bind(time::OffsetDateTime::now_utc())
            .fetch_optional(pool)
            .await
    })
    .map_err(backend)?;
    row.map(|(data,)| rmp_serde::from_slice(&data).map_err(|e| Error::Decode(e.to_string())))
        .transpose()
}

/// tower-sessions' `delete`.
pub(super) async fn delete_session(
    db: &Db,
    id: &tower_sessions::session::Id,
) -> tower_sessions::session_store::Result<()> {
    let sql = concat!("DELETE FROM ", sessions_table!(), " WHERE id = $1");
    on_pool!(db, pool => {
        sqlx::query(sql).bind(id.to_string()).execute(pool).await.map(|_| ())
    })
    .map_err(backend)
}
