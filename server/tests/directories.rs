//! The directories organisations run — OpenLDAP, Active Directory (Samba as a domain
//! controller) and 389 Directory Server — each a real server, each test run against all three:
//! the adapter (logins, ids, password refusals, phone writes, nested administrators, paging,
//! the root DSE) and, full stack, a sign-in with a texted code, adding a phone on the security
//! page and an administrator removing a phone.
//!
//! One Samba and one 389-ds serve the whole test binary (a Samba domain controller takes
//! seconds to start): every test that changes the directory has people of its own. Each
//! OpenLDAP test has a slapd of its own.

#[macro_use]
mod common;

use std::sync::OnceLock;

use common::Backend;
use common::browser::*;
use devkit::directories::{LOCKOUT_THRESHOLD, Seed, SeedPerson, TestDirectory};
use devkit::dirsrv::Dirsrv;
use devkit::slapd::Slapd;
use domain::directory::{PasswordCheck, Username};
use domain::phone::PhonePolicy;
use domain::ports::Directory;
use secrecy::SecretString;
use server::config::Flavour;
use server::directory::{LdapDirectory, SelfWrite};

/// Declares each listed `async fn name(dir: &dyn TestDirectory)` once per flavour.
macro_rules! on_every_directory {
    ($($name:ident),* $(,)?) => {
        mod openldap {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
              async fn $name() { super::$name(super::directory(super::Flavour::OpenLdap).get()).await })*
        }
        mod active_directory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
              async fn $name() { super::$name(super::directory(super::Flavour::ActiveDirectory).get()).await })*
        }
        mod dirsrv389 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
              async fn $name() { super::$name(super::directory(super::Flavour::Dirsrv389).get()).await })*
        }
    };
}

on_every_directory!(
    people_are_found_by_each_login_and_by_their_id,
    passwords_are_checked_and_refusals_told_apart,
    a_locked_account_is_refused_as_locked,
    a_reset_password_must_be_changed_first,
    verified_phones_are_written_and_removed,
    administrators_are_found_through_their_groups,
    people_search_pages_through_everyone,
    the_directory_says_which_flavour_it_is,
    latchkey_check_describes_the_directory,
    signing_in_with_a_texted_code,
    adding_a_phone_on_the_security_page,
    an_administrator_removes_a_phone,
);

const MEMBERS: usize = 120;

/// The demo people (alice, bob, carol the administrator, dave, lena) and people of each test's own.
fn seed() -> Seed<'static> {
    static PEOPLE: OnceLock<Vec<SeedPerson<'static>>> = OnceLock::new();
    let people = PEOPLE.get_or_init(|| {
        let mut people = devkit::demo::seed().people.to_vec();
        people.extend([
            SeedPerson { login: "erin", name: "Erin Ek", password: "erin-pw-1", phones: &[] },
            SeedPerson { login: "frank", name: "Frank Fox", password: "frank-pw-1", phones: &[] },
            SeedPerson {
                login: "gina",
                name: "Gina Gómez",
                password: "gina-pw-1",
                phones: &["+12015550160", "not a phone"],
            },
            SeedPerson {
                login: "hank",
                name: "Hank Hill",
                password: "hank-pw-1",
                phones: &["+12015550170"],
            },
            SeedPerson {
                login: "ivan",
                name: "Iván Ørsted",
                password: "ivan-pw-1",
                phones: &["+12015550180", "+12015550181"],
            },
        ]);
        for i in 0..MEMBERS {
            let login: &'static str = Box::leak(format!("member{i:03}").into_boxed_str());
            let name: &'static str = Box::leak(format!("Member Number{i:03}").into_boxed_str());
            people.push(SeedPerson { login, name, password: "member-pw-1", phones: &[] });
        }
        people
    });
    Seed { people, admins: devkit::demo::seed().admins }
}

