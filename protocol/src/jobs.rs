//! Background transfer jobs as the Jobs view shows them: a job's state, its tables and how far each got. Stored
//! by the `appdata` crate (`dbt_jobs` / `dbt_job_tables`).

use serde::{Deserialize, Serialize};

use crate::history::{Outcome, text_enum};
use crate::request::Strategy;

text_enum! {
    /// The states a job goes through. `queued` → `running` (→ `retrying` → `running` …) → one of the ends (the
    /// ends are a transfer's [`Outcome`]s, the same strings).
    pub enum JobState {
        Queued = "queued",
        Running = "running",
        /// Waiting out a backoff after a lost connection.
        Retrying = "retrying",
        Finished = "finished",
        /// Ran to the end, but some tables or rows were refused.
        Incomplete = "incomplete",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl JobState {
    /// How the job ended; `None` while it may still run.
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            JobState::Queued | JobState::Running | JobState::Retrying => None,
            JobState::Finished => Some(Outcome::Finished),
            JobState::Incomplete => Some(Outcome::Incomplete),
            JobState::Failed => Some(Outcome::Failed),
            JobState::Cancelled => Some(Outcome::Cancelled),
        }
    }

    /// A state after which nothing runs unless an admin retries.
    pub fn is_ended(self) -> bool {
        self.outcome().is_some()
    }

    /// Whether an admin may put the job back in the queue: it failed, was incomplete or cancelled.
    pub fn can_retry(self) -> bool {
        matches!(self, JobState::Failed | JobState::Incomplete | JobState::Cancelled)
    }
}

impl From<Outcome> for JobState {
    fn from(outcome: Outcome) -> JobState {
        match outcome {
            Outcome::Finished => JobState::Finished,
            Outcome::Incomplete => JobState::Incomplete,
            Outcome::Cancelled => JobState::Cancelled,
            Outcome::Failed => JobState::Failed,
        }
    }
}

text_enum! {
    /// A table's state inside a job.
    pub enum TableState {
        Pending = "pending",
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

/// One table of a job as the Jobs view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobTableView {
    pub position: i64,
    pub table: String,
    pub strategy: Strategy,
    pub state: TableState,
    pub total: Option<i64>,
    pub rows: i64,
    pub pages: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub errors: i64,
    /// The first refused row or the table's failure.
    pub message: Option<String>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A job as the Jobs view shows it (never its credential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: i64,
    pub admin: String,
    pub sender: String,
    pub state: JobState,
    pub attempts: i64,
    pub cancel_requested: bool,
    pub message: Option<String>,
    pub create_missing: bool,
    pub batch_size: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub tables: Vec<JobTableView>,
    /// Whether the job can still reach its sender without a new code (a resume token or an unused code is kept).
    pub has_credential: bool,
}

impl JobView {
    pub fn rows(&self) -> i64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
    pub fn total(&self) -> Option<i64> {
        self.tables.iter().map(|t| t.total).sum()
    }
    pub fn errors(&self) -> i64 {
        self.tables.iter().map(|t| t.errors).sum()
    }
    pub fn is_ended(&self) -> bool {
        self.state.is_ended()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::tests::round_trips;

    #[test]
    fn job_and_table_states_round_trip_through_their_strings() {
        round_trips(
            JobState::ALL,
            JobState::as_str,
            &["queued", "running", "retrying", "finished", "incomplete", "failed", "cancelled"],
        );
        round_trips(TableState::ALL, TableState::as_str, &["pending", "running", "done", "failed"]);
        // A job ends in a transfer's outcomes, under the same strings.
        for &o in Outcome::ALL {
            assert_eq!((JobState::from(o).as_str(), JobState::from(o).outcome()), (o.as_str(), Some(o)));
        }
        let ended: Vec<JobState> = JobState::ALL.iter().copied().filter(|s| s.is_ended()).collect();
        assert_eq!(ended, [JobState::Finished, JobState::Incomplete, JobState::Failed, JobState::Cancelled]);
        let retryable: Vec<JobState> = JobState::ALL.iter().copied().filter(|s| s.can_retry()).collect();
        assert_eq!(retryable, [JobState::Incomplete, JobState::Failed, JobState::Cancelled]);
    }
}
