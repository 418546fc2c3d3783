//! A hostile sender (`support::hostile_sender`, a scripted fake on a real WebSocket) against every receiver: the
//! CLI's `pull`, a background job, and the browser relay's `receive/import-page` server function. A bomb page, a
//! page whose header disagrees with its body, a schema with a name no engine accepts, a page header announcing
//! a huge frame, a pg_copy stream shorter than its header: each is refused with an error naming what was wrong,
//! nothing of it is written, and the receiver goes on serving (the next, good request succeeds). Malformed
//! capabilities and checksum replies are refused naming what was wrong, and a refusal is read by its code
//! (`dbt-refusal`), never by its words.

mod support;

use engine::compress::PageCompression;
use std::time::{Duration, Instant};

use appdata::testing::TestDb;
use client::{Client, ClientError, ClientOptions};
use engine::{Db, EngineKind};
use serde_json::{Value as J, json};
use support::hostile_sender::{
    Answer, FakeTable, HostileSender, Refusal, Script, bomb_page, capabilities, copy_page, good_page, keyed_schema,
};
use support::{exec, spawn_app, spawn_app_with};

/// What refusing the bomb says: its shape and what it would cost (200 columns × 32 bytes + 24 a row).
const BOMB_REFUSAL: &str =
    "malformed page: 60000 rows × 200 columns would take 386400016 bytes in memory, over the limit of 335544320";
const HUGE: u64 = 1 << 60;

fn hostile_tables() -> Vec<FakeTable> {
    vec![
        FakeTable::keyed("bomb", 60_000, vec![Answer::page(60_000, bomb_page())]),
        // More to come, but no cursor to continue from: taken as the end, the rest would be lost silently.
        FakeTable::keyed(
            "no_cursor",
            4,
            vec![Answer::Page {
                header: json!({"rows": 2, "has_more": true, "next": null, "bytes": good_page(&[(1, 10), (2, 20)]).len()}),
                body: good_page(&[(1, 10), (2, 20)]),
            }],
        ),
        // The header says 5 rows, the page holds 2.
        FakeTable::keyed("liar", 5, vec![Answer::page(5, good_page(&[(1, 10), (2, 20)]))]),
        FakeTable {
            name: "hostile".into(),
            schema: keyed_schema("hostile", &["id", "x\0y"]),
            count: 1,
            fetches: vec![],
        },
        FakeTable::keyed(
            "huge_frame",
            1,
            vec![Answer::Page {
                header: json!({"rows": 1, "has_more": false, "next": null, "bytes": HUGE}),
                body: good_page(&[(1, 1)]),
            }],
        ),
        FakeTable::keyed("good", 2, vec![Answer::page(2, good_page(&[(1, 10), (2, 20)]))]),
    ]
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    match db {
        Db::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(p).await.unwrap(),
        Db::Sqlite(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(p).await.unwrap(),
    }
}

/// Rows of `table` in the target, or `None` when it does not exist.
async fn rows_in(db: &Db, table: &str) -> Option<i64> {
    let exists =
        scalar(db, &format!("SELECT count(*) FROM information_schema.tables WHERE table_name = '{table}'")).await;
    if exists == 0 { None } else { Some(scalar(db, &format!("SELECT count(*) FROM \"{table}\"")).await) }
}

/// Runs the real binary; its exit code and its `--json` lines.
async fn cli(args: &[&str]) -> (i32, Vec<J>) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_db-transfer"))
            .args(&args)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines = stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| json!({"text": l}))).collect();
    (output.status.code().unwrap_or(-1), lines)
}

