//! What the Receive page shows, as signals: the connection, the table comparison, the transfer's progress and
//! the details tab. The page's components read these; `control` (in the browser) writes them.

use leptos::prelude::*;
use protocol::TableSchema;
use protocol::messages::WireFilter;
use protocol::{ImportResult, Strategy};

#[derive(Debug, Clone, PartialEq)]
pub enum LinkState {
    Idle,
    Connecting,
    Connected { site: String, engine: String },
}

/// A sender table against the local one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Checking,
    /// Missing here.
    New,
    Different,
    Same,
    /// The comparison itself failed (the reason is in the row's note).
    Unknown,
}

impl Comparison {
    pub fn label(self) -> &'static str {
        match self {
            Comparison::Checking => "checking…",
            Comparison::New => "new",
            Comparison::Different => "different",
            Comparison::Same => "same",
            Comparison::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub name: String,
    /// Exact once counted; the sender's estimate before.
    pub sender_rows: i64,
    pub local_rows: Option<i64>,
    pub status: Comparison,
    /// Why the status is what it is, when it needs saying ("content not compared: engines differ").
    pub note: String,
    pub picked: bool,
    pub strategy: Strategy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableState {
    Waiting,
    Running,
    Done,
    Cancelled,
    Failed,
}

impl TableState {
    pub fn label(self) -> &'static str {
        match self {
            TableState::Waiting => "waiting",
            TableState::Running => "running",
            TableState::Done => "done",
            TableState::Cancelled => "cancelled",
            TableState::Failed => "failed",
        }
    }
}

/// One table of a transfer, counted from the local server's import results (not from what was sent).
#[derive(Debug, Clone, PartialEq)]
pub struct TableProgress {
    pub name: String,
    pub strategy: Strategy,
    pub state: TableState,
    /// Rows to come, when known (a filtered transfer does not know).
    pub total: Option<u64>,
    pub done: u64,
    pub pages: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub errors: u64,
    /// Milliseconds (page clock) when the table started and, once over, ended.
    pub started: Option<f64>,
    pub ended: Option<f64>,
    pub note: String,
}

impl TableProgress {
    pub fn waiting(name: String, strategy: Strategy, total: Option<u64>) -> TableProgress {
        TableProgress {
            name,
            strategy,
            state: TableState::Waiting,
            total,
            done: 0,
            pages: 0,
            created: 0,
            updated: 0,
            skipped: 0,
            errors: 0,
            started: None,
            ended: None,
            note: String::new(),
        }
    }

    /// Counts one page from what this site's import of it reported: each of its rows was created, updated,
    /// skipped or refused. Never from the sender's page header, which says whatever the sender likes.
    pub fn add_page(&mut self, imported: &ImportResult) {
        let refused = imported.errors.len() as u64;
        self.done += imported.created + imported.updated + imported.skipped + refused;
        self.pages += 1;
        self.created += imported.created;
        self.updated += imported.updated;
        self.skipped += imported.skipped;
        self.errors += refused;
    }

    /// Rows per second so far.
    pub fn rate(&self, now: f64) -> Option<f64> {
        let start = self.started?;
        let secs = (self.ended.unwrap_or(now) - start) / 1000.0;
        (secs > 0.05 && self.done > 0).then(|| self.done as f64 / secs)
    }

    /// Seconds left at the current rate.
    pub fn eta(&self, now: f64) -> Option<f64> {
        let total = self.total?;
        (self.state == TableState::Running).then_some(())?;
        Some(total.saturating_sub(self.done) as f64 / self.rate(now)?)
    }
}

/// How a transfer ended, as the summary shows it and the history records it (`Incomplete`: every table was tried,
/// but some could not be, missing here or not creatable, or rows were refused: see the notes).
pub use protocol::history::Outcome;

/// A row an import refused, with its table.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedRow {
    pub table: String,
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub outcome: Outcome,
    pub seconds: f64,
    pub rows: u64,
    pub failed_rows: Vec<FailedRow>,
    pub notes: Vec<String>,
}

