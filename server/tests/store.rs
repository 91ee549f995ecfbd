//! The SQL store's contract, run against SQLite and PostgreSQL alike.

#[macro_use]
mod common;

use common::{Backend, TestDb};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, SessionStore};

on_both!(
    migrations_are_idempotent,
    two_factor_setting_round_trips,
    demo_texts_come_newest_first_and_limited,
    sessions_round_trip_and_expire,
    a_deleted_session_is_never_saved_back,
    a_new_session_never_reuses_an_old_id,
    a_session_saves_its_changes,
    session_generations_only_go_up,
    the_newest_event_of_a_kind_a_person_caused_is_found,
    events_of_one_decision_are_stored_together_in_order,
    factor_records_in_one_read_match_each_tables_own_read,
);

async fn migrations_are_idempotent(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    // A second run (a restart, or a second instance starting) applies nothing and fails nothing.
    db.migrate().await.expect("second migration run");
    db.ping().await.expect("ping");
    assert_eq!(db.backend(), if backend == Backend::Sqlite { "sqlite" } else { "postgres" });
}

async fn two_factor_setting_round_trips(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    assert!(!db.two_factor_enabled("u-1").await.unwrap(), "unknown people have it off");
    db.set_two_factor("u-1", true, 100).await.unwrap();
    assert!(db.two_factor_enabled("u-1").await.unwrap());
    assert!(!db.two_factor_enabled("u-2").await.unwrap(), "settings are per person");
    db.set_two_factor("u-1", false, 200).await.unwrap();
    assert!(!db.two_factor_enabled("u-1").await.unwrap());
}

async fn demo_texts_come_newest_first_and_limited(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    assert!(db.recent_demo_texts(10).await.unwrap().is_empty());
    for i in 0..5 {
        db.record_demo_text("+12015550123", &format!("text {i} ☎ ünïcode"), 1000 + i)
            .await
            .unwrap();
    }
    let texts = db.recent_demo_texts(3).await.unwrap();
    let bodies: Vec<&str> = texts.iter().map(|t| t.body.as_str()).collect();
    assert_eq!(bodies, ["text 4 ☎ ünïcode", "text 3 ☎ ünïcode", "text 2 ☎ ünïcode"]);
    assert_eq!(texts[0].to, "+12015550123");
    assert_eq!(texts[0].sent_at, 1004);
}

async fn sessions_round_trip_and_expire(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let store = db.session_store();
    let now = time::OffsetDateTime::now_utc();

    let mut live = Record {
        id: Id::default(),
        data: [("k".to_string(), serde_json::json!("v"))].into_iter().collect(),
        expiry_date: now + time::Duration::hours(1),
    };
    store.create(&mut live).await.unwrap();
    let loaded = store.load(&live.id).await.unwrap().expect("saved session loads");
    assert_eq!(loaded.data.get("k"), Some(&serde_json::json!("v")));

    let mut expired = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: now - time::Duration::minutes(1),
    };
    store.create(&mut expired).await.unwrap();
    assert!(store.load(&expired.id).await.unwrap().is_none(), "expired sessions never load");
    store.delete_expired().await.unwrap();

    store.delete(&live.id).await.unwrap();
    assert!(store.load(&live.id).await.unwrap().is_none());
}

/// Sign-out (and cycling an id) deletes the row; a request that loaded the session before and
/// ends after must not write it back: `save` updates, it never inserts.
async fn a_deleted_session_is_never_saved_back(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let store = db.session_store();
    let mut signed_in = Record {
        id: Id::default(),
        data: [("latchkey.auth".to_string(), serde_json::json!({"login": "alice"}))]
            .into_iter()
            .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut signed_in).await.unwrap();
    // The slow request read it ...
    let in_flight = store.load(&signed_in.id).await.unwrap().expect("loaded");
    // ... sign-out deleted it ...
    store.delete(&signed_in.id).await.unwrap();
    // ... and the slow request ends by saving what it read.
    store.save(&in_flight).await.expect("a save of a gone session is not an error");
    assert!(store.load(&signed_in.id).await.unwrap().is_none(), "the signed-out session came back");
}

