//! Background transfer jobs in `dbt_jobs` / `dbt_job_tables`: what a job pulls from which sender, how far each
//! table got and how the job stands. The queue that decides which worker runs a job lives elsewhere (the `jobs`
//! crate, on apalis); this is the job's own record, which the Jobs view shows and a restarted job continues from.
//! The types the Jobs view shows are [`protocol::jobs`]'s.
//!
//! The part that makes restarts exact is [`Checkpoint`]: the importer writes a table's next cursor and counts
//! *inside the transaction of the page they describe*, and only if the cursor is still the one the page was
//! fetched from. A page is therefore committed once, with its counts, or not at all — whichever process dies when.

use protocol::history::Outcome;
pub use protocol::jobs::*;
use protocol::request::{ImportResult, Strategy};
use store::{Db, DbError, on_pool, unix_now};

/// How the job reaches the sender: a connection code before its first connection, the resume token after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Code(String),
    Resume(String),
}

impl Credential {
    fn encode(&self) -> String {
        match self {
            Credential::Code(c) => format!("code.{c}"),
            Credential::Resume(t) => format!("resume.{t}"),
        }
    }

    fn decode(s: &str) -> Option<Credential> {
        if let Some(c) = s.strip_prefix("code.") {
            Some(Credential::Code(c.to_owned()))
        } else {
            s.strip_prefix("resume.").map(|t| Credential::Resume(t.to_owned()))
        }
    }
}

/// What an admin asks a job to do.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub admin: String,
    /// The sender's socket URL (already normalized).
    pub sender: String,
    pub credential: Credential,
    /// Tables in the order they run (parents first), each with its strategy.
    pub tables: Vec<(String, Strategy)>,
    pub create_missing: bool,
    pub batch_size: u32,
    /// The history record the job's counts also go to.
    pub transfer_id: i64,
}

/// What a job runner needs to (re)start a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPlan {
    pub id: i64,
    pub admin: String,
    pub sender: String,
    pub credential: Option<Credential>,
    pub create_missing: bool,
    pub batch_size: u32,
    pub transfer_id: i64,
    pub state: JobState,
    pub cancel_requested: bool,
    pub tables: Vec<TablePlan>,
}

/// One table of a job, with where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    pub position: i64,
    pub table: String,
    pub strategy: Strategy,
    pub state: TableState,
    /// The cursor after the last committed page; `None` before the first.
    pub cursor: Option<String>,
    pub created_table: bool,
    pub rows: i64,
}

/// Why a [`Checkpoint`] was not written; the import's transaction is rolled back.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A background job's table moved on since this page was fetched (another worker imported it).
    #[error("job {job}: the table's cursor moved since this page was fetched; the page was not imported")]
    Moved { job: i64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Written in the import's transaction: the page's counts go to the history record `transfer_id`, and for a
/// background job, the page fetched from the job's cursor moves it on ([`JobCursor`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The job's table this page moves on; `None` for a transfer that is not a job (the CLI's), whose history
    /// record alone counts the page.
    pub job: Option<JobCursor>,
    pub transfer_id: i64,
    pub rows: u64,
}

/// A background job's table cursor: the page fetched from `expected` moves it to `next`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobCursor {
    pub job: i64,
    pub position: i64,
    pub expected: Option<String>,
    pub next: Option<String>,
}