/// A test's directory: its own slapd (it starts in a fraction of a second, and a slapd held in
/// a `static` would outlive the test process), or the binary's one Samba or 389-ds (seconds to
/// start: devkit's `shared`; each goes with the test process by itself, through its lifeline).
enum Held {
    Own(Box<dyn TestDirectory>),
    Shared(&'static dyn TestDirectory),
}

impl Held {
    fn get(&self) -> &dyn TestDirectory {
        match self {
            Held::Own(dir) => dir.as_ref(),
            Held::Shared(dir) => *dir,
        }
    }
}

fn directory(flavour: Flavour) -> Held {
    match flavour {
        Flavour::OpenLdap => Held::Own(Box::new(Slapd::start_seeded(&seed()).expect("slapd"))),
        Flavour::ActiveDirectory => Held::Shared(devkit::samba::shared(&seed()).expect("samba")),
        Flavour::Dirsrv389 => Held::Shared(devkit::dirsrv::shared(&seed()).expect("389-ds")),
    }
}

fn adapter(dir: &dyn TestDirectory) -> LdapDirectory {
    LdapDirectory::new(dir.directory_config())
}

fn login(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn pw(p: &str) -> SecretString {
    SecretString::from(p.to_owned())
}

async fn people_are_found_by_each_login_and_by_their_id(dir: &dyn TestDirectory) {
    let ldap = adapter(dir);
    let alice = ldap.find_by_login(&login("alice")).await.unwrap().expect("alice");
    assert_eq!(alice.login, "alice");
    assert_eq!(alice.display_name, "Alice Anders");
    assert_eq!(alice.dn.to_lowercase(), dir.person_dn("alice").to_lowercase());
    assert_eq!(alice.phones, vec![PhonePolicy::from_directory("+12015550123").unwrap()]);
    // The unique id in each flavour's form: AD's binary objectGUID as its canonical string.
    let id = alice.id.as_str();
    match dir.flavour() {
        Flavour::OpenLdap | Flavour::ActiveDirectory => {
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "a GUID/UUID string: {id}");
        }
        Flavour::Dirsrv389 => {
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 8, 8, 8], "an nsUniqueId: {id}");
        }
    }
    assert_eq!(ldap.find_by_id(&alice.id).await.unwrap().as_ref(), Some(&alice));
    // Another sign-in name where the flavour has one (AD's userPrincipalName), any case.
    if let Some(upn) = dir.alternative_login("alice") {
        let by_upn = ldap.find_by_login(&login(&upn)).await.unwrap().expect("by UPN");
        assert_eq!(by_upn.id, alice.id);
        let shouted = ldap.find_by_login(&login(&upn.to_uppercase())).await.unwrap();
        assert_eq!(shouted.map(|p| p.id), Some(alice.id.clone()), "logins ignore case");
    }
    // Non-ASCII names come back as written; values that are not phones are skipped.
    let gina = ldap.find_by_login(&login("gina")).await.unwrap().expect("gina");
    assert_eq!(gina.display_name, "Gina Gómez");
    assert_eq!(gina.phones.len(), 1, "'not a phone' is ignored");
    // Filter metacharacters find nobody rather than everybody.
    assert_eq!(ldap.find_by_login(&login("*")).await.unwrap(), None);
    assert_eq!(ldap.find_by_login(&login("alice)(|(x=*")).await.unwrap(), None);
    assert_eq!(ldap.find_by_login(&login("nobody")).await.unwrap(), None);
}

