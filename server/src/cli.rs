//! The client commands of the binary: `tables`, `schema` and `pull` against a remote sender, for scripts, cron
//! jobs and AI agents. Progress bars on a terminal; `--json` prints one JSON object per line (events, then a
//! summary) for machines. Exit codes (also in the README): 0 done, 1 done with refused rows or failed tables,
//! 2 bad usage, 3 the sender refused the connection, 4 the connection was lost or timed out, 5 a local failure.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use appdata::history::{self, Channel, TableStrategy};
use clap::Args;
use client::{Client, ClientError, ClientOptions, Progress, TransferAllOptions, TransferOptions, TransferResult};
use engine::{TableSchema, Tables};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use protocol::Strategy;
use protocol::messages::{Compression, WireFilter};
use serde_json::json;

/// Where the sender is and the code to get in.
#[derive(Debug, Clone, Args)]
pub struct SenderArgs {
    /// The sender's site URL, as shown on its Send page (scheme optional: https is assumed).
    #[arg(long = "from", env = "DBT_SENDER_URL")]
    pub from: String,
    /// The connection code from the sender's Send page (single use).
    #[arg(long, env = "DBT_CODE")]
    pub code: String,
    /// Seconds to wait for the connection and for each reply.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Machine-readable output: JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
    /// How pages travel: `auto` (the default) sends them uncompressed when the sender is on this machine
    /// (localhost, 127.0.0.0/8, ::1), where compressing costs more CPU than the bytes cost, and zstd otherwise;
    /// `zstd` or `none` to choose.
    #[arg(long, value_enum, default_value_t = CompressionArg::Auto)]
    pub compression: CompressionArg,
}

/// `--compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompressionArg {
    Auto,
    Zstd,
    None,
}

