//! One run of a background job: connect to the sender (the code the first time, the resume token after), pull
//! each table that is not done yet from its last committed page, and record how it ended. A lost connection is
//! retried with backoff; a cancel request stops the job between two pages; a refused table does not stop the
//! others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use appdata::history::{self, Outcome};
use appdata::jobs::{self, Credential, JobPlan, JobState, TableState};
use client::{Client, ClientError, ClientOptions, JobControl, TransferOptions};
use engine::{EngineError, Tables};
use protocol::messages::{ReceiverInfo, WireFilter};

use crate::JobsConfig;

/// What every run needs: the local tables and how to behave.
#[derive(Clone, Debug)]
pub struct RunnerContext {
    pub tables: Tables,
    pub config: JobsConfig,
}

/// How one attempt ended.
enum Attempt {
    /// Every table ran; `clean` when no table failed and no row was refused.
    Completed { clean: bool },
    /// Another worker holds the job now (its cursor moved under us): leave the job to it.
    TakenOver,
}

/// The longest wait between two retries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Runs job `id` to an end (or until another worker takes it over). Errors are recorded on the job, never
/// returned: the queue must not run it again behind the admin's back.
pub async fn run(ctx: &RunnerContext, id: i64) {
    let db = ctx.tables.db();
    let runner = format!("{:016x}", rand::random::<u64>());
    let lease = lease_secs(&ctx.config);
    let mut retries_left = ctx.config.retries;
    let mut backoff = ctx.config.backoff;
    loop {
        // The same job may be delivered twice (a retry while a cancelled run winds down, a replica that missed
        // its heartbeats): whoever holds the lease runs it, the other waits for the lease to lapse or the end.
        match jobs::claim(db, id, &runner, lease).await {
            Ok(jobs::Claim::Claimed) => {}
            Ok(jobs::Claim::Held) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Ok(jobs::Claim::CancelRequested) => {
                // Nobody else holds it: end it as asked.
                if let Ok(jobs::Claim::Claimed) = force_claim(ctx, id, &runner).await
                    && let Ok(Some(plan)) = jobs::plan(db, id).await
                {
                    end(ctx, &plan, &runner, Outcome::Cancelled, Some("cancelled")).await;
                }
                return;
            }
            Ok(jobs::Claim::Gone) => return,
            Err(e) => {
                tracing::error!(job = id, error = %e, "cannot claim the job; trying again");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        }
        let plan = match jobs::plan(db, id).await {
            Ok(Some(plan)) => plan,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(job = id, error = %e, "cannot read the job; trying again");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        tracing::info!(job = id, "background transfer running");
        let rows_before = committed_rows(ctx, id).await;
        match attempt(ctx, &plan, &runner).await {
            Ok(Attempt::Completed { clean: true }) => {
                return end(ctx, &plan, &runner, Outcome::Finished, None).await;
            }
            Ok(Attempt::Completed { clean: false }) => {
                return end(
                    ctx,
                    &plan,
                    &runner,
                    Outcome::Incomplete,
                    Some("some tables or rows were refused; see each table"),
                )
                .await;
            }
            Ok(Attempt::TakenOver) => {
                tracing::warn!(job = id, "another worker took the job over");
                return;
            }
            Err(ClientError::Cancelled) => {
                return end(ctx, &plan, &runner, Outcome::Cancelled, Some("cancelled")).await;
            }
            Err(e) if is_transient(&e) => {
                // A job that moved since the last failure earns its retries back.
                if committed_rows(ctx, id).await > rows_before {
                    retries_left = ctx.config.retries;
                    backoff = ctx.config.backoff;
                }
                if retries_left == 0 {
                    return end(
                        ctx,
                        &plan,
                        &runner,
                        Outcome::Failed,
                        Some(&format!("{e} (gave up after {} retries)", ctx.config.retries)),
                    )
                    .await;
                }
                retries_left -= 1;
                let attempt_no = ctx.config.retries - retries_left;
                let message = format!(
                    "{e}; retrying in {} s (retry {attempt_no} of {})",
                    backoff.as_secs_f32().ceil(),
                    ctx.config.retries
                );
                tracing::warn!(job = id, "{message}");
                let _ = jobs::set_state(db, id, &runner, JobState::Retrying, Some(&message)).await;
                if wait_unless_cancelled(ctx, id, &runner, backoff).await {
                    return end(ctx, &plan, &runner, Outcome::Cancelled, Some("cancelled")).await;
                }
                backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
            }
            Err(e) => {
                return end(ctx, &plan, &runner, Outcome::Failed, Some(&failure_message(&e))).await;
            }
        }
    }
}

/// How long a runner's hold on a job lasts without renewal: as long as the queue waits before it gives a dead
/// worker's jobs to another.
fn lease_secs(config: &JobsConfig) -> i64 {
    (config.heartbeat.as_secs().max(1) * config.missed_heartbeats.max(1) as u64).max(3) as i64
}

/// Claims a job whose cancel was requested (the claim refuses those), only to end it.
async fn force_claim(ctx: &RunnerContext, id: i64, runner: &str) -> Result<jobs::Claim, engine::DbError> {
    let db = ctx.tables.db();
    // The flag blocks the claim; a job asked to stop that nobody holds is ended by whoever sees it first.
    if jobs::take_cancelled(db, id, runner, lease_secs(&ctx.config)).await? {
        Ok(jobs::Claim::Claimed)
    } else {
        Ok(jobs::Claim::Held)
    }
}

async fn committed_rows(ctx: &RunnerContext, id: i64) -> i64 {
    jobs::get(ctx.tables.db(), id).await.ok().flatten().map(|j| j.rows()).unwrap_or(0)
}

/// Lost connections, timeouts and a local database that is briefly unavailable may pass; refusals will not.
fn is_transient(e: &ClientError) -> bool {
    e.is_resumable()
        || matches!(
            e,
            ClientError::Unreachable(_) | ClientError::ConnectTimeout(_) | ClientError::Import(EngineError::Db(_))
        )
}

/// What the Jobs page says about a failure: the client's words, with what to do when the code is the problem.
fn failure_message(e: &ClientError) -> String {
    match e {
        ClientError::InvalidCode | ClientError::CodeUsed | ClientError::CodeExpired(_) => format!(
            "the sender refused the connection ({e}); its Send page may have closed. Retry with a new connection code."
        ),
        other => other.to_string(),
    }
}

/// Sleeps `wait` (keeping the lease), checking every second for a cancel request; true when one came.
async fn wait_unless_cancelled(ctx: &RunnerContext, id: i64, runner: &str, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if jobs::cancel_requested(ctx.tables.db(), id).await.unwrap_or(false) {
            return true;
        }
        let _ = jobs::renew(ctx.tables.db(), id, runner, lease_secs(&ctx.config)).await;
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return false;
        }
        tokio::time::sleep((deadline - now).min(Duration::from_secs(1))).await;
    }
}