async fn passwords_are_checked_and_refusals_told_apart(dir: &dyn TestDirectory) {
    let ldap = adapter(dir);
    let bob = ldap.find_by_login(&login("bob")).await.unwrap().expect("bob");
    let opened = ldap.connections_opened();
    assert_eq!(
        ldap.check_password(&bob, &pw("bob-demo-pw")).await.unwrap(),
        PasswordCheck::Accepted
    );
    assert_eq!(ldap.check_password(&bob, &pw("")).await.unwrap(), PasswordCheck::WrongPassword);
    ldap.decoy_password_check(&pw("whatever")).await.expect("a decoy check answers");
    // One wrong password (bob is not locked by it: the threshold is higher).
    assert_eq!(
        ldap.check_password(&bob, &pw("not-bobs")).await.unwrap(),
        PasswordCheck::WrongPassword
    );
    assert_eq!(
        ldap.check_password(&bob, &pw("bob-demo-pw")).await.unwrap(),
        PasswordCheck::Accepted
    );
    // Every directory takes a bind on a connection an earlier bind left bound (as bob, or as
    // nobody after a refusal), so the four binds above shared one connection.
    assert_eq!(ldap.connections_opened() - opened, 1, "one connection for the binds");
}

async fn a_locked_account_is_refused_as_locked(dir: &dyn TestDirectory) {
    let ldap = adapter(dir);
    let erin = ldap.find_by_login(&login("erin")).await.unwrap().expect("erin");
    for _ in 0..LOCKOUT_THRESHOLD {
        let check = ldap.check_password(&erin, &pw("guess")).await.unwrap();
        assert!(
            matches!(check, PasswordCheck::WrongPassword | PasswordCheck::AccountLocked),
            "{check:?}"
        );
    }
    // Directories may record a failure just after answering it (389-ds does; a loaded slapd
    // was seen to): a right password racing the last record would clear the count.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Locked: even the right password is refused, and the reason is told apart.
    assert_eq!(
        ldap.check_password(&erin, &pw("erin-pw-1")).await.unwrap(),
        PasswordCheck::AccountLocked
    );
}

async fn a_reset_password_must_be_changed_first(dir: &dyn TestDirectory) {
    let ldap = adapter(dir);
    let frank = ldap.find_by_login(&login("frank")).await.unwrap().expect("frank");
    dir.reset_password_must_change("frank", "frank-reset-Pw2");
    assert_eq!(
        ldap.check_password(&frank, &pw("frank-reset-Pw2")).await.unwrap(),
        PasswordCheck::MustChangePassword
    );
    // Only the right password learns that.
    assert_eq!(
        ldap.check_password(&frank, &pw("frank-pw-1")).await.unwrap(),
        PasswordCheck::WrongPassword
    );
}

async fn verified_phones_are_written_and_removed(dir: &dyn TestDirectory) {
    let ldap = adapter(dir);
    let gina = ldap.find_by_login(&login("gina")).await.unwrap().expect("gina");
    let new = PhonePolicy::from_directory("+447400112233").unwrap();
    ldap.add_phone(&gina, &new).await.unwrap();
    assert_eq!(dir.stored_phones("gina"), vec!["+12015550160", "+447400112233", "not a phone"]);
    // Adding it again changes nothing.
    let gina = ldap.find_by_login(&login("gina")).await.unwrap().expect("gina");
    ldap.add_phone(&gina, &new).await.unwrap();
    assert_eq!(dir.stored_phones("gina").len(), 3);
    assert_eq!(ldap.phone_owners(&new).await.unwrap(), vec![gina.id.clone()]);

    ldap.remove_phone(&gina, &new).await.unwrap();
    assert_eq!(dir.stored_phones("gina"), vec!["+12015550160", "not a phone"]);
    assert!(ldap.phone_owners(&new).await.unwrap().is_empty());
}

async fn administrators_are_found_through_their_groups(dir: &dyn TestDirectory) {
    let ldap = adapter(dir);
    let carol = ldap.find_by_login(&login("carol")).await.unwrap().expect("carol");
    let alice = ldap.find_by_login(&login("alice")).await.unwrap().expect("alice");
    // On Active Directory carol is in a group that is in the administrators group.
    assert!(ldap.is_admin(&carol).await.unwrap(), "carol administers");
    assert!(!ldap.is_admin(&alice).await.unwrap(), "alice does not");
    let groups = ldap.groups(&carol).await.unwrap();
    assert!(groups.iter().any(|g| g == "latchkey-admins"), "{groups:?}");
    let groups = ldap.groups(&alice).await.unwrap();
    assert!(!groups.iter().any(|g| g == "latchkey-admins"), "{groups:?}");
}

