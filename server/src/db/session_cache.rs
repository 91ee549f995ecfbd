//! Sessions in memory in front of their SQLite rows. SQLite serves one instance, so every change
//! to a row goes through this process's store and the cache can follow it: a request reads its
//! session from memory instead of a query (a sign-in's seven requests read it seven times).
//! PostgreSQL serves several instances, where a sign-out on one must hold on the others at once:
//! there, every read goes to the database.
//!
//! The database stays the truth. Writes go to it first and the cache follows what they did. A
//! read or write of a row takes a [`Ticket`] before it starts; if any session ended since (a
//! deletion began or finished), what it found is not kept, so a request of an ended session
//! still in flight cannot put it back in memory. A deletion drops the session from memory both
//! before and after its row goes. The cache holds live sessions only: its size never depends on
//! how many sessions have ended (it once remembered each ended session for five minutes, which at
//! a few hundred sign-outs a second filled it and made every insertion scan it; issue 19,
//! ninth pass).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tower_sessions::session::{Id, Record};

/// Sessions kept at most. A full cache drops the expired ones and, if that is not enough, half
/// of the rest (read again from the database when next asked for), so that it fills up at most
/// once per `CAPACITY / 2` insertions.
const CAPACITY: usize = 20_000;

#[derive(Clone, Default)]
pub struct SessionCache(Arc<Mutex<Sessions>>);

#[derive(Default)]
struct Sessions {
    live: HashMap<Id, Record>,
    /// Deletions begun or finished, ever: what a [`Ticket`] compares.
    ends: u64,
}

/// The number of session ends when a row's read or write began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCache")
    }
}