async fn a_session_saves_its_changes(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let store = db.session_store();
    let now = time::OffsetDateTime::now_utc();
    let mut record = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: now + time::Duration::minutes(5),
    };
    store.create(&mut record).await.unwrap();
    record.data.insert("k".into(), serde_json::json!(42));
    record.expiry_date = now + time::Duration::hours(2);
    store.save(&record).await.unwrap();
    let loaded = store.load(&record.id).await.unwrap().expect("still there");
    assert_eq!(loaded.data.get("k"), Some(&serde_json::json!(42)));
    assert_eq!(loaded.expiry_date.unix_timestamp(), record.expiry_date.unix_timestamp());
    // A save of a session that was never created creates nothing either.
    let stranger = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: now + time::Duration::hours(1),
    };
    store.save(&stranger).await.unwrap();
    assert!(store.load(&stranger.id).await.unwrap().is_none());
}

async fn session_generations_only_go_up(backend: Backend) {
    use domain::directory::UserId;
    use domain::ports::SessionGenerations;
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let (alice, bob) = (UserId("alice-id".into()), UserId("bob-id".into()));
    assert_eq!(db.generation(&alice).await.unwrap(), 0, "nobody has bumped yet");
    assert_eq!(db.bump(&alice, 100).await.unwrap(), 1);
    assert_eq!(db.bump(&alice, 101).await.unwrap(), 2);
    assert_eq!(db.generation(&alice).await.unwrap(), 2);
    assert_eq!(db.generation(&bob).await.unwrap(), 0, "per person");
    // Parallel bumps each get a generation of their own.
    let mut bumps = tokio::task::JoinSet::new();
    for i in 0..10 {
        let (db, alice) = (db.clone(), alice.clone());
        bumps.spawn(async move { db.bump(&alice, 200 + i).await.unwrap() });
    }
    let mut got: Vec<i64> = bumps.join_all().await;
    got.sort_unstable();
    assert_eq!(got, (3..=12).collect::<Vec<i64>>());
    assert_eq!(db.generation(&alice).await.unwrap(), 12);
}

/// tower-sessions keeps the old id in the record after `flush` (sign-out) and creates the next
/// session (the "signed out" notice) from it: `create` must draw a new id, or a request of the
/// signed-out session in flight would find its row again.
async fn a_new_session_never_reuses_an_old_id(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let store = db.session_store();
    let expiry_date = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut signed_in = Record {
        id: Id::default(),
        data: [("latchkey.auth".to_string(), serde_json::json!({"login": "alice"}))]
            .into_iter()
            .collect(),
        expiry_date,
    };
    store.create(&mut signed_in).await.unwrap();
    let in_flight = store.load(&signed_in.id).await.unwrap().expect("loaded");
    let old_id = signed_in.id;
    // Sign-out: the row goes, and the next session is created from a record with the old id.
    store.delete(&old_id).await.unwrap();
    let mut next = Record {
        id: old_id,
        data: [("latchkey.notice".to_string(), serde_json::json!("signed out"))]
            .into_iter()
            .collect(),
        expiry_date,
    };
    store.create(&mut next).await.unwrap();
    assert_ne!(next.id, old_id, "a new session gets a new id");
    store.save(&in_flight).await.unwrap();
    assert!(store.load(&old_id).await.unwrap().is_none(), "the signed-out session came back");
    let next = store.load(&next.id).await.unwrap().expect("the new session");
    assert!(!next.data.contains_key("latchkey.auth"));
}

