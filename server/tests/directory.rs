//! The LDAP adapter against a real slapd.

use std::process::Command;

use app::domain::directory::{Directory, DirectoryError, PasswordCheck, Username};
use app::domain::phone::PhonePolicy;
use secrecy::SecretString;
use server::config::PhoneFormat;
use server::devkit::slapd::{self, Slapd};
use server::directory::LdapDirectory;

fn seed() -> String {
    let mut ldif = slapd::person_ldif("alice", "Alice Anders", "alice-pw", &["+12015550123"]);
    // Casa writes numbers without the +.
    ldif.push_str(&slapd::person_ldif(
        "dave",
        "Dave Digits",
        "dave-pw",
        &["12015550177", "not a phone"],
    ));
    ldif.push_str(&slapd::person_ldif("bob", "Bob Brown", "bob-pw", &[]));
    ldif.push_str(&slapd::person_ldif("carol", "Carol Chen", "carol-pw", &[]));
    ldif.push_str(&slapd::admin_group_ldif(&["carol"]));
    for i in 0..250 {
        ldif.push_str(&slapd::person_ldif(
            &format!("member{i:03}"),
            &format!("Member Number{i:03}"),
            "pw",
            &[],
        ));
    }
    ldif
}

fn directory(slapd: &Slapd) -> LdapDirectory {
    LdapDirectory::new(slapd.directory_config())
}

fn number(n: &str) -> app::domain::phone::E164 {
    PhonePolicy::from_directory(n).unwrap()
}

/// The phone values stored on an entry, read with the command-line client as the root DN, so
/// the test sees the directory itself rather than the adapter's view of it.
fn stored_phones(slapd: &Slapd, uid: &str) -> Vec<String> {
    let out = Command::new("ldapsearch")
        .args(["-x", "-LLL", "-H", &slapd.url(), "-D", slapd::ROOT_DN, "-w", &slapd.root_password])
        .args(["-b", &format!("uid={uid},{}", slapd::PEOPLE_DN), "-s", "base", "mobile"])
        .output()
        .expect("ldapsearch");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut values: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("mobile: ").map(str::to_owned))
        .collect();
    values.sort();
    values
}

#[tokio::test]
async fn finds_people_by_login_and_id() {
    let slapd = Slapd::start(&seed()).unwrap();
    let dir = directory(&slapd);
    let alice =
        dir.find_by_login(&Username::parse("alice").unwrap()).await.unwrap().expect("alice");
    assert_eq!(alice.login, "alice");
    assert_eq!(alice.display_name, "Alice Anders");
    assert_eq!(alice.mail.as_deref(), Some("alice@example.org"));
    assert_eq!(alice.phones, vec![number("+12015550123")]);
    assert_eq!(alice.id.as_str().len(), 36, "entryUUID");
    assert_eq!(dir.find_by_id(&alice.id).await.unwrap(), Some(alice));

    // Digits-only values read as E.164; values that are not numbers are ignored.
    let dave = dir.find_by_login(&Username::parse("dave").unwrap()).await.unwrap().unwrap();
    assert_eq!(dave.phones, vec![number("+12015550177")]);
    assert_eq!(dir.find_by_login(&Username::parse("nobody").unwrap()).await.unwrap(), None);
}

#[tokio::test]
async fn filter_metacharacters_cannot_widen_a_search() {
    let slapd = Slapd::start(&seed()).unwrap();
    let dir = directory(&slapd);
    for attempt in ["*", "*)(uid=*", "alice)(|(uid=*", "al*", "\\2a", "(uid=alice)", "alice\\"] {
        let found = dir.find_by_login(&Username::parse(attempt).unwrap()).await.unwrap();
        assert_eq!(found, None, "{attempt:?} must match nobody");
    }
    let found = dir.search_people("*)(uid=*", 50).await.unwrap();
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test]
async fn checks_passwords_on_its_own_connection() {
    let slapd = Slapd::start(&seed()).unwrap();
    let dir = directory(&slapd);
    let alice = dir.find_by_login(&Username::parse("alice").unwrap()).await.unwrap().unwrap();
    let pw = |s: &str| SecretString::from(s.to_owned());
    assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await.unwrap(), PasswordCheck::Accepted);
    assert_eq!(
        dir.check_password(&alice, &pw("wrong")).await.unwrap(),
        PasswordCheck::WrongPassword
    );
    // An empty password is an unauthenticated bind, which the server would accept.
    assert_eq!(dir.check_password(&alice, &pw("")).await.unwrap(), PasswordCheck::WrongPassword);
    // The pooled service connections were not re-bound as alice: the service account can
    // still read everyone.
    assert!(dir.find_by_login(&Username::parse("bob").unwrap()).await.unwrap().is_some());
}

#[tokio::test]
async fn adds_and_removes_single_values_idempotently() {
    let slapd = Slapd::start(&seed()).unwrap();
    let dir = directory(&slapd);
    let bob = dir.find_by_login(&Username::parse("bob").unwrap()).await.unwrap().unwrap();
    let a = number("+12015550140");
    let b = number("+447400123140");

    dir.add_phone(&bob, &a).await.unwrap();
    dir.add_phone(&bob, &b).await.unwrap();
    dir.add_phone(&bob, &a).await.unwrap(); // already there: done, no duplicate
    assert_eq!(stored_phones(&slapd, "bob"), ["+12015550140", "+447400123140"]);

    dir.remove_phone(&bob, &a).await.unwrap();
    dir.remove_phone(&bob, &a).await.unwrap(); // already gone: done
    assert_eq!(stored_phones(&slapd, "bob"), ["+447400123140"], "the other value is untouched");
}