fn n(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

fn strategy_name(s: Strategy) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn first_error(result: &ImportResult) -> Option<String> {
    result.errors.first().map(|e| format!("{}: {}", e.key, e.reason).chars().take(1000).collect())
}

/// The checkpoint's statements, the same on both engines but for the NULL-safe comparison of the cursor.
macro_rules! write_checkpoint {
    ($checkpoint:expr, $conn:expr, $result:expr, $cursor_is:literal) => {{
        let (c, result) = ($checkpoint, $result);
        if let Some(j) = &c.job {
            let sql = concat!(
                "UPDATE dbt_job_tables SET cursor = $1, rows_done = rows_done + $2, pages = pages + 1, ",
                "created = created + $3, updated = updated + $4, skipped = skipped + $5, errors = errors + $6, ",
                "message = COALESCE(message, $7) WHERE job_id = $8 AND position = $9 AND cursor ",
                $cursor_is,
                " $10"
            );
            let moved = sqlx::query(sql)
                .bind(&j.next)
                .bind(n(c.rows))
                .bind(n(result.created))
                .bind(n(result.updated))
                .bind(n(result.skipped))
                .bind(n(result.errors.len() as u64))
                .bind(first_error(result))
                .bind(j.job)
                .bind(j.position)
                .bind(&j.expected)
                .execute(&mut *$conn)
                .await?
                .rows_affected();
            if moved != 1 {
                return Err(CheckpointError::Moved { job: j.job });
            }
        }
        sqlx::query(HISTORY_SQL)
            .bind(c.transfer_id)
            .bind(n(c.rows))
            .bind(n(result.created))
            .bind(n(result.updated))
            .bind(n(result.skipped))
            .bind(n(result.errors.len() as u64))
            .bind(unix_now())
            .execute(&mut *$conn)
            .await?;
        Ok(())
    }};
}

impl Checkpoint {
    /// Adds the page's counts to the history record (and moves a job's table cursor and counts) in the import's
    /// transaction; refuses when a job's cursor moved since the page was fetched (another worker imported it), so
    /// the caller rolls back.
    pub async fn write_postgres(
        &self,
        conn: &mut sqlx::PgConnection,
        result: &ImportResult,
    ) -> Result<(), CheckpointError> {
        write_checkpoint!(self, conn, result, "IS NOT DISTINCT FROM")
    }

    /// [`Checkpoint::write_postgres`] for SQLite.
    pub async fn write_sqlite(
        &self,
        conn: &mut sqlx::SqliteConnection,
        result: &ImportResult,
    ) -> Result<(), CheckpointError> {
        write_checkpoint!(self, conn, result, "IS")
    }
}

const HISTORY_SQL: &str = "UPDATE dbt_transfers SET rows_done = rows_done + $2, created = created + $3, \
     updated = updated + $4, skipped = skipped + $5, errors = errors + $6, updated_at = $7 WHERE id = $1";

/// Records a new job (state `queued`) with its tables; returns its id.
pub async fn create(db: &Db, job: &NewJob) -> Result<i64, DbError> {
    const JOB: &str = "INSERT INTO dbt_jobs (admin, sender, credential, transfer_id, create_missing, batch_size, \
                       created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id";
    const TABLE: &str = "INSERT INTO dbt_job_tables (job_id, position, table_name, strategy) VALUES ($1, $2, $3, $4)";
    let id: i64 = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(JOB)
            .bind(&job.admin).bind(&job.sender).bind(job.credential.encode()).bind(job.transfer_id)
            .bind(job.create_missing).bind(i64::from(job.batch_size)).bind(unix_now())
            .fetch_one(&mut *tx).await?;
        for (position, (table, strategy)) in job.tables.iter().enumerate() {
            sqlx::query(TABLE).bind(id).bind(position as i64).bind(table).bind(strategy_name(*strategy))
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        id
    });
    Ok(id)
}

/// A `dbt_jobs` row as the views and plans read it.
#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    admin: String,
    sender: String,
    credential: Option<String>,
    transfer_id: i64,
    create_missing: bool,
    batch_size: i64,
    state: crate::Stored<JobState>,
    attempts: i64,
    cancel_requested: bool,
    message: Option<String>,
    created_at: i64,
    updated_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}
const JOB_COLUMNS: &str = "id, admin, sender, credential, transfer_id, create_missing, batch_size, state, attempts, \
                           cancel_requested, message, created_at, updated_at, started_at, finished_at";
#[derive(sqlx::FromRow)]
struct TableRow {
    job_id: i64,
    position: i64,
    table_name: String,
    strategy: String,
    state: crate::Stored<TableState>,
    cursor: Option<String>,
    created_table: bool,
    total: Option<i64>,
    rows_done: i64,
    pages: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    errors: i64,
    message: Option<String>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}
const TABLE_COLUMNS: &str = "job_id, position, table_name, strategy, state, cursor, created_table, total, rows_done, \
                             pages, created, updated, skipped, errors, message, started_at, finished_at";

async fn table_rows(db: &Db, ids: &[i64]) -> Result<Vec<TableRow>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    // The ids are integers from our own query, so the list is safe to inline.
    let sql = format!("SELECT {TABLE_COLUMNS} FROM dbt_job_tables WHERE job_id IN ({list}) ORDER BY job_id, position");
    Ok(on_pool!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?))
}

