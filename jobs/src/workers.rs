//! This instance's apalis worker: takes job runs from the queue, at most `concurrency` at once, and beats its
//! heart so that, if the process dies, another worker (this one restarted, or another replica) picks its jobs up.
//! apalis's worker ends for good on the first error of its storage; here it is supervised and started again.

use std::time::{Duration, Instant};

use apalis::prelude::{BackendExt, BoxDynError, Data, WorkerBuilder, WorkerBuilderExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::runner::{self, RunnerContext};
use crate::{JobQueue, RunJob};

/// How often an idle worker asks the queue for work (without it, only each heartbeat would).
const POLL: Duration = Duration::from_millis(500);

/// The running worker (started again whenever it stops on an error); [`Workers::stop`] ends it (job runs in
/// flight stop mid-page: their page rolls back and the queue gives them to the next worker).
pub struct Workers {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// One job run, on its own task (so jobs use every core), stopped if the worker drops it.
async fn handle(task: RunJob, ctx: Data<RunnerContext>) -> Result<(), BoxDynError> {
    let ctx = ctx.0.clone();
    let mut run = AbortOnDrop(tokio::spawn(async move { runner::run(&ctx, task.job).await }));
    (&mut run.0).await.map_err(|e| Box::new(e) as BoxDynError)
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The first wait before a stopped worker is started again; each stop after doubles it, up to
/// [`MAX_RESTART_WAIT`]. A worker that ran [`HEALTHY_RUN`] before it stopped starts the count again.
const FIRST_RESTART_WAIT: Duration = Duration::from_secs(1);
const MAX_RESTART_WAIT: Duration = Duration::from_secs(60);
const HEALTHY_RUN: Duration = Duration::from_secs(300);

/// How one run of the apalis worker ended.
#[derive(Debug)]
enum Stopped {
    /// [`Workers::stop`] asked for it.
    Asked,
    /// The worker gave up on its own (its storage failed, …): it is started again.
    Failed(String),
}

impl Workers {
    /// Starts the worker, supervised: when apalis's worker stops on an error (its queue storage failed: a lost
    /// connection, a broken pool, a table that went away), it is logged and started again after a capped
    /// backoff, so the instance never stays without background jobs. Each start takes a new name, so a
    /// stopped or killed worker's jobs are recognised as orphaned once its heartbeats stop, whoever runs next.
    pub fn start(queue: JobQueue, ctx: RunnerContext) -> Workers {
        let (shutdown, asked) = watch::channel(false);
        let task = tokio::spawn(supervise(queue, ctx, asked));
        Workers { shutdown, task }
    }

    /// Stops taking jobs and ends the runs in flight.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if tokio::time::timeout(Duration::from_secs(10), &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}

async fn supervise(queue: JobQueue, ctx: RunnerContext, mut asked: watch::Receiver<bool>) {
    let mut wait = FIRST_RESTART_WAIT;
    loop {
        let started = Instant::now();
        let why = match run_once(&queue, &ctx, asked.clone()).await {
            Stopped::Asked => return,
            Stopped::Failed(why) => why,
        };
        if *asked.borrow() {
            return;
        }
        if started.elapsed() >= HEALTHY_RUN {
            wait = FIRST_RESTART_WAIT;
        }
        tracing::error!(error = %why, restart_in_secs = wait.as_secs_f32(), "background job worker stopped; starting it again");
        tokio::select! {
            _ = asked.wait_for(|stop| *stop) => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = wait.saturating_mul(2).min(MAX_RESTART_WAIT);
    }
}

/// One apalis worker under a new name, until it is asked to stop or stops on its own.
async fn run_once(queue: &JobQueue, ctx: &RunnerContext, mut asked: watch::Receiver<bool>) -> Stopped {
    let name = format!("dbt-{}-{:08x}", std::process::id(), rand::random::<u32>());
    let concurrency = ctx.config.concurrency.max(1);
    let signal = async move {
        let _ = asked.wait_for(|stop| *stop).await;
        Ok::<(), std::io::Error>(())
    };
    tracing::info!(worker = %name, concurrency, "background job worker starting");
    let ended = match queue.clone() {
        JobQueue::Postgres(storage) => {
            let worker = WorkerBuilder::new(name.clone())
                .backend(storage.poll_with_interval(POLL))
                .data(ctx.clone())
                .concurrency(concurrency)
                .build(handle);
            worker.run_until(signal).await
        }
        JobQueue::Sqlite(storage) => {
            let worker = WorkerBuilder::new(name.clone())
                .backend(storage.poll_with_interval(POLL))
                .data(ctx.clone())
                .concurrency(concurrency)
                .build(handle);
            worker.run_until(signal).await
        }
    };
    match ended {
        Ok(()) => Stopped::Asked,
        Err(e) => Stopped::Failed(e.to_string()),
    }
}
