//! The one transfer driver (`protocol::transfer`) over both of its sinks with one fixture set: the local database
//! (`LocalSink`, what the CLI and jobs use) and the receiving site's server functions over HTTP (`HttpServerSink`,
//! what the browser's `ServerSink` calls), from a real sender through `ClientSource`, for every engine pair.
//! Each run asserts exact rows (every row as text, sorted, source against target), exact counts in the table
//! reports and in the history record, and that both sinks report the very same thing (timings aside).
//!
//! Fixtures: keyed, composite-keyed, keyless, unique-but-nullable (NULL-keyed rows must all arrive), a foreign-key
//! chain listed child first, a table missing on the receiver (create missing: its unique key, default, index and
//! foreign key after the data; both sinks create the same table), every strategy over conflicting rows, cancel
//! after the first page (later tables not started), resume after a cursor (rows after it only, and nothing at all
//! after the end), rows the receiving table refuses (on PostgreSQL→PostgreSQL a refused binary COPY page redone as
//! ordinary pages) — and, for `LocalSink` alone (the browser has no job), a job's stored cursor after a cancel is
//! where the driver resumes. Pages of 7 rows for most runs, pages chosen by bytes (`None`) for the strategies.

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use appdata::history::{Channel, TableStrategy, TransferRecord};
use appdata::testing::TestDb;
use client::sink::LocalSink;
use client::{Client, ClientOptions, ClientSource};
use engine::{Db, EngineKind, Tables};
use protocol::messages::{Compression, PageFormat, WireFilter};
use protocol::transfer::{
    END_CURSOR, Event, Fetch, Observer, PageSink, PageSource, TableJob, TableReport, TransferError, transfer_tables,
};
use protocol::{Exclusions, Strategy};
use support::server_sink::{HttpServerSink, begin_transfer, finish_transfer, history};
use support::{TestApp, code, exec, rows, spawn_app};

/// A row as text (NULL as `None`).
type Row = Vec<Option<String>>;
type Rows = Vec<Row>;

/// The fixture tables, with the columns compared (every one) and the source's row count.
const PARENT: (&str, &[&str], i64) = ("parent", &["id", "name"], 5);
const CHILD: (&str, &[&str], i64) = ("child", &["id", "parent_id", "note"], 25);
const KEYED: (&str, &[&str], i64) = ("keyed", &["id", "name", "note", "score"], 31);
const COMPOSITE: (&str, &[&str], i64) = ("composite", &["a", "b", "v"], 18);
const KEYLESS: (&str, &[&str], i64) = ("keyless", &["x", "y"], 20);
const NULLABLE_UNIQUE: (&str, &[&str], i64) = ("nullable_unique", &["code", "v"], 20);
const MISSING: (&str, &[&str], i64) = ("missing_here", &["id", "label", "n", "parent_id"], 16);
/// Listed child first: the driver must put the parent first.
const MAIN: [(&str, &[&str], i64); 7] = [CHILD, PARENT, KEYED, COMPOSITE, KEYLESS, NULLABLE_UNIQUE, MISSING];
/// The order the driver runs them in: parents first, then by name within each wave.
const MAIN_ORDER: [&str; 7] = ["composite", "keyed", "keyless", "nullable_unique", "parent", "child", "missing_here"];
const STRATEGY_COLUMNS: &[&str] = &["id", "name", "note"];
const STRATEGY_ROWS: i64 = 12;
const STRATEGIES: [(&str, Strategy); 4] = [
    ("s_append", Strategy::Append),
    ("s_merge", Strategy::Merge),
    ("s_overwrite", Strategy::Overwrite),
    ("s_skip", Strategy::Skip),
];
const CANCEL_FIRST: (&str, &[&str], i64) = ("c_first", &["id", "v"], 30);
const CANCEL_LATER: (&str, &[&str], i64) = ("c_later", &["id", "v"], 5);
const CANCEL_PAGE: u32 = 5;
/// Rows of `checked`; every third is refused by the receiver's CHECK.
const CHECKED_ROWS: i64 = 20;
/// Rows per page of the multi-page runs.
const PAGE: u32 = 7;

/// The key column of the strategy tables: one the target generates, so append can run.
fn generated_key(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Postgres => "SERIAL PRIMARY KEY",
        EngineKind::Sqlite => "INTEGER PRIMARY KEY",
    }
}