async fn end(ctx: &RunnerContext, plan: &JobPlan, runner: &str, outcome: Outcome, message: Option<&str>) {
    let db = ctx.tables.db();
    match jobs::finish(db, plan.id, runner, outcome, message).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job = plan.id, "the job is no longer this runner's; its end is left to the other");
            return;
        }
        Err(e) => tracing::error!(job = plan.id, error = %e, "cannot record the job's end"),
    }
    if let Err(e) = history::finish(db, plan.transfer_id, &plan.admin, outcome, message).await {
        tracing::error!(job = plan.id, error = %e, "cannot record the transfer's end");
    }
    tracing::info!(job = plan.id, state = %outcome, "background transfer ended");
}

async fn connect(ctx: &RunnerContext, plan: &JobPlan) -> Result<Client, ClientError> {
    let options = ClientOptions {
        timeout: Duration::from_secs(30),
        receiver_info: ReceiverInfo {
            site_url: ctx.config.site_url.clone(),
            project: ctx.config.project.clone(),
            user_name: plan.admin.clone(),
            user_email: String::new(),
        },
        // Chosen by where the sender is (uncompressed on this machine), as for the CLI's default.
        compression: None,
    };
    let client = match &plan.credential {
        Some(Credential::Code(code)) => Client::connect(&plan.sender, code, options).await?,
        Some(Credential::Resume(token)) => Client::connect_resuming(&plan.sender, token, options).await?,
        None => {
            return Err(ClientError::CodeExpired("the job holds no way back into the sender's session".into()));
        }
    };
    // The code is spent now: from here on the job comes back with the resume token.
    let token = client.resume_token().await;
    if let Err(e) = jobs::set_credential(ctx.tables.db(), plan.id, &Credential::Resume(token)).await {
        tracing::error!(job = plan.id, error = %e, "cannot keep the resume token");
    }
    Ok(client)
}

