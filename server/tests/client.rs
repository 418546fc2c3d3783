//! The programmatic client and the CLI against a real sender server on a real database: every operation, every
//! refusal as its own error, transfer_all with per-table strategies (exact rows), resume after a dropped
//! connection, and the CLI's `--json` output and exit codes.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use appdata::testing::{ENGINES, TestDb};
use client::{Client, ClientError, ClientOptions, FetchFrom, FetchOptions, TransferAllOptions, TransferOptions};
use engine::{EngineKind, Tables};
use protocol::messages::WireFilter;
use protocol::{Strategy, Value};
use support::{TestApp, code, exec, rows, spawn_app};

const CHILDREN: i64 = 2_500;

/// Equal row lists, or a panic naming the first difference (not thousands of rows).
fn assert_same_rows(got: Vec<Vec<Option<String>>>, want: Vec<Vec<Option<String>>>, context: &str) {
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        panic!("{context}: row {i} differs: got {:?}, want {:?}", got[i], want[i]);
    }
    assert_eq!(got.len(), want.len(), "{context}: row counts");
}

/// A sender with `parents` (3 rows) and `children` (2500 rows referencing them), transfers on.
async fn sender(kind: EngineKind) -> TestApp {
    let app = spawn_app(kind).await;
    exec(
        &app.instance.db,
        "CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents(id), note TEXT);
         INSERT INTO parents VALUES (1, 'one'), (2, 'two'), (3, 'three');",
    )
    .await;
    let values: Vec<String> = (1..=CHILDREN)
        .map(|i| format!("({i}, {}, {})", i % 3 + 1, if i % 10 == 0 { "NULL".into() } else { format!("'note {i}'") }))
        .collect();
    exec(&app.instance.db, &format!("INSERT INTO children VALUES {}", values.join(", "))).await;
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    app
}

fn options() -> ClientOptions {
    ClientOptions { timeout: Duration::from_secs(10), ..ClientOptions::default() }
}

fn ids(page: &protocol::Page) -> Vec<i64> {
    page.rows.iter().map(|r| if let Value::Int(i) = r[0] { i } else { panic!("{:?}", r[0]) }).collect()
}