impl SessionCache {
    fn with<T>(&self, f: impl FnOnce(&mut Sessions) -> T) -> T {
        // A panic while holding the lock leaves a map that is still consistent entry by entry.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The live session `id` if it is in memory; `None`: ask the database.
    pub fn get(&self, id: &Id) -> Option<Record> {
        self.with(|s| match s.live.get(id) {
            Some(record) if record.expiry_date > time::OffsetDateTime::now_utc() => {
                Some(record.clone())
            }
            Some(_) => {
                // Expired: the database answers (and filters expired rows the same way).
                s.live.remove(id);
                None
            }
            None => None,
        })
    }

    /// Taken before a row is read or written, and given back with what it found.
    pub fn ticket(&self) -> Ticket {
        self.with(|s| Ticket(s.ends))
    }

    /// A new row was inserted for `record`. Its id is new, so no deletion of it can have begun.
    pub fn created(&self, record: &Record) {
        self.with(|s| s.keep(record));
    }

    /// `record` was read from its row: kept unless a session ended since `ticket` or a newer
    /// write is already here.
    pub fn loaded(&self, record: &Record, ticket: Ticket) {
        self.with(|s| {
            if s.ends == ticket.0 && !s.live.contains_key(&record.id) {
                s.keep(record);
            }
        });
    }

    /// `record` was written to its row (`written`), or found no row to write: kept only when
    /// it was written and no session ended since `ticket`.
    pub fn saved(&self, record: &Record, written: bool, ticket: Ticket) {
        self.with(|s| {
            if written && s.ends == ticket.0 {
                s.keep(record);
            } else {
                s.live.remove(&record.id);
            }
        });
    }

    /// A write of the session failed: memory may no longer match its row.
    pub fn forget(&self, id: &Id) {
        self.with(|s| {
            s.live.remove(id);
        });
    }

    /// Called before the session's row is deleted and again after (whether or not the deletion
    /// succeeded): a read or write that overlapped either cannot leave it in memory.
    pub fn ending(&self, id: &Id) {
        self.with(|s| {
            s.live.remove(id);
            s.ends += 1;
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.with(|s| s.live.len())
    }
}

impl Sessions {
    fn keep(&mut self, record: &Record) {
        if self.live.len() >= CAPACITY && !self.live.contains_key(&record.id) {
            let wall = time::OffsetDateTime::now_utc();
            self.live.retain(|_, r| r.expiry_date > wall);
            let mut over = self.live.len().saturating_sub(CAPACITY / 2);
            self.live.retain(|_, _| {
                let keep = over == 0;
                over = over.saturating_sub(1);
                keep
            });
        }
        self.live.insert(record.id, record.clone());
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

    /// A sign-out while another request of the session is under way, in each order the
    /// other request's steps can land in around the two halves of the deletion.
    #[test]
    fn an_ended_session_stays_out_whatever_lands_after() {
        let cache = SessionCache::default();
        let r = record(1, 10);
        cache.created(&r);
        assert!(cache.get(&r.id).is_some());

        // The other request read or wrote the row before the deletion began and lands after.
        let before = cache.ticket();
        cache.ending(&r.id);
        cache.saved(&r, true, before);
        cache.loaded(&r, before);
        assert!(cache.get(&r.id).is_none(), "a ticket from before the deletion is stale");

        // It began between the deletion's halves (the row still there) and lands after both.
        let between = cache.ticket();
        cache.ending(&r.id);
        cache.loaded(&r, between);
        cache.saved(&r, true, between);
        assert!(cache.get(&r.id).is_none(), "a ticket from between the halves is stale");

        // It began between the halves and landed before the second: the second removes it.
        let r2 = record(2, 10);
        cache.created(&r2);
        cache.ending(&r2.id);
        let between = cache.ticket();
        cache.loaded(&r2, between);
        assert!(cache.get(&r2.id).is_some());
        cache.ending(&r2.id);
        assert!(cache.get(&r2.id).is_none(), "the deletion's second half drops it");
    }

    #[test]
    fn a_write_that_found_no_row_or_failed_forgets_the_session() {
        let cache = SessionCache::default();
        let r = record(2, 10);
        cache.loaded(&r, cache.ticket());
        cache.saved(&r, false, cache.ticket());
        assert!(cache.get(&r.id).is_none());
        cache.created(&r);
        cache.forget(&r.id);
        assert!(cache.get(&r.id).is_none());
    }

    #[test]
    fn a_load_does_not_overwrite_a_newer_write() {
        let cache = SessionCache::default();
        let mut newer = record(3, 10);
        newer.data.insert("k".into(), serde_json::json!(2));
        cache.saved(&newer, true, cache.ticket());
        cache.loaded(&record(3, 10), cache.ticket());
        let got = cache.get(&newer.id).expect("live");
        assert_eq!(got.data.get("k"), Some(&serde_json::json!(2)));
    }

    #[test]
    fn expired_sessions_are_not_served() {
        let cache = SessionCache::default();
        let r = record(4, -1);
        cache.created(&r);
        assert!(cache.get(&r.id).is_none());
    }

    /// What a busy server does all day: sessions created and ended. Memory holds only the
    /// sessions that are live, however many have ended.
    #[test]
    fn ended_sessions_take_no_room() {
        let cache = SessionCache::default();
        for i in 0..(3 * CAPACITY as i128) {
            let r = record(i, 10);
            cache.created(&r);
            cache.ending(&r.id);
            cache.ending(&r.id);
        }
        assert_eq!(cache.len(), 0);
    }

    /// A full cache makes room for many insertions at once, so that insertions are not each
    /// a scan of it, and it keeps the session it was asked to keep.
    #[test]
    fn a_full_cache_drops_half_and_keeps_the_new_session() {
        let cache = SessionCache::default();
        for i in 0..CAPACITY as i128 {
            cache.created(&record(i, 10));
        }
        assert_eq!(cache.len(), CAPACITY);
        let newest = record(-1, 10);
        cache.created(&newest);
        assert!(cache.len() <= CAPACITY / 2 + 1, "{}", cache.len());
        assert!(cache.get(&newest.id).is_some());
        // Expired ones go first: a cache full of them keeps every live one.
        let cache = SessionCache::default();
        for i in 0..CAPACITY as i128 - 1 {
            cache.created(&record(i, -1));
        }
        cache.created(&record(-2, 10));
        cache.created(&record(-3, 10));
        assert_eq!(cache.len(), 2);
    }
}