async fn attempt(ctx: &RunnerContext, plan: &JobPlan, runner: &str) -> Result<Attempt, ClientError> {
    let db = ctx.tables.db().clone();
    let client = connect(ctx, plan).await?;

    // Cancel requests arrive through the database (any replica's Jobs page may ask); polled once a second,
    // with the lease renewed on the way. A lease lost (another runner took the job) stops this one too.
    let cancelled = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (cancelled, db, id, runner, lease) =
            (cancelled.clone(), db.clone(), plan.id, runner.to_owned(), lease_secs(&ctx.config));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let lost = matches!(jobs::renew(&db, id, &runner, lease).await, Ok(false));
                if lost || jobs::cancel_requested(&db, id).await.unwrap_or(false) {
                    cancelled.store(true, Ordering::Relaxed);
                    return;
                }
            }
        })
    };
    let _stop_watcher = AbortOnDrop(watcher);
    let stop = || cancelled.load(Ordering::Relaxed);

    let mut clean = true;
    for table in plan.tables.iter().filter(|t| t.state != TableState::Done) {
        if stop() {
            return Err(ClientError::Cancelled);
        }
        let outcome = async {
            let total = client.get_count(&table.table).await?.max(0) as u64;
            let mut created_table = table.created_table;
            if !ctx.tables.table_exists(&table.table).await? {
                if !plan.create_missing {
                    return Err(ClientError::MissingLocally(protocol::TableName::parse(&table.table)?));
                }
                let schema = client.get_schema(&table.table).await?;
                // Recorded first: if the process dies right after the table is created, the next run knows it
                // created it (and the table carries its "constraints pending" mark from its creation).
                jobs::table_started(&db, plan.id, table.position, Some(total), true)
                    .await
                    .map_err(EngineError::from)?;
                ctx.tables.create_table(&schema).await?;
                created_table = true;
            }
            jobs::table_started(&db, plan.id, table.position, Some(total), created_table)
                .await
                .map_err(EngineError::from)?;
            let control = JobControl {
                job: plan.id,
                position: table.position,
                transfer_id: plan.transfer_id,
                cursor: table.cursor.clone(),
                created_table,
                stop: &stop,
            };
            let options = TransferOptions {
                strategy: table.strategy,
                batch_size: plan.batch_size,
                create_missing_tables: false,
                filter: WireFilter::All,
            };
            client.transfer_for_job(&ctx.tables, &table.table, &options, &control, &|_| {}).await
        }
        .await;
        match outcome {
            Ok(result) => {
                clean &= result.errors.is_empty();
                jobs::table_ended(&db, plan.id, table.position, TableState::Done, None)
                    .await
                    .map_err(EngineError::from)?;
            }
            Err(ClientError::Import(EngineError::CheckpointMoved { .. })) => {
                return Ok(Attempt::TakenOver);
            }
            // The local database is briefly unavailable: the whole attempt is retried.
            Err(e @ ClientError::Import(EngineError::Db(_))) => return Err(e),
            // The table's own problem: record it and go on with the next.
            Err(
                e @ (ClientError::TableNotFound(_)
                | ClientError::MissingLocally(_)
                | ClientError::Import(_)
                | ClientError::Remote { .. }),
            ) => {
                clean = false;
                tracing::warn!(job = plan.id, table = %table.table, error = %e, "table refused");
                jobs::table_ended(&db, plan.id, table.position, TableState::Failed, Some(&e.to_string()))
                    .await
                    .map_err(EngineError::from)?;
            }
            Err(e) => return Err(e),
        }
    }
    // Rows refused on an earlier attempt count too.
    if let Ok(Some(now)) = jobs::plan(&db, plan.id).await {
        clean &= now.tables.iter().all(|t| t.state == TableState::Done);
    }
    let errors: i64 = jobs::get(&db, plan.id).await.ok().flatten().map(|j| j.errors()).unwrap_or(0);
    clean &= errors == 0;
    client.disconnect().await;
    Ok(Attempt::Completed { clean })
}

/// Stops a helper task when the attempt ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
