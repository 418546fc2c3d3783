//! A throwaway PostgreSQL database per test.

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

pub fn url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A throwaway database, dropped when the test ends (also after a failed assertion).
pub struct Database {
    name: String,
}

impl Database {
    pub async fn create() -> (Database, PgConnection) {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("sqlguard_{}_{}", std::process::id(), nanos % 1_000_000_000_000);
        let mut admin = PgConnection::connect(&url()).await.unwrap();
        admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
        let base = url();
        let at = base.rfind('/').unwrap();
        let conn = PgConnection::connect(&format!("{}/{name}", &base[..at])).await.unwrap();
        (Database { name }, conn)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let name = self.name.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let mut admin = PgConnection::connect(&url()).await.unwrap();
                admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await.unwrap();
            });
        })
        .join()
        .unwrap();
    }
}