/// The tables every side has (the sender with rows, the receiver empty): all but `missing_here`.
fn ddl(kind: EngineKind) -> String {
    let key = generated_key(kind);
    let mut sql = String::from(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id), note TEXT);
         CREATE TABLE keyed (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT, score REAL);
         CREATE TABLE composite (a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT, PRIMARY KEY (a, b));
         CREATE TABLE keyless (x INTEGER, y TEXT);
         CREATE TABLE nullable_unique (code TEXT UNIQUE, v INTEGER NOT NULL);
         CREATE TABLE c_first (id INTEGER PRIMARY KEY, v TEXT);
         CREATE TABLE c_later (id INTEGER PRIMARY KEY, v TEXT);",
    );
    for (table, _) in STRATEGIES {
        sql.push_str(&format!("CREATE TABLE {table} (id {key}, name TEXT NOT NULL, note TEXT);"));
    }
    sql
}

fn values(rows: impl IntoIterator<Item = String>) -> String {
    rows.into_iter().collect::<Vec<_>>().join(", ")
}

fn text_or_null(value: Option<String>) -> String {
    value.map(|v| format!("'{v}'")).unwrap_or_else(|| "NULL".into())
}

/// A sender on `kind` with every fixture's rows, transfers on.
async fn sender(kind: EngineKind) -> TestApp {
    let app = spawn_app(kind).await;
    let db = &app.instance.db;
    exec(db, &ddl(kind)).await;
    exec(
        db,
        "CREATE TABLE missing_here (id INTEGER PRIMARY KEY, label TEXT UNIQUE, n INTEGER NOT NULL DEFAULT 7, \
         parent_id INTEGER REFERENCES parent(id));
         CREATE INDEX missing_here_n ON missing_here (n);
         CREATE TABLE checked (id INTEGER PRIMARY KEY, v INTEGER);",
    )
    .await;
    let n = |t: (&str, &[&str], i64)| 1..=t.2;
    exec(db, &format!("INSERT INTO parent VALUES {}", values(n(PARENT).map(|i| format!("({i}, 'p{i}')"))))).await;
    let child =
        n(CHILD).map(|i| format!("({i}, {}, {})", i % 5 + 1, text_or_null((i % 4 != 0).then(|| format!("c{i}")))));
    exec(db, &format!("INSERT INTO child VALUES {}", values(child))).await;
    let keyed = n(KEYED).map(|i| {
        let note = text_or_null((i % 5 != 0).then(|| format!("note {i} it's")).map(|s| s.replace('\'', "''")));
        format!("({i}, 'k{i}', {note}, {}.5)", i * 3)
    });
    exec(db, &format!("INSERT INTO keyed VALUES {}", values(keyed))).await;
    let composite = (1..=6).flat_map(|a| {
        ["x", "y", "z"].map(move |b| format!("({a}, '{b}', {})", text_or_null((a % 2 == 0).then(|| format!("{a}{b}")))))
    });
    exec(db, &format!("INSERT INTO composite VALUES {}", values(composite))).await;
    // Duplicate rows, NULLs: every one must arrive.
    let keyless = n(KEYLESS).map(|i| {
        let x = if i % 7 == 0 { "NULL".into() } else { (i % 4).to_string() };
        format!("({x}, {})", text_or_null((i % 6 != 0).then(|| format!("y{}", i % 3))))
    });
    exec(db, &format!("INSERT INTO keyless VALUES {}", values(keyless))).await;
    // 8 of 20 rows have a NULL in the only unique column.
    let nullable =
        n(NULLABLE_UNIQUE).map(|i| format!("({}, {i})", text_or_null((i % 5 >= 2).then(|| format!("u{i}")))));
    exec(db, &format!("INSERT INTO nullable_unique VALUES {}", values(nullable))).await;
    let missing = n(MISSING)
        .map(|i| format!("({i}, {}, {}, {})", text_or_null((i % 3 != 0).then(|| format!("l{i}"))), i * i, i % 5 + 1));
    exec(db, &format!("INSERT INTO missing_here VALUES {}", values(missing))).await;
    exec(db, &format!("INSERT INTO checked VALUES {}", values((1..=CHECKED_ROWS).map(|i| format!("({i}, {i})")))))
        .await;
    for (table, _) in STRATEGIES {
        let rows = (1..=STRATEGY_ROWS).map(|i| format!("({i}, 'n{i}', {})", source_note(i)));
        exec(db, &format!("INSERT INTO {table} VALUES {}", values(rows))).await;
    }
    for t in [CANCEL_FIRST, CANCEL_LATER] {
        exec(db, &format!("INSERT INTO {} VALUES {}", t.0, values(n(t).map(|i| format!("({i}, 'v{i}')"))))).await;
    }
    appdata::settings::set_transfers_enabled(db, true).await.unwrap();
    app
}

/// The strategy tables' source note of row `i` (NULL for every fourth, so merge keeps what is there).
fn source_note(i: i64) -> String {
    text_or_null((i % 4 != 0).then(|| format!("note{i}")))
}

/// What the receiver's strategy tables hold before the strategy run: two rows whose keys the sender has too (row
/// 8's source note is NULL), and one it does not.
const PREFILL: [(i64, &str, Option<&str>); 3] =
    [(3, "old3", Some("old note 3")), (8, "old8", Some("old note 8")), (100, "old100", None)];

