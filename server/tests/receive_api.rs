//! The Receive page's server functions over real HTTP, as the browser calls them: a relayed page larger than
//! axum's default body limit lands whole, hostile pages and names are refused with what was wrong, a table is
//! created from a schema, and anonymous callers cannot send big bodies.

mod support;

use appdata::testing::ENGINES;
use engine::EngineKind;
use engine::compress::PageCompression;
use protocol::messages::PageFormat;
use protocol::transfer::END_CURSOR as END;
use protocol::{Page, PageColumn, Value, ValueKind};
use serde_json::{Value as J, json};
use support::{import_body, import_step_body, prepare_table, spawn_app};

/// 40 rows of 100 KB that do not compress: a 4 MB relayed page.
fn big_page() -> Page {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let rows = (1..=40)
        .map(|id| {
            let bytes: Vec<u8> = (0..100_000)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            vec![Value::Int(id), Value::Bytes(bytes)]
        })
        .collect();
    let column = |name: &str, kind| PageColumn { name: name.into(), kind, source_type: String::new() };
    Page { columns: vec![column("id", ValueKind::Int), column("data", ValueKind::Bytes)], rows }
}

/// Starts a history record through the server function, as the Receive page does before its first page.
async fn begin(app: &support::TestApp) -> i64 {
    let body = json!({"sender": "http://sender.example", "tables": [{"table": "blobs", "strategy": "skip"}]});
    let response = app.client.post(app.at("/api/receive/begin-transfer")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn post_import(app: &support::TestApp, body: Vec<u8>) -> (u16, J) {
    let response = app
        .client
        .post(app.at("/api/receive/import-page"))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(J::Null))
}

#[tokio::test]
async fn a_relayed_page_lands_whole_and_hostile_ones_are_refused() {
    for kind in ENGINES {
        let app = spawn_app(kind).await;
        app.login_ok().await;
        let ddl = match kind {
            EngineKind::Postgres => "CREATE TABLE blobs (id bigint PRIMARY KEY, data bytea)",
            EngineKind::Sqlite => "CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)",
        };
        match &app.instance.db {
            engine::Db::Postgres(pool) => sqlx::query(ddl).execute(pool).await.map(|_| ()).unwrap(),
            engine::Db::Sqlite(pool) => sqlx::query(ddl).execute(pool).await.map(|_| ()).unwrap(),
        }
        let page = big_page();
        let compressed = page.compress();
        assert!(compressed.len() > 3_000_000, "bigger than axum's 2 MB default: {}", compressed.len());

        let transfer = begin(&app).await;
        // The sender's schema of the table: here, the table as this side has it.
        let local = engine::Tables::new(app.instance.db.clone(), protocol::Exclusions::default());
        let schema = serde_json::to_value(local.get_schema("blobs").await.unwrap()).unwrap();
        let (handle, _) = prepare_table(&app, transfer, &schema, "skip", false).await;
        let (status, result) = post_import(&app, import_body(handle, PageFormat::Binary, 40, compressed.clone())).await;
        assert_eq!(status, 200, "{kind:?}: {result}");
        let done = &result["committed"];
        assert_eq!((done["created"].clone(), done["skipped"].clone()), (json!(40), json!(0)), "{kind:?}");
        // The same page again from the walk's start is out of turn (the handle's committed pages end after it):
        // stale, nothing written or counted.
        let (status, stale) = post_import(&app, import_body(handle, PageFormat::Binary, 40, compressed.clone())).await;
        assert_eq!((status, stale), (200, json!("stale")), "{kind:?}");
        // From where the last page ended it is the next page: its rows are all there, so all skipped.
        let after = |page: Vec<u8>, rows: u64| import_step_body(handle, PageFormat::Binary, rows, Some(END), END, page);
        let (status, again) = post_import(&app, after(compressed.clone(), 40)).await;
        assert_eq!((status, again["committed"]["skipped"].clone()), (200, json!(40)));
        // Exactly the bytes that were sent, row for row.
        let tables = engine::Tables::new(app.instance.db.clone(), protocol::Exclusions::default());
        let exported = tables.export_records("blobs", &protocol::PageRequest::first(100)).await.unwrap();
        assert_eq!(exported.page.rows, page.rows, "{kind:?}");

        // A truncated page, and one whose header lies about its rows, are refused whole: nothing of them lands.
        let (status, error) = post_import(&app, after(compressed[..compressed.len() / 2].to_vec(), 40)).await;
        assert_eq!(status, 400, "{error}");
        assert!(error.to_string().contains("the relayed page was refused"), "{error}");
        let (status, error) = post_import(&app, after(compressed.clone(), 41)).await;
        assert_eq!(status, 400, "{error}");
        assert!(error.to_string().contains("the header said 41 rows, the page holds 40"), "{error}");
        // A handle nobody prepared is refused, naming what to do.
        let (status, error) =
            post_import(&app, import_body(handle ^ 1, PageFormat::Binary, 40, compressed.clone())).await;
        assert_eq!(status, 400, "{error}");
        assert!(error.to_string().contains("no table prepared with that handle"), "{error}");
        // The app's own tables are not there for anyone, whatever the schema says.
        let mut own = schema.clone();
        own["name"] = json!("dbt_admins");
        let body = json!({"transfer": transfer, "schema": own, "strategy": "overwrite", "copy": false});
        let response = app.client.post(app.at("/api/receive/prepare-table")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400);
        let error = response.text().await.unwrap();
        assert!(error.contains("table not found"), "{error}");

        // The history counted the two imported pages; once ended, the transfer takes no more pages.
        let end = json!({"transfer": transfer, "outcome": "finished", "message": null});
        let ended = app.client.post(app.at("/api/receive/finish-transfer")).json(&end).send().await.unwrap();
        assert_eq!(ended.status(), 200);
        let history: J = app.client.post(app.at("/api/receive/history")).send().await.unwrap().json().await.unwrap();
        assert_eq!(
            (
                history[0]["rows"].clone(),
                history[0]["created"].clone(),
                history[0]["skipped"].clone(),
                history[0]["outcome"].clone()
            ),
            (json!(80), json!(40), json!(40), json!("finished"))
        );
        assert_eq!(history[0]["admin"], "admin");
        let (status, error) = post_import(&app, import_body(handle, PageFormat::Binary, 40, compressed)).await;
        assert_eq!(status, 400);
        assert!(error.to_string().contains("no table prepared with that handle"), "{error}");
        let body = json!({"transfer": transfer, "schema": schema, "strategy": "skip", "copy": false});
        let response = app.client.post(app.at("/api/receive/prepare-table")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert!(response.text().await.unwrap().contains("not running"));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_missing_table_is_created_from_the_senders_schema_and_listed_with_exact_counts() {
    let source = appdata::testing::TestDb::new(EngineKind::Postgres).await;
    let engine::Db::Postgres(pool) = &source.db else { unreachable!() };
    sqlx::raw_sql(
        "CREATE TABLE parents (id int PRIMARY KEY);
         CREATE TABLE kids (id bigint PRIMARY KEY, parent_id int NOT NULL REFERENCES parents(id), name text UNIQUE);
         INSERT INTO parents VALUES (1)",
    )
    .execute(pool)
    .await
    .unwrap();
    let schema =
        engine::Tables::new(source.db.clone(), protocol::Exclusions::default()).get_schema("kids").await.unwrap();
    for kind in ENGINES {
        let app = spawn_app(kind).await;
        app.login_ok().await;
        let call = |path: &'static str, body: J| {
            let client = app.client.clone();
            let url = app.at(path);
            async move {
                let r = client.post(url).json(&body).send().await.unwrap();
                (r.status().as_u16(), r.json::<J>().await.unwrap_or(J::Null))
            }
        };
        let (status, notes) = call("/api/receive/create-table", json!({ "schema": schema })).await;
        assert_eq!(status, 200, "{kind:?}: {notes}");
        let (status, again) = call("/api/receive/create-table", json!({ "schema": schema })).await;
        assert_eq!(status, 400);
        assert!(again.to_string().contains("already exists"), "{again}");
        let listed =
            app.client.post(app.at("/api/receive/local-tables")).send().await.unwrap().json::<J>().await.unwrap();
        assert_eq!(listed, json!([{"name": "kids", "rows": 0, "rows_exact": true}]), "{kind:?}");
        let local = app
            .client
            .post(app.at("/api/receive/local-schema"))
            .form(&[("table", "kids")])
            .send()
            .await
            .unwrap()
            .json::<J>()
            .await
            .unwrap();
        assert_eq!(local["primary_key"], json!(["id"]), "{kind:?}");
        assert_eq!(local["columns"].as_array().unwrap().len(), 3);
        let missing =
            app.client.post(app.at("/api/receive/local-schema")).form(&[("table", "nope")]).send().await.unwrap();
        assert_eq!(missing.json::<J>().await.unwrap(), J::Null, "a missing table is None, not an error");
        app.stop().await;
    }
}

#[tokio::test]
async fn anonymous_callers_cannot_send_big_bodies() {
    let app = spawn_app(EngineKind::Sqlite).await;
    let padding = "x".repeat(100_000);
    let response = support::client()
        .post(app.at("/api/login"))
        .form(&[("username", "admin"), ("password", padding.as_str())])
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), 200);
    assert!(response.text().await.unwrap().to_lowercase().contains("length limit"), "the body was cut off unread");
    // The anonymous import is refused before any body is read.
    let response = support::client().post(app.at("/api/receive/import-page")).body(vec![0u8; 10]).send().await.unwrap();
    assert_eq!(response.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn binary_copy_pages_relayed_by_the_browser_land_or_are_handed_back_whole() {
    let source = appdata::testing::TestDb::new(EngineKind::Postgres).await;
    let engine::Db::Postgres(src) = &source.db else { unreachable!() };
    sqlx::raw_sql(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(8,2));
                   INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 300) g",
    )
    .execute(src)
    .await
    .unwrap();
    let from = engine::Tables::new(source.db.clone(), protocol::Exclusions::default());
    let schema = from.get_schema("items").await.unwrap();
    let page = from.export_binary_copy("items", &protocol::PageRequest::first(1000)).await.unwrap();
    let bytes = engine::compress::compress_bytes(&page.data);
    // The same page as a sender on this machine sends it, uncompressed in the same framing.
    let raw = engine::compress::frame_bytes(&page.data, protocol::messages::Compression::None);
    assert_eq!(&raw[..4], b"DBTR");

    let app = spawn_app(EngineKind::Postgres).await;
    app.login_ok().await;
    let engine::Db::Postgres(dst) = &app.instance.db else { unreachable!() };
    sqlx::raw_sql("CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(8,2) CHECK (price < 300))")
        .execute(dst)
        .await
        .unwrap();
    let transfer = begin(&app).await;
    let schema_json = serde_json::to_value(&schema).unwrap();
    let (handle, copy) = prepare_table(&app, transfer, &schema_json, "skip", true).await;
    assert_eq!(copy, Ok(()));
    let post = |body: Vec<u8>| {
        app.client
            .post(app.at("/api/receive/import-page"))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    // Prices up to 450 break the receiver's rule: PostgreSQL refuses the page, nothing lands, the browser is told
    // to send it as an ordinary page.
    let response = post(import_body(handle, PageFormat::PgCopy, 300, bytes.clone())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#""copy_refused""#);
    assert_eq!(sqlx::query_scalar::<_, i64>("SELECT count(*) FROM items").fetch_one(dst).await.unwrap(), 0);
    // Without the rule it lands whole, counted in the history (relayed uncompressed this time).
    sqlx::raw_sql("ALTER TABLE items DROP CONSTRAINT items_price_check").execute(dst).await.unwrap();
    let response = post(import_body(handle, PageFormat::PgCopy, 300, raw.clone())).await.unwrap();
    let result: J = response.json().await.unwrap();
    let done = &result["committed"];
    assert_eq!((done["created"].clone(), done["skipped"].clone()), (json!(300), json!(0)));
    let fingerprint = "SELECT count(*)::text || ':' || sum(id)::text || ':' || sum(price)::text || ':' || string_agg(name, ',' ORDER BY id) FROM items";
    let want: String = sqlx::query_scalar(fingerprint).fetch_one(src).await.unwrap();
    let got: String = sqlx::query_scalar(fingerprint).fetch_one(dst).await.unwrap();
    assert_eq!(got, want);

    // Hostile: a row count that lies, a truncated stream, an uncompressed frame whose size lies.
    let mut lying = raw.clone();
    lying[4..12].copy_from_slice(&((raw.len() - 12 + 1) as u64).to_le_bytes());
    for (body, expected) in [
        (import_step_body(handle, PageFormat::PgCopy, 300, Some(END), END, lying), "the relayed page was refused"),
        (import_step_body(handle, PageFormat::PgCopy, 299, Some(END), END, bytes.clone()), "malformed page"),
        (
            import_step_body(handle, PageFormat::PgCopy, 300, Some(END), END, bytes[..bytes.len() - 10].to_vec()),
            "the relayed page was refused",
        ),
    ] {
        let response = post(body).await.unwrap();
        assert_eq!(response.status(), 400);
        let text = response.text().await.unwrap();
        assert!(text.contains(expected), "{text:?} should say {expected:?}");
    }
    // A sender schema of other types: the table is prepared for ordinary pages only, saying why, and a binary
    // COPY page for it is refused.
    let mut wider = schema_json.clone();
    wider["columns"][0]["data_type"] = json!("integer");
    let (narrow, copy) = prepare_table(&app, transfer, &wider, "skip", true).await;
    assert_eq!(copy, Err("column \"id\" is bigint here, integer on the sender".to_owned()));
    let response = post(import_body(narrow, PageFormat::PgCopy, 300, bytes)).await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("binary COPY pages cannot go into"));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM items").fetch_one(dst).await.unwrap();
    assert_eq!(rows, 300, "nothing hostile landed");
    app.stop().await;
}

/// The outcome of a transfer is one of four words: anything else is refused when the arguments are read, with a
/// 400 that names the value and what was expected, and the transfer keeps running until a real outcome ends it.
#[tokio::test]
async fn an_unknown_outcome_is_refused_naming_it() {
    let app = spawn_app(EngineKind::Sqlite).await;
    app.login_ok().await;
    let transfer = begin(&app).await;
    let finish = |outcome: &str| {
        let body = json!({"transfer": transfer, "outcome": outcome, "message": null});
        app.client.post(app.at("/api/receive/finish-transfer")).json(&body).send()
    };
    for wrong in ["exploded", "Finished", "running", ""] {
        let response = finish(wrong).await.unwrap();
        let status = response.status().as_u16();
        let error = response.text().await.unwrap();
        assert_eq!(status, 400, "{wrong:?}: {error}");
        assert!(error.contains(&format!("unknown variant `{wrong}`")), "{wrong:?}: {error}");
        assert!(error.contains("expected one of `finished`, `incomplete`, `cancelled`, `failed`"), "{error}");
    }
    let history = support::server_sink::history(&app).await;
    assert_eq!((history[0].id, history[0].outcome), (transfer, protocol::history::TransferState::Running));
    let response = finish("cancelled").await.unwrap();
    assert_eq!(response.status(), 200);
    let history = support::server_sink::history(&app).await;
    assert_eq!((history[0].id, history[0].outcome), (transfer, protocol::history::TransferState::Cancelled));
    app.stop().await;
}