impl CompressionArg {
    fn choice(self) -> Option<Compression> {
        match self {
            CompressionArg::Auto => None,
            CompressionArg::Zstd => Some(Compression::Zstd),
            CompressionArg::None => Some(Compression::None),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub sender: SenderArgs,
    /// The local database to write into.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/db-transfer.sqlite")]
    pub database_url: String,
    /// Tables to pull (comma-separated); parents are pulled before the tables that reference them.
    #[arg(long, value_delimiter = ',', conflicts_with = "all", required_unless_present = "all")]
    pub tables: Vec<String>,
    /// Pull every table the sender offers.
    #[arg(long)]
    pub all: bool,
    /// What to do with rows whose key exists here: skip, overwrite, merge, append.
    #[arg(long, default_value = "skip")]
    pub strategy: Strategy,
    /// A strategy for one table, e.g. `users=overwrite` (repeatable).
    #[arg(long = "table-strategy", value_parser = parse_table_strategy)]
    pub table_strategies: Vec<(String, Strategy)>,
    /// Create tables that do not exist here from the sender's schema.
    #[arg(long)]
    pub create_missing: bool,
    /// Only these rows (one table only): `range:FROM..TO` (either bound optional), `keys:7,9,250`, or the
    /// protocol's JSON filter.
    #[arg(long, value_parser = parse_filter)]
    pub filter: Option<WireFilter>,
    /// Rows per page, at most 100000. Left out (the default), pages are chosen by bytes: as many rows as fit the
    /// sender's 8 MiB page budget, right for narrow and wide tables alike. Each page is one transaction, and at
    /// most three are in memory at once.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_size: Option<u32>,
}

fn parse_table_strategy(raw: &str) -> Result<(String, Strategy), String> {
    let (table, strategy) = raw.split_once('=').ok_or_else(|| format!("{raw:?}: expected TABLE=STRATEGY"))?;
    Ok((table.trim().to_owned(), strategy.trim().parse()?))
}

fn scalar(raw: &str) -> serde_json::Value {
    raw.trim().parse::<i64>().map(serde_json::Value::from).unwrap_or_else(|_| json!(raw.trim()))
}

pub fn parse_filter(raw: &str) -> Result<WireFilter, String> {
    let filter = if let Some(range) = raw.strip_prefix("range:") {
        let (from, to) = range.split_once("..").ok_or("a range is FROM..TO (either bound may be empty)")?;
        let bound = |s: &str| (!s.trim().is_empty()).then(|| scalar(s));
        WireFilter::KeyRange { from: bound(from), to: bound(to) }
    } else if let Some(keys) = raw.strip_prefix("keys:") {
        WireFilter::Keys { keys: keys.split(',').filter(|k| !k.trim().is_empty()).map(|k| vec![scalar(k)]).collect() }
    } else {
        serde_json::from_str(raw).map_err(|e| format!("not a filter ({e}); use range:FROM..TO, keys:A,B or JSON"))?
    };
    filter.to_filter()?;
    Ok(filter)
}

/// A failure of a command, with the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

fn failure(e: &ClientError) -> Failure {
    let code = match e {
        ClientError::InvalidCode
        | ClientError::CodeUsed
        | ClientError::CodeExpired(_)
        | ClientError::TransfersOff
        | ClientError::RateLimited(_)
        | ClientError::Refused { .. }
        | ClientError::VersionMismatch(_) => 3,
        ClientError::ConnectTimeout(_)
        | ClientError::Unreachable(_)
        | ClientError::Disconnected { .. }
        | ClientError::Timeout(_) => 4,
        ClientError::InvalidUrl(_) | ClientError::InvalidName(_) => 2,
        _ => 5,
    };
    Failure { code, message: e.to_string() }
}

fn kind(e: &ClientError) -> &'static str {
    match e {
        ClientError::InvalidUrl(_) => "invalid_url",
        ClientError::InvalidName(_) => "invalid_name",
        ClientError::ConnectTimeout(_) => "connect_timeout",
        ClientError::Unreachable(_) => "unreachable",
        ClientError::InvalidCode => "invalid_code",
        ClientError::CodeUsed => "code_used",
        ClientError::CodeExpired(_) => "code_expired",
        ClientError::TransfersOff => "transfers_off",
        ClientError::RateLimited(_) => "rate_limited",
        ClientError::Refused { .. } => "refused",
        ClientError::VersionMismatch(_) => "version_mismatch",
        ClientError::Disconnected { .. } => "disconnected",
        ClientError::TableNotFound(_) => "table_not_found",
        ClientError::MissingLocally(_) => "missing_locally",
        ClientError::Remote { .. } => "remote",
        ClientError::Timeout(_) => "timeout",
        ClientError::Protocol(_) => "protocol",
        ClientError::Import(_) => "import",
        ClientError::Cancelled => "cancelled",
    }
}

async fn connect(args: &SenderArgs) -> Result<Client, Failure> {
    let options = ClientOptions {
        timeout: Duration::from_secs(args.timeout.max(1)),
        compression: args.compression.choice(),
        ..ClientOptions::default()
    };
    Client::connect(&args.from, &args.code, options).await.map_err(|e| report_error(args.json, None, &e))
}

fn report_error(json: bool, table: Option<&str>, e: &ClientError) -> Failure {
    if json {
        println!("{}", json!({"event": "error", "table": table, "kind": kind(e), "message": e.to_string()}));
    }
    failure(e)
}

pub async fn tables(args: SenderArgs) -> Result<(), Failure> {
    let client = connect(&args).await?;
    let tables = client.list_tables().await.map_err(|e| report_error(args.json, None, &e))?;
    if args.json {
        println!("{}", serde_json::to_string(&tables).expect("tables serialize"));
    } else {
        for t in &tables {
            println!("{:<40} {:>14}{}", t.name, t.rows, if t.rows_exact { "" } else { " (estimate)" });
        }
    }
    client.disconnect().await;
    Ok(())
}

/// `schema --ddl`: the statements creating the table here would run, before anything runs.
#[derive(Debug, Args)]
pub struct DdlArgs {
    /// Print the statements that would create the table in the local database (checked there inside a
    /// transaction that is rolled back, so nothing is kept), with what would not be recreated.
    #[arg(long)]
    pub ddl: bool,
    /// The local database the statements are for (with --ddl).
    #[arg(long = "database-url", env = "DATABASE_URL", default_value = "sqlite://data/db-transfer.sqlite")]
    pub database_url: String,
}

pub async fn schema(args: SenderArgs, ddl: DdlArgs, table: String) -> Result<(), Failure> {
    let client = connect(&args).await?;
    let schema = client.get_schema(&table).await.map_err(|e| report_error(args.json, Some(&table), &e))?;
    if ddl.ddl {
        client.disconnect().await;
        return print_ddl(args.json, &ddl.database_url, &schema).await;
    }
    if args.json {
        println!("{}", serde_json::to_string(&schema).expect("schemas serialize"));
    } else {
        println!("{}", schema.name);
        for c in &schema.columns {
            let key = if schema.primary_key.contains(&c.name) { " PK" } else { "" };
            let null = if c.nullable { "" } else { " NOT NULL" };
            let default = c.default.as_deref().map(|d| format!(" DEFAULT {d}")).unwrap_or_default();
            println!("  {:<32} {}{null}{default}{key}", c.name, c.data_type);
        }
        for fk in &schema.foreign_keys {
            println!("  FK ({}) → {}({})", fk.columns.join(", "), fk.ref_table, fk.ref_columns.join(", "));
        }
    }
    client.disconnect().await;
    Ok(())
}

/// The statements creating `schema` in the local database would run, in order, and their notes.
async fn print_ddl(json: bool, database_url: &str, schema: &TableSchema) -> Result<(), Failure> {
    let db = appdata::connect(database_url)
        .await
        .map_err(|e| Failure { code: 5, message: format!("the local database: {e}") })?;
    let local = Tables::new(db.clone(), protocol::Exclusions::default());
    let planned = local.create_table_ddl(schema).await;
    db.close().await;
    let ddl = planned.map_err(|e| Failure { code: 5, message: format!("{}: {e}", schema.name) })?;
    if json {
        println!("{}", json!({"table": schema.name, "statements": ddl.statements, "notes": ddl.notes}));
    } else {
        for statement in &ddl.statements {
            println!("{statement};");
        }
        for note in &ddl.notes {
            println!("-- not recreated as the sender has it: {note}");
        }
    }
    Ok(())
}

/// Draws per-table bars on a terminal, or prints JSON events.
struct Reporter {
    json: bool,
    bars: Option<MultiProgress>,
    open: Mutex<HashMap<String, ProgressBar>>,
}

impl Reporter {
    fn new(json: bool) -> Reporter {
        let bars = (!json && std::io::stderr().is_terminal()).then(MultiProgress::new);
        Reporter { json, bars, open: Mutex::new(HashMap::new()) }
    }

