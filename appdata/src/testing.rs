//! Throwaway databases for tests: each test gets its own, under a random name, removed when dropped, so tests
//! run in parallel and leave nothing behind. PostgreSQL comes from `TEST_DATABASE_URL` (a URL whose user may
//! create databases), else `postgres://postgres@127.0.0.1:5432/postgres`; the test command makes sure one is
//! reachable, and a test fails loudly when none is.

use std::path::PathBuf;

use rand::Rng;

use store::{Db, EngineKind};

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn random_suffix() -> String {
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// One fresh, empty, migrated database that disappears when this value is dropped.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Postgres { admin_url: String, name: String },
    Sqlite { dir: PathBuf },
}

impl TestDb {
    /// A new database of the given engine, with the app's own tables migrated.
    pub async fn new(engine: EngineKind) -> TestDb {
        let test = TestDb::empty(engine).await;
        crate::migrate(&test.db).await.expect("migrate test database");
        test
    }

    /// A new database with nothing in it, not even the app's own tables.
    pub async fn empty(engine: EngineKind) -> TestDb {
        match engine {
            EngineKind::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("dbt_test_{}", random_suffix());
                let admin = Db::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL for tests at {admin_url}: {e}"));
                let Db::Postgres(pool) = &admin else { unreachable!("postgres URL gives a postgres pool") };
                // The name is ours (hex digits), never input.
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(pool)
                    .await
                    .expect("create test database");
                admin.close().await;
                let url = with_database(&admin_url, &name);
                let db = Db::connect(&url).await.expect("connect to test database");
                TestDb { db, url, cleanup: Cleanup::Postgres { admin_url, name } }
            }
            EngineKind::Sqlite => {
                let dir = std::env::temp_dir().join(format!("dbt_test_{}", random_suffix()));
                std::fs::create_dir_all(&dir).expect("create test directory");
                let url = format!("sqlite://{}", dir.join("test.sqlite").display());
                let db = Db::connect(&url).await.expect("open test database");
                TestDb { db, url, cleanup: Cleanup::Sqlite { dir } }
            }
        }
    }
}

/// Both engines, for tests that must hold on each.
pub const ENGINES: [EngineKind; 2] = [EngineKind::Sqlite, EngineKind::Postgres];

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                // Drop runs inside or outside a runtime, after a panic too: a thread of its own can always block.
                let (admin_url, name, db) = (admin_url.clone(), name.clone(), self.db.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    rt.block_on(async move {
                        drop(db);
                        if let Ok(Db::Postgres(pool)) = Db::connect(&admin_url).await {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            )))
                            .execute(&pool)
                            .await;
                            pool.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Runs `sql` (one or more statements) on `db`, panicking with the statement and the error: fixtures' set-up.
pub async fn exec(db: &Db, sql: &str) {
    match db {
        Db::Postgres(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(p).await.map(drop),
        Db::Sqlite(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(p).await.map(drop),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[cfg(test)]
mod tests {
    #[test]
    fn with_database_replaces_only_the_name() {
        assert_eq!(super::with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            super::with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
    }
}