/// Every row of `table` as text, sorted.
async fn text_rows(db: &Db, table: &str, columns: &[&str]) -> Rows {
    let select: Vec<String> = columns.iter().map(|c| format!("CAST({c} AS TEXT)")).collect();
    let mut all = rows(db, &format!("SELECT {} FROM {table}", select.join(", "))).await;
    all.sort();
    all
}

/// A row of text values.
fn row(values: &[Option<&str>]) -> Row {
    values.iter().map(|v| v.map(str::to_owned)).collect()
}

fn assert_same_rows(got: &Rows, want: &Rows, context: &str) {
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        panic!("{context}: row {i} differs: got {:?}, want {:?}\ngot: {got:?}\nwant: {want:?}", got[i], want[i]);
    }
    assert_eq!(got.len(), want.len(), "{context}: row counts: got {got:?}, want {want:?}");
}

/// A table's outcome, the same for both sinks whatever their error types.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Done(TableReport),
    Cancelled,
    NotStarted(String),
    Failed(String),
}

impl Outcome {
    fn report(&self, context: &str) -> &TableReport {
        match self {
            Outcome::Done(r) => r,
            other => panic!("{context}: {other:?}"),
        }
    }

    /// Without what the clock decided (so the two sinks' outcomes compare equal), once the times are checked to
    /// add up: importing and waiting for the sender are parts of the table's time, also with pages in flight at once.
    fn timeless(&self) -> Outcome {
        match self {
            Outcome::Done(r) => {
                assert!(
                    r.import_seconds >= 0.0
                        && r.wait_seconds >= 0.0
                        && r.import_seconds + r.wait_seconds <= r.seconds + 1e-6,
                    "{}: {} s importing and {} s waiting in {} s",
                    r.table,
                    r.import_seconds,
                    r.wait_seconds,
                    r.seconds
                );
                Outcome::Done(TableReport { seconds: 0.0, import_seconds: 0.0, wait_seconds: 0.0, ..r.clone() })
            }
            other => other.clone(),
        }
    }
}