async fn people_search_pages_through_everyone(dir: &dyn TestDirectory) {
    let ldap = adapter(dir);
    // More than one page (pages of 100), all of them, each once.
    let mut found = ldap.search_people("Member Number", 500).await.unwrap();
    found.sort_by(|a, b| a.login.cmp(&b.login));
    found.dedup_by(|a, b| a.id == b.id);
    assert_eq!(found.len(), MEMBERS);
    // The limit is kept.
    assert_eq!(ldap.search_people("member", 30).await.unwrap().len(), 30);
    // By any part of the name, in any case, non-ASCII included.
    let found = ldap.search_people("ørsted", 10).await.unwrap();
    assert_eq!(found.iter().map(|p| p.login.as_str()).collect::<Vec<_>>(), ["ivan"]);
    assert!(ldap.search_people("*)(objectClass=*", 10).await.unwrap().is_empty());
}

async fn the_directory_says_which_flavour_it_is(dir: &dyn TestDirectory) {
    let ldap = adapter(dir);
    let dse = ldap.root_dse().await.expect("the root DSE");
    assert_eq!(dse.flavour, Some(dir.flavour()), "{}", dse.description);
    // `latchkey check` reads each flavour's access control for people writing their own phone.
    let self_write = ldap.phone_self_write().await;
    match dir.flavour() {
        // Active Directory lets SELF write the Personal Information property set, which holds
        // otherMobile: the default a deployment must know about.
        Flavour::ActiveDirectory => {
            assert!(
                matches!(&self_write, SelfWrite::Allowed(ace) if ace.starts_with("SELF")),
                "{self_write:?}"
            )
        }
        // The throwaway slapd's service account may not read cn=config.
        Flavour::OpenLdap => assert!(matches!(self_write, SelfWrite::Unknown(_)), "{self_write:?}"),
        Flavour::Dirsrv389 => assert_eq!(self_write, SelfWrite::NotAllowed),
    }
}

async fn latchkey_check_describes_the_directory(dir: &dyn TestDirectory) {
    let db = common::TestDb::new(Backend::Sqlite).await;
    let cwd = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("check")
        .env_clear()
        .envs(common::env_for(dir, &db.url, &[]))
        .current_dir(cwd.path())
        .output()
        .expect("latchkey check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let line = |name: &str| {
        stdout.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {stdout}"))
    };
    assert!(line("directory").contains("ok: bound as"), "{stdout}");
    assert!(
        line("flavour").starts_with(&format!("flavour      ok: {}", dir.flavour().as_str())),
        "{stdout}"
    );
    assert!(line("admins").contains("ok: group"), "{stdout}");
    if dir.flavour() == Flavour::ActiveDirectory {
        assert!(
            line("phone writes").contains("WARNING: people may write their own otherMobile"),
            "{stdout}"
        );
    }
    // The server says no more than it must: no secret in the report.
    assert!(!stdout.contains(&dir.service_password()), "{stdout}");
}

/// The server on this directory, texts through the Twilio stand-in, SQLite (the stores are
/// tested on both databases elsewhere; here the directory varies).
async fn setup_on(dir: &dyn TestDirectory) -> Setup<&dyn TestDirectory> {
    setup_with_slapd(Backend::Sqlite, &[], dir).await
}

