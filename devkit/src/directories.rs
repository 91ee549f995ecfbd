//! Every kind of directory Latchkey is tested against, behind one interface: OpenLDAP
//! ([`crate::slapd`]), Active Directory (Samba as a domain controller, [`crate::samba`]) and
//! 389 Directory Server ([`crate::dirsrv`]). Each is a real server from Debian's packages, with
//! its own throwaway configuration and data, seeded with the same people, so one test runs
//! against all three (a matrix, not copies).

use base64::Engine;
use server::config::{DirectoryConfig, Flavour};

/// A person every kind of directory is seeded with.
#[derive(Debug, Clone, Copy)]
pub struct SeedPerson<'a> {
    /// The login name (`uid`, or `sAMAccountName` on Active Directory).
    pub login: &'a str,
    /// "Given Family".
    pub name: &'a str,
    pub password: &'a str,
    /// Values of the phone attribute, as stored (not necessarily phone numbers).
    pub phones: &'a [&'a str],
}

/// What a seeded directory holds: people, and which of them are administrators. On Active
/// Directory the administrators are members of a group that is itself a member of the
/// administrators group, so that only nested membership finds them.
#[derive(Debug, Clone, Copy)]
pub struct Seed<'a> {
    pub people: &'a [SeedPerson<'a>],
    pub admins: &'a [&'a str],
}

/// How many wrong passwords lock an account in every seeded directory.
pub const LOCKOUT_THRESHOLD: u32 = 3;

/// A running throwaway directory server of some flavour, stopped and removed when dropped.
pub trait TestDirectory: Send + Sync + std::fmt::Debug {
    fn flavour(&self) -> Flavour;
    /// Latchkey's configuration for this server: the flavour's defaults, the service account,
    /// where people live, the administrators group and where groups are.
    fn directory_config(&self) -> DirectoryConfig;
    /// The service account's password (also in [`TestDirectory::directory_config`]).
    fn service_password(&self) -> String;
    /// The DN of a seeded person's entry.
    fn person_dn(&self, login: &str) -> String;
    /// Another name the person signs in with, where the flavour has one (Active Directory's
    /// `userPrincipalName`, `alice@<realm>`).
    fn alternative_login(&self, login: &str) -> Option<String>;
    /// The values of the phone attribute on a person's entry, read as the directory's own
    /// administrator (not through Latchkey), sorted.
    fn stored_phones(&self, login: &str) -> Vec<String>;
    /// Sets a person's password as an administrator's reset does, marked to be changed at the
    /// next sign-in.
    fn reset_password_must_change(&self, login: &str, password: &str);
}

/// Where a seeded throwaway directory keeps what Latchkey's configuration names.
pub(crate) struct Layout<'a> {
    pub service_dn: &'a str,
    pub people_dn: &'a str,
    pub admin_group_dn: &'a str,
    pub groups_dn: &'a str,
}

/// Latchkey's configuration for a seeded throwaway directory: the flavour's defaults, its
/// service account, people and groups, and short timeouts for tests.
pub(crate) fn seeded_config(
    flavour: Flavour,
    url: String,
    service_password: &str,
    layout: &Layout,
) -> DirectoryConfig {
    let mut cfg = DirectoryConfig::for_flavour(
        flavour,
        url,
        layout.service_dn,
        secrecy::SecretString::from(service_password.to_owned()),
        layout.people_dn,
    );
    cfg.admin_group_dn = layout.admin_group_dn.into();
    cfg.group_base_dn = layout.groups_dn.into();
    cfg.timeout_secs = 5;
    cfg.pool_size = 4;
    cfg
}

/// One `attr: value` line, base64 (`attr:: …`) where LDIF needs it (non-ASCII, leading space,
/// colon or `<`, trailing space).
pub(crate) fn ldif_line(name: &str, value: &str) -> String {
    let safe = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ');
    if safe {
        format!("{name}: {value}\n")
    } else {
        format!("{name}:: {}\n", base64::engine::general_purpose::STANDARD.encode(value))
    }
}

/// The values of `attr` in unwrapped LDIF (`ldapsearch -LLL -o ldif-wrap=no`).
pub(crate) fn ldif_values(ldif: &str, attr: &str) -> Vec<String> {
    ldif.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            if !name.eq_ignore_ascii_case(attr) {
                return None;
            }
            match rest.strip_prefix(':') {
                Some(b64) => base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
                    .map(|v| String::from_utf8_lossy(&v).into_owned()),
                None => Some(rest.strip_prefix(' ').unwrap_or(rest).to_owned()),
            }
        })
        .collect()
}

/// A borrowed directory is one too: tests share one server of each flavour per test binary.
impl<T: TestDirectory + ?Sized> TestDirectory for &T {
    fn flavour(&self) -> Flavour {
        (**self).flavour()
    }
    fn directory_config(&self) -> DirectoryConfig {
        (**self).directory_config()
    }
    fn service_password(&self) -> String {
        (**self).service_password()
    }
    fn person_dn(&self, login: &str) -> String {
        (**self).person_dn(login)
    }
    fn alternative_login(&self, login: &str) -> Option<String> {
        (**self).alternative_login(login)
    }
    fn stored_phones(&self, login: &str) -> Vec<String> {
        (**self).stored_phones(login)
    }
    fn reset_password_must_change(&self, login: &str, password: &str) {
        (**self).reset_password_must_change(login, password)
    }
}