    fn report(&self, event: Progress) {
        if self.json {
            let line = match &event {
                Progress::Started { table, total } => {
                    json!({"event": "started", "table": table, "total": total})
                }
                Progress::Page { table, done, total, created, updated, skipped, errors } => json!({
                    "event": "page", "table": table, "done": done, "total": total,
                    "created": created, "updated": updated, "skipped": skipped, "errors": errors,
                }),
                Progress::Finished { table, result } => {
                    json!({"event": "finished", "table": table, "result": result})
                }
            };
            println!("{line}");
            return;
        }
        let Some(bars) = &self.bars else { return };
        let mut open = self.open.lock().expect("bars lock");
        match event {
            Progress::Started { table, total } => {
                let bar = bars.add(ProgressBar::new(total.unwrap_or(0)));
                let template = if total.is_some() {
                    "{prefix:>24} [{bar:30}] {pos}/{len} rows {per_sec} eta {eta}"
                } else {
                    "{prefix:>24} {spinner} {pos} rows {per_sec}"
                };
                bar.set_style(ProgressStyle::with_template(template).expect("a valid template").progress_chars("=> "));
                bar.set_prefix(table.clone());
                open.insert(table, bar);
            }
            Progress::Page { table, done, .. } => {
                if let Some(bar) = open.get(&table) {
                    bar.set_position(done);
                }
            }
            Progress::Finished { table, .. } => {
                if let Some(bar) = open.remove(&table) {
                    bar.finish();
                }
            }
        }
    }
}

fn summary_line(r: &TransferResult) -> String {
    format!(
        "{}: {} rows in {:.1} s ({} created, {} updated, {} skipped, {} refused{}{})",
        r.table,
        r.rows,
        r.seconds,
        r.created,
        r.updated,
        r.skipped,
        r.errors.len(),
        if r.created_table { ", table created" } else { "" },
        if r.resumed > 0 { format!(", resumed {}×", r.resumed) } else { String::new() },
    )
}

pub async fn pull(args: PullArgs) -> Result<(), Failure> {
    let json = args.sender.json;
    if args.filter.is_some() && (args.all || args.tables.len() != 1) {
        return Err(Failure { code: 2, message: "--filter needs exactly one table in --tables".into() });
    }
    let db = appdata::connect(&args.database_url)
        .await
        .map_err(|e| Failure { code: 5, message: format!("the local database: {e}") })?;
    let local = Tables::new(db.clone(), protocol::Exclusions::default());
    let client = connect(&args.sender).await?;
    let history_tables: Vec<TableStrategy> = if args.all {
        vec![TableStrategy { table: "*".into(), strategy: args.strategy }]
    } else {
        args.tables
            .iter()
            .map(|t| TableStrategy {
                table: t.clone(),
                strategy: args.table_strategies.iter().find(|(n, _)| n == t).map(|(_, s)| *s).unwrap_or(args.strategy),
            })
            .collect()
    };
    let who = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    let site = protocol::address::display_site(client.socket_url());
    let record = history::begin(&db, &who, Channel::Cli, &site, &history_tables)
        .await
        .map_err(|e| Failure { code: 5, message: format!("the local database: {e}") })?;
    let reporter = Reporter::new(json);
    let progress = |event: Progress| reporter.report(event);
    let results = match &args.filter {
        Some(filter) => {
            let table = protocol::TableName::parse(&args.tables[0])
                .map_err(|e| Failure { code: 2, message: format!("--tables: {e}") })?;
            let strategy = args
                .table_strategies
                .iter()
                .find(|(t, _)| table == t.as_str())
                .map(|(_, s)| *s)
                .unwrap_or(args.strategy);
            let options = TransferOptions {
                strategy,
                batch_size: args.batch_size.unwrap_or(0),
                create_missing_tables: args.create_missing,
                filter: filter.clone(),
            };
            vec![(table.clone(), client.transfer_recorded(&local, table.as_str(), &options, record, &progress).await)]
        }
        None => {
            let options = TransferAllOptions {
                tables: (!args.all).then(|| args.tables.clone()),
                strategies: args.table_strategies.iter().cloned().collect(),
                default_strategy: args.strategy,
                create_missing_tables: args.create_missing,
                batch_size: args.batch_size.unwrap_or(0),
            };
            // Each page's counts go to the history record in the page's own transaction.
            match client.transfer_all_recorded(&local, &options, record, &progress).await {
                Ok(results) => results,
                Err(e) => {
                    let _ = history::finish(&db, record, &who, history::Outcome::Failed, Some(&e.to_string())).await;
                    return Err(report_error(json, None, &e));
                }
            }
        }
    };
    client.disconnect().await;
    let mut worst: u8 = 0;
    let mut tables = Vec::new();
    for (table, outcome) in &results {
        match outcome {
            Ok(r) => {
                if !r.errors.is_empty() {
                    worst = worst.max(1);
                }
                if !json {
                    println!("{}", summary_line(r));
                    for e in r.errors.iter().take(20) {
                        println!("  refused {}: {}", e.key, e.reason);
                    }
                    if r.errors.len() > 20 {
                        println!("  … and {} more", r.errors.len() - 20);
                    }
                }
                tables.push(json!({"table": table, "ok": true, "result": r}));
            }
            Err(e) => {
                let f = failure(e);
                // A lost connection or refused code outranks a table that failed on its own.
                worst = worst.max(if f.code >= 3 && f.code <= 4 { f.code } else { 1 });
                if json {
                    tables.push(json!({"table": table, "ok": false, "kind": kind(e), "message": e.to_string()}));
                } else {
                    println!("{table}: failed: {e}");
                }
            }
        }
    }
    let outcome = match worst {
        0 => history::Outcome::Finished,
        1 => history::Outcome::Incomplete,
        _ => history::Outcome::Failed,
    };
    if let Err(e) = history::finish(&db, record, &who, outcome, None).await {
        tracing::warn!(error = %e, "recording the end of the transfer");
    }
    db.close().await;
    if json {
        println!("{}", json!({"event": "summary", "ok": worst == 0, "tables": tables}));
    }
    match worst {
        0 => Ok(()),
        code => Err(Failure { code, message: "some tables or rows were not transferred (see above)".into() }),
    }
}

pub fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
