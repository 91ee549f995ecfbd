//! The LDAP adapter against a real slapd.

#[macro_use]
mod common;

use std::process::Command;

use base64::Engine;
use common::Backend;
use common::browser::*;
use devkit::slapd::{self, Options, Slapd};
use domain::phone::PhonePolicy;
use domain::{
    directory::{DirectoryError, PasswordCheck, UserId, Username},
    ports::Directory,
};
use secrecy::SecretString;
use server::config::PhoneFormat;
use server::directory::{LdapDirectory, LdapError, SelfWrite};

on_both!(
    a_reset_password_is_refused_at_sign_in_with_what_to_do,
    a_reset_password_is_refused_when_confirming_it_is_you,
);

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

fn number(n: &str) -> domain::phone::E164 {
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
async fn password_checks_share_a_kept_connection_and_outlive_a_restart() {
    let mut slapd = Slapd::start(&seed()).unwrap();
    let dir = directory(&slapd);
    let find = |login: &'static str| {
        let dir = dir.clone();
        async move { dir.find_by_login(&Username::parse(login).unwrap()).await.unwrap().unwrap() }
    };
    let (alice, bob) = (find("alice").await, find("bob").await);
    let before = dir.connections_opened();

    // One after another, each bind on the connection the one before left bound as someone
    // else (or as nobody, after a refusal): every answer is still that person's own.
    for _ in 0..3 {
        assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await, Ok(PasswordCheck::Accepted));
        assert_eq!(
            dir.check_password(&bob, &pw("alice-pw")).await,
            Ok(PasswordCheck::WrongPassword)
        );
        assert_eq!(dir.check_password(&bob, &pw("bob-pw")).await, Ok(PasswordCheck::Accepted));
        dir.decoy_password_check(&pw("bob-pw")).await.unwrap();
        assert_eq!(dir.check_password(&alice, &pw("")).await, Ok(PasswordCheck::WrongPassword));
    }
    assert_eq!(dir.connections_opened() - before, 1, "twelve binds, one connection");
    // The service account's searches are untouched by the binds beside them.
    assert_eq!(find("carol").await.display_name, "Carol Chen");

    // At once: each bind has a connection to itself, and they are kept for the next ones.
    let checks = (0..6).map(|i| {
        let (dir, alice, bob) = (dir.clone(), alice.clone(), bob.clone());
        async move {
            if i % 2 == 0 {
                dir.check_password(&alice, &pw("alice-pw")).await
            } else {
                dir.check_password(&bob, &pw("wrong")).await
            }
        }
    });
    let answers = futures_util::future::join_all(checks).await;
    for (i, answer) in answers.into_iter().enumerate() {
        let want = if i % 2 == 0 { PasswordCheck::Accepted } else { PasswordCheck::WrongPassword };
        assert_eq!(answer, Ok(want), "check {i}");
    }
    let after_burst = dir.connections_opened();
    assert!(after_burst - before <= 6, "at most one connection per bind at once");
    assert_eq!(dir.check_password(&bob, &pw("bob-pw")).await, Ok(PasswordCheck::Accepted));
    assert_eq!(dir.connections_opened(), after_burst, "the burst's connections are kept");

    // The directory restarts between two sign-ins: the kept connections are dead, and the next
    // bind finds out and goes again on a fresh one, without an error.
    slapd.stop();
    slapd.restart().unwrap();
    assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await, Ok(PasswordCheck::Accepted));
    assert_eq!(dir.check_password(&alice, &pw("bob-pw")).await, Ok(PasswordCheck::WrongPassword));

    // Down: the check says the directory is unavailable, and works again once it is back.
    slapd.stop();
    assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await, Err(DirectoryError::Unavailable));
    slapd.restart().unwrap();
    assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await, Ok(PasswordCheck::Accepted));
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
    // slapd may record the last failure just after answering it (seen under load): a right
    // password racing that record would clear the count.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Locked now: even the right password is refused, and the directory says why.
    assert_eq!(
        dir.check_password(&bob, &pw("bob-pw")).await.unwrap(),
        PasswordCheck::AccountLocked
    );
    // Others are unaffected.
    let alice = dir.find_by_login(&Username::parse("alice").unwrap()).await.unwrap().unwrap();
    assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await.unwrap(), PasswordCheck::Accepted);
}

