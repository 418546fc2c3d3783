//! `spawn_app`: a real server on port 0 over a fresh database of its own, plus an HTTP client with a cookie jar.

#![allow(dead_code)]

pub mod hostile_sender;
pub mod server_sink;

use appdata::testing::TestDb;
use engine::{Db, EngineKind};
use server::{Instance, ServeConfig};

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "test password 123";

pub struct TestApp {
    pub instance: Instance,
    pub url: String,
    /// Keeps cookies, follows no redirects: tests look at each response as the browser would receive it.
    pub client: reqwest::Client,
    pub test_db: TestDb,
}

pub async fn spawn_app(kind: EngineKind) -> TestApp {
    spawn_app_with(kind, |_| {}).await
}

pub async fn spawn_app_with(kind: EngineKind, adjust: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let test_db = TestDb::empty(kind).await;
    let mut config = ServeConfig::with_database(test_db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.admin_username = Some(ADMIN.into());
    config.admin_password = Some(PASSWORD.into());
    adjust(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let instance = Instance::start_on(&config, listener).await.expect("start instance");
    let url = instance.url();
    TestApp { instance, url, client: client(), test_db }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

impl TestApp {
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// Calls the login server function as the sign-in form does.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.at("/api/login"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    pub async fn login_ok(&self) {
        let response = self.login(ADMIN, PASSWORD).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert_eq!(response.headers()["location"], "/admin/db-transfer");
    }

    pub async fn stop(self) {
        self.instance.stop().await;
    }
}

#[allow(unused_imports)] // not every test binary runs SQL of its own
pub use appdata::testing::exec;

/// Text rows of a query that casts every value to text itself (NULL as `None`).
pub async fn rows(db: &Db, sql: &str) -> Vec<Vec<Option<String>>> {
    use sqlx::Row;
    let text = |r: &dyn Fn(usize) -> Option<String>, n: usize| (0..n).map(r).collect::<Vec<_>>();
    let rows = match db {
        Db::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(p)
            .await
            .map(|rs| rs.iter().map(|r| text(&|i| r.get::<Option<String>, _>(i), r.len())).collect()),
        Db::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(p)
            .await
            .map(|rs| rs.iter().map(|r| text(&|i| r.get::<Option<String>, _>(i), r.len())).collect()),
    };
    rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A fresh connection code of a new send session on this sender.
pub fn code(app: &TestApp) -> String {
    let session = app.instance.sender.create_session("admin");
    app.instance.sender.new_code(&session, std::time::Duration::from_secs(300)).unwrap().as_str().to_owned()
}

/// Prepares a local table for relayed pages through `receive/prepare-table`, as the Receive page does before a
/// table's first page: its handle, and whether binary COPY pages can go in (`Err`: why not). `schema` is the
/// sender's schema as JSON.
pub async fn prepare_table(
    app: &TestApp,
    transfer: i64,
    schema: &serde_json::Value,
    strategy: &str,
    copy: bool,
) -> (u64, Result<(), String>) {
    let body =
        serde_json::json!({"transfer": transfer, "schema": schema, "strategy": strategy, "copy": copy, "start": null});
    let response = app.client.post(app.at("/api/receive/prepare-table")).json(&body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "prepare-table: {text}");
    let prepared: app::api::receive::PreparedTable = serde_json::from_str(&text).unwrap();
    (prepared.handle, prepared.copy)
}

/// The `receive/import-page` body for a table's one page (from the walk's start to its end) of a prepared
/// table, postcard-encoded as the browser sends it.
pub fn import_body(handle: u64, format: protocol::messages::PageFormat, rows: u64, page: Vec<u8>) -> Vec<u8> {
    import_step_body(handle, format, rows, None, protocol::transfer::END_CURSOR, page)
}

/// [`import_body`] for a page fetched from the cursor `from`, the walk going on from `next` after it.
pub fn import_step_body(
    handle: u64,
    format: protocol::messages::PageFormat,
    rows: u64,
    from: Option<&str>,
    next: &str,
    page: Vec<u8>,
) -> Vec<u8> {
    postcard::to_allocvec(&app::api::receive::ImportPage {
        handle,
        format,
        rows,
        from: from.map(str::to_owned),
        next: next.to_owned(),
        page: serde_bytes::ByteBuf::from(page),
    })
    .unwrap()
}
