//! The directory port: people, passwords, phone numbers and the administrators group.

use std::fmt;

use super::phone::E164;

/// What a person signs in with, as typed: trimmed, 1 to 128 characters, no control characters.
/// (LDAP filter escaping happens in the adapter; this only refuses what no login can be.)
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a possible username")]
pub struct InvalidUsername;

impl Username {
    pub fn parse(input: &str) -> Result<Self, InvalidUsername> {
        let trimmed = input.trim();
        let len = trimmed.chars().count();
        if (1..=128).contains(&len) && !trimmed.chars().any(char::is_control) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(InvalidUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({:?})", self.0)
    }
}

/// The directory's stable id for a person (`entryUUID` by default): survives renames.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct UserId(pub String);

impl UserId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person as the directory describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: UserId,
    pub dn: String,
    pub login: String,
    pub display_name: String,
    pub mail: Option<String>,
    /// Values of the phone attribute that are phone numbers, in directory order, deduplicated.
    pub phones: Vec<E164>,
    /// The entry's `preferredLanguage` (RFC 2798, `Accept-Language` syntax) when it names one
    /// we speak: texts sent on an administrator's action are written in it.
    pub language: Option<messages::Lang>,
}

/// The outcome of a password check. The reasons are for the operator's log only: a person is
/// never told whether the account exists, is locked or has an expired password. The one
/// exception is [`PasswordCheck::MustChangePassword`], which only the right password reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    Accepted,
    WrongPassword,
    AccountLocked,
    PasswordExpired,
    /// The password is right, but the directory wants it changed before it is used (after an
    /// administrator's reset: ppolicy `changeAfterReset`, Active Directory `data 773`, 389-ds's
    /// password-expired control). Refused, and the person is told to change it where the
    /// organisation changes passwords: saying so reveals nothing they did not just prove.
    MustChangePassword,
    /// The account is disabled or has expired (Active Directory `data 533` and `701`, 389-ds's
    /// `nsAccountLock`).
    AccountDisabled,
    /// The directory refused the bind for another reason (its result code).
    Refused(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The directory did not answer (down, unreachable, timed out).
    #[error("directory unavailable")]
    Unavailable,
    /// The directory refused a change (for example missing write access for the service
    /// account): a configuration problem, logged with the details.
    #[error("the directory refused the change")]
    Refused,
    /// The person's entry is gone.
    #[error("no such person")]
    NoSuchPerson,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_bounded() {
        assert_eq!(Username::parse("  alice ").unwrap().as_str(), "alice");
        assert_eq!(
            Username::parse("*)(uid=*").unwrap().as_str(),
            "*)(uid=*",
            "escaping is the adapter's job"
        );
        assert_eq!(Username::parse("zoë").unwrap().as_str(), "zoë");
        assert!(Username::parse("").is_err());
        assert!(Username::parse("   ").is_err());
        assert!(Username::parse("a\nb").is_err());
        assert!(Username::parse("a\0b").is_err());
        assert!(Username::parse(&"x".repeat(129)).is_err());
        assert!(Username::parse(&"é".repeat(128)).is_ok());
    }
}
