//! How soon a refused password may be answered. An unknown login costs the directory a bind to a
//! DN that does not exist, which does no password hashing; a real entry's bind hashes the
//! password, which with a slow hash (crypt with many rounds, PBKDF2, Argon2) takes far longer
//! than any fixed floor. So the floor follows what real entries' password steps have recently
//! taken, and a refusal for an unknown login waits as long as a real one would.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Recent real password steps remembered.
const SAMPLES: usize = 32;
/// No refusal waits longer than this for the floor, whatever the directory did once.
const MAX_FLOOR: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct AnswerFloor {
    min: Duration,
    recent: Mutex<VecDeque<Duration>>,
}

impl AnswerFloor {
    /// `min`: the floor before anything was observed, and never less.
    pub fn new(min: Duration) -> Self {
        Self { min, recent: Mutex::new(VecDeque::with_capacity(SAMPLES)) }
    }

    /// A password step for a real entry (right or wrong password) took `took`.
    pub fn observe(&self, took: Duration) {
        let mut recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.len() == SAMPLES {
            recent.pop_front();
        }
        recent.push_back(took.min(MAX_FLOOR));
    }

    /// The longest recent real step (so nearly every real refusal is at or under it), at least
    /// the minimum, at most [`MAX_FLOOR`].
    pub fn floor(&self) -> Duration {
        let recent = self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        recent.iter().copied().max().unwrap_or_default().max(self.min).min(MAX_FLOOR.max(self.min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_floor_follows_slow_binds_and_forgets_them() {
        let floor = AnswerFloor::new(MS(300));
        assert_eq!(floor.floor(), MS(300), "nothing observed yet");
        floor.observe(MS(40));
        assert_eq!(floor.floor(), MS(300), "fast binds never lower it");
        floor.observe(MS(1_200));
        assert_eq!(floor.floor(), MS(1_200), "a slow hash raises it");
        for _ in 0..SAMPLES {
            floor.observe(MS(50));
        }
        assert_eq!(floor.floor(), MS(300), "old samples age out");
        floor.observe(Duration::from_secs(60));
        assert_eq!(floor.floor(), MAX_FLOOR, "capped");
    }
}