fn parse_strategy(s: &str) -> Strategy {
    s.parse().unwrap_or_default()
}

impl TableRow {
    fn view(&self) -> JobTableView {
        JobTableView {
            position: self.position,
            table: self.table_name.clone(),
            strategy: parse_strategy(&self.strategy),
            state: self.state.0,
            total: self.total,
            rows: self.rows_done,
            pages: self.pages,
            created: self.created,
            updated: self.updated,
            skipped: self.skipped,
            errors: self.errors,
            message: self.message.clone(),
            started_at: self.started_at,
            finished_at: self.finished_at,
        }
    }
}

/// The latest jobs, newest first, with their tables.
pub async fn list(db: &Db, limit: u32) -> Result<Vec<JobView>, DbError> {
    views(db, "ORDER BY id DESC LIMIT $1", i64::from(limit)).await
}

/// One job as the Jobs view shows it.
pub async fn get(db: &Db, id: i64) -> Result<Option<JobView>, DbError> {
    Ok(views(db, "WHERE id = $1", id).await?.pop())
}

async fn views(db: &Db, tail: &str, arg: i64) -> Result<Vec<JobView>, DbError> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM dbt_jobs {tail}");
    let jobs: Vec<JobRow> =
        on_pool!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(arg).fetch_all(pool).await?);
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let tables = table_rows(db, &ids).await?;
    Ok(jobs
        .into_iter()
        .map(|j| JobView {
            tables: tables.iter().filter(|t| t.job_id == j.id).map(TableRow::view).collect(),
            id: j.id,
            admin: j.admin,
            sender: protocol::address::display_site(&j.sender),
            has_credential: j.credential.is_some(),
            create_missing: j.create_missing,
            batch_size: j.batch_size,
            state: j.state.0,
            attempts: j.attempts,
            cancel_requested: j.cancel_requested,
            message: j.message,
            created_at: j.created_at,
            updated_at: j.updated_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        })
        .collect())
}

/// Everything a runner needs to (re)start job `id`; `None` when there is no such job.
pub async fn plan(db: &Db, id: i64) -> Result<Option<JobPlan>, DbError> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM dbt_jobs WHERE id = $1");
    let job: Option<JobRow> =
        on_pool!(db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
    let Some(j) = job else { return Ok(None) };
    let tables = table_rows(db, &[id]).await?;
    Ok(Some(JobPlan {
        id: j.id,
        admin: j.admin,
        sender: j.sender,
        credential: j.credential.as_deref().and_then(Credential::decode),
        transfer_id: j.transfer_id,
        create_missing: j.create_missing,
        batch_size: u32::try_from(j.batch_size).unwrap_or(500),
        state: j.state.0,
        cancel_requested: j.cancel_requested,
        tables: tables
            .into_iter()
            .map(|t| TablePlan {
                position: t.position,
                strategy: parse_strategy(&t.strategy),
                table: t.table_name,
                state: t.state.0,
                cursor: t.cursor,
                created_table: t.created_table,
                rows: t.rows_done,
            })
            .collect(),
    }))
}

/// What [`claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The job is this runner's now (one more attempt), until its lease lapses.
    Claimed,
    /// Another runner's lease on it still runs.
    Held,
    /// An admin asked to cancel it.
    CancelRequested,
    /// It ended (or does not exist): nothing to run.
    Gone,
}

/// Takes job `id` for `runner` for `lease_secs` (renewed by [`renew`]): it must be queued, running or retrying,
/// not cancelled, and not held by another runner's live lease.
pub async fn claim(db: &Db, id: i64, runner: &str, lease_secs: i64) -> Result<Claim, DbError> {
    const SQL: &str = "UPDATE dbt_jobs SET state = 'running', attempts = attempts + 1, message = NULL, \
                       started_at = COALESCE(started_at, $2), updated_at = $2, runner = $3, lease_until = $2 + $4 \
                       WHERE id = $1 AND state IN ('queued', 'running', 'retrying') AND NOT cancel_requested \
                       AND (runner IS NULL OR runner = $3 OR lease_until IS NULL OR lease_until < $2)";
    const WHY: &str = "SELECT state, cancel_requested FROM dbt_jobs WHERE id = $1";
    let claimed = on_pool!(db, pool => sqlx::query(SQL).bind(id).bind(unix_now()).bind(runner).bind(lease_secs)
        .execute(pool).await?.rows_affected());
    if claimed == 1 {
        return Ok(Claim::Claimed);
    }
    let why: Option<(crate::Stored<JobState>, bool)> =
        on_pool!(db, pool => sqlx::query_as(WHY).bind(id).fetch_optional(pool).await?);
    Ok(match why {
        Some((crate::Stored(job_state), _)) if job_state.is_ended() => Claim::Gone,
        Some((_, true)) => Claim::CancelRequested,
        Some(_) => Claim::Held,
        None => Claim::Gone,
    })
}