async fn signing_in_with_a_texted_code(dir: &dyn TestDirectory) {
    let s = setup_on(dir).await;
    let b = Browser::new(&s.app);
    b.password("alice", "alice-demo-pw").await;
    let page = b.sign_in_page().await;
    assert_eq!(step_of(&page), "code");
    let code = code_sent_to(&s.standin, ALICE_PHONE);
    assert_eq!(b.submit("sign_in_code", &[("code", &code)]).await, "/");
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("password_and_sms"));
    assert!(b.get("/").await.contains("Alice Anders"));
    // Another sign-in name of the flavour's (Active Directory's userPrincipalName) is the same
    // person (bob: 2-step sign-in off).
    if let Some(upn) = dir.alternative_login("bob") {
        let b = Browser::new(&s.app);
        assert_eq!(b.password(&upn, "bob-demo-pw").await, "/", "signing in as {upn}");
        assert!(b.get("/").await.contains("Bob Brown"));
    }
    // A wrong password reads as every other refusal.
    let b = Browser::new(&s.app);
    assert_eq!(b.password("alice", "wrong").await, format!("{}/sign-in", s.app.url));
    assert_eq!(notice_of(&b.sign_in_page().await), "sign_in.failed");
}

async fn adding_a_phone_on_the_security_page(dir: &dyn TestDirectory) {
    let s = setup_on(dir).await;
    let b = Browser::new(&s.app);
    assert_eq!(b.password("hank", "hank-pw-1").await, "/", "2-step is off for hank");
    b.post_from("/security", "security_add_start", &[]).await;
    let page = b
        .post_from(
            "/security",
            "security_add_number",
            &[("region", "US"), ("number", "201 555 0177")],
        )
        .await;
    assert_eq!(notice_of(&page), "otp.sent");
    let code = code_sent_to(&s.standin, "+12015550177");
    let page = b
        .post_from("/security", "security_add_verify", &[("code", &code), ("nickname", "Desk")])
        .await;
    assert_eq!(notice_of(&page), "security.phone_added");
    assert_eq!(dir.stored_phones("hank"), vec!["+12015550170", "+12015550177"]);
}

async fn an_administrator_removes_a_phone(dir: &dyn TestDirectory) {
    let s = setup_on(dir).await;
    let admin = Browser::new(&s.app);
    admin.password("carol", "carol-demo-pw").await;
    let code = code_sent_to(&s.standin, "+447400123456");
    assert_eq!(admin.submit("sign_in_code", &[("code", &code)]).await, "/");
    // Found by searching, across the flavour's login attributes.
    let list = admin.get("/admin?q=iv").await;
    assert!(list.contains("data-login=\"ivan\""), "{list}");
    let ivan = person_of(&s.app, "ivan").await;
    let page = admin.get(&format!("/admin/person/{}", ivan.id.as_str())).await;
    let key = form_key(&page, "data-number=\"+12015550181\"");
    let form = [
        ("id", ivan.id.as_str()),
        ("key", key.as_str()),
        ("reason", "lost phone"),
        ("confirm", "yes"),
    ];
    admin
        .post_from(&format!("/admin/person/{}", ivan.id.as_str()), "admin_remove_phone", &form)
        .await;
    assert_eq!(dir.stored_phones("ivan"), vec!["+12015550180"]);
}

/// 389-ds's sample ACI "Enable self write for common attributes" lets people write their own
/// `mobile`: `latchkey check` finds it among the ACIs above the people (a server of its own,
/// since the ACI changes what everyone may do).
#[tokio::test]
async fn a_389_aci_letting_people_write_their_phone_is_found() {
    let people =
        [SeedPerson { login: "alice", name: "Alice Anders", password: "a-pw-1", phones: &[] }];
    let ds = Dirsrv::start(&Seed { people: &people, admins: &[] }).expect("389-ds");
    let ldap = adapter(&ds);
    assert_eq!(ldap.phone_self_write().await, SelfWrite::NotAllowed);
    let aci = r#"(targetattr = "carLicense || description || displayName || mobile || telephoneNumber")(version 3.0; acl "Enable self write for common attributes"; allow (write) userdn = "ldap:///self";)"#;
    ds.ldapmodify(
        "adding a self-write ACI",
        &format!("dn: {}\nchangetype: modify\nadd: aci\naci: {aci}\n", devkit::dirsrv::PEOPLE_DN),
    )
    .unwrap();
    assert_eq!(ldap.phone_self_write().await, SelfWrite::Allowed(aci.to_owned()));
}