async fn the_newest_event_of_a_kind_a_person_caused_is_found(backend: Backend) {
    use domain::audit::AuditEvent;
    use domain::ports::AuditLog;
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let event = |at, kind, actor: &str, subject: Option<&str>, outcome: &str| AuditEvent {
        at,
        kind,
        actor_id: Some(actor.to_owned()),
        login: Some(actor.to_owned()),
        subject_id: subject.map(str::to_owned),
        client_ip: format!("192.0.2.{at}"),
        user_agent: "Firefox/128.0".into(),
        outcome: outcome.to_owned(),
        detail: None,
    };
    assert_eq!(db.newest_by("u-1", "sign_in.success").await.unwrap(), None, "none yet");
    for e in [
        event(10, "sign_in.success", "u-1", None, "password"),
        event(20, "sign_in.success", "u-1", None, "password_and_sms"),
        // Newer, but another kind, another person, or done to u-1 by someone else.
        event(30, "sign_in.password", "u-1", None, "accepted"),
        event(40, "sign_in.success", "u-2", None, "password"),
        event(50, "sign_in.success", "admin", Some("u-1"), "password"),
    ] {
        db.record(&e).await.unwrap();
    }
    let newest = db.newest_by("u-1", "sign_in.success").await.unwrap().expect("found");
    assert_eq!((newest.at, newest.outcome.as_str()), (20, "password_and_sms"));
    assert_eq!(newest.client_ip, "192.0.2.20");
    assert_eq!(newest.user_agent, "Firefox/128.0");
    // The kind is matched whole, not as a prefix.
    assert_eq!(db.newest_by("u-1", "sign_in").await.unwrap(), None);
}

/// `record_all` stores every event whole, in the order given (read back newest first: last to
/// first, though they share their second); an empty batch writes nothing.
async fn events_of_one_decision_are_stored_together_in_order(backend: Backend) {
    use domain::audit::AuditEvent;
    use domain::ports::AuditLog;
    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let event = |kind, outcome: &str, detail: Option<&str>| AuditEvent {
        at: 100,
        kind,
        actor_id: Some("u-1".to_owned()),
        login: Some("ann".to_owned()),
        subject_id: None,
        client_ip: "2001:db8::1".into(),
        user_agent: "Firefox/128.0 'quoted' \"and\" ☎".into(),
        outcome: outcome.to_owned(),
        detail: detail.map(str::to_owned),
    };
    db.record(&event("sign_in.password", "accepted", None)).await.unwrap();
    db.record_all(&[]).await.unwrap();
    let batch = [
        event("sign_in.code", "accepted", None),
        event("sign_in.success", "password_and_sms", Some("x'); DROP TABLE audit_events; --")),
    ];
    db.record_all(&batch).await.unwrap();
    let stored = db.for_user("u-1", None, 10).await.unwrap();
    let got: Vec<(&str, &str, Option<&str>)> =
        stored.iter().map(|e| (e.kind.as_str(), e.outcome.as_str(), e.detail.as_deref())).collect();
    assert_eq!(
        got,
        [
            ("sign_in.success", "password_and_sms", Some("x'); DROP TABLE audit_events; --")),
            ("sign_in.code", "accepted", None),
            ("sign_in.password", "accepted", None),
        ]
    );
    assert!(stored.iter().all(|e| e.user_agent == batch[0].user_agent && e.at == 100));
}