/// What the pull said about its one table: (ok, kind, message).
fn outcome(lines: &[J]) -> (bool, String, String) {
    let summary =
        lines.iter().rev().find(|l| l["event"] == "summary").unwrap_or_else(|| panic!("no summary: {lines:?}"));
    let t = &summary["tables"][0];
    (
        t["ok"].as_bool().unwrap(),
        t["kind"].as_str().unwrap_or_default().to_owned(),
        t["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn the_cli_refuses_each_hostile_answer_with_the_reason_and_writes_nothing() {
    let sender = HostileSender::start(Script::new(hostile_tables())).await;
    let target = TestDb::new(EngineKind::Postgres).await;
    let pull = |table: &'static str| {
        let (from, database) = (sender.url.clone(), target.url.clone());
        async move {
            cli(&[
                "pull",
                "--from",
                &from,
                "--code",
                "ABCD2345",
                "--database-url",
                &database,
                "--tables",
                table,
                "--create-missing",
                "--json",
            ])
            .await
        }
    };

    let (status, lines) = pull("bomb").await;
    assert_eq!(status, 1, "{lines:?}");
    assert_eq!(outcome(&lines), (false, "protocol".into(), format!("protocol error: a bad page: {BOMB_REFUSAL}")));
    assert_eq!(rows_in(&target.db, "bomb").await, Some(0), "the table was created, nothing written");

    let (status, lines) = pull("hostile").await;
    assert_eq!(status, 1, "{lines:?}");
    let (ok, _, message) = outcome(&lines);
    assert!(!ok);
    assert!(message.contains(r#"invalid column name "x\0y": it contains a NUL character"#), "{message}");
    assert_eq!(rows_in(&target.db, "hostile").await, None, "no table was created");

    // A header announcing an exabyte: the receiver breaks off the connection at once (it reserves nothing).
    let (status, lines) = pull("huge_frame").await;
    assert_eq!(status, 4, "{lines:?}");
    let (ok, kind, message) = outcome(&lines);
    assert_eq!((ok, kind.as_str()), (false, "disconnected"));
    let max = protocol::messages::MAX_PAGE_FRAME;
    assert!(
        message
            .contains(&format!("the sender broke the protocol: a page header announcing {HUGE} bytes (at most {max})")),
        "{message}"
    );
    assert_eq!(rows_in(&target.db, "huge_frame").await, Some(0));

    // The same CLI, the same sender: a good table lands whole.
    let (status, lines) = pull("good").await;
    assert_eq!(status, 0, "{lines:?}");
    assert!(outcome(&lines).0);
    assert_eq!(scalar(&target.db, "SELECT CAST(sum(v) AS bigint) FROM good").await, 30);
}

#[tokio::test]
async fn the_cli_refuses_a_page_whose_header_disagrees_with_its_rows() {
    let sender = HostileSender::start(Script::new(hostile_tables())).await;
    let target = TestDb::new(EngineKind::Postgres).await;
    let (status, lines) = cli(&[
        "pull",
        "--from",
        &sender.url,
        "--code",
        "ABCD2345",
        "--database-url",
        &target.url,
        "--tables",
        "liar",
        "--create-missing",
        "--json",
    ])
    .await;
    assert_eq!(status, 1, "{lines:?}");
    assert_eq!(
        outcome(&lines),
        (false, "protocol".into(), "protocol error: the header said 5 rows, the page holds 2".into())
    );
    assert_eq!(rows_in(&target.db, "liar").await, Some(0));
}

#[tokio::test]
async fn the_cli_refuses_a_page_with_more_to_come_but_no_cursor() {
    let sender = HostileSender::start(Script::new(hostile_tables())).await;
    let target = TestDb::new(EngineKind::Postgres).await;
    let args = ["pull", "--from", &sender.url, "--code", "ABCD2345", "--database-url", &target.url];
    let (status, lines) = cli(&[&args[..], &["--tables", "no_cursor", "--create-missing", "--json"]].concat()).await;
    assert_eq!(status, 1, "{lines:?}");
    assert_eq!(
        outcome(&lines),
        (false, "protocol".into(), "protocol error: a page with more to come but no cursor".into())
    );
    assert_eq!(rows_in(&target.db, "no_cursor").await, Some(0));
}

#[tokio::test]
async fn the_cli_refuses_a_sender_that_answers_hello_with_something_else() {
    let mut script = Script::new(hostile_tables());
    script.welcome = Some(json!({"type": "response", "id": 0, "result": {"welcome": true}}));
    let sender = HostileSender::start(script).await;
    let (status, lines) = cli(&["tables", "--from", &sender.url, "--code", "ABCD2345", "--json"]).await;
    assert_eq!(status, 5, "{lines:?}");
    assert_eq!(lines[0]["kind"], "protocol", "{lines:?}");
    assert_eq!(lines[0]["message"], "protocol error: no welcome after hello");
    assert_eq!(sender.fetches(), 0);
}

#[tokio::test]
async fn the_cli_refuses_a_pg_copy_stream_that_disagrees_with_its_header() {
    // Header: 3 rows; stream: 2 tuples.
    let tables = vec![FakeTable::keyed("copied", 3, vec![Answer::page(3, copy_page(&[(1, 10), (2, 20)]))])];
    let sender = HostileSender::start(Script::new(tables).with_pg_copy()).await;
    let target = TestDb::new(EngineKind::Postgres).await;
    exec(&target.db, "CREATE TABLE copied (id bigint PRIMARY KEY, v bigint)").await;
    let (status, lines) = cli(&[
        "pull",
        "--from",
        &sender.url,
        "--code",
        "ABCD2345",
        "--database-url",
        &target.url,
        "--tables",
        "copied",
        "--json",
    ])
    .await;
    assert_eq!(status, 1, "{lines:?}");
    let (ok, kind, message) = outcome(&lines);
    assert_eq!((ok, kind.as_str()), (false, "import"));
    assert!(message.contains("the page header says 3 rows, the COPY data holds 2"), "{message}");
    assert_eq!(rows_in(&target.db, "copied").await, Some(0));
}

fn job_request(sender_url: &str, tables: &[&str]) -> J {
    json!({"request": {
        "sender_url": sender_url, "code": "ABCD2345", "resume_token": null,
        "tables": tables.iter().map(|t| json!({"table": t, "strategy": "skip"})).collect::<Vec<_>>(),
        "create_missing": true, "batch_size": 1000,
    }})
}

async fn start_job(client: &reqwest::Client, url: &str, body: &J) -> i64 {
    let response = client.post(format!("{url}/api/jobs/start")).json(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap().parse().unwrap()
}

/// Waits for job `id` to end; returns it as the Jobs page lists it.
async fn ended_job(client: &reqwest::Client, url: &str, id: i64) -> J {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let jobs: Vec<J> = client.post(format!("{url}/api/jobs/list")).send().await.unwrap().json().await.unwrap();
        let job = jobs.into_iter().find(|j| j["id"] == id).expect("the job is listed");
        if ["finished", "incomplete", "failed", "cancelled"].contains(&job["state"].as_str().unwrap()) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never ended: {job:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_background_job_fails_on_a_bomb_page_with_the_reason_and_the_next_job_runs() {
    let sender = HostileSender::start(Script::new(hostile_tables())).await;
    let receiver = spawn_app_with(EngineKind::Postgres, |c| c.job_retries = 0).await;
    receiver.login_ok().await;

    let id = start_job(&receiver.client, &receiver.url, &job_request(&sender.url, &["bomb"])).await;
    let job = ended_job(&receiver.client, &receiver.url, id).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    let table = &job["tables"][0];
    let said = format!("{} {}", job["message"], table["message"]);
    assert!(said.contains(BOMB_REFUSAL), "{job:#}");
    assert_eq!(table["rows"], 0);
    assert_eq!(rows_in(&receiver.instance.db, "bomb").await, Some(0));

    let id = start_job(&receiver.client, &receiver.url, &job_request(&sender.url, &["huge_frame"])).await;
    let job = ended_job(&receiver.client, &receiver.url, id).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    assert!(job.to_string().contains("a page header announcing 1152921504606846976 bytes"), "{job:#}");
    assert_eq!(rows_in(&receiver.instance.db, "huge_frame").await, Some(0));

    // The worker goes on: a good job finishes with exact rows.
    let id = start_job(&receiver.client, &receiver.url, &job_request(&sender.url, &["good"])).await;
    let job = ended_job(&receiver.client, &receiver.url, id).await;
    assert_eq!(job["state"], "finished", "{job:#}");
    assert_eq!(scalar(&receiver.instance.db, "SELECT CAST(sum(v) AS bigint) FROM good").await, 30);
    receiver.stop().await;
}

/// Starts a history record, as the Receive page does before its first page.
async fn begin(app: &support::TestApp, table: &str) -> i64 {
    let body = json!({"sender": "http://sender.example", "tables": [{"table": table, "strategy": "skip"}]});
    let response = app.client.post(app.at("/api/receive/begin-transfer")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn post(app: &support::TestApp, endpoint: &str, body: Vec<u8>) -> (u16, String) {
    let response = app
        .client
        .post(app.at(endpoint))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_browser_relay_refuses_a_bomb_and_a_lying_copy_page_and_goes_on_serving() {
    let app = spawn_app(EngineKind::Postgres).await;
    app.login_ok().await;
    exec(&app.instance.db, "CREATE TABLE items (id bigint PRIMARY KEY, v bigint)").await;
    let transfer = begin(&app, "items").await;
    let schema = keyed_schema("items", &["id", "v"]);
    let (handle, copy) = support::prepare_table(&app, transfer, &schema, "skip", true).await;
    assert_eq!(copy, Ok(()), "binary COPY pages fit the table");
    let import = |page: Vec<u8>| {
        let rows = protocol::Page::decompress(&page).map(|p| p.rows.len() as u64).unwrap_or(0);
        support::import_body(handle, protocol::messages::PageFormat::Binary, rows, page)
    };

    let (status, body) = post(&app, "/api/receive/import-page", import(bomb_page())).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(&format!("the relayed page was refused: {BOMB_REFUSAL}")), "{body}");

    let copy = support::import_body(handle, protocol::messages::PageFormat::PgCopy, 3, copy_page(&[(1, 10), (2, 20)]));
    let (status, body) = post(&app, "/api/receive/import-page", copy).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("the page header says 3 rows, the COPY data holds 2"), "{body}");
    assert_eq!(rows_in(&app.instance.db, "items").await, Some(0), "nothing of either landed");

    // The next, good page lands.
    let (status, body) = post(&app, "/api/receive/import-page", import(good_page(&[(1, 10), (2, 20)]))).await;
    assert_eq!(status, 200, "{body}");
    let result: J = serde_json::from_str(&body).unwrap();
    assert_eq!(result["committed"]["created"], 2);
    assert_eq!(scalar(&app.instance.db, "SELECT CAST(sum(v) AS bigint) FROM items").await, 30);
    app.stop().await;
}

async fn connect(sender: &HostileSender) -> Result<Client, ClientError> {
    Client::connect(&sender.url, "ABCD2345", ClientOptions::default()).await
}

/// The error a connection to a sender with these capabilities ends in.
async fn connect_with_capabilities(capabilities: J) -> ClientError {
    let mut script = Script::new(hostile_tables());
    script.capabilities = capabilities;
    let sender = HostileSender::start(script).await;
    let error = connect(&sender).await.err().expect("the connection is refused");
    assert_eq!(sender.fetches(), 0);
    error
}

#[tokio::test]
async fn a_malformed_capabilities_reply_fails_the_connection_naming_what_was_wrong() {
    let with = |field: &str, value: J| {
        let mut c = capabilities(true);
        match value {
            J::Null => c.as_object_mut().unwrap().remove(field),
            v => c.as_object_mut().unwrap().insert(field.into(), v),
        };
        c
    };
    for (capabilities, said) in [
        (with("engine", json!(7)), "engine: invalid type: integer `7`, expected a string"),
        (with("engine", J::Null), "missing field `engine`"),
        (with("page_formats", json!("pg_copy")), "page_formats: invalid type: string \"pg_copy\", expected a sequence"),
        (with("page_formats", json!([1])), "page_formats: invalid type: integer `1`, expected a string"),
        (with("max_page_rows", json!("many")), "max_page_rows: invalid type: string \"many\", expected u32"),
        (json!("pong"), "invalid type: string \"pong\", expected a map"),
    ] {
        match connect_with_capabilities(capabilities).await {
            ClientError::Protocol(m) => assert_eq!(m, format!("the sender's capabilities reply is malformed: {said}")),
            other => panic!("{said}: {other:?}"),
        }
    }

    // What the CLI says about it.
    let mut script = Script::new(hostile_tables());
    script.capabilities = with("engine", json!(7));
    let sender = HostileSender::start(script).await;
    let (status, lines) = cli(&["tables", "--from", &sender.url, "--code", "ABCD2345", "--json"]).await;
    assert_eq!(status, 5, "{lines:?}");
    assert_eq!(lines[0]["kind"], "protocol", "{lines:?}");
    assert_eq!(
        lines[0]["message"],
        "protocol error: the sender's capabilities reply is malformed: engine: invalid type: integer `7`, expected a string"
    );
}

#[tokio::test]
async fn capabilities_are_typed_and_unknown_engines_and_formats_are_tolerated() {
    let mut newer = capabilities(true);
    newer["engine"] = json!("CockroachDB");
    newer["page_formats"] = json!(["arrow", "pg_copy"]);
    newer["something_new"] = json!({"a": 1});
    let mut script = Script::new(hostile_tables());
    script.capabilities = newer;
    let sender = HostileSender::start(script).await;
    let client = connect(&sender).await.unwrap();
    let caps = client.capabilities();
    assert_eq!(caps.engine, protocol::messages::EngineId::Other("CockroachDB".into()));
    assert_eq!(caps.page_formats, [protocol::messages::PageFormat::PgCopy]);
    assert!(client.sender_offers_pg_copy().await);
    // The good table still lands through it.
    assert_eq!(client.get_count("good").await.unwrap(), 2);

    let sender = HostileSender::start(Script::new(hostile_tables())).await;
    let client = connect(&sender).await.unwrap();
    assert_eq!(client.capabilities().engine, protocol::messages::EngineId::Postgres);
    assert!(!client.sender_offers_pg_copy().await);
}

#[tokio::test]
async fn a_malformed_checksum_reply_is_refused_naming_what_was_wrong() {
    let sha = "0123456789abcdef".repeat(4);
    for (reply, said) in [
        (json!({"sha256": 5, "rows": 2}), "sha256: invalid type: integer `5`, expected a string"),
        (json!({"sha256": sha}), "missing field `rows`"),
        (json!({"sha256": sha, "rows": -2}), "rows: invalid value: integer `-2`, expected u64"),
        (json!({"sha256": "SAME", "rows": 2}), "sha256: \"SAME\" is not 64 lowercase hex digits"),
        (json!([sha, 2]), "invalid type: sequence, expected a map"),
    ] {
        let mut script = Script::new(hostile_tables());
        script.checksum = Some(reply);
        let sender = HostileSender::start(script).await;
        let client = connect(&sender).await.unwrap();
        match client.checksum("good").await {
            Err(ClientError::Protocol(m)) => assert_eq!(m, format!("the sender's checksum reply is malformed: {said}")),
            other => panic!("{said}: {other:?}"),
        }
        // The connection goes on serving.
        assert_eq!(client.get_count("good").await.unwrap(), 2);
    }
    let mut script = Script::new(hostile_tables());
    script.checksum = Some(json!({"sha256": sha, "rows": 2, "algorithm": "sha256"}));
    let sender = HostileSender::start(script).await;
    assert_eq!(connect(&sender).await.unwrap().checksum("good").await.unwrap(), (sha, 2));
}

#[tokio::test]
async fn transfers_off_is_recognised_by_its_code_not_its_words() {
    let refused = |status: u16, code: Option<&'static str>, body: &str| {
        let mut script = Script::new(hostile_tables());
        script.refusal = Some(Refusal { status, code, body: body.into() });
        async move {
            let sender = HostileSender::start(script).await;
            let error = connect(&sender).await.err().expect("refused");
            assert_eq!(sender.connections(), 0);
            error
        }
    };
    // The code says it, whatever the words.
    let e = refused(403, Some("transfers_off"), "the admin is on holiday").await;
    assert!(matches!(e, ClientError::TransfersOff), "{e:?}");
    // The words alone do not: without the code a 403 is a wrong code; with another code, that one.
    let e = refused(403, None, "transfers are switched off on this site").await;
    assert!(matches!(e, ClientError::InvalidCode), "{e:?}");
    let e = refused(403, Some("invalid_code"), "transfers are switched off on this site").await;
    assert!(matches!(e, ClientError::InvalidCode), "{e:?}");
    // A code this client does not know: the status decides, the words are kept to show.
    let e = refused(410, Some("from_the_future"), "gone fishing").await;
    assert!(matches!(&e, ClientError::CodeExpired(m) if m == "gone fishing"), "{e:?}");
    let e = refused(409, Some("session_ended"), "no").await;
    assert!(matches!(&e, ClientError::CodeExpired(m) if m == "no"), "{e:?}");

    // The CLI and a background job report it as transfers off.
    let mut script = Script::new(hostile_tables());
    script.refusal = Some(Refusal { status: 403, code: Some("transfers_off"), body: "closed for lunch".into() });
    let sender = HostileSender::start(script).await;
    let (status, lines) = cli(&["tables", "--from", &sender.url, "--code", "ABCD2345", "--json"]).await;
    assert_eq!(status, 3, "{lines:?}");
    assert_eq!(lines[0]["kind"], "transfers_off", "{lines:?}");

    let receiver = spawn_app_with(EngineKind::Postgres, |c| c.job_retries = 0).await;
    receiver.login_ok().await;
    let id = start_job(&receiver.client, &receiver.url, &job_request(&sender.url, &["good"])).await;
    let job = ended_job(&receiver.client, &receiver.url, id).await;
    assert_eq!(job["state"], "failed", "{job:#}");
    assert_eq!(job["message"], "transfers are switched off on the sender", "{job:#}");
    receiver.stop().await;
}