/// Takes a job whose cancel was requested and that no live lease holds, only to end it; false when another
/// runner holds it (that one reads the flag and ends it).
pub async fn take_cancelled(db: &Db, id: i64, runner: &str, lease_secs: i64) -> Result<bool, DbError> {
    const SQL: &str = "UPDATE dbt_jobs SET runner = $3, lease_until = $2 + $4 \
                       WHERE id = $1 AND state IN ('queued', 'running', 'retrying') AND cancel_requested \
                       AND (runner IS NULL OR runner = $3 OR lease_until IS NULL OR lease_until < $2)";
    Ok(on_pool!(db, pool => sqlx::query(SQL).bind(id).bind(unix_now()).bind(runner).bind(lease_secs)
        .execute(pool).await?.rows_affected())
        == 1)
}

/// Extends `runner`'s lease; false when the job is no longer its own.
pub async fn renew(db: &Db, id: i64, runner: &str, lease_secs: i64) -> Result<bool, DbError> {
    const SQL: &str = "UPDATE dbt_jobs SET lease_until = $3 + $4 WHERE id = $1 AND runner = $2";
    Ok(on_pool!(db, pool => sqlx::query(SQL).bind(id).bind(runner).bind(unix_now()).bind(lease_secs)
        .execute(pool).await?.rows_affected())
        == 1)
}

/// Sets the state and message of a job `runner` holds (`retrying` with the reason, say).
pub async fn set_state(db: &Db, id: i64, runner: &str, state: JobState, message: Option<&str>) -> Result<(), DbError> {
    const SQL: &str = "UPDATE dbt_jobs SET state = $2, message = $3, updated_at = $4 WHERE id = $1 AND runner = $5";
    let message: Option<String> = message.map(|m| m.chars().take(2000).collect());
    on_pool!(db, pool => sqlx::query(SQL).bind(id).bind(state.as_str()).bind(&message).bind(unix_now()).bind(runner)
        .execute(pool).await?.rows_affected());
    Ok(())
}

/// Ends a job `runner` holds with `outcome` (its state from now on) and lets it go. A finished or cancelled job
/// forgets its credential; a failed or incomplete one keeps it for a retry. False when the job was not the
/// runner's.
pub async fn finish(db: &Db, id: i64, runner: &str, outcome: Outcome, message: Option<&str>) -> Result<bool, DbError> {
    const SQL: &str = "UPDATE dbt_jobs SET state = $2, message = $3, updated_at = $4, finished_at = $4, \
                       runner = NULL, lease_until = NULL, \
                       credential = CASE WHEN $2 IN ('failed', 'incomplete') THEN credential ELSE NULL END \
                       WHERE id = $1 AND runner = $5";
    let message: Option<String> = message.map(|m| m.chars().take(2000).collect());
    Ok(
        on_pool!(db, pool => sqlx::query(SQL).bind(id).bind(JobState::from(outcome).as_str()).bind(&message).bind(unix_now())
        .bind(runner).execute(pool).await?.rows_affected())
            == 1,
    )
}

/// Keeps the credential the job reconnects with (the resume token after the code is spent).
pub async fn set_credential(db: &Db, id: i64, credential: &Credential) -> Result<(), DbError> {
    const SQL: &str = "UPDATE dbt_jobs SET credential = $2, updated_at = $3 WHERE id = $1";
    on_pool!(db, pool => sqlx::query(SQL).bind(id).bind(credential.encode()).bind(unix_now()).execute(pool).await?.rows_affected());
    Ok(())
}

