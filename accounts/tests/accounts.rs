//! Admins and sessions against real SQLite and PostgreSQL databases.

use accounts::admins::{check_login, count_admins, create_admin};
use accounts::{AccountsError, DbSessionStore, Password, Username};
use appdata::testing::{ENGINES, TestDb};
use time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, SessionStore};

#[tokio::test]
async fn admins_are_created_once_and_logins_checked() {
    for kind in ENGINES {
        let test = TestDb::new(kind).await;
        let name = Username::parse("Alice").unwrap();
        let pw = Password::parse("a long enough password").unwrap();
        let admin = create_admin(&test.db, &name, &pw).await.unwrap();
        assert_eq!(admin.username, "alice");
        assert_eq!(count_admins(&test.db).await.unwrap(), 1);

        let again = create_admin(&test.db, &Username::parse("ALICE").unwrap(), &pw).await;
        assert!(matches!(again, Err(AccountsError::AdminExists(ref n)) if n == "alice"), "{kind:?}: {again:?}");
        assert_eq!(count_admins(&test.db).await.unwrap(), 1);

        let ok = check_login(&test.db, "alice", "a long enough password").await.unwrap();
        assert_eq!(ok, Some(admin.clone()), "{kind:?}");
        assert_eq!(check_login(&test.db, " Alice ", "a long enough password").await.unwrap(), Some(admin));
        assert_eq!(check_login(&test.db, "alice", "a long enough passworD").await.unwrap(), None);
        assert_eq!(check_login(&test.db, "bob", "a long enough password").await.unwrap(), None);
        assert_eq!(check_login(&test.db, "x' OR '1'='1", "anything at all!").await.unwrap(), None);

        let stored: String = match &test.db {
            store::Db::Postgres(p) => {
                sqlx::query_scalar("SELECT password_hash FROM dbt_admins").fetch_one(p).await.unwrap()
            }
            store::Db::Sqlite(p) => {
                sqlx::query_scalar("SELECT password_hash FROM dbt_admins").fetch_one(p).await.unwrap()
            }
        };
        assert!(stored.starts_with("$argon2id$") && !stored.contains("a long enough password"), "{stored}");
    }
}

#[tokio::test]
async fn session_store_round_trips_and_expires() {
    for kind in ENGINES {
        let test = TestDb::new(kind).await;
        let store = DbSessionStore::new(test.db.clone());
        let mut record = Record {
            id: Id::default(),
            data: [("admin_id".to_string(), serde_json::json!(7))].into_iter().collect(),
            expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
        };
        store.create(&mut record).await.unwrap();
        let loaded = store.load(&record.id).await.unwrap().expect("stored");
        assert_eq!(loaded.data, record.data, "{kind:?}");
        assert_eq!(loaded.expiry_date.unix_timestamp(), record.expiry_date.unix_timestamp());

        record.data.insert("k".into(), serde_json::json!("v"));
        store.save(&record).await.unwrap();
        assert_eq!(store.load(&record.id).await.unwrap().unwrap().data.len(), 2);

        let mut expired = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() - Duration::seconds(1),
        };
        store.create(&mut expired).await.unwrap();
        assert!(store.load(&expired.id).await.unwrap().is_none(), "{kind:?}: an expired session does not load");
        store.delete_expired().await.unwrap();
        store.delete(&record.id).await.unwrap();
        assert!(store.load(&record.id).await.unwrap().is_none());
        let left: i64 = match &test.db {
            store::Db::Postgres(p) => {
                sqlx::query_scalar("SELECT count(*) FROM dbt_sessions").fetch_one(p).await.unwrap()
            }
            store::Db::Sqlite(p) => sqlx::query_scalar("SELECT count(*) FROM dbt_sessions").fetch_one(p).await.unwrap(),
        };
        assert_eq!(left, 0, "{kind:?}");
    }
}