#[tokio::test]
async fn every_operation_answers_exactly() {
    for kind in ENGINES {
        let app = sender(kind).await;
        // As people type it: no scheme (http here: the client assumes https only for bare hosts it cannot try).
        let client = Client::connect(&format!("http://{}/", app.instance.addr), &code(&app).to_lowercase(), options())
            .await
            .unwrap();
        let names: Vec<String> = client.list_tables().await.unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["children", "parents"], "{kind:?}");
        let schema = client.get_schema("children").await.unwrap();
        assert_eq!(schema.primary_key, ["id"]);
        assert_eq!(schema.foreign_keys[0].ref_table, "parents");
        assert_eq!(client.get_count("children").await.unwrap(), CHILDREN);

        // Paging by cursor: every row once, in key order.
        let mut seen = Vec::new();
        let mut fetch = FetchOptions { limit: 700, ..FetchOptions::default() };
        loop {
            let page = client.fetch_records("children", &fetch).await.unwrap();
            seen.extend(ids(&page.records));
            match page.next {
                Some(next) if page.has_more => fetch.from = FetchFrom::Cursor(next),
                _ => break,
            }
        }
        assert_eq!(seen, (1..=CHILDREN).collect::<Vec<_>>(), "{kind:?}");
        let offset = client
            .fetch_records("children", &FetchOptions { limit: 3, from: FetchFrom::Offset(10), filter: WireFilter::All })
            .await
            .unwrap();
        assert_eq!(ids(&offset.records), [11, 12, 13]);
        let filtered = FetchOptions {
            limit: 100,
            from: FetchFrom::Start,
            filter: WireFilter::KeyRange { from: Some(2400.into()), to: Some(2402.into()) },
        };
        let page = client.fetch_records("children", &filtered).await.unwrap();
        assert_eq!((ids(&page.records), page.has_more), (vec![2400, 2401, 2402], false));
        assert_eq!(page.records.rows[0][2], Value::Null, "row 2400 has no note");

        let (sha, n) = client.checksum("parents").await.unwrap();
        let local =
            Tables::new(app.instance.db.clone(), protocol::Exclusions::default()).checksum("parents").await.unwrap();
        assert_eq!((sha, n), local);
        assert!(matches!(client.get_schema("dbt_admins").await, Err(ClientError::TableNotFound(_))));
        assert!(matches!(client.get_count("nope").await, Err(ClientError::TableNotFound(_))));
        client.disconnect().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn each_refusal_is_its_own_error() {
    let app = sender(EngineKind::Sqlite).await;
    let url = app.url.clone();
    let connect = |code: String| {
        let url = url.clone();
        async move { Client::connect(&url, &code, options()).await }
    };
    let first_session = app.instance.sender.create_session("admin");
    let used = app.instance.sender.new_code(&first_session, Duration::from_secs(300)).unwrap().as_str().to_owned();
    let first = connect(used.clone()).await.unwrap();
    assert!(matches!(connect(used.clone()).await, Err(ClientError::CodeUsed)));
    assert!(matches!(connect("ABCDEFGH".into()).await, Err(ClientError::InvalidCode)));
    assert!(matches!(connect("not-a-code".into()).await, Err(ClientError::InvalidCode)));
    let session = app.instance.sender.create_session("admin");
    let short = app.instance.sender.new_code(&session, Duration::from_secs(1)).unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(matches!(connect(short.as_str().into()).await, Err(ClientError::CodeExpired(m)) if m.contains("expired")));
    let pending = code(&app);
    appdata::settings::set_transfers_enabled(&app.instance.db, false).await.unwrap();
    assert!(matches!(connect(pending).await, Err(ClientError::TransfersOff)));
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nobody = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    assert!(matches!(Client::connect(&nobody, &code(&app), options()).await, Err(ClientError::Unreachable(_))));
    assert!(matches!(Client::connect("ftp://x", &code(&app), options()).await, Err(ClientError::InvalidUrl(_))));

    // The sender stops this receiver: the next request says so, and it is not resumable.
    for r in app.instance.sender.receivers(&first_session) {
        assert!(app.instance.sender.disconnect(&first_session, &r.receiver_id));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    match first.list_tables().await {
        Err(e @ ClientError::Disconnected { stopped: true, .. }) => {
            assert!(!e.is_resumable());
            assert!(e.to_string().contains("the sender disconnected this receiver"), "{e}");
        }
        other => panic!("{other:?}"),
    }

    // A table missing here without create-missing.
    let client = connect(code(&app)).await.unwrap();
    let target = TestDb::new(EngineKind::Sqlite).await;
    let local = Tables::new(target.db.clone(), protocol::Exclusions::default());
    let missing = client.transfer(&local, "parents", &TransferOptions::default(), &|_| {}).await;
    assert!(matches!(missing, Err(ClientError::MissingLocally(t)) if t == "parents"));
    app.stop().await;
}

#[tokio::test]
async fn transfer_all_lands_exact_rows_with_per_table_strategies() {
    for kind in ENGINES {
        let app = sender(kind).await;
        let target = TestDb::new(kind).await;
        // Here already: parents 1 with another name, and 4 that the sender lacks.
        exec(
            &target.db,
            "CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
                          INSERT INTO parents VALUES (1, 'mine'), (4, 'four')",
        )
        .await;
        let local = Tables::new(target.db.clone(), protocol::Exclusions::default());
        let client = Client::connect(&app.url, &code(&app), options()).await.unwrap();
        let events = std::sync::Mutex::new(Vec::new());
        let options = TransferAllOptions {
            tables: None,
            strategies: HashMap::from([("parents".to_owned(), Strategy::Overwrite)]),
            default_strategy: Strategy::Skip,
            create_missing_tables: true,
            batch_size: 1000,
        };
        let results = client.transfer_all(&local, &options, &|e| events.lock().unwrap().push(e)).await.unwrap();
        let order: Vec<&str> = results.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(order, ["parents", "children"], "parents first");
        let parents = results[0].1.as_ref().unwrap();
        assert_eq!(
            (parents.created, parents.updated, parents.skipped, parents.created_table),
            (2, 1, 0, false),
            "{kind:?}"
        );
        let children = results[1].1.as_ref().unwrap();
        assert_eq!((children.rows, children.pages, children.created, children.created_table), (2500, 3, 2500, true));
        assert!(children.errors.is_empty());

        assert_eq!(
            rows(&target.db, "SELECT CAST(id AS TEXT), name FROM parents ORDER BY parents.id").await,
            [["1", "one"], ["2", "two"], ["3", "three"], ["4", "four"]]
                .map(|r| r.map(|v| Some(v.to_owned())).to_vec())
                .to_vec()
        );
        let sql = "SELECT CAST(id AS TEXT), CAST(parent_id AS TEXT), note FROM children ORDER BY children.id";
        assert_same_rows(rows(&target.db, sql).await, rows(&app.instance.db, sql).await, &format!("{kind:?}"));
        let events = events.into_inner().unwrap();
        let pages =
            events.iter().filter(|e| matches!(e, client::Progress::Page { table, .. } if table == "children")).count();
        assert_eq!(pages, 3, "a progress event per page");
        client.disconnect().await;
        app.stop().await;
    }
}

/// A TCP relay in front of the sender whose connections can be cut, to drop the client's socket mid-transfer.
struct CuttableProxy {
    addr: std::net::SocketAddr,
    cut: tokio::sync::watch::Sender<u32>,
}

impl CuttableProxy {
    async fn start(target: std::net::SocketAddr) -> CuttableProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, cuts) = tokio::sync::watch::channel(0u32);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                tokio::spawn(async move {
                    let mut outbound = tokio::net::TcpStream::connect(target).await.unwrap();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        CuttableProxy { addr, cut }
    }

    fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

#[tokio::test]
async fn a_dropped_connection_is_resumed_and_the_table_ends_exact() {
    let app = sender(EngineKind::Postgres).await;
    let proxy = CuttableProxy::start(app.instance.addr).await;
    let target = TestDb::new(EngineKind::Sqlite).await;
    let local = Tables::new(target.db.clone(), protocol::Exclusions::default());
    let client = Client::connect(&format!("http://{}", proxy.addr), &code(&app), options()).await.unwrap();
    let cut_once = std::sync::Once::new();
    let on_progress = |e: client::Progress| {
        if let client::Progress::Page { done, .. } = e
            && done >= 600
        {
            cut_once.call_once(|| proxy.cut_all());
        }
    };
    let options = TransferOptions { batch_size: 200, create_missing_tables: true, ..TransferOptions::default() };
    client.transfer(&local, "parents", &options, &|_| {}).await.unwrap();
    let result = client.transfer(&local, "children", &options, &on_progress).await.unwrap();
    assert!(result.resumed >= 1, "{result:?}");
    assert_eq!((result.rows, result.created, result.skipped), (2500, 2500, 0), "no page lost, none twice");
    let sql = "SELECT CAST(id AS TEXT), CAST(parent_id AS TEXT), note FROM children ORDER BY children.id";
    assert_same_rows(rows(&target.db, sql).await, rows(&app.instance.db, sql).await, "children");
    app.stop().await;
}

/// Runs the real binary; returns its exit code and stdout lines.
async fn cli(args: &[&str]) -> (i32, Vec<String>) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_db-transfer"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    (output.status.code().unwrap_or(-1), stdout.lines().map(str::to_owned).collect())
}

#[tokio::test]
async fn the_cli_pulls_with_json_output_and_meaningful_exit_codes() {
    let app = sender(EngineKind::Sqlite).await;
    let target = TestDb::new(EngineKind::Postgres).await;

    let (status, out) = cli(&["tables", "--from", &app.url, "--code", &code(&app), "--json"]).await;
    assert_eq!(status, 0);
    let tables: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
    assert_eq!(tables[0]["name"], "children");
    assert_eq!(tables[0]["rows"], CHILDREN);

    let (status, out) = cli(&["schema", "--from", &app.url, "--code", &code(&app), "--json", "children"]).await;
    assert_eq!(status, 0);
    let schema: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
    assert_eq!(schema["foreign_keys"][0]["ref_table"], "parents");

    // The statements that would create it here, checked by the target and not kept.
    let ddl_code = code(&app);
    let args = [
        "schema",
        "--from",
        &app.url,
        "--code",
        &ddl_code,
        "--json",
        "--ddl",
        "--database-url",
        &target.url,
        "parents",
    ];
    let (status, out) = cli(&args).await;
    assert_eq!(status, 0, "{out:?}");
    let ddl: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
    let statements: Vec<&str> = ddl["statements"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(statements[0].starts_with("CREATE TABLE ") && statements[0].contains("\"parents\""), "{statements:?}");
    assert!(statements[0].contains("PRIMARY KEY"), "{statements:?}");
    let kept: i64 = match &target.db {
        engine::Db::Postgres(p) => {
            sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'parents'").fetch_one(p).await.unwrap()
        }
        engine::Db::Sqlite(_) => unreachable!("the target is PostgreSQL"),
    };
    assert_eq!(kept, 0, "--ddl creates nothing");

    // A table whose parent is not here yet: its statements still show, the foreign key named in the notes.
    let child_code = code(&app);
    let args = [
        "schema",
        "--from",
        &app.url,
        "--code",
        &child_code,
        "--json",
        "--ddl",
        "--database-url",
        &target.url,
        "children",
    ];
    let (status, out) = cli(&args).await;
    assert_eq!(status, 0, "{out:?}");
    let ddl: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
    let statements: Vec<&str> = ddl["statements"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(statements[0].starts_with("CREATE TABLE ") && statements[0].contains("\"children\""), "{statements:?}");
    let notes = ddl["notes"].to_string();
    assert!(notes.contains("parents"), "the foreign key to the missing parent is named: {notes}");

    let pull_code = code(&app);
    let args = [
        "pull",
        "--from",
        &app.url,
        "--code",
        &pull_code,
        "--database-url",
        &target.url,
        "--tables",
        "children,parents",
        "--create-missing",
        "--table-strategy",
        "parents=overwrite",
        "--batch-size",
        "1000",
        "--json",
    ];
    let (status, out) = cli(&args).await;
    assert_eq!(status, 0, "{out:?}");
    let events: Vec<serde_json::Value> = out.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["event"] != "summary")
        .map(|e| (e["event"].as_str().unwrap(), e["table"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds.first(), Some(&("started", "parents")), "parents first");
    assert_eq!(kinds.iter().filter(|k| **k == ("page", "children")).count(), 3);
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["tables"][1]["result"]["created"], CHILDREN);
    assert_eq!(summary["tables"][0]["result"]["strategy"], "overwrite");
    let sql = "SELECT CAST(id AS TEXT), CAST(parent_id AS TEXT), note FROM children ORDER BY children.id";
    assert_same_rows(rows(&target.db, sql).await, rows(&app.instance.db, sql).await, "children");
    // The pull is in the receiving database's history, counted by its imports.
    let history = appdata::history::list(&target.db, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].channel.as_str(), history[0].outcome.as_str()), ("cli", "finished"));
    assert_eq!((history[0].rows, history[0].created, history[0].updated), (CHILDREN + 3, CHILDREN + 3, 0));

    // A filtered pull of one table: only those rows (skip: the rest are there already).
    let (status, out) = cli(&[
        "pull",
        "--from",
        &app.url,
        "--code",
        &code(&app),
        "--database-url",
        &target.url,
        "--tables",
        "children",
        "--filter",
        "range:10..14",
        "--json",
    ])
    .await;
    assert_eq!(status, 0);
    let summary: serde_json::Value = serde_json::from_str(out.last().unwrap()).unwrap();
    assert_eq!(
        (summary["tables"][0]["result"]["rows"].clone(), summary["tables"][0]["result"]["skipped"].clone()),
        (5.into(), 5.into())
    );

    // The same code twice: refused (exit 3), said in JSON.
    let (status, out) =
        cli(&["pull", "--from", &app.url, "--code", &pull_code, "--database-url", &target.url, "--all", "--json"])
            .await;
    assert_eq!(status, 3);
    let error: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
    assert_eq!(error["kind"], "code_used");
    // Nobody there: exit 4. Bad usage: exit 2.
    let (status, _) = cli(&["tables", "--from", "http://127.0.0.1:9", "--code", "ABCDEFGH"]).await;
    assert_eq!(status, 4);
    let (status, _) = cli(&["pull", "--from", &app.url, "--code", "ABCDEFGH", "--all", "--filter", "keys:1"]).await;
    assert_eq!(status, 2);
    app.stop().await;
}

#[tokio::test]
async fn postgresql_pulls_travel_as_binary_copy_and_refused_rows_are_still_reported_row_by_row() {
    let app = sender(EngineKind::Postgres).await;
    let target = TestDb::new(EngineKind::Postgres).await;
    // Same types as the sender, but a rule the sender's rows break now and then.
    exec(
        &target.db,
        "CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
                      CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, note TEXT,
                                             CONSTRAINT no_sevens CHECK (id NOT IN (1407, 1420)))",
    )
    .await;
    let local = Tables::new(target.db.clone(), protocol::Exclusions::default());
    let client = Client::connect(&app.url, &code(&app), options()).await.unwrap();
    let parents = client.transfer(&local, "parents", &TransferOptions::default(), &|_| {}).await.unwrap();
    assert!(parents.notes.iter().any(|n| n == client::BINARY_COPY_NOTE), "{:?}", parents.notes);
    let options = TransferOptions { batch_size: 250, ..TransferOptions::default() };
    let children = client.transfer(&local, "children", &options, &|_| {}).await.unwrap();
    assert!(children.notes.iter().any(|n| n == client::BINARY_COPY_NOTE));
    // Ids 1407 and 1420 are refused with PostgreSQL's reason (their page redone row by row); every other row landed.
    let refused: Vec<&str> = children.errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(refused, ["id=1407", "id=1420"]);
    assert!(children.errors[0].reason.contains("no_sevens"), "{:?}", children.errors[0]);
    assert_eq!((children.rows, children.pages, children.created), (CHILDREN as u64, 10, CHILDREN as u64 - 2));
    let sql = "SELECT CAST(id AS TEXT), CAST(parent_id AS TEXT), note FROM children WHERE id NOT IN (1407, 1420) ORDER BY children.id";
    assert_same_rows(rows(&target.db, sql).await, rows(&app.instance.db, sql).await, "binary COPY");

    // A target of other types gets ordinary pages, with the same rows.
    let other = TestDb::new(EngineKind::Postgres).await;
    exec(&other.db, "CREATE TABLE children (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL, note TEXT)").await;
    let local = Tables::new(other.db.clone(), protocol::Exclusions::default());
    let plain = client.transfer(&local, "children", &options, &|_| {}).await.unwrap();
    assert!(!plain.notes.iter().any(|n| n == client::BINARY_COPY_NOTE));
    assert_eq!(plain.created, CHILDREN as u64);
    assert_same_rows(
        rows(&other.db, "SELECT CAST(id AS TEXT), CAST(parent_id AS TEXT), note FROM children ORDER BY children.id")
            .await,
        rows(
            &app.instance.db,
            "SELECT CAST(id AS TEXT), CAST(parent_id AS TEXT), note FROM children ORDER BY children.id",
        )
        .await,
        "ordinary",
    );
    app.stop().await;
}
