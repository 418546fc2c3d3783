//! This instance's apalis worker: takes job runs from the queue, at most `concurrency` at once, and beats its
//! heart so that, if the process dies, another worker (this one restarted, or another replica) picks its jobs up.

use apalis::prelude::{BackendExt, BoxDynError, Data, WorkerBuilder, WorkerBuilderExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::runner::{self, RunnerContext};
use crate::{JobQueue, RunJob};

/// How often an idle worker asks the queue for work (without it, only each heartbeat would).
const POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// The running worker; [`Workers::stop`] ends it (job runs in flight stop mid-page: their page rolls back and
/// the queue gives them to the next worker).
pub struct Workers {
    shutdown: Option<oneshot::Sender<()>>,
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

impl Workers {
    /// Starts the worker. Its name is new for every process, so a killed process's jobs are recognised as
    /// orphaned once its heartbeats stop, whoever starts next.
    pub fn start(queue: JobQueue, ctx: RunnerContext) -> Workers {
        let name = format!("dbt-{}-{:08x}", std::process::id(), rand::random::<u32>());
        let concurrency = ctx.config.concurrency.max(1);
        let (shutdown, rx) = oneshot::channel::<()>();
        let signal = async move {
            let _ = rx.await;
            Ok::<(), std::io::Error>(())
        };
        tracing::info!(worker = %name, concurrency, "background job worker starting");
        let task = match queue {
            JobQueue::Postgres(storage) => tokio::spawn(async move {
                let worker = WorkerBuilder::new(name).backend(storage.poll_with_interval(POLL)).data(ctx).concurrency(concurrency).build(handle);
                if let Err(e) = worker.run_until(signal).await {
                    tracing::error!(error = %e, "background job worker stopped");
                }
            }),
            JobQueue::Sqlite(storage) => tokio::spawn(async move {
                let worker = WorkerBuilder::new(name).backend(storage.poll_with_interval(POLL)).data(ctx).concurrency(concurrency).build(handle);
                if let Err(e) = worker.run_until(signal).await {
                    tracing::error!(error = %e, "background job worker stopped");
                }
            }),
        };
        Workers { shutdown: Some(shutdown), task }
    }

    /// Stops taking jobs and ends the runs in flight.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}