fn outcome<S: std::fmt::Display, K: std::fmt::Display>(result: Result<TableReport, TransferError<S, K>>) -> Outcome {
    match result {
        Ok(r) => Outcome::Done(r),
        Err(TransferError::Cancelled) => Outcome::Cancelled,
        Err(TransferError::NotStarted(why)) => Outcome::NotStarted(why),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The pages reported, and a stop after `stop_after` of them.
struct Watch {
    stop_after: Option<usize>,
    pages: Mutex<Vec<(String, u64)>>,
    clock: Instant,
}

impl Watch {
    fn new(stop_after: Option<usize>) -> Watch {
        Watch { stop_after, pages: Mutex::new(Vec::new()), clock: Instant::now() }
    }

    fn pages(&self) -> Vec<(String, u64)> {
        self.pages.lock().unwrap().clone()
    }
}

impl Observer for Watch {
    fn event(&self, event: Event<'_>) {
        if let Event::Page { table, rows, report, .. } = event {
            let mut pages = self.pages.lock().unwrap();
            pages.push((table.to_string(), rows));
            let so_far: u64 = pages.iter().filter(|(t, _)| *table == t.as_str()).map(|(_, r)| r).sum();
            assert_eq!(report.rows, so_far, "{table}: the report so far holds the pages so far");
        }
    }

    fn stopped(&self) -> bool {
        self.stop_after.is_some_and(|n| self.pages.lock().unwrap().len() >= n)
    }

    fn now(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }
}

/// Where the rows land: one of the driver's two sinks over a fresh receiver database of `kind`.
enum Target {
    /// `LocalSink` over a database of its own (the CLI's and jobs' path), history through `appdata::history`.
    Local { test_db: TestDb, tables: Tables },
    /// `HttpServerSink` into a receiving site (the browser's path), history through its server functions.
    Server { app: TestApp },
}

impl Target {
    async fn local(kind: EngineKind) -> Target {
        let test_db = TestDb::new(kind).await;
        let tables = Tables::new(test_db.db.clone(), Exclusions::default());
        Target::Local { test_db, tables }
    }

    async fn server(kind: EngineKind) -> Target {
        let app = spawn_app(kind).await;
        app.login_ok().await;
        Target::Server { app }
    }

    fn name(&self) -> &'static str {
        match self {
            Target::Local { .. } => "LocalSink",
            Target::Server { .. } => "HttpServerSink",
        }
    }

    fn db(&self) -> &Db {
        match self {
            Target::Local { test_db, .. } => &test_db.db,
            Target::Server { app } => &app.instance.db,
        }
    }

    async fn begin(&self, jobs: &[TableJob]) -> i64 {
        let tables: Vec<TableStrategy> =
            jobs.iter().map(|j| TableStrategy { table: j.table.to_string(), strategy: j.strategy }).collect();
        match self {
            Target::Local { test_db, .. } => {
                appdata::history::begin(&test_db.db, "admin", Channel::Cli, "the sender", &tables).await.unwrap()
            }
            Target::Server { app } => begin_transfer(app, "the sender", &tables).await,
        }
    }

    /// Runs `jobs` through the driver into this target, counted into a new history record; the outcomes in the
    /// order they ran, and the record once ended with `finished`/`cancelled`.
    async fn run(
        &self,
        source: &ClientSource<'_>,
        watch: &Watch,
        jobs: &[TableJob],
    ) -> (Vec<(String, Outcome)>, TransferRecord) {
        let record = self.begin(jobs).await;
        let outcomes = match self {
            Target::Local { tables, .. } => {
                drive(source, &LocalSink { tables, record: Some(record), job: None }, watch, jobs).await
            }
            Target::Server { app } => drive(source, &HttpServerSink::new(app, record), watch, jobs).await,
        };
        let ended = if outcomes.iter().any(|(_, o)| *o == Outcome::Cancelled) {
            protocol::history::Outcome::Cancelled
        } else {
            protocol::history::Outcome::Finished
        };
        let records = match self {
            Target::Local { test_db, .. } => {
                assert!(appdata::history::finish(&test_db.db, record, "admin", ended, None).await.unwrap());
                appdata::history::list(&test_db.db, 50).await.unwrap()
            }
            Target::Server { app } => {
                finish_transfer(app, record, ended.as_str(), None).await;
                history(app).await
            }
        };
        let found = records.into_iter().find(|r| r.id == record).expect("the run's history record");
        assert_eq!((found.outcome, found.admin.as_str()), (protocol::history::TransferState::from(ended), "admin"));
        (outcomes, found)
    }

    /// Pages the target's sink may have in flight.
    fn in_flight(&self) -> usize {
        match self {
            Target::Local { .. } => 1,
            Target::Server { .. } => protocol::transfer::MAX_IN_FLIGHT,
        }
    }

    async fn stop(self) {
        if let Target::Server { app } = self {
            app.stop().await;
        }
    }
}

async fn drive<K: PageSink>(
    source: &ClientSource<'_>,
    sink: &K,
    watch: &Watch,
    jobs: &[TableJob],
) -> Vec<(String, Outcome)> {
    let run = transfer_tables(source, sink, watch, jobs).await.unwrap_or_else(|e| panic!("the run: {e}"));
    assert!(run.notes.is_empty(), "{:?}", run.notes);
    run.outcomes.into_iter().map(|(table, result)| (table.to_string(), outcome(result))).collect()
}

fn job(table: &str, strategy: Strategy, page_rows: Option<u32>) -> TableJob {
    TableJob { page_rows, ..TableJob::new(protocol::TableName::parse(table).unwrap(), strategy) }
}

fn pages(rows: i64, page_rows: Option<u32>) -> u64 {
    let per = i64::from(page_rows.unwrap_or(protocol::transfer::AUTO_PAGE_ROWS));
    ((rows + per - 1) / per) as u64
}

/// The counts of a history record: rows, created, updated, skipped, errors.
fn counts(r: &TransferRecord) -> (i64, i64, i64, i64, i64) {
    (r.rows, r.created, r.updated, r.skipped, r.errors)
}

/// Everything one target goes through; answers every run's outcomes (to compare the two sinks).
async fn scenario(
    sender: &TestApp,
    source: &ClientSource<'_>,
    target: &Target,
    to: EngineKind,
) -> (Vec<Vec<(String, Outcome)>>, serde_json::Value) {
    let context = format!("{:?}→{to:?} {}", sender.instance.db.engine(), target.name());
    let (from_db, to_db) = (&sender.instance.db, target.db());
    exec(to_db, &ddl(to)).await;
    let mut runs = Vec::new();

    // 1. Every table shape, pages of 7 rows, the child listed first, one table created here.
    let jobs: Vec<TableJob> = MAIN
        .iter()
        .map(|t| TableJob { create_missing: t.0 == MISSING.0, ..job(t.0, Strategy::Skip, Some(PAGE)) })
        .collect();
    let watch = Watch::new(None);
    let (outcomes, record) = target.run(source, &watch, &jobs).await;
    let order: Vec<&str> = outcomes.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(order, MAIN_ORDER, "{context}");
    for (table, columns, n) in MAIN {
        let context = format!("{context} {table}");
        let report = outcomes.iter().find(|(t, _)| t == table).unwrap().1.report(&context);
        let n_u = n as u64;
        assert_eq!(
            (report.rows, report.pages, report.created, report.updated, report.skipped),
            (n_u, pages(n, Some(PAGE)), n_u, 0, 0),
            "{context}: {report:?}"
        );
        assert!(report.errors.is_empty(), "{context}: {:?}", report.errors);
        assert_eq!(report.created_table, table == MISSING.0, "{context}");
        let want = text_rows(from_db, table, columns).await;
        assert_eq!(want.len() as i64, n, "{context}: the source's rows");
        assert_same_rows(&text_rows(to_db, table, columns).await, &want, &context);
    }
    let total: i64 = MAIN.iter().map(|t| t.2).sum();
    assert_eq!(counts(&record), (total, total, 0, 0, 0), "{context}: {record:?}");
    let null_keyed = rows(to_db, "SELECT CAST(count(*) AS TEXT) FROM nullable_unique WHERE code IS NULL").await;
    assert_eq!(null_keyed, [[Some("8".to_owned())]], "{context}: every NULL-keyed row arrived");
    // The created table took the sender's unique constraint and (after the data) its foreign key.
    let refused = |sql: &'static str| async move {
        match to_db {
            Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop),
            Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop),
        }
        .is_err()
    };
    assert!(refused("INSERT INTO missing_here VALUES (99, 'l1', 0, 1)").await, "{context}: unique constraint");
    assert!(refused("INSERT INTO missing_here VALUES (99, 'new', 0, 999)").await, "{context}: foreign key");
    assert!(!refused("INSERT INTO missing_here VALUES (99, 'new', 0, 1)").await, "{context}: a good row goes in");
    exec(to_db, "INSERT INTO missing_here (id, label, parent_id) VALUES (98, 'default', 1)").await;
    let n = rows(to_db, "SELECT CAST(n AS TEXT) FROM missing_here WHERE id = 98").await;
    assert_eq!(n, [[Some("7".to_owned())]], "{context}: the column default came along");
    exec(to_db, "DELETE FROM missing_here WHERE id IN (98, 99)").await;
    let created = Tables::new(to_db.clone(), Exclusions::default()).get_schema(MISSING.0).await.unwrap();
    assert_eq!((created.indexes.len(), created.foreign_keys.len()), (1, 1), "{context}: {created:?}");
    assert!(!appdata::constraints::constraints_pending(to_db, MISSING.0).await.unwrap(), "{context}: nothing pending");
    runs.push(outcomes);

    // 2. Every strategy over conflicting rows, pages chosen by bytes (one page each).
    for (table, _) in STRATEGIES {
        let prefill =
            PREFILL.iter().map(|(id, name, note)| format!("({id}, '{name}', {})", text_or_null(note.map(Into::into))));
        exec(to_db, &format!("INSERT INTO {table} VALUES {}", values(prefill))).await;
    }
    let jobs: Vec<TableJob> = STRATEGIES.iter().map(|(t, s)| job(t, *s, None)).collect();
    let (outcomes, record) = target.run(source, &Watch::new(None), &jobs).await;
    let source_rows = text_rows(from_db, "s_skip", STRATEGY_COLUMNS).await;
    let old = |id: i64| {
        let (id, name, note) = PREFILL.iter().find(|p| p.0 == id).unwrap();
        row(&[Some(&id.to_string()), Some(name), *note])
    };
    let replaced = |with: &dyn Fn(&Row) -> Row| {
        let mut all: Rows = source_rows.iter().map(with).collect();
        all.push(old(100));
        all.sort();
        all
    };
    let is = |r: &Row, id: i64| r[0].as_deref() == Some(&id.to_string());
    for (table, strategy) in STRATEGIES {
        let context = format!("{context} {table}");
        let report = outcomes.iter().find(|(t, _)| t == table).unwrap().1.report(&context);
        let got = text_rows(to_db, table, STRATEGY_COLUMNS).await;
        let n = STRATEGY_ROWS as u64;
        let (want_counts, want) = match strategy {
            Strategy::Skip => {
                ((n - 2, 0, 2), Some(replaced(&|r| if is(r, 3) || is(r, 8) { old(r_id(r)) } else { r.clone() })))
            }
            Strategy::Overwrite => ((n - 2, 2, 0), Some(replaced(&|r| r.clone()))),
            // Row 8's incoming note is NULL: the one there stays.
            Strategy::Merge => (
                (n - 2, 2, 0),
                Some(replaced(&|r| {
                    if is(r, 8) { row(&[Some("8"), Some("n8"), Some("old note 8")]) } else { r.clone() }
                })),
            ),
            Strategy::Append => {
                // Keys the target generates: compare what is not the key, and that the keys are all distinct.
                let ids: std::collections::BTreeSet<_> = got.iter().map(|r| r[0].clone()).collect();
                assert_eq!(ids.len(), got.len(), "{context}: distinct keys: {got:?}");
                let mut want: Rows = source_rows.iter().map(|r| r[1..].to_vec()).collect();
                want.extend(PREFILL.iter().map(|(_, name, note)| row(&[Some(name), *note])));
                want.sort();
                let mut got_values: Rows = got.iter().map(|r| r[1..].to_vec()).collect();
                got_values.sort();
                assert_same_rows(&got_values, &want, &context);
                ((n, 0, 0), None)
            }
        };
        if let Some(want) = want {
            assert_same_rows(&got, &want, &context);
        }
        assert_eq!((report.created, report.updated, report.skipped), want_counts, "{context}: {report:?}");
        assert_eq!((report.rows, report.pages), (n, 1), "{context}: {report:?}");
        assert!(report.errors.is_empty(), "{context}: {:?}", report.errors);
    }
    let n = STRATEGY_ROWS;
    assert_eq!(counts(&record), (4 * n, 4 * n - 6, 4, 2, 0), "{context}: {record:?}");
    runs.push(outcomes);

    // 3. Cancel once the first page is reported: the pages in flight then land (one for `LocalSink`, up to two for
    // the browser's sink, which sends the next page while the last is written) and exactly their rows, counted;
    // the later table never started.
    let jobs = [job(CANCEL_FIRST.0, Strategy::Skip, Some(CANCEL_PAGE)), job(CANCEL_LATER.0, Strategy::Skip, None)];
    let watch = Watch::new(Some(1));
    let (outcomes, record) = target.run(source, &watch, &jobs).await;
    assert_eq!(
        outcomes,
        [
            (CANCEL_FIRST.0.to_owned(), Outcome::Cancelled),
            (CANCEL_LATER.0.to_owned(), Outcome::NotStarted("cancelled".into()))
        ],
        "{context}"
    );
    let seen = watch.pages();
    assert!((1..=target.in_flight()).contains(&seen.len()), "{context}: pages after the cancel: {seen:?}");
    assert!(seen.iter().all(|p| *p == (CANCEL_FIRST.0.to_owned(), u64::from(CANCEL_PAGE))), "{context}: {seen:?}");
    let landed_pages = seen.len() as u32;
    let landed = i64::from(landed_pages * CANCEL_PAGE);
    let first = text_rows(from_db, CANCEL_FIRST.0, CANCEL_FIRST.1).await;
    let mut landed_want: Rows = first.clone();
    landed_want.sort_by_key(|r| r[0].as_deref().unwrap().parse::<i64>().unwrap());
    landed_want.truncate(landed as usize);
    landed_want.sort();
    assert_same_rows(&text_rows(to_db, CANCEL_FIRST.0, CANCEL_FIRST.1).await, &landed_want, &context);
    assert!(text_rows(to_db, CANCEL_LATER.0, CANCEL_LATER.1).await.is_empty(), "{context}");
    assert_eq!(counts(&record), (landed, landed, 0, 0, 0), "{context}: {record:?}");
    runs.push(outcomes);

    // 4. Resume after the cursor of the last landed page: only the rows after it, then the whole table is the
    // sender's. (How many pages the cancel let land depends on the sink and the timing, so this run's report of
    // that table is asserted here and left out of the comparison of the two sinks.)
    let cursor = source
        .fetch(
            &protocol::TableName::parse(CANCEL_FIRST.0).unwrap(),
            &Fetch {
                cursor: None,
                limit: landed_pages * CANCEL_PAGE,
                format: PageFormat::Binary,
                filter: WireFilter::All,
            },
        )
        .await
        .unwrap()
        .next
        .expect("a cursor after the landed pages");
    let jobs = [
        TableJob { start_after: Some(cursor), ..job(CANCEL_FIRST.0, Strategy::Skip, Some(PAGE)) },
        job(CANCEL_LATER.0, Strategy::Skip, None),
    ];
    let (outcomes, record) = target.run(source, &Watch::new(None), &jobs).await;
    let rest = (CANCEL_FIRST.2 - landed) as u64;
    let resumed = outcomes[0].1.report(&context);
    assert_eq!(
        (resumed.rows, resumed.pages, resumed.created, resumed.skipped),
        (rest, pages(rest as i64, Some(PAGE)), rest, 0),
        "{context}: rows after the cursor only: {resumed:?}"
    );
    let later = outcomes[1].1.report(&context);
    assert_eq!((later.rows, later.created), (CANCEL_LATER.2 as u64, CANCEL_LATER.2 as u64), "{context}");
    for (table, columns, _) in [CANCEL_FIRST, CANCEL_LATER] {
        let want = text_rows(from_db, table, columns).await;
        assert_same_rows(&text_rows(to_db, table, columns).await, &want, &format!("{context} {table} resumed"));
    }
    let all = rest as i64 + CANCEL_LATER.2;
    assert_eq!(counts(&record), (all, all, 0, 0, 0), "{context}: {record:?}");
    runs.push(outcomes.into_iter().skip(1).collect());

    // 5. Rows the receiving table refuses (a CHECK the sender's table lacks): on PostgreSQL→PostgreSQL each binary
    // COPY page is refused whole and redone as ordinary pages; everywhere the good rows land and the bad ones are
    // reported, each once.
    exec(to_db, "CREATE TABLE checked (id INTEGER PRIMARY KEY, v INTEGER CHECK (v % 3 <> 0))").await;
    let (outcomes, record) = target.run(source, &Watch::new(None), &[job("checked", Strategy::Skip, Some(PAGE))]).await;
    let checked = outcomes[0].1.report(&context);
    let bad = CHECKED_ROWS / 3;
    let good = CHECKED_ROWS - bad;
    let mut refused_keys: Vec<String> = checked.errors.iter().map(|e| e.key.clone()).collect();
    refused_keys.sort();
    let mut want_keys: Vec<String> = (1..=CHECKED_ROWS).filter(|i| i % 3 == 0).map(|i| format!("id={i}")).collect();
    want_keys.sort();
    assert_eq!(refused_keys, want_keys, "{context}: {checked:?}");
    assert_eq!(
        (checked.rows, checked.pages, checked.created, checked.skipped, checked.copy_pages),
        (CHECKED_ROWS as u64, pages(CHECKED_ROWS, Some(PAGE)), good as u64, 0, 0),
        "{context}: {checked:?}"
    );
    let want: Rows =
        text_rows(from_db, "checked", &["id", "v"]).await.into_iter().filter(|r| r_id(r) % 3 != 0).collect();
    assert_same_rows(&text_rows(to_db, "checked", &["id", "v"]).await, &want, &format!("{context} checked"));
    assert_eq!(counts(&record), (CHECKED_ROWS, good, 0, 0, bad), "{context}: {record:?}");
    runs.push(outcomes);

    // 6. After the end: no page at all, nothing counted.
    let jobs =
        [TableJob { start_after: Some(END_CURSOR.into()), ..job(CANCEL_FIRST.0, Strategy::Overwrite, Some(PAGE)) }];
    let (outcomes, record) = target.run(source, &Watch::new(None), &jobs).await;
    let done = outcomes[0].1.report(&context);
    assert_eq!((done.rows, done.pages, done.updated), (0, 0, 0), "{context}: {done:?}");
    assert_eq!(counts(&record), (0, 0, 0, 0, 0), "{context}: {record:?}");
    runs.push(outcomes);
    let created = Tables::new(to_db.clone(), Exclusions::default()).get_schema(MISSING.0).await.unwrap();
    (runs, serde_json::to_value(created).unwrap())
}