/// The Details tab's preview: one page of the sender's rows, rendered as text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Preview {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub has_more: bool,
    /// 1-based.
    pub page: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Bulk,
    Details,
}

/// Every signal of the page, `Copy` so closures take it freely.
#[derive(Clone, Copy)]
pub struct ReceiveState {
    pub link: RwSignal<LinkState>,
    pub connect_error: RwSignal<Option<String>>,
    pub tab: RwSignal<Tab>,
    pub tables: RwSignal<Vec<TableRow>>,
    pub compare_note: RwSignal<Option<String>>,
    pub create_missing: RwSignal<bool>,
    pub default_strategy: RwSignal<Strategy>,
    /// Rows per page; `None` (the default): chosen by bytes, as many as fit the sender's page budget.
    pub page_rows: RwSignal<Option<u32>>,
    pub running: RwSignal<bool>,
    pub cancel_requested: RwSignal<bool>,
    pub progress: RwSignal<Vec<TableProgress>>,
    pub summary: RwSignal<Option<Summary>>,
    pub transfer_error: RwSignal<Option<String>>,
    /// A clock tick while a transfer runs, so rates and ETAs refresh between pages.
    pub now: RwSignal<f64>,
    pub detail_table: RwSignal<String>,
    pub sender_schema: RwSignal<Option<TableSchema>>,
    /// `None` while loading; `Some(None)` when the table does not exist here.
    pub local_schema: RwSignal<Option<Option<TableSchema>>>,
    pub detail_error: RwSignal<Option<String>>,
    pub create_result: RwSignal<Option<String>>,
    /// What creating the detail table here would run (only while it is missing here), or why it cannot be had.
    pub structure: RwSignal<Option<Result<crate::api::receive::PlannedStructure, String>>>,
    pub filter_kind: RwSignal<String>,
    pub filter_from: RwSignal<String>,
    pub filter_to: RwSignal<String>,
    pub filter_keys: RwSignal<String>,
    pub preview_rows: RwSignal<u32>,
    pub preview: RwSignal<Option<Preview>>,
    /// Cursors of the preview pages shown so far (`None` = the first page), for Previous.
    pub preview_cursors: RwSignal<Vec<Option<String>>>,
    /// Where the page after the shown one starts.
    pub preview_next: RwSignal<Option<String>>,
    pub detail_strategy: RwSignal<Strategy>,
    /// The latest transfers into this site.
    pub history: RwSignal<Vec<protocol::history::TransferRecord>>,
}

impl ReceiveState {
    pub fn new() -> ReceiveState {
        ReceiveState {
            link: RwSignal::new(LinkState::Idle),
            connect_error: RwSignal::new(None),
            tab: RwSignal::new(Tab::Bulk),
            tables: RwSignal::new(Vec::new()),
            compare_note: RwSignal::new(None),
            create_missing: RwSignal::new(true),
            default_strategy: RwSignal::new(Strategy::Skip),
            page_rows: RwSignal::new(None),
            running: RwSignal::new(false),
            cancel_requested: RwSignal::new(false),
            progress: RwSignal::new(Vec::new()),
            summary: RwSignal::new(None),
            transfer_error: RwSignal::new(None),
            now: RwSignal::new(0.0),
            detail_table: RwSignal::new(String::new()),
            sender_schema: RwSignal::new(None),
            local_schema: RwSignal::new(None),
            detail_error: RwSignal::new(None),
            create_result: RwSignal::new(None),
            structure: RwSignal::new(None),
            filter_kind: RwSignal::new("all".into()),
            filter_from: RwSignal::new(String::new()),
            filter_to: RwSignal::new(String::new()),
            filter_keys: RwSignal::new(String::new()),
            preview_rows: RwSignal::new(20),
            preview: RwSignal::new(None),
            preview_cursors: RwSignal::new(Vec::new()),
            preview_next: RwSignal::new(None),
            detail_strategy: RwSignal::new(Strategy::Skip),
            history: RwSignal::new(Vec::new()),
        }
    }

