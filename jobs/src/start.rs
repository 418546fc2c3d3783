//! What an admin does with jobs — submit, cancel, retry — validated here once for the server functions and the
//! tests. Everything arrives from a browser, so names, codes, URLs and sizes are checked before anything is stored.

use appdata::history::{self, Channel, Outcome, TableStrategy};
use appdata::jobs::{self, Credential, JobState, NewJob, TableState};
use engine::{Db, TableName};
use protocol::Strategy;

use crate::{JobQueue, JobsError};

/// The most tables one job may hold.
pub const MAX_TABLES: usize = 1000;

/// A pull to run in the background.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub admin: String,
    /// The sender as the admin typed it (normalized here).
    pub sender_url: String,
    pub credential: Credential,
    /// In the order they should run (the Receive page sends parents first).
    pub tables: Vec<(String, Strategy)>,
    pub create_missing: bool,
    /// Rows per page.
    pub batch_size: u32,
}

/// Records the job and its history entry, and queues it; returns the job's id.
pub async fn submit(db: &Db, queue: &JobQueue, s: Submission) -> Result<i64, JobsError> {
    let sender = protocol::address::client_socket_url(&s.sender_url)
        .map_err(|e| JobsError::Invalid(format!("sender URL: {e}")))?;
    let credential = match s.credential {
        Credential::Code(code) => {
            let code = protocol::ConnectionCode::parse(&code)
                .map_err(|_| JobsError::Invalid("the connection code must be 8 letters or digits".into()))?;
            Credential::Code(code.as_str().to_owned())
        }
        Credential::Resume(token) => {
            if token.is_empty()
                || token.len() > 200
                || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(JobsError::Invalid("the resume token is malformed".into()));
            }
            Credential::Resume(token)
        }
    };
    if s.tables.is_empty() {
        return Err(JobsError::Invalid("choose at least one table".into()));
    }
    if s.tables.len() > MAX_TABLES {
        return Err(JobsError::Invalid(format!("at most {MAX_TABLES} tables per job")));
    }
    for (name, _) in &s.tables {
        TableName::parse(name)
            .map_err(|e| JobsError::Invalid(format!("table {:?}: {e}", name.chars().take(80).collect::<String>())))?;
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = s.tables.iter().find(|(n, _)| !seen.insert(n.as_str())) {
        return Err(JobsError::Invalid(format!("table {dup:?} is listed twice")));
    }
    if s.batch_size == 0 || s.batch_size > protocol::PageRequest::MAX_LIMIT {
        return Err(JobsError::Invalid(format!(
            "rows per page must be between 1 and {}",
            protocol::PageRequest::MAX_LIMIT
        )));
    }
    let history_tables: Vec<TableStrategy> =
        s.tables.iter().map(|(table, strategy)| TableStrategy { table: table.clone(), strategy: *strategy }).collect();
    let transfer_id =
        history::begin(db, &s.admin, Channel::Background, &protocol::address::display_site(&sender), &history_tables)
            .await?;
    let id = jobs::create(
        db,
        &NewJob {
            admin: s.admin,
            sender,
            credential,
            tables: s.tables,
            create_missing: s.create_missing,
            batch_size: s.batch_size,
            transfer_id,
        },
    )
    .await?;
    queue.enqueue(id).await?;
    tracing::info!(job = id, "background transfer queued");
    Ok(id)
}

/// Asks a job to stop; false when it does not exist or already ended.
pub async fn cancel(db: &Db, id: i64) -> Result<bool, JobsError> {
    let asked = jobs::request_cancel(db, id).await?;
    if asked {
        // A job that had not started yet is cancelled at once; close its history entry too.
        if let Some(plan) = jobs::plan(db, id).await?
            && plan.state == JobState::Cancelled
        {
            history::finish(db, plan.transfer_id, &plan.admin, Outcome::Cancelled, Some("cancelled before it ran"))
                .await?;
        }
    }
    Ok(asked)
}

/// Queues an ended job again; its tables continue after their last committed page. A new connection code is
/// needed when the sender's session that the job joined has ended.
pub async fn retry(db: &Db, queue: &JobQueue, id: i64, code: Option<String>) -> Result<bool, JobsError> {
    let code = match code.filter(|c| !c.trim().is_empty()) {
        Some(c) => Some(
            protocol::ConnectionCode::parse(c.trim())
                .map_err(|_| JobsError::Invalid("the connection code must be 8 letters or digits".into()))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let Some(plan) = jobs::plan(db, id).await? else {
        return Ok(false);
    };
    if plan.credential.is_none() && code.is_none() {
        return Err(JobsError::Invalid(format!(
            "job {id} no longer holds a session with the sender: give a new connection code from its Send page"
        )));
    }
    if plan.state == JobState::Incomplete && plan.tables.iter().all(|t| t.state == TableState::Done) {
        return Err(JobsError::Invalid(format!(
            "every table of job {id} ran to its end; the rows refused stay refused (fix them and start a new job)"
        )));
    }
    if !jobs::requeue(db, id, code.as_deref()).await? {
        return Ok(false);
    }
    queue.enqueue(id).await?;
    Ok(true)
}