fn pw(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

// --- Must change after a reset (issue 14, finding 13) ---

fn must_change_slapd(seed: &str) -> Slapd {
    Slapd::start_opts(seed, &Options { must_change: true, ..Options::default() }).unwrap()
}

/// The operational attributes of an entry, read as the root DN.
fn operational(slapd: &Slapd, uid: &str) -> String {
    let out = Command::new("ldapsearch")
        .args(["-x", "-LLL", "-H", &slapd.url(), "-D", slapd::ROOT_DN, "-w", &slapd.root_password])
        .args(["-b", &format!("uid={uid},{}", slapd::PEOPLE_DN), "-s", "base", "+"])
        .output()
        .expect("ldapsearch");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_password_reset_by_an_administrator_must_be_changed_first() {
    let slapd = must_change_slapd(&seed());
    let dir = directory(&slapd);
    let bob = dir.find_by_login(&Username::parse("bob").unwrap()).await.unwrap().unwrap();
    assert_eq!(dir.check_password(&bob, &pw("bob-pw")).await.unwrap(), PasswordCheck::Accepted);

    slapd.reset_password("bob", "bob-reset-pw").unwrap();
    assert!(operational(&slapd, "bob").contains("pwdReset: TRUE"), "the directory marked it");
    assert_eq!(
        dir.check_password(&bob, &pw("bob-reset-pw")).await.unwrap(),
        PasswordCheck::MustChangePassword,
        "the right password, due for a change"
    );
    assert_eq!(
        dir.check_password(&bob, &pw("bob-pw")).await.unwrap(),
        PasswordCheck::WrongPassword,
        "only the right password learns it must be changed"
    );
    let alice = dir.find_by_login(&Username::parse("alice").unwrap()).await.unwrap().unwrap();
    assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await.unwrap(), PasswordCheck::Accepted);
}

async fn a_reset_password_is_refused_at_sign_in_with_what_to_do(backend: Backend) {
    let s = setup_with_slapd(backend, &[], must_change_slapd(&common::demo_seed())).await;
    s.app.directory.reset_password("bob", "bob-reset-pw").unwrap();
    let b = Browser::new(&s.app);
    assert_eq!(b.password("bob", "bob-reset-pw").await, format!("{}/sign-in", s.app.url));
    let page = b.sign_in_page().await;
    assert_eq!(notice_of(&page), "sign_in.must_change_password");
    assert!(page.contains("Change it where your organisation changes passwords"), "{page}");
    assert_eq!(signed_in_as(&b).await, None, "not signed in");
    // A wrong password still reads like any other failure.
    let other = Browser::new(&s.app);
    other.password("bob", "not-it").await;
    assert_eq!(notice_of(&other.sign_in_page().await), "sign_in.failed");
    let kinds = audit_kinds(&s.app).await;
    assert!(kinds.contains(&("sign_in.password".into(), "rejected".into())), "{kinds:?}");
    assert!(!kinds.contains(&("sign_in.password".into(), "accepted".into())), "{kinds:?}");
}

async fn a_reset_password_is_refused_when_confirming_it_is_you(backend: Backend) {
    let s = setup_with_slapd(
        backend,
        &[("LATCHKEY_SECURITY__REAUTH_WINDOW_SECS", "1")],
        must_change_slapd(&common::demo_seed()),
    )
    .await;
    // bob has no phone: the password alone signs him in and confirms it is him.
    let b = Browser::new(&s.app);
    assert_eq!(b.password("bob", "bob-demo-pw").await, "/");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    s.app.directory.reset_password("bob", "bob-reset-pw").unwrap();
    let page = b.post_from("/security", "security_add_start", &[]).await;
    assert_eq!(step_of(&page), "reauth-password", "{}", notice_of(&page));
    let page =
        b.post_from("/security", "security_reauth_password", &[("password", "bob-reset-pw")]).await;
    assert_eq!(notice_of(&page), "sign_in.must_change_password");
    assert_eq!(step_of(&page), "reauth-password", "not confirmed");
}

// --- Binary unique ids: Active Directory's objectGUID (issue 14, finding 18) ---

/// `person_ldif` plus the test schema's binary `objectGUID`.
fn person_with_guid(uid: &str, name: &str, password: &str, phones: &[&str], guid: &[u8]) -> String {
    let ldif = slapd::person_ldif(uid, name, password, phones);
    format!(
        "{}objectClass: {}\nobjectGUID:: {}\n\n",
        ldif.trim_end_matches('\n').to_owned() + "\n",
        slapd::GUID_CLASS,
        base64::engine::general_purpose::STANDARD.encode(guid)
    )
}

/// As Active Directory stores the example GUID of MS-DTYP: not UTF-8.
const ALICE_GUID: [u8; 16] = [
    0x7a, 0x3e, 0x5c, 0x6b, 0xa9, 0x3c, 0xd0, 0x11, 0x8b, 0x2a, 0x00, 0xa0, 0xc9, 0x0a, 0x3c, 0x52,
];
/// Sixteen bytes that happen to be ASCII: ldap3 hands them over as text.
const BOB_GUID: &[u8; 16] = b"0123456789abcdef";

fn guid_directory() -> (Slapd, LdapDirectory) {
    let mut seed =
        person_with_guid("alice", "Alice Anders", "alice-pw", &["+12015550123"], &ALICE_GUID);
    seed.push_str(&person_with_guid("bob", "Bob Brown", "bob-pw", &[], BOB_GUID));
    // No objectGUID: cannot be addressed, so it is left out rather than given a wrong id.
    seed.push_str(&slapd::person_ldif("carol", "Carol Chen", "carol-pw", &[]));
    let slapd =
        Slapd::start_opts(&seed, &Options { guid_schema: true, ..Options::default() }).unwrap();
    let mut cfg = slapd.directory_config();
    cfg.user_id_attribute = "objectGUID".into();
    let dir = LdapDirectory::new(cfg);
    (slapd, dir)
}

#[tokio::test]
async fn binary_guids_are_read_in_canonical_form_and_found_again() {
    let (_slapd, dir) = guid_directory();
    let alice =
        dir.find_by_login(&Username::parse("alice").unwrap()).await.unwrap().expect("alice");
    assert_eq!(alice.id.as_str(), "6b5c3e7a-3ca9-11d0-8b2a-00a0c90a3c52");
    let bob = dir.find_by_login(&Username::parse("bob").unwrap()).await.unwrap().expect("bob");
    assert_eq!(bob.id.as_str(), "33323130-3534-3736-3839-616263646566");

    // Administrator pages address people by id: the GUID string goes back as escaped bytes.
    assert_eq!(dir.find_by_id(&alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(dir.find_by_id(&bob.id).await.unwrap(), Some(bob.clone()));
    let upper = UserId(alice.id.as_str().to_uppercase());
    assert_eq!(dir.find_by_id(&upper).await.unwrap().map(|p| p.login), Some("alice".into()));
    for junk in ["*", "alice", "6b5c3e7a-3ca9-11d0-8b2a-00a0c90a3c5*", "", "\\7a"] {
        assert_eq!(dir.find_by_id(&UserId(junk.into())).await.unwrap(), None, "{junk:?}");
    }

    let found = dir.search_people("example.org", 10).await.unwrap();
    let mut ids: Vec<_> = found.iter().map(|p| (p.login.as_str(), p.id.as_str())).collect();
    ids.sort();
    assert_eq!(
        ids,
        [("alice", alice.id.as_str()), ("bob", bob.id.as_str())],
        "carol has no id and is left out"
    );
    assert_eq!(dir.phone_owners(&number("+12015550123")).await.unwrap(), vec![alice.id.clone()]);
    // The session's password-change check asks by id too: found (no policy, so no time).
    assert_eq!(dir.password_changed_at(&alice.id).await, Ok(None));
    // Writes go through the id too.
    dir.add_phone(&bob, &number("+12015550188")).await.unwrap();
    assert_eq!(dir.find_by_id(&bob.id).await.unwrap().unwrap().phones, [number("+12015550188")]);
}

// --- TLS to the directory (issue 14, finding 5) ---

fn tls_slapd() -> Slapd {
    Slapd::start_opts(&seed(), &Options { tls: true, ..Options::default() }).unwrap()
}

/// A CA that signed nothing the directory shows.
fn wrong_ca() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let ca = slapd::throwaway_ca(dir.path(), "wrong").unwrap();
    (dir, ca.display().to_string())
}

async fn signs_in_alice(dir: &LdapDirectory) {
    let alice = dir.find_by_login(&Username::parse("alice").unwrap()).await.unwrap().unwrap();
    let opened = dir.connections_opened();
    assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await.unwrap(), PasswordCheck::Accepted);
    assert_eq!(
        dir.check_password(&alice, &pw("wrong")).await.unwrap(),
        PasswordCheck::WrongPassword
    );
    assert_eq!(dir.check_password(&alice, &pw("alice-pw")).await.unwrap(), PasswordCheck::Accepted);
    // Over TLS a new connection is a handshake: the three binds shared one.
    assert_eq!(dir.connections_opened() - opened, 1, "one TLS connection for the binds");
}

#[tokio::test]
async fn starttls_with_the_right_ca_works_and_plain_is_refused_by_this_directory() {
    let slapd = tls_slapd();
    let mut cfg = slapd.directory_config();
    cfg.starttls = true;
    cfg.ca_certificates = slapd.ca_file().unwrap().display().to_string();
    let dir = LdapDirectory::new(cfg.clone());
    dir.ping().await.unwrap();
    signs_in_alice(&dir).await;
    // The name in the certificate is checked: localhost is in it too.
    cfg.url = slapd.url().replace("127.0.0.1", "localhost");
    signs_in_alice(&LdapDirectory::new(cfg)).await;

    // The directory refuses anything without TLS, so the lines above went encrypted.
    let plain = LdapDirectory::new(slapd.directory_config());
    let e = plain.ping().await.unwrap_err();
    assert!(e.to_string().contains("refused the service account"), "{e}");
}

#[tokio::test]
async fn ldaps_with_the_right_ca_works() {
    let slapd = tls_slapd();
    let mut cfg = slapd.directory_config();
    cfg.url = slapd.ldaps_url().unwrap();
    cfg.ca_certificates = slapd.ca_file().unwrap().display().to_string();
    let dir = LdapDirectory::new(cfg);
    dir.ping().await.unwrap();
    signs_in_alice(&dir).await;
}

#[tokio::test]
async fn a_wrong_ca_is_refused_with_a_clear_message() {
    let slapd = tls_slapd();
    let (_keep, wrong) = wrong_ca();
    for (url, starttls) in [(slapd.url(), true), (slapd.ldaps_url().unwrap(), false)] {
        let mut cfg = slapd.directory_config();
        cfg.url = url.clone();
        cfg.starttls = starttls;
        cfg.ca_certificates = wrong.clone();
        let dir = LdapDirectory::new(cfg);
        let e = dir.ping().await.unwrap_err();
        assert!(matches!(e, LdapError::Tls { .. }), "{url}: {e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "TLS with the directory at {url} failed: invalid peer certificate: UnknownIssuer"
            )),
            "{text}"
        );
        assert!(text.contains("check directory.ca_certificates"), "{text}");
        assert_eq!(e.kind(), "tls");
        // Nothing reaches the directory: no password is sent.
        let someone = domain::directory::Person {
            id: UserId("x".into()),
            dn: format!("uid=alice,{}", slapd::PEOPLE_DN),
            login: "alice".into(),
            display_name: "Alice".into(),
            mail: None,
            phones: vec![],
            language: None,
        };
        assert_eq!(
            dir.check_password(&someone, &pw("alice-pw")).await,
            Err(DirectoryError::Unavailable)
        );
        assert_eq!(
            dir.find_by_login(&Username::parse("alice").unwrap()).await,
            Err(DirectoryError::Unavailable)
        );
    }
    // The certificate must name the host: 127.0.0.2 is loopback too, but not in it.
    let mut cfg = slapd.directory_config();
    cfg.url = slapd.ldaps_url().unwrap().replace("127.0.0.1", "127.0.0.2");
    cfg.ca_certificates = slapd.ca_file().unwrap().display().to_string();
    let e = LdapDirectory::new(cfg).ping().await.unwrap_err();
    assert!(matches!(e, LdapError::Tls { .. } | LdapError::Unreachable { .. }), "{e:?}");
}