    /// The Details tab's filter as the protocol carries it; an error names the bad field.
    pub fn wire_filter(&self) -> Result<WireFilter, String> {
        build_filter(
            &self.filter_kind.get_untracked(),
            &self.filter_from.get_untracked(),
            &self.filter_to.get_untracked(),
            &self.filter_keys.get_untracked(),
        )
    }
}

impl Default for ReceiveState {
    fn default() -> Self {
        ReceiveState::new()
    }
}

/// A key typed by the admin: an integer when it reads as one, else text.
fn key_value(raw: &str) -> serde_json::Value {
    let t = raw.trim();
    match t.parse::<i64>() {
        Ok(i) => serde_json::json!(i),
        Err(_) => serde_json::json!(t),
    }
}

/// The filter from the form's fields: `all`, `key_range` (either bound optional), `keys` (one per line,
/// comma-separated values for composite keys).
pub fn build_filter(kind: &str, from: &str, to: &str, keys: &str) -> Result<WireFilter, String> {
    match kind {
        "all" => Ok(WireFilter::All),
        "key_range" => {
            let bound = |s: &str| (!s.trim().is_empty()).then(|| key_value(s));
            let (from, to) = (bound(from), bound(to));
            if from.is_none() && to.is_none() {
                return Err("Give a lower or an upper key (or both) for a key range.".into());
            }
            Ok(WireFilter::KeyRange { from, to })
        }
        "keys" => {
            let keys: Vec<Vec<serde_json::Value>> =
                keys.lines().filter(|l| !l.trim().is_empty()).map(|l| l.split(',').map(key_value).collect()).collect();
            if keys.is_empty() {
                return Err("Enter at least one key, one per line.".into());
            }
            if keys.len() > protocol::messages::MAX_FILTER_KEYS {
                return Err(format!("At most {} keys per filter.", protocol::messages::MAX_FILTER_KEYS));
            }
            Ok(WireFilter::Keys { keys })
        }
        other => Err(format!("Unknown filter {other:?}.")),
    }
}

/// A JSON page value as the preview shows it.
pub fn cell_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) if o.contains_key("hex") => {
            format!("\\x{}", o["hex"].as_str().unwrap_or_default())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_are_built_from_the_form_or_refused_with_the_reason() {
        assert_eq!(build_filter("all", "", "", ""), Ok(WireFilter::All));
        assert_eq!(
            build_filter("key_range", " 100 ", "", ""),
            Ok(WireFilter::KeyRange { from: Some(json!(100)), to: None })
        );
        assert_eq!(
            build_filter("keys", "", "", "7\n\n b ,2\n"),
            Ok(WireFilter::Keys { keys: vec![vec![json!(7)], vec![json!("b"), json!(2)]] })
        );
        assert!(build_filter("key_range", "", " ", "").unwrap_err().contains("lower or an upper"));
        assert!(build_filter("keys", "", "", "\n").unwrap_err().contains("at least one"));
        assert!(build_filter("drop", "", "", "").is_err());
    }

    #[test]
    fn a_page_counts_the_rows_its_import_reported() {
        let mut p = TableProgress::waiting("t".into(), Strategy::Merge, Some(10));
        let refused = protocol::RowError { key: "id=9".into(), reason: "bad".into() };
        p.add_page(&ImportResult { created: 3, updated: 2, skipped: 0, errors: vec![refused], notes: vec![] });
        p.add_page(&ImportResult { created: 0, updated: 0, skipped: 4, errors: vec![], notes: vec![] });
        assert_eq!((p.done, p.pages, p.created, p.updated, p.skipped, p.errors), (10, 2, 3, 2, 4, 1));
    }

    #[test]
    fn rates_and_etas_come_from_imported_rows() {
        let mut p = TableProgress::waiting("t".into(), Strategy::Skip, Some(3000));
        assert_eq!(p.rate(1000.0), None);
        p.state = TableState::Running;
        p.started = Some(0.0);
        p.done = 1000;
        assert_eq!(p.rate(2000.0), Some(500.0));
        assert_eq!(p.eta(2000.0), Some(4.0));
        assert_eq!(cell_text(&json!({"hex": "00ff"})), "\\x00ff");
        assert_eq!(cell_text(&json!(null)), "NULL");
    }
}
