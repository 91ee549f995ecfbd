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
