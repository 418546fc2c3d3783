//! The durable queue: apalis storage beside the app's own data (PostgreSQL: schema `apalis`; SQLite: a file of its
//! own next to the database), holding one task per job
//! run. apalis decides which worker runs what (row locks, so several replicas on one PostgreSQL share it) and
//! hands a dead worker's tasks to a live one after its heartbeats stop.

use apalis::prelude::TaskSink;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use engine::Db;
use serde::{Deserialize, Serialize};

use crate::{JobsConfig, JobsError};

/// The queue's name in apalis's tables.
const QUEUE: &str = "dbt-transfers";

/// SQLite has no schemas, and apalis's tables are called `Jobs` and `Workers`: in the app's own file they could
/// meet a user's tables of those names (and be offered for transfer). So on SQLite the queue lives in a file of
/// its own beside the database (`data/db.sqlite` → `data/db.queue.sqlite`); the job records stay in the app's.
async fn sqlite_queue_pool(app: &sqlx::SqlitePool) -> Result<sqlx::SqlitePool, JobsError> {
    let options = (*app.connect_options()).clone();
    let file = options.get_filename().to_path_buf();
    let options = if file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:") {
        options.filename(":memory:")
    } else {
        let ext =
            file.extension().map(|e| format!("queue.{}", e.to_string_lossy())).unwrap_or_else(|| "queue.sqlite".into());
        options.filename(file.with_extension(ext))
    };
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| JobsError::Queue(format!("opening the SQLite queue file: {e}")))
}

/// What a queue entry carries: the job to run (everything else is in `dbt_jobs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunJob {
    pub job: i64,
}

/// The queue of this instance's database.
#[derive(Clone)]
pub enum JobQueue {
    Postgres(PostgresStorage<RunJob>),
    Sqlite(SqliteStorage<RunJob>),
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JobQueue::Postgres(_) => "JobQueue(PostgreSQL)",
            JobQueue::Sqlite(_) => "JobQueue(SQLite)",
        })
    }
}

impl JobQueue {
    /// Creates apalis's tables when missing and opens the queue.
    pub async fn open(db: &Db, config: &JobsConfig) -> Result<JobQueue, JobsError> {
        // A batch larger than the concurrency would lock tasks this replica cannot start yet, and other
        // replicas could not take them.
        let batch = config.concurrency.max(1);
        match db {
            Db::Postgres(pool) => {
                PostgresStorage::setup(pool).await.map_err(|e| JobsError::Queue(e.to_string()))?;
                let cfg = apalis_postgres::Config::default()
                    .queue(QUEUE)
                    .batch_size(batch)
                    .heartbeat_interval(config.heartbeat)
                    .missed_heartbeats(config.missed_heartbeats);
                Ok(JobQueue::Postgres(PostgresStorage::new(pool).with_config(cfg)))
            }
            Db::Sqlite(pool) => {
                let pool = sqlite_queue_pool(pool).await?;
                // Not `SqliteStorage::setup`: it also switches one connection's `synchronous` off.
                SqliteStorage::<()>::migrations().run(&pool).await.map_err(|e| JobsError::Queue(e.to_string()))?;
                let cfg = apalis_sqlite::Config::default()
                    .queue(QUEUE)
                    .batch_size(batch)
                    .heartbeat_interval(config.heartbeat)
                    .missed_heartbeats(config.missed_heartbeats);
                Ok(JobQueue::Sqlite(SqliteStorage::new(&pool).with_config(cfg)))
            }
        }
    }

    /// Queues one run of `job`.
    pub async fn enqueue(&self, job: i64) -> Result<(), JobsError> {
        let task = RunJob { job };
        match self.clone() {
            JobQueue::Postgres(mut s) => s.push(task).await.map_err(|e| JobsError::Queue(e.to_string())),
            JobQueue::Sqlite(mut s) => s.push(task).await.map_err(|e| JobsError::Queue(e.to_string())),
        }
    }
}
