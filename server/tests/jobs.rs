//! Background transfers through the server's HTTP API against a real sender: a job pulls tables with exact rows
//! on both engines, hostile requests are refused with the reason, cancel stops between pages and retry
//! finishes without duplicates, and a receiving server killed with SIGKILL in the middle of a job resumes it
//! after a restart and ends with exact counts.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use appdata::history::{Channel, TransferState};
use appdata::jobs::{JobState, JobView, TableState};
use appdata::testing::{ENGINES, TestDb};
use engine::{Db, EngineKind};
use serde_json::{Value as J, json};
use support::{ADMIN, PASSWORD, TestApp, code, exec, rows, spawn_app, spawn_app_with};

async fn scalar(db: &Db, sql: &str) -> i64 {
    match db {
        Db::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(p).await.unwrap(),
        Db::Sqlite(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(p).await.unwrap(),
    }
}

/// A PostgreSQL sender with `parents` (3 rows), `children` (`n` rows referencing them), transfers on.
async fn sender(n: i64) -> TestApp {
    let app = spawn_app(EngineKind::Postgres).await;
    exec(
        &app.instance.db,
        &format!(
            "CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE children (id BIGINT PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents(id), note TEXT);
             INSERT INTO parents VALUES (1, 'one'), (2, 'two'), (3, 'three');
             INSERT INTO children SELECT i, i % 3 + 1, CASE WHEN i % 10 = 0 THEN NULL ELSE 'note ' || i END
               FROM generate_series(1, {n}) AS i;"
        ),
    )
    .await;
    appdata::settings::set_transfers_enabled(&app.instance.db, true).await.unwrap();
    app
}

fn job_request(sender_url: &str, code: &str, tables: &[(&str, &str)], batch: u32) -> J {
    json!({"request": {
        "sender_url": sender_url,
        "code": code,
        "resume_token": null,
        "tables": tables.iter().map(|(t, s)| json!({"table": t, "strategy": s})).collect::<Vec<_>>(),
        "create_missing": true,
        "batch_size": batch,
    }})
}

/// Starts a job through the API; `Ok(id)` or `Err((status, message))`.
async fn start_job(client: &reqwest::Client, url: &str, body: &J) -> Result<i64, (u16, String)> {
    let response = client.post(format!("{url}/api/jobs/start")).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    if status == 200 { Ok(text.parse().unwrap()) } else { Err((status, text)) }
}

async fn list_jobs(client: &reqwest::Client, url: &str) -> Vec<J> {
    let response = client.post(format!("{url}/api/jobs/list")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn job(client: &reqwest::Client, url: &str, id: i64) -> J {
    list_jobs(client, url).await.into_iter().find(|j| j["id"] == id).expect("the job is listed")
}

/// Waits until the job is in one of `states`, and returns it.
async fn wait_for(client: &reqwest::Client, url: &str, id: i64, states: &[&str]) -> J {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let j = job(client, url, id).await;
        if states.contains(&j["state"].as_str().unwrap()) {
            return j;
        }
        assert!(Instant::now() < deadline, "job {id} never reached {states:?}: {j:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn table<'a>(job: &'a J, name: &str) -> &'a J {
    job["tables"].as_array().unwrap().iter().find(|t| t["table"] == name).expect("table in job")
}

#[tokio::test]
async fn a_background_job_pulls_tables_with_exact_rows_on_both_engines() {
    let sender = sender(2_500).await;
    for kind in ENGINES {
        let receiver = spawn_app(kind).await;
        receiver.login_ok().await;
        let body = job_request(&sender.url, &code(&sender), &[("parents", "skip"), ("children", "skip")], 300);
        let id = start_job(&receiver.client, &receiver.url, &body).await.unwrap();
        let done =
            wait_for(&receiver.client, &receiver.url, id, &["finished", "incomplete", "failed", "cancelled"]).await;
        assert_eq!(done["state"], "finished", "{kind:?}: {done:#}");
        assert_eq!(done["attempts"], 1);
        assert_eq!(table(&done, "parents")["rows"], 3);
        assert_eq!(table(&done, "children")["rows"], 2_500);
        assert_eq!(table(&done, "children")["created"], 2_500);
        assert_eq!(table(&done, "children")["total"], 2_500);
        assert_eq!(table(&done, "children")["pages"], 9, "2500 rows in pages of 300");
        assert_eq!(table(&done, "children")["state"], "done");
        assert_eq!(done["has_credential"], false, "a finished job forgets its resume token");
        // The page's JSON is the typed view, under the same strings.
        let typed: JobView = serde_json::from_value(done.clone()).unwrap();
        let states: Vec<TableState> = typed.tables.iter().map(|t| t.state).collect();
        assert_eq!((typed.state, states, typed.is_ended()), (JobState::Finished, vec![TableState::Done; 2], true));

        let query = "SELECT CAST(id AS TEXT), CAST(parent_id AS TEXT), note FROM children ORDER BY children.id";
        assert_eq!(rows(&receiver.instance.db, query).await, rows(&sender.instance.db, query).await, "{kind:?}");
        let query = "SELECT CAST(id AS TEXT), name FROM parents ORDER BY parents.id";
        assert_eq!(rows(&receiver.instance.db, query).await, rows(&sender.instance.db, query).await, "{kind:?}");

        // The history lists it as a background transfer with the same counts.
        let history = appdata::history::list(&receiver.instance.db, 10).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            (history[0].channel, history[0].rows, history[0].outcome),
            (Channel::Background, 2_503, TransferState::Finished)
        );

        // Pulled again with skip: every row skipped, none duplicated.
        let body = job_request(&sender.url, &code(&sender), &[("children", "skip")], 1000);
        let id = start_job(&receiver.client, &receiver.url, &body).await.unwrap();
        let again = wait_for(&receiver.client, &receiver.url, id, &["finished", "incomplete", "failed"]).await;
        assert_eq!(again["state"], "finished");
        assert_eq!(
            (table(&again, "children")["skipped"].as_i64(), table(&again, "children")["created"].as_i64()),
            (Some(2_500), Some(0))
        );
        assert_eq!(scalar(&receiver.instance.db, "SELECT count(*) FROM children").await, 2_500);
        receiver.stop().await;
    }
    sender.stop().await;
}

#[tokio::test]
async fn hostile_or_impossible_jobs_are_refused_with_the_reason() {
    let sender = sender(10).await;
    let receiver = spawn_app(EngineKind::Sqlite).await;

    // Anonymous callers cannot start or list jobs.
    let anonymous = support::client();
    let body = job_request(&sender.url, &code(&sender), &[("parents", "skip")], 100);
    let (status, _) = start_job(&anonymous, &receiver.url, &body).await.unwrap_err();
    assert_eq!(status, 401);
    receiver.login_ok().await;

    let refused = |tables: &[(&str, &str)], code: &str, batch: u32| job_request(&sender.url, code, tables, batch);
    for (body, expected) in [
        (refused(&[("parents", "skip")], "abc", 100), "connection code must be 8 letters or digits"),
        (refused(&[(&"x".repeat(70), "skip")], "ABCD2345", 100), "longer than 63 bytes"),
        (refused(&[], "ABCD2345", 100), "choose at least one table"),
        (refused(&[("parents", "skip"), ("parents", "merge")], "ABCD2345", 100), "listed twice"),
        (refused(&[("parents", "skip")], "ABCD2345", 0), "rows per page must be between 1 and"),
        (job_request("ftp://nowhere", "ABCD2345", &[("parents", "skip")], 100), "sender URL"),
    ] {
        let (status, message) = start_job(&receiver.client, &receiver.url, &body).await.unwrap_err();
        assert_eq!(status, 400, "{message}");
        assert!(message.contains(expected), "{message:?} should say {expected:?}");
    }
    let mut both = refused(&[("parents", "skip")], "ABCD2345", 100);
    both["request"]["resume_token"] = json!("abc");
    let (status, message) = start_job(&receiver.client, &receiver.url, &both).await.unwrap_err();
    assert_eq!((status, message.contains("either a connection code or a resume token")), (400, true), "{message}");
    assert!(list_jobs(&receiver.client, &receiver.url).await.is_empty(), "nothing refused was recorded");

    // A well-formed code the sender does not know: the job fails and says what to do.
    let id =
        start_job(&receiver.client, &receiver.url, &refused(&[("parents", "skip")], "ABCD2345", 100)).await.unwrap();
    let failed = wait_for(&receiver.client, &receiver.url, id, &["failed", "finished"]).await;
    assert_eq!(failed["state"], "failed");
    assert!(failed["message"].as_str().unwrap().contains("Retry with a new connection code"), "{failed:#}");

    // Retried with a good code, it runs; a missing sender table fails that table only.
    let response = receiver
        .client
        .post(receiver.at("/api/jobs/retry"))
        .form(&[("id", id.to_string()), ("code", code(&sender))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let done = wait_for(&receiver.client, &receiver.url, id, &["finished", "incomplete", "failed"]).await;
    assert_eq!(
        (done["state"].as_str(), table(&done, "parents")["rows"].as_i64()),
        (Some("finished"), Some(3)),
        "{done:#}"
    );
    let body = refused(&[("nope", "skip"), ("parents", "skip")], &code(&sender), 100);
    let id = start_job(&receiver.client, &receiver.url, &body).await.unwrap();
    let done = wait_for(&receiver.client, &receiver.url, id, &["finished", "incomplete", "failed"]).await;
    assert_eq!(done["state"], "incomplete", "{done:#}");
    assert_eq!(table(&done, "nope")["state"], "failed");
    assert!(table(&done, "nope")["message"].as_str().unwrap().contains("nope"));
    assert_eq!(
        (table(&done, "parents")["state"].as_str(), table(&done, "parents")["skipped"].as_i64()),
        (Some("done"), Some(3))
    );

    // Cancel and retry refuse jobs in the wrong state, by id.
    let response =
        receiver.client.post(receiver.at("/api/jobs/cancel")).form(&[("id", id.to_string())]).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("does not exist or already ended"));
    let response = receiver.client.post(receiver.at("/api/jobs/retry")).form(&[("id", "999999")]).send().await.unwrap();
    assert_eq!(response.status(), 400);
    receiver.stop().await;
    sender.stop().await;
}

#[tokio::test]
async fn a_cancelled_job_stops_between_pages_and_a_retry_finishes_without_duplicates() {
    const N: i64 = 60_000;
    let sender = sender(N).await;
    let receiver = spawn_app(EngineKind::Postgres).await;
    receiver.login_ok().await;
    // Pages of 20 rows: 3000 pages take several seconds, longer than the runner's one-second look at the cancel flag
    // (pages of 200 finished in about a second once each page cost ~1.5 ms: the cancel came too late).
    let body = job_request(&sender.url, &code(&sender), &[("parents", "skip"), ("children", "skip")], 20);
    let id = start_job(&receiver.client, &receiver.url, &body).await.unwrap();
    // Cancel once some pages landed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while table(&job(&receiver.client, &receiver.url, id).await, "children")["rows"].as_i64().unwrap() < 1_000 {
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let response =
        receiver.client.post(receiver.at("/api/jobs/cancel")).form(&[("id", id.to_string())]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cancelled = wait_for(&receiver.client, &receiver.url, id, &["cancelled", "finished"]).await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled:#}");
    let landed = table(&cancelled, "children")["rows"].as_i64().unwrap();
    assert!(landed < N, "cancelled before the end: {landed}");
    assert_eq!(
        scalar(&receiver.instance.db, "SELECT count(*) FROM children").await,
        landed,
        "counts are the rows that landed"
    );

    // A cancelled job forgot its resume token: the retry brings a new code and continues from the cursor.
    let response = receiver
        .client
        .post(receiver.at("/api/jobs/retry"))
        .form(&[("id", id.to_string()), ("code", code(&sender))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let done = wait_for(&receiver.client, &receiver.url, id, &["finished", "incomplete", "failed"]).await;
    assert_eq!(done["state"], "finished", "{done:#}");
    let children = table(&done, "children");
    assert_eq!(
        (children["rows"].as_i64(), children["created"].as_i64(), children["skipped"].as_i64()),
        (Some(N), Some(N), Some(0))
    );
    let query = "SELECT CAST(id AS TEXT), CAST(parent_id AS TEXT), note FROM children ORDER BY children.id";
    assert_eq!(rows(&receiver.instance.db, query).await, rows(&sender.instance.db, query).await);
    receiver.stop().await;
    sender.stop().await;
}

/// The server binary on `database_url`, with fast heartbeats so a killed worker's job is taken over in seconds.
fn spawn_server(database_url: &str) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_db-transfer"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
            "--job-heartbeat-secs",
            "1",
        ])
        .env("DBT_ADMIN_USERNAME", ADMIN)
        .env("DBT_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

async fn signed_in(url: &str) -> reqwest::Client {
    let client = support::client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.post(format!("{url}/api/login")).form(&[("username", ADMIN), ("password", PASSWORD)]).send().await
        {
            Ok(r) if r.status() == 200 => return client,
            _ => {
                assert!(Instant::now() < deadline, "the server at {url} did not come up");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test]
async fn a_receiving_server_killed_mid_job_resumes_it_after_a_restart_with_exact_counts() {
    const N: i64 = 100_000;
    let sender = sender(N).await;
    let target = TestDb::empty(EngineKind::Postgres).await;
    // Append inserts every incoming row with a new key: a page imported twice would show as extra rows.
    exec(&target.db, "CREATE TABLE children (id BIGSERIAL PRIMARY KEY, parent_id INTEGER NOT NULL, note TEXT)").await;

    let (mut first, url) = spawn_server(&target.url);
    let client = signed_in(&url).await;
    let id = start_job(&client, &url, &job_request(&sender.url, &code(&sender), &[("children", "append")], 500))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = scalar(
            &target.db,
            &format!("SELECT COALESCE(SUM(rows_done), 0)::int8 FROM dbt_job_tables WHERE job_id = {id}"),
        )
        .await;
        if done >= 5_000 {
            break;
        }
        assert!(Instant::now() < deadline, "the job made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().unwrap(); // SIGKILL: no shutdown, a page may be half imported
    first.wait().unwrap();
    let at_kill = scalar(&target.db, &format!("SELECT rows_done FROM dbt_job_tables WHERE job_id = {id}")).await;
    assert!(at_kill < N, "killed in the middle ({at_kill} of {N})");
    assert_eq!(scalar(&target.db, "SELECT count(*) FROM children").await, at_kill, "committed rows and counts agree");

    let (mut second, url) = spawn_server(&target.url);
    let client = signed_in(&url).await;
    let done = wait_for(&client, &url, id, &["finished", "incomplete", "failed", "cancelled"]).await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(done["state"], "finished", "{done:#}");
    assert!(done["attempts"].as_i64().unwrap() >= 2, "it ran again after the restart: {done:#}");
    let children = table(&done, "children");
    assert_eq!(
        (children["rows"].as_i64(), children["created"].as_i64(), children["errors"].as_i64()),
        (Some(N), Some(N), Some(0))
    );
    // Every source row exactly once: same count, same (parent_id, note) multiset.
    assert_eq!(scalar(&target.db, "SELECT count(*) FROM children").await, N);
    let fingerprint = "SELECT CAST(count(*) AS TEXT), CAST(sum(parent_id) AS TEXT), \
                       CAST(sum(hashtext(COALESCE(note, '<null>'))::int8) AS TEXT), CAST(count(DISTINCT note) AS TEXT) FROM children";
    assert_eq!(rows(&target.db, fingerprint).await, rows(&sender.instance.db, fingerprint).await);
    let history = appdata::history::list(&target.db, 10).await.unwrap();
    assert_eq!((history[0].rows, history[0].outcome), (N, TransferState::Finished));
    sender.stop().await;
}

#[tokio::test]
async fn jobs_page_needs_an_admin_and_lists_jobs_server_side() {
    let receiver = spawn_app_with(EngineKind::Sqlite, |_| {}).await;
    let response = receiver.client.get(receiver.at("/admin/db-transfer/jobs")).send().await.unwrap();
    assert_eq!(response.status(), 303, "anonymous visitors go to the login page");
    receiver.login_ok().await;
    let response = receiver.client.get(receiver.at("/admin/db-transfer/jobs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Background jobs") && html.contains("No background jobs yet."), "{html}");
    receiver.stop().await;
}

#[tokio::test]
async fn two_replicas_on_one_postgresql_share_the_queue_and_run_each_job_once() {
    const N: i64 = 20_000;
    let sender = sender(N).await;
    for t in ["a", "b", "c", "d"] {
        exec(
            &sender.instance.db,
            &format!("CREATE TABLE copy_{t} AS SELECT * FROM children; ALTER TABLE copy_{t} ADD PRIMARY KEY (id);"),
        )
        .await;
    }
    // One job at a time per replica, so four jobs need both.
    let first = spawn_app_with(EngineKind::Postgres, |c| c.job_concurrency = 1).await;
    let mut config = server::ServeConfig::with_database(first.test_db.url.clone(), "127.0.0.1:0".parse().unwrap());
    config.job_concurrency = 1;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = server::Instance::start_on(&config, listener).await.unwrap();
    first.login_ok().await;
    for t in ["a", "b", "c", "d"] {
        exec(
            &first.instance.db,
            &format!("CREATE TABLE copy_{t} (id BIGSERIAL PRIMARY KEY, parent_id INTEGER NOT NULL, note TEXT)"),
        )
        .await;
    }

    let mut ids = Vec::new();
    for t in ["a", "b", "c", "d"] {
        let table = format!("copy_{t}");
        ids.push(
            start_job(&first.client, &first.url, &job_request(&sender.url, &code(&sender), &[(&table, "append")], 500))
                .await
                .unwrap(),
        );
    }
    for id in &ids {
        let done = wait_for(&first.client, &first.url, *id, &["finished", "incomplete", "failed", "cancelled"]).await;
        assert_eq!(done["state"], "finished", "{done:#}");
        assert_eq!(done["attempts"], 1, "ran once: {done:#}");
        assert_eq!(done["tables"][0]["rows"], N);
    }
    let db = &first.instance.db;
    for t in ["a", "b", "c", "d"] {
        // Append gives every row a new key: a page run twice would show as extra rows.
        assert_eq!(scalar(db, &format!("SELECT count(*) FROM copy_{t}")).await, N, "copy_{t}");
    }
    let workers = scalar(db, "SELECT count(DISTINCT lock_by) FROM apalis.jobs WHERE lock_by IS NOT NULL").await;
    assert_eq!(workers, 2, "both replicas took jobs");
    second.stop().await;
    first.stop().await;
    sender.stop().await;
}

#[tokio::test]
async fn a_job_cancelled_between_tables_leaves_the_rest_pending_and_retries_to_the_end() {
    let sender = sender(10).await;
    let mut ddl = String::new();
    for i in 0..60 {
        ddl.push_str(&format!("CREATE TABLE small_{i:02} AS SELECT g AS id, 'row ' || g AS note FROM generate_series(1, 1000) g; ALTER TABLE small_{i:02} ADD PRIMARY KEY (id);"));
    }
    exec(&sender.instance.db, &ddl).await;
    let receiver = spawn_app(EngineKind::Sqlite).await;
    receiver.login_ok().await;
    let names: Vec<String> = (0..60).map(|i| format!("small_{i:02}")).collect();
    let tables: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "skip")).collect();
    // Many small tables (600 pages in all): the job runs for seconds, and a cancel lands between pages or tables.
    let id = start_job(&receiver.client, &receiver.url, &job_request(&sender.url, &code(&sender), &tables, 100))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j = job(&receiver.client, &receiver.url, id).await;
        if j["tables"].as_array().unwrap().iter().any(|t| t["state"] == "done") {
            break;
        }
        assert!(Instant::now() < deadline, "no table finished");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let response =
        receiver.client.post(receiver.at("/api/jobs/cancel")).form(&[("id", id.to_string())]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cancelled = wait_for(&receiver.client, &receiver.url, id, &["cancelled", "finished"]).await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled:#}");
    let listed = cancelled["tables"].as_array().unwrap();
    for t in listed {
        if t["state"] == "done" {
            assert_eq!(t["rows"], 1000, "a table marked done holds all its rows: {t:#}");
        }
    }
    assert!(listed.iter().any(|t| t["state"] != "done"), "cancelled before the end");

    // Retry without a code: the cancelled job no longer holds a session, and says so.
    let response =
        receiver.client.post(receiver.at("/api/jobs/retry")).form(&[("id", id.to_string())]).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("give a new connection code"));
    let response = receiver
        .client
        .post(receiver.at("/api/jobs/retry"))
        .form(&[("id", id.to_string()), ("code", code(&sender))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let done = wait_for(&receiver.client, &receiver.url, id, &["finished", "incomplete", "failed"]).await;
    assert_eq!(done["state"], "finished", "{done:#}");
    for n in &names {
        assert_eq!(scalar(&receiver.instance.db, &format!("SELECT count(*) FROM {n}")).await, 1000, "{n}");
        assert_eq!(table(&done, n)["rows"], 1000, "{n}");
    }
    receiver.stop().await;
    sender.stop().await;
}

#[tokio::test]
async fn the_job_worker_is_started_again_after_its_queue_storage_failed_and_the_next_job_runs() {
    let sender = sender(2_500).await;
    let receiver = spawn_app(EngineKind::Postgres).await;
    receiver.login_ok().await;
    // The worker polls the queue every 500 ms: with its table gone for 3 s, polls fail, and apalis's worker
    // ends on the first failure ("background job worker stopped" in the log).
    exec(&receiver.instance.db, "ALTER TABLE apalis.jobs RENAME TO jobs_away").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    exec(&receiver.instance.db, "ALTER TABLE apalis.jobs_away RENAME TO jobs").await;

    let body = job_request(&sender.url, &code(&sender), &[("parents", "skip"), ("children", "skip")], 500);
    let id = start_job(&receiver.client, &receiver.url, &body).await.unwrap();
    let done = wait_for(&receiver.client, &receiver.url, id, &["finished", "incomplete", "failed", "cancelled"]).await;
    assert_eq!(done["state"], "finished", "{done:#}");
    assert_eq!(table(&done, "children")["rows"], 2_500);
    let query = "SELECT CAST(id AS TEXT), CAST(parent_id AS TEXT), note FROM children ORDER BY children.id";
    assert_eq!(rows(&receiver.instance.db, query).await, rows(&sender.instance.db, query).await);
    receiver.stop().await;
    sender.stop().await;
}

#[tokio::test]
async fn a_jobs_counts_are_what_it_imported_never_what_a_page_header_says() {
    use support::hostile_sender::{Answer, FakeTable, HostileSender, Script, good_page};
    // Page 1 is honest (2 rows); page 2's header says 7 rows, the page holds 1.
    let body = good_page(&[(1, 10), (2, 20)]);
    let first = Answer::Page { header: json!({"rows": 2, "has_more": true, "next": "02", "bytes": body.len()}), body };
    let fake = HostileSender::start(Script::new(vec![FakeTable::keyed(
        "liar",
        9,
        vec![first, Answer::page(7, good_page(&[(3, 30)]))],
    )]))
    .await;
    let receiver = spawn_app_with(EngineKind::Postgres, |c| c.job_retries = 0).await;
    receiver.login_ok().await;
    let id = start_job(&receiver.client, &receiver.url, &job_request(&fake.url, "ABCD2345", &[("liar", "skip")], 500))
        .await
        .unwrap();
    let done = wait_for(&receiver.client, &receiver.url, id, &["finished", "incomplete", "failed", "cancelled"]).await;
    assert_eq!(done["state"], "failed", "{done:#}");
    assert_eq!(done["message"], "protocol error: the header said 7 rows, the page holds 1", "{done:#}");
    let liar = table(&done, "liar");
    assert_eq!(
        (liar["rows"].as_i64(), liar["created"].as_i64(), liar["pages"].as_i64()),
        (Some(2), Some(2), Some(1)),
        "{done:#}"
    );
    assert_eq!(scalar(&receiver.instance.db, "SELECT count(*) FROM liar").await, 2);
    let history = appdata::history::list(&receiver.instance.db, 1).await.unwrap();
    assert_eq!((history[0].rows, history[0].created, history[0].outcome), (2, 2, TransferState::Failed));
    receiver.stop().await;
}