/// The one-statement read of a person's records gives what the separate reads give (and the
/// phone metadata as written), for a person with some of everything, and defaults for one with
/// nothing.
async fn factor_records_in_one_read_match_each_tables_own_read(backend: Backend) {
    use domain::authenticator::StoredApp;
    use domain::directory::UserId;
    use domain::phone::E164;
    use domain::ports::{
        AccountStore, AuthenticatorStore, FactorRecords, FactorRecordsStore, SignInStore,
        VerifiedBy, VerifiedPhones,
    };
    use domain::security::PhoneSettings;

    let test_db = TestDb::new(backend).await;
    let db = test_db.open().await;
    let (ann, bob) = (UserId("u-ann".to_owned()), UserId("u-bob".to_owned()));
    let number = |n: &str| E164::try_from(n.to_owned()).unwrap();
    db.set_two_factor(ann.as_str(), true, 10).await.unwrap();
    for (n, at) in [("+12015550143", 30), ("+12015550123", 20), ("+12015550133", 30)] {
        db.add_phone_metadata(&ann, &number(n), at).await.unwrap();
    }
    db.name_phone(&ann, "+12015550123", "Téléphone ☎ 'de' \"bureau\"", 40).await.unwrap();
    db.prefer_phone(&ann, "+12015550133", 41).await.unwrap();
    db.phone_used(&ann, "+12015550133", 42).await.unwrap();
    db.mark_verified(&ann, &number("+12015550143"), VerifiedBy::Operator, 50).await.unwrap();
    db.mark_verified(&ann, &number("+12015550123"), VerifiedBy::SecurityPage, 51).await.unwrap();
    for (id, at) in [("app-b", 60), ("app-a", 60), ("app-0", 61)] {
        let app = StoredApp {
            id: id.to_owned(),
            user_id: ann.clone(),
            name: format!("Phone {id}"),
            sealed_secret: format!("sealed-{id}"),
            created_at: at,
            last_used_at: None,
            last_step: 7,
            preferred: false,
        };
        db.add_app(&app).await.unwrap();
    }
    assert!(db.use_app_step(&ann, "app-a", 9, 65).await.unwrap());
    assert!(db.prefer_app(&ann, "app-0", 66).await.unwrap());
    let digests: Vec<String> = (0..10).map(|i| format!("digest-{i}")).collect();
    db.replace_recovery_codes(&ann, &digests, 70).await.unwrap();
    assert_eq!(db.use_recovery_code(&ann, &digests[3..4], 71).await.unwrap(), Some(9));
    // Another person's rows stay theirs.
    db.set_two_factor(bob.as_str(), false, 10).await.unwrap();
    db.add_phone_metadata(&bob, &number("+12015550199"), 5).await.unwrap();

    let got = db.factor_records(&ann).await.unwrap();
    let (apps, recovery) = db.factors(&ann).await.unwrap();
    let expected = FactorRecords {
        two_factor_on: SignInStore::two_factor_enabled(&db, &ann).await.unwrap(),
        phones: vec![
            PhoneSettings {
                number: "+12015550123".into(),
                nickname: Some("Téléphone ☎ 'de' \"bureau\"".into()),
                preferred: false,
                added_at: 20,
                last_used_at: None,
            },
            PhoneSettings {
                number: "+12015550133".into(),
                nickname: None,
                preferred: false,
                added_at: 30,
                last_used_at: Some(42),
            },
            PhoneSettings {
                number: "+12015550143".into(),
                nickname: None,
                preferred: false,
                added_at: 30,
                last_used_at: None,
            },
        ],
        verified: db.verified_phones(&ann).await.unwrap(),
        apps,
        recovery,
    };
    assert_eq!(got, expected);
    // And the facts themselves, not only agreement with the other reads.
    assert!(got.two_factor_on);
    let phones: Vec<&str> = got.phones.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(phones, ["+12015550123", "+12015550133", "+12015550143"]);
    assert_eq!(got.phones[0].nickname.as_deref(), Some("Téléphone ☎ 'de' \"bureau\""));
    assert_eq!(got.preferred_phone(), None, "preferring an app unprefers every phone");
    assert_eq!(got.phones[1].last_used_at, Some(42));
    let verified: Vec<&str> = got.verified.iter().map(|v| v.number.as_str()).collect();
    assert_eq!(verified, ["+12015550123", "+12015550143"]);
    assert_eq!(got.verified[0].method, "security_page");
    let apps: Vec<(&str, bool, i64)> =
        got.apps.iter().map(|a| (a.id.as_str(), a.preferred, a.last_step)).collect();
    assert_eq!(apps, [("app-a", false, 9), ("app-b", false, 7), ("app-0", true, 7)]);
    assert_eq!(got.apps[0].sealed_secret, "sealed-app-a");
    assert_eq!(got.apps[0].user_id, ann);
    assert_eq!(got.recovery.remaining, 9);
    assert_eq!((got.recovery.created_at, got.recovery.last_used_at), (Some(70), Some(71)));

    let bobs = db.factor_records(&bob).await.unwrap();
    assert!(!bobs.two_factor_on && bobs.apps.is_empty() && bobs.verified.is_empty());
    assert_eq!(bobs.phones.len(), 1);
    let nobody = db.factor_records(&UserId("u-nobody".to_owned())).await.unwrap();
    assert_eq!(nobody, FactorRecords::default());
}
