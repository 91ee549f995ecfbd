//! Password throttling: after a few failures each further try must wait longer (2 s, 4 s, 8 s …
//! up to a cap), and after many the key is locked for a while. Keys are the person's login as the
//! directory spells it (or, for a login nobody has, the typed login in its compatibility-folded
//! form, so unknown logins are throttled exactly like real ones: no enumeration) and the client
//! network (with more room, since an office shares one address).
//!
//! An attempt is counted *before* the password is checked, in the same atomic step that judges
//! it on the key's count: parallel guesses cannot all pass a check made before the first failure
//! was recorded, and none is refused for losing a race to another. An attempt that succeeds clears the login key and
//! gives the network its attempt back; one the directory could not answer is given back too.

use std::net::IpAddr;

use unicode_normalization::UnicodeNormalization;

use crate::ports::{ThrottleCount, ThrottleStore, Unavailable};

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

    /// Whether one more attempt may go ahead at `now`, given what the key has counted: `Ok`
    /// with the count the attempt makes, or `Err` with the seconds to wait.
    pub fn admit(&self, counted: Option<ThrottleCount>, now: i64) -> Result<u32, i64> {
        let Some(c) = counted.filter(|c| c.last_at >= now - self.window_secs) else {
            return Ok(1); // nothing counted, or all of it older than the window: start again
        };
        match self.wait_after(c.attempts) {
            Some(wait) if c.last_at + wait > now => Err(c.last_at + wait - now),
            _ => Ok(c.attempts.saturating_add(1)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRules {
    pub account: Rule,
    pub ip: Rule,
}

/// The account key for a login as the directory spells it (or as typed, for a login nobody
/// has): trimmed, NFKC-normalised and case-folded, because directories match logins that way.
/// OpenLDAP finds `alice` for `ａｌｉｃｅ` (full-width), `𝐚𝐥𝐢𝐜𝐞` (mathematical bold) and `ªlice`;
/// each of those must count against alice, not against a counter of its own.
pub fn login_key(login: &str) -> String {
    format!("login:{}", fold(login))
}

/// NFKC, then lower case, then NFKC again (lower-casing can leave a string that is no longer in
/// normal form), at most 128 characters: close to LDAP's caseIgnoreMatch preparation (RFC 4518).
pub fn fold(login: &str) -> String {
    let nfkc: String = login.trim().nfkc().collect();
    nfkc.to_lowercase().nfkc().take(128).collect()
}

/// The client key: the address for IPv4, the /64 network for IPv6 — one subscriber is given a
/// whole /64 and can pick any address in it, so a per-address key would give them 2^64 keys.
pub fn ip_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => {
            format!("ip:{}", v6.to_ipv4_mapped().map_or(ip.into(), |v4| v4.to_string()))
        }
        _ => format!("ip:{ip}"),
    }
}

/// Counts an attempt for `key` under `rule` if the rule lets it go ahead now: `Ok(Ok(count))`,
/// or `Ok(Err(seconds to wait))` without counting it.
pub async fn admit(
    store: &dyn ThrottleStore,
    key: &str,
    rule: Rule,
    now: i64,
) -> Result<Result<u32, i64>, Unavailable> {
    // Refused: the count says how long to wait. A count that admits by the time it is read was
    // cleared or aged in between; one more try then, and a second's wait if that loses too.
    for _ in 0..2 {
        if let Some(count) = store.count_if_admitted(key, rule, now).await? {
            return Ok(Ok(count));
        }
        if let Err(wait) = rule.admit(store.throttle_count(key).await?, now) {
            return Ok(Err(wait));
        }
    }
    Ok(Err(1))
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
        let c = ThrottleCount { attempts: u32::MAX - 1, last_at: 0 };
        assert_eq!(lax.admit(Some(c), 100), Ok(u32::MAX));
    }

    #[test]
    fn admission_follows_the_counted_attempts() {
        let at = |attempts, last_at| Some(ThrottleCount { attempts, last_at });
        assert_eq!(RULE.admit(None, 1_000), Ok(1));
        assert_eq!(RULE.admit(at(2, 1_000), 1_000), Ok(3), "still free");
        // The third failure asks for 2 s: a fourth attempt in the same second waits.
        assert_eq!(RULE.admit(at(3, 1_000), 1_000), Err(2));
        assert_eq!(RULE.admit(at(3, 1_000), 1_002), Ok(4));
        assert_eq!(RULE.admit(at(10, 1_000), 1_899), Err(1), "locked");
        assert_eq!(RULE.admit(at(10, 1_000), 1_900), Ok(11));
        assert_eq!(RULE.admit(at(10, 1_000), 1_000 + 3_601), Ok(1), "outside the window");
    }

    #[test]
    fn login_keys_fold_case_space_and_compatibility_forms() {
        assert_eq!(login_key(" Alice "), login_key("alice"));
        assert_ne!(login_key("alice"), login_key("bob"));
        assert_eq!(login_key("ZOË"), "login:zoë");
        // What OpenLDAP matches to `alice` on a stock slapd.
        for variant in ["ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", "ªlice", "ＡＬＩＣＥ", "Ａlice"]
        {
            assert_eq!(login_key(variant), "login:alice", "{variant}");
        }
        // Decomposed and composed forms are one key.
        assert_eq!(login_key("zoe\u{308}"), login_key("zoë"));
        assert_ne!(login_key("alice"), ip_key("alice"), "the two kinds never collide");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(ip_key("2001:db8:1:2:aaaa::1"), ip_key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(ip_key("2001:db8:1:2::5"), "ip:2001:db8:1:2::/64");
        assert_ne!(ip_key("2001:db8:1:2::1"), ip_key("2001:db8:1:3::1"));
        assert_eq!(ip_key("203.0.113.9"), "ip:203.0.113.9");
        assert_ne!(ip_key("203.0.113.9"), ip_key("203.0.113.10"));
        assert_eq!(ip_key("::ffff:203.0.113.9"), ip_key("203.0.113.9"), "IPv4-mapped is IPv4");
        assert_eq!(ip_key("unknown"), "ip:unknown");
    }
}