// --- Can people write their own phone? (`latchkey check`, issue 14, finding 4) ---

#[tokio::test]
async fn tells_whether_people_may_write_their_own_phone() {
    let reads_config = Options { service_reads_config: true, ..Options::default() };
    let slapd = Slapd::start_opts(&seed(), &reads_config).unwrap();
    assert_eq!(directory(&slapd).phone_self_write().await, SelfWrite::NotAllowed);

    let self_writes = Options { self_writes_phone: true, ..reads_config };
    let slapd = Slapd::start_opts(&seed(), &self_writes).unwrap();
    match directory(&slapd).phone_self_write().await {
        SelfWrite::Allowed(rule) => assert!(rule.contains("by self write"), "{rule}"),
        other => panic!("expected a warning, got {other:?}"),
    }
    // The rule is real: bob can write his own number.
    let out = Command::new("ldapmodify")
        .args([
            "-x",
            "-H",
            &slapd.url(),
            "-D",
            &format!("uid=bob,{}", slapd::PEOPLE_DN),
            "-w",
            "bob-pw",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(
                format!(
                    "dn: uid=bob,{}\nchangetype: modify\nadd: mobile\nmobile: +12015550111\n",
                    slapd::PEOPLE_DN
                )
                .as_bytes(),
            )?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Without access to cn=config it cannot tell, and says so.
    let slapd = Slapd::start(&seed()).unwrap();
    match directory(&slapd).phone_self_write().await {
        SelfWrite::Unknown(why) => {
            assert!(why.contains("cannot read OpenLDAP's access rules"), "{why}")
        }
        other => panic!("expected unknown, got {other:?}"),
    }
}