fn r_id(r: &[Option<String>]) -> i64 {
    r[0].as_deref().unwrap().parse().unwrap()
}

/// `LocalSink` with a background job's table (what jobs run): a cancel leaves the job's cursor after the last
/// committed page, exactly where the sender's walk goes on; the driver started after it brings exactly the rest,
/// and the cursor ends at the end. Starting again from the stale cursor is refused (the page was imported already):
/// nothing lands twice.
async fn job_resume(sender: &TestApp, source: &ClientSource<'_>, to: EngineKind) {
    use appdata::jobs::{self, Credential, NewJob};
    let context = format!("{:?}→{to:?} LocalSink job", sender.instance.db.engine());
    let (table, columns, n) = CANCEL_FIRST;
    let target = TestDb::new(to).await;
    let db = &target.db;
    exec(db, &ddl(to)).await;
    let tables = Tables::new(db.clone(), Exclusions::default());
    let planned = [TableStrategy { table: table.into(), strategy: Strategy::Skip }];
    let record = appdata::history::begin(db, "admin", Channel::Background, "the sender", &planned).await.unwrap();
    let new = NewJob {
        admin: "admin".into(),
        sender: "ws://the-sender".into(),
        credential: Credential::Code("ABCD-EFGH".into()),
        tables: vec![(table.into(), Strategy::Skip)],
        create_missing: false,
        batch_size: CANCEL_PAGE,
        transfer_id: record,
    };
    let id = jobs::create(db, &new).await.unwrap();
    let sink = LocalSink { tables: &tables, record: Some(record), job: Some((id, 0)) };
    let stored = || async { jobs::plan(db, id).await.unwrap().unwrap().tables.remove(0) };

    let outcomes = drive(source, &sink, &Watch::new(Some(2)), &[job(table, Strategy::Skip, Some(CANCEL_PAGE))]).await;
    assert_eq!(outcomes, [(table.to_owned(), Outcome::Cancelled)], "{context}");
    let landed = 2 * CANCEL_PAGE;
    let walk = Fetch { cursor: None, limit: landed, format: PageFormat::Binary, filter: WireFilter::All };
    let after = source.fetch(&protocol::TableName::parse(table).unwrap(), &walk).await.unwrap().next;
    let at = stored().await;
    assert_eq!((at.cursor.clone(), at.rows), (after, i64::from(landed)), "{context}: the job's cursor");
    let source_rows = text_rows(&sender.instance.db, table, columns).await;
    let first: Rows = source_rows.iter().filter(|r| r_id(r) <= i64::from(landed)).cloned().collect();
    assert_same_rows(&text_rows(db, table, columns).await, &first, &context);

    let resume = TableJob { start_after: at.cursor.clone(), ..job(table, Strategy::Skip, Some(PAGE)) };
    let outcomes = drive(source, &sink, &Watch::new(None), std::slice::from_ref(&resume)).await;
    let rest = (n - i64::from(landed)) as u64;
    let report = outcomes[0].1.report(&context);
    assert_eq!((report.rows, report.created, report.skipped), (rest, rest, 0), "{context}: {report:?}");
    assert_same_rows(&text_rows(db, table, columns).await, &source_rows, &context);
    let end = stored().await;
    assert_eq!((end.cursor.as_deref(), end.rows), (Some(END_CURSOR), n), "{context}");

    let again = drive(source, &sink, &Watch::new(None), &[resume]).await;
    assert!(matches!(&again[0].1, Outcome::Failed(_)), "{context}: a stale cursor: {again:?}");
    assert_same_rows(&text_rows(db, table, columns).await, &source_rows, &context);
    let history = appdata::history::list(db, 10).await.unwrap();
    assert_eq!(counts(&history[0]), (n, n, 0, 0, 0), "{context}: {:?}", history[0]);
    assert_eq!(stored().await, end, "{context}: the stale page moved nothing");
}

