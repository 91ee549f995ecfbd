//! Password throttling: after a few failures each further try must wait longer (2 s, 4 s, 8 s …
//! up to a cap), and after many the key is locked for a while. Keys are the login as typed
//! (so unknown logins are throttled exactly like real ones: no enumeration) and the client IP
//! (with more room, since an office shares one address).

/// The rule for one kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Failures allowed before any wait.
    pub free: u32,
    /// Longest escalating wait, in seconds.
    pub max_delay_secs: i64,
    /// Failures that lock the key for `lock_secs`.
    pub lock_after: u32,
    pub lock_secs: i64,
    /// A failure older than this starts the count again.
    pub window_secs: i64,
}

impl Rule {
    /// How long the key must wait after its `failures`-th consecutive failure, if at all.
    pub fn wait_after(&self, failures: u32) -> Option<i64> {
        if failures >= self.lock_after {
            return Some(self.lock_secs);
        }
        if failures < self.free {
            return None;
        }
        // From 2 s: times are whole seconds, so a 1 s wait could end at once.
        let doublings = (failures - self.free).min(20) + 1;
        Some((1i64 << doublings).min(self.max_delay_secs))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRules {
    pub account: Rule,
    pub ip: Rule,
}

/// The account key: the login as typed, case-folded and trimmed (directories match logins
/// case-insensitively), so `Alice` and `alice ` share one counter.
pub fn login_key(login: &str) -> String {
    let folded: String = login.trim().to_lowercase().chars().take(128).collect();
    format!("login:{folded}")
}

pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Rule =
        Rule { free: 3, max_delay_secs: 30, lock_after: 10, lock_secs: 900, window_secs: 3600 };

    #[test]
    fn waits_escalate_then_lock() {
        let waits: Vec<Option<i64>> = (1..=11).map(|n| RULE.wait_after(n)).collect();
        assert_eq!(
            waits,
            vec![
                None,
                None,
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(30),
                Some(30),
                Some(30),
                Some(900),
                Some(900)
            ]
        );
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let lax = Rule { lock_after: u32::MAX, ..RULE };
        assert_eq!(lax.wait_after(u32::MAX - 1), Some(30));
    }

    #[test]
    fn login_keys_fold_case_and_space() {
        assert_eq!(login_key(" Alice "), login_key("alice"));
        assert_ne!(login_key("alice"), login_key("bob"));
        assert_eq!(login_key("ZOË"), "login:zoë");
        assert_ne!(login_key("alice"), ip_key("alice"), "the two kinds never collide");
    }
}
