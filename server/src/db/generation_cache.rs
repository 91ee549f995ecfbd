//! Session generations in memory in front of their SQLite rows. Every page view of a signed-in
//! person asks for their generation ([`domain::sessions`]); SQLite serves one instance, whose
//! own `bump` is the only writer, so the answer can come from memory. PostgreSQL serves several
//! instances, where a bump on one must hold on the others at once: there, every read goes to
//! the database.
//!
//! Generations only go up, so the cache keeps the highest it has seen: a read that raced a bump
//! and lands after it cannot put the older value back. When the map is full it is emptied
//! whole and its epoch moves on, so a read that started before cannot refill it with what it
//! read then.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// People kept at most (about 100 bytes each); beyond, the map starts again empty.
const CAPACITY: usize = 100_000;

#[derive(Default)]
pub struct GenerationCache(Mutex<Inner>);

#[derive(Default)]
struct Inner {
    epoch: u64,
    map: HashMap<String, i64>,
}

impl std::fmt::Debug for GenerationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GenerationCache")
    }
}

/// What the cache answered: the generation, or the epoch to hand back with a read from the
/// database.
pub enum Lookup {
    Hit(i64),
    Miss { epoch: u64 },
}

impl GenerationCache {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A panic while holding the lock leaves a map that is still consistent entry by entry.
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn get(&self, user_id: &str) -> Lookup {
        self.with(|c| match c.map.get(user_id) {
            Some(g) => Lookup::Hit(*g),
            None => Lookup::Miss { epoch: c.epoch },
        })
    }

    /// `generation` was read from the database after [`get`](Self::get) answered `epoch`.
    pub fn loaded(&self, user_id: &str, generation: i64, epoch: u64) {
        self.with(|c| {
            if c.epoch == epoch {
                raise(c, user_id, generation);
            }
        });
    }

    /// A bump in this process committed `generation`.
    pub fn bumped(&self, user_id: &str, generation: i64) {
        self.with(|c| raise(c, user_id, generation));
    }
}

fn raise(c: &mut Inner, user_id: &str, generation: i64) {
    if let Some(g) = c.map.get_mut(user_id) {
        *g = (*g).max(generation);
        return;
    }
    if c.map.len() >= CAPACITY {
        c.map.clear();
        c.epoch += 1;
    }
    c.map.insert(user_id.to_owned(), generation);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(cache: &GenerationCache, user: &str) -> Option<i64> {
        match cache.get(user) {
            Lookup::Hit(g) => Some(g),
            Lookup::Miss { .. } => None,
        }
    }

    #[test]
    fn a_read_that_lands_after_a_bump_cannot_lower_the_generation() {
        let cache = GenerationCache::default();
        let Lookup::Miss { epoch } = cache.get("alice") else { panic!("empty cache") };
        // The read saw 3; meanwhile a bump committed 4 and landed first.
        cache.bumped("alice", 4);
        cache.loaded("alice", 3, epoch);
        assert_eq!(hit(&cache, "alice"), Some(4));
        cache.bumped("alice", 5);
        assert_eq!(hit(&cache, "alice"), Some(5));
        assert_eq!(hit(&cache, "bob"), None, "per person");
    }

    #[test]
    fn a_read_from_before_the_map_was_emptied_is_not_kept() {
        let cache = GenerationCache::default();
        let Lookup::Miss { epoch: old } = cache.get("zed") else { panic!("empty cache") };
        for i in 0..CAPACITY {
            cache.bumped(&format!("user-{i}"), 1);
        }
        // Full: the next new person empties the map and moves the epoch on.
        cache.bumped("one-more", 1);
        assert_eq!(hit(&cache, "user-0"), None);
        assert_eq!(hit(&cache, "one-more"), Some(1));
        cache.loaded("zed", 7, old);
        assert_eq!(hit(&cache, "zed"), None, "read under the old epoch");
        let Lookup::Miss { epoch } = cache.get("zed") else { panic!("not cached") };
        cache.loaded("zed", 7, epoch);
        assert_eq!(hit(&cache, "zed"), Some(7));
    }
}
