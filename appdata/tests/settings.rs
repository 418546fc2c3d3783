//! The system toggle persists in each engine's own table, and starts off.

use appdata::settings::{set_transfers_enabled, transfers_enabled};
use appdata::testing::{ENGINES, TestDb};
use store::{Db, EngineKind};

#[tokio::test]
async fn toggle_starts_off_and_persists_across_connections() {
    for kind in ENGINES {
        let test = TestDb::new(kind).await;
        assert!(!transfers_enabled(&test.db).await.unwrap(), "{kind:?}: a new install starts off");

        set_transfers_enabled(&test.db, true).await.unwrap();
        let reopened = appdata::connect(&test.url).await.unwrap();
        assert!(transfers_enabled(&reopened).await.unwrap(), "{kind:?}: on survives a reconnect");

        set_transfers_enabled(&reopened, false).await.unwrap();
        assert!(!transfers_enabled(&test.db).await.unwrap(), "{kind:?}: off again");
        reopened.close().await;
    }
}

#[tokio::test]
async fn migrations_create_the_app_tables_and_are_idempotent() {
    for kind in ENGINES {
        let test = TestDb::new(kind).await;
        appdata::migrate(&test.db).await.expect("second run is a no-op");
        let sql = match kind {
            EngineKind::Postgres => {
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'dbt\\_%'"
            }
            EngineKind::Sqlite => {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'dbt\\_%' ESCAPE '\\'"
            }
        };
        let n: i64 = match &test.db {
            Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        };
        assert_eq!(
            n, 7,
            "{kind:?}: dbt_settings, dbt_admins, dbt_sessions, dbt_transfers, dbt_jobs, dbt_job_tables, dbt_pending_constraints"
        );
    }
}
