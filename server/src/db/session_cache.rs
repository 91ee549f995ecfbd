//! Sessions in memory in front of their SQLite rows. SQLite serves one instance, so every change
//! to a row goes through this process's store and the cache can follow it: a request reads its
//! session from memory instead of a query (a sign-in's seven requests read it seven times).
//! PostgreSQL serves several instances, where a sign-out on one must hold on the others at once:
//! there, every read goes to the database.
//!
//! The database stays the truth. Writes go to it first and the cache follows what they did; a
//! session that ends (sign-out, a new id) is remembered as ended for a while, so a request of it
//! still in flight can neither read it from memory nor put it back when its own write lands.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tower_sessions::session::{Id, Record};

/// Sessions kept at most; beyond, live ones are dropped (read again from the database when
/// next asked for) and ended ones stay until their time is up.
const CAPACITY: usize = 20_000;

/// How long an ended session is remembered as ended: longer than any request takes.
const ENDED_FOR: Duration = Duration::from_secs(300);

#[derive(Clone, Default)]
pub struct SessionCache(Arc<Mutex<HashMap<Id, Entry>>>);

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCache")
    }
}

enum Entry {
    Live(Record),
    Ended { until: Instant },
}

/// What the cache knows of a session.
pub enum Cached {
    Live(Record),
    /// Ended (deleted or replaced by a new id): there is no such session.
    Ended,
    /// Not in memory: ask the database.
    Unknown,
}

impl SessionCache {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<Id, Entry>) -> T) -> T {
        // A panic while holding the lock leaves a map that is still consistent entry by entry.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn get(&self, id: &Id) -> Cached {
        self.with(|map| match map.get(id) {
            Some(Entry::Live(record)) if record.expiry_date > time::OffsetDateTime::now_utc() => {
                Cached::Live(record.clone())
            }
            Some(Entry::Ended { until }) if *until > Instant::now() => Cached::Ended,
            Some(_) => {
                // Expired: the database answers (and filters expired rows the same way).
                map.remove(id);
                Cached::Unknown
            }
            None => Cached::Unknown,
        })
    }

    /// A new row was inserted for `record` (always under a new id).
    pub fn created(&self, record: &Record) {
        self.with(|map| {
            make_room(map);
            map.insert(record.id, Entry::Live(record.clone()));
        });
    }

    /// `record` was read from its row: kept unless the session ended meanwhile or a newer
    /// write is already here.
    pub fn loaded(&self, record: &Record) {
        self.with(|map| {
            if !map.contains_key(&record.id) {
                make_room(map);
                map.insert(record.id, Entry::Live(record.clone()));
            }
        });
    }

    /// `record` was written to its row (`written`), or found no row to write.
    pub fn saved(&self, record: &Record, written: bool) {
        self.with(|map| match map.get(&record.id) {
            Some(Entry::Ended { .. }) => {}
            _ if written => {
                make_room(map);
                map.insert(record.id, Entry::Live(record.clone()));
            }
            _ => {
                map.remove(&record.id);
            }
        });
    }

    /// The session is being deleted; remembered as ended before its row goes.
    pub fn ended(&self, id: &Id) {
        self.with(|map| {
            make_room(map);
            map.insert(*id, Entry::Ended { until: Instant::now() + ENDED_FOR });
        });
    }
}

fn make_room(map: &mut HashMap<Id, Entry>) {
    if map.len() < CAPACITY {
        return;
    }
    let (now, wall) = (Instant::now(), time::OffsetDateTime::now_utc());
    map.retain(|_, entry| match entry {
        Entry::Live(record) => record.expiry_date > wall,
        Entry::Ended { until } => *until > now,
    });
    if map.len() >= CAPACITY {
        map.retain(|_, entry| matches!(entry, Entry::Ended { .. }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: i128, minutes: i64) -> Record {
        Record {
            id: Id(id),
            data: HashMap::new(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes),
        }
    }

    fn is_live(cached: Cached) -> bool {
        matches!(cached, Cached::Live(_))
    }

    #[test]
    fn an_ended_session_stays_ended_whatever_lands_after() {
        let cache = SessionCache::default();
        let r = record(1, 10);
        cache.created(&r);
        assert!(is_live(cache.get(&r.id)));
        cache.ended(&r.id);
        // A request of it that read it before writes back, or reads it from its row, late.
        cache.saved(&r, true);
        cache.loaded(&r);
        assert!(matches!(cache.get(&r.id), Cached::Ended));
    }

    #[test]
    fn a_write_that_found_no_row_forgets_the_session() {
        let cache = SessionCache::default();
        let r = record(2, 10);
        cache.loaded(&r);
        cache.saved(&r, false);
        assert!(matches!(cache.get(&r.id), Cached::Unknown));
    }

    #[test]
    fn a_load_does_not_overwrite_a_newer_write() {
        let cache = SessionCache::default();
        let mut newer = record(3, 10);
        newer.data.insert("k".into(), serde_json::json!(2));
        cache.saved(&newer, true);
        cache.loaded(&record(3, 10));
        let Cached::Live(got) = cache.get(&newer.id) else { panic!("live") };
        assert_eq!(got.data.get("k"), Some(&serde_json::json!(2)));
    }

    #[test]
    fn expired_sessions_are_not_served() {
        let cache = SessionCache::default();
        let r = record(4, -1);
        cache.created(&r);
        assert!(matches!(cache.get(&r.id), Cached::Unknown));
    }

    #[test]
    fn a_full_cache_drops_live_sessions_but_remembers_ended_ones() {
        let cache = SessionCache::default();
        cache.ended(&Id(-1));
        for i in 0..CAPACITY as i128 + 10 {
            cache.created(&record(i, 10));
        }
        assert!(cache.with(|map| map.len()) <= CAPACITY);
        assert!(matches!(cache.get(&Id(-1)), Cached::Ended));
    }
}