/// The whole suite for one engine pair, into both sinks; both must report exactly the same.
async fn pair(from: EngineKind, to: EngineKind) {
    let started = Instant::now();
    let sender = sender(from).await;
    let connect = |compression: Option<Compression>| {
        let options = ClientOptions { timeout: Duration::from_secs(20), compression, ..ClientOptions::default() };
        let (url, code) = (sender.url.clone(), code(&sender));
        async move { Client::connect(&url, &code, options).await.unwrap() }
    };
    let mut reported = Vec::new();
    // Pages travel uncompressed by default here (the sender is on this machine), and as zstd when asked (as from
    // any other machine): the same scenario must come out the same either way, into either sink.
    for (server, compression) in
        [(false, None), (false, Some(Compression::Zstd)), (true, None), (true, Some(Compression::Zstd))]
    {
        let target = if server { Target::server(to).await } else { Target::local(to).await };
        let client = connect(compression).await;
        assert_eq!(client.compression(), compression.unwrap_or(Compression::None), "{from:?}→{to:?}");
        let source = ClientSource::new(&client);
        let (runs, created) = scenario(&sender, &source, &target, to).await;
        let timeless: Vec<Vec<(String, Outcome)>> =
            runs.iter().map(|run| run.iter().map(|(t, o)| (t.clone(), o.timeless())).collect()).collect();
        if std::env::var("DRIVER_DUMP").is_ok() {
            eprintln!("{from:?}->{to:?} {}: {timeless:#?}", target.name());
        }
        reported.push((target.name(), timeless, created));
        target.stop().await;
        client.disconnect().await;
    }
    let client = connect(None).await;
    job_resume(&sender, &ClientSource::new(&client), to).await;
    let first = &reported[0];
    for (i, other) in reported.iter().enumerate().skip(1) {
        for (run, (l, s)) in first.1.iter().zip(&other.1).enumerate() {
            assert_eq!(
                l,
                s,
                "{from:?}→{to:?} run {}: {} and {} (#{i}) reported differently",
                run + 1,
                first.0,
                other.0
            );
        }
        assert_eq!(first.2, other.2, "{from:?}→{to:?}: the table each sink created (#{i})");
    }
    client.disconnect().await;
    sender.stop().await;
    eprintln!("{from:?}→{to:?}: {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::test]
async fn postgres_to_postgres() {
    pair(EngineKind::Postgres, EngineKind::Postgres).await;
}

#[tokio::test]
async fn postgres_to_sqlite() {
    pair(EngineKind::Postgres, EngineKind::Sqlite).await;
}

#[tokio::test]
async fn sqlite_to_postgres() {
    pair(EngineKind::Sqlite, EngineKind::Postgres).await;
}

#[tokio::test]
async fn sqlite_to_sqlite() {
    pair(EngineKind::Sqlite, EngineKind::Sqlite).await;
}