/// Asks a job to stop. A queued job is cancelled at once; a running or retrying one stops after its page (its
/// runner reads the flag).
/// False when the job does not exist or already ended.
pub async fn request_cancel(db: &Db, id: i64) -> Result<bool, DbError> {
    const FLAG: &str = "UPDATE dbt_jobs SET cancel_requested = TRUE, updated_at = $2 \
                        WHERE id = $1 AND state IN ('queued', 'running', 'retrying')";
    const NOW: &str = "UPDATE dbt_jobs SET state = 'cancelled', message = 'cancelled before it ran', finished_at = $2, \
                       credential = NULL WHERE id = $1 AND state = 'queued' AND runner IS NULL";
    let flagged =
        on_pool!(db, pool => sqlx::query(FLAG).bind(id).bind(unix_now()).execute(pool).await?.rows_affected());
    if flagged == 1 {
        on_pool!(db, pool => sqlx::query(NOW).bind(id).bind(unix_now()).execute(pool).await?.rows_affected());
    }
    Ok(flagged == 1)
}

pub async fn cancel_requested(db: &Db, id: i64) -> Result<bool, DbError> {
    const SQL: &str = "SELECT cancel_requested FROM dbt_jobs WHERE id = $1";
    let flag: Option<bool> = on_pool!(db, pool => sqlx::query_scalar(SQL).bind(id).fetch_optional(pool).await?);
    Ok(flag.unwrap_or(true))
}

/// Puts an ended job back in the queue (with a new code when given); its tables continue from their cursors,
/// failed ones start over from theirs. False when the job is not failed, incomplete or cancelled.
pub async fn requeue(db: &Db, id: i64, code: Option<&str>) -> Result<bool, DbError> {
    const SQL: &str = "UPDATE dbt_jobs SET state = 'queued', cancel_requested = FALSE, message = NULL, finished_at = NULL, \
                       runner = NULL, lease_until = NULL, credential = COALESCE($2, credential), updated_at = $3 \
                       WHERE id = $1 AND state IN ('failed', 'incomplete', 'cancelled')";
    const TABLES: &str = "UPDATE dbt_job_tables SET state = 'pending', finished_at = NULL \
                          WHERE job_id = $1 AND state IN ('failed', 'running')";
    const HISTORY: &str = "UPDATE dbt_transfers SET outcome = 'running', finished_at = NULL, message = NULL \
                           WHERE id = (SELECT transfer_id FROM dbt_jobs WHERE id = $1)";
    let credential = code.map(|c| Credential::Code(c.to_owned()).encode());
    let done = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(SQL).bind(id).bind(&credential).bind(unix_now()).execute(&mut *tx).await?.rows_affected();
        if done == 1 {
            sqlx::query(TABLES).bind(id).execute(&mut *tx).await?;
            sqlx::query(HISTORY).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        done
    });
    Ok(done == 1)
}

/// A table starts (or restarts): its state, total and whether this job created it.
pub async fn table_started(
    db: &Db,
    job: i64,
    position: i64,
    total: Option<u64>,
    created_table: bool,
) -> Result<(), DbError> {
    const SQL: &str = "UPDATE dbt_job_tables SET state = 'running', total = COALESCE($3, total), \
                       created_table = (created_table OR $4), started_at = COALESCE(started_at, $5), message = NULL \
                       WHERE job_id = $1 AND position = $2";
    on_pool!(db, pool => sqlx::query(SQL).bind(job).bind(position).bind(total.map(n)).bind(created_table).bind(unix_now())
        .execute(pool).await?.rows_affected());
    Ok(())
}

/// A table ends: [`TableState::Done`], or [`TableState::Failed`] with the reason.
pub async fn table_ended(
    db: &Db,
    job: i64,
    position: i64,
    state: TableState,
    message: Option<&str>,
) -> Result<(), DbError> {
    const SQL: &str = "UPDATE dbt_job_tables SET state = $3, message = COALESCE($4, message), finished_at = $5 \
                       WHERE job_id = $1 AND position = $2";
    let message: Option<String> = message.map(|m| m.chars().take(2000).collect());
    on_pool!(db, pool => sqlx::query(SQL).bind(job).bind(position).bind(state.as_str()).bind(&message).bind(unix_now())
        .execute(pool).await?.rows_affected());
    Ok(())
}