#[tokio::test]
async fn digits_form_is_written_when_configured_and_removed_in_either_form() {
    let slapd = Slapd::start(&seed()).unwrap();
    let mut cfg = slapd.directory_config();
    cfg.phone_format = PhoneFormat::Digits;
    let dir = LdapDirectory::new(cfg);
    let carol = dir.find_by_login(&Username::parse("carol").unwrap()).await.unwrap().unwrap();
    dir.add_phone(&carol, &number("+12015550155")).await.unwrap();
    assert_eq!(stored_phones(&slapd, "carol"), ["12015550155"]);

    let dave = dir.find_by_login(&Username::parse("dave").unwrap()).await.unwrap().unwrap();
    dir.remove_phone(&dave, &number("+12015550177")).await.unwrap();
    assert_eq!(stored_phones(&slapd, "dave"), ["not a phone"], "other values stay");
}

#[tokio::test]
async fn concurrent_adds_to_one_entry_lose_nothing() {
    let slapd = Slapd::start(&seed()).unwrap();
    let dir = directory(&slapd);
    let bob = dir.find_by_login(&Username::parse("bob").unwrap()).await.unwrap().unwrap();
    let numbers: Vec<_> = (0..8).map(|i| number(&format!("+1201555016{i}"))).collect();
    let adds = numbers.iter().map(|n| {
        let (dir, bob) = (dir.clone(), bob.clone());
        let n = n.clone();
        tokio::spawn(async move { dir.add_phone(&bob, &n).await })
    });
    for add in adds {
        add.await.unwrap().unwrap();
    }
    assert_eq!(stored_phones(&slapd, "bob").len(), 8);
}

#[tokio::test]
async fn knows_who_owns_a_number_and_who_is_an_administrator() {
    let slapd = Slapd::start(&seed()).unwrap();
    let dir = directory(&slapd);
    let find = |u: &'static str| {
        let dir = dir.clone();
        async move { dir.find_by_login(&Username::parse(u).unwrap()).await.unwrap().unwrap() }
    };
    let (alice, carol, dave) = (find("alice").await, find("carol").await, find("dave").await);
    assert_eq!(dir.phone_owners(&number("+12015550123")).await.unwrap(), vec![alice.id.clone()]);
    assert_eq!(
        dir.phone_owners(&number("+12015550177")).await.unwrap(),
        vec![dave.id],
        "digits form"
    );
    assert!(dir.phone_owners(&number("+12015550199")).await.unwrap().is_empty());
    assert!(dir.is_admin(&carol).await.unwrap());
    assert!(!dir.is_admin(&alice).await.unwrap());

    let mut no_group = slapd.directory_config();
    no_group.admin_group_dn = "cn=missing,ou=groups,dc=example,dc=org".into();
    assert!(!LdapDirectory::new(no_group).is_admin(&carol).await.unwrap());
}

#[tokio::test]
async fn searches_people_through_paged_results() {
    let slapd = Slapd::start(&seed()).unwrap();
    let dir = directory(&slapd);
    // 250 members: more than one 100-entry page.
    let all = dir.search_people("Number", 1000).await.unwrap();
    assert_eq!(all.len(), 250);
    let some = dir.search_people("member", 30).await.unwrap();
    assert_eq!(some.len(), 30, "stops at the limit");
    let by_mail = dir.search_people("alice@example", 10).await.unwrap();
    assert_eq!(by_mail.len(), 1);
    assert_eq!(by_mail[0].login, "alice");
}

#[tokio::test]
async fn an_outage_is_unavailable_and_a_restart_recovers_without_a_new_adapter() {
    let mut slapd = Slapd::start(&seed()).unwrap();
    let dir = directory(&slapd);
    let alice = Username::parse("alice").unwrap();
    assert!(dir.find_by_login(&alice).await.unwrap().is_some(), "pool has a live connection");

    slapd.stop();
    assert_eq!(dir.find_by_login(&alice).await, Err(DirectoryError::Unavailable));

    slapd.restart().unwrap();
    assert!(dir.find_by_login(&alice).await.unwrap().is_some(), "recovered on the next call");
}

#[tokio::test]
async fn a_locked_account_is_named_for_the_log_and_refused() {
    let slapd = Slapd::start_with_lockout(&seed(), 3).unwrap();
    let dir = directory(&slapd);
    let bob = dir.find_by_login(&Username::parse("bob").unwrap()).await.unwrap().unwrap();
    let pw = |s: &str| SecretString::from(s.to_owned());
    for _ in 0..3 {
        assert_eq!(
            dir.check_password(&bob, &pw("wrong")).await.unwrap(),
            PasswordCheck::WrongPassword
        );
    }
    // Locked now: even the right password is refused, and the directory says why.
    assert_eq!(
        dir.check_password(&bob, &pw("bob-pw")).await.unwrap(),
        PasswordCheck::AccountLocked
    );
    // Others are unaffected.
    let alice = dir.find_by_login(&Username::parse("alice").unwrap()).await.unwrap().unwrap();
    assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await.unwrap(), PasswordCheck::Accepted);
}
