//! Ending a person's other sessions. Every signed-in session carries a [`Stamp`]: the person's
//! session generation when it was signed in (or last kept on by an action of its own), and when
//! the directory was last asked whether the password changed since. An administrator's reset or
//! phone removal, the person removing a phone, turning 2-step sign-in off or choosing "sign out
//! of all other browsers" moves the person to a new generation ([`SessionGenerations::bump`]);
//! every session stamped with an older one is refused at its next request. The session that acted
//! is stamped again with the new generation and stays signed in.
//!
//! A password changed in the directory (OpenLDAP/389-ds `pwdChangedTime`, Active Directory
//! `pwdLastSet`) ends every session signed in before the change. Asking the directory on every
//! request would cost a search each time, so a session asks at most every `recheck_secs`
//! (`security.session_recheck_secs`, default 60): that is how long a session can outlive a
//! password change.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::authenticated::Authenticated;
use super::ports::{SessionGenerations, Unavailable};
use super::{
    directory::{DirectoryError, UserId},
    ports::Directory,
};

/// What a signed-in session remembers about its own validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The person's session generation this session belongs to.
    pub generation: i64,
    /// Unix seconds of the last look at the directory's password-change time.
    pub checked_at: i64,
}

/// Why a session was ended (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The person's generation moved on: reset, phone removed, 2-step off, signed out elsewhere.
    Superseded,
    /// The password was changed in the directory after this session signed in.
    PasswordChanged,
    /// The person's entry is no longer in the directory.
    Gone,
}

impl Ended {
    pub fn reason(self) -> &'static str {
        match self {
            Ended::Superseded => "superseded",
            Ended::PasswordChanged => "password_changed",
            Ended::Gone => "person_gone",
        }
    }
}

/// The outcome of checking a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Still valid; `Some`: the stamp to store (the directory was asked just now).
    Valid(Option<Stamp>),
    Ended(Ended),
}

/// The generation check, without I/O: a session of an older generation is over.
pub fn generation_verdict(stamp: Option<&Stamp>, current: i64) -> Result<(), Ended> {
    // A session signed in before stamps existed belongs to generation 0.
    let mine = stamp.map_or(0, |s| s.generation);
    if mine < current { Err(Ended::Superseded) } else { Ok(()) }
}

/// Whether it is time to ask the directory again.
pub fn recheck_due(stamp: Option<&Stamp>, now: i64, recheck_secs: i64) -> bool {
    let checked_at = stamp.map_or(i64::MIN, |s| s.checked_at);
    now.saturating_sub(checked_at) >= recheck_secs
}

/// The password-change check, without I/O: a password changed (Unix seconds) after the session
/// signed in ends it. The same second is kept: the directory's times have whole seconds, and a
/// sign-in with the new password can fall in the second of the change.
pub fn password_verdict(changed_at: Option<i64>, signed_in_at: i64) -> Result<(), Ended> {
    match changed_at {
        Some(changed) if changed > signed_in_at => Err(Ended::PasswordChanged),
        _ => Ok(()),
    }
}

pub struct SessionGuard {
    generations: Arc<dyn SessionGenerations>,
    directory: Arc<dyn Directory>,
    recheck_secs: i64,
}

impl std::fmt::Debug for SessionGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGuard").field("recheck_secs", &self.recheck_secs).finish()
    }
}

impl SessionGuard {
    pub fn new(
        generations: Arc<dyn SessionGenerations>,
        directory: Arc<dyn Directory>,
        recheck_secs: i64,
    ) -> Self {
        Self { generations, directory, recheck_secs }
    }

    /// The stamp for a session signed in (or kept on) now: the person's current generation.
    pub async fn stamp(&self, user_id: &UserId, now: i64) -> Result<Stamp, Unavailable> {
        Ok(Stamp { generation: self.generations.generation(user_id).await?, checked_at: now })
    }

    /// Ends every session of the person but the one that asks (which stores the stamp returned).
    pub async fn end_others(&self, user_id: &UserId, now: i64) -> Result<Stamp, Unavailable> {
        Ok(Stamp { generation: self.generations.bump(user_id, now).await?, checked_at: now })
    }

    /// Whether `user`'s session, stamped `stamp`, may go on: the generation on every request,
    /// the directory's password-change time every `recheck_secs`. A directory that does not
    /// answer ends no session (the next look is `recheck_secs` later); the database not
    /// answering is an error, as the session itself lives there.
    pub async fn check(
        &self,
        user: &Authenticated,
        stamp: Option<&Stamp>,
        now: i64,
    ) -> Result<Verdict, Unavailable> {
        let current = self.generations.generation(&user.user_id).await?;
        if let Err(ended) = generation_verdict(stamp, current) {
            return Ok(Verdict::Ended(ended));
        }
        if !recheck_due(stamp, now, self.recheck_secs) {
            return Ok(Verdict::Valid(None));
        }
        let generation = stamp.map_or(current, |s| s.generation);
        match self.directory.password_changed_at(&user.user_id).await {
            Ok(changed_at) => {
                if let Err(ended) = password_verdict(changed_at, user.signed_in_at) {
                    return Ok(Verdict::Ended(ended));
                }
            }
            Err(DirectoryError::NoSuchPerson) => return Ok(Verdict::Ended(Ended::Gone)),
            Err(e) => {
                tracing::warn!(error = %e, "password-change time not read; the session goes on");
            }
        }
        Ok(Verdict::Valid(Some(Stamp { generation, checked_at: now })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_generations_are_over() {
        let s = |generation| Stamp { generation, checked_at: 0 };
        assert_eq!(generation_verdict(Some(&s(3)), 3), Ok(()));
        assert_eq!(generation_verdict(Some(&s(2)), 3), Err(Ended::Superseded));
        assert_eq!(generation_verdict(None, 0), Ok(()), "no stamp: generation 0");
        assert_eq!(generation_verdict(None, 1), Err(Ended::Superseded));
        assert_eq!(generation_verdict(Some(&s(4)), 3), Ok(()), "a bump this session made");
    }

    #[test]
    fn the_directory_is_asked_at_most_every_recheck_secs() {
        let s = Stamp { generation: 0, checked_at: 1_000 };
        assert!(!recheck_due(Some(&s), 1_000, 60));
        assert!(!recheck_due(Some(&s), 1_059, 60));
        assert!(recheck_due(Some(&s), 1_060, 60));
        assert!(recheck_due(None, 0, 60), "never asked: ask now");
        assert!(recheck_due(Some(&s), 1_000, 0), "0: every request");
    }

    #[test]
    fn a_password_changed_after_sign_in_ends_the_session() {
        assert_eq!(password_verdict(None, 1_000), Ok(()));
        assert_eq!(password_verdict(Some(999), 1_000), Ok(()));
        assert_eq!(password_verdict(Some(1_000), 1_000), Ok(()), "same second kept");
        assert_eq!(password_verdict(Some(1_001), 1_000), Err(Ended::PasswordChanged));
    }
}
