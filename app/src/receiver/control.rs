//! What the Receive page's buttons do. The work runs in the browser only: the connection to the sender is the
//! page's own WebSocket ([`super::link`]), and the local database is reached through this site's server functions
//! ([`crate::api::receive`]). During server rendering these functions are never called (they answer events),
//! so their bodies exist in the WASM build alone.

use super::model::ReceiveState;

/// Connects to the sender at `url` with `code`; `base` is this site's path prefix (for the identity it sends).
pub fn connect(state: ReceiveState, url: String, code: String, base: String) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(imp::connect(state, url, code, base));
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, url, code, base);
}

pub fn disconnect(state: ReceiveState) {
    #[cfg(feature = "hydrate")]
    imp::disconnect(state);
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

/// Cancel: the transfer stops after the page being imported, and a fetch waiting on the sender (a slow or
/// silent one) is failed at once instead of holding the transfer until its deadline.
pub fn cancel(state: ReceiveState) {
    #[cfg(feature = "hydrate")]
    imp::cancel(state);
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

/// Transfers the picked tables of the Bulk tab.
pub fn start_bulk(state: ReceiveState) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(imp::start_bulk(state));
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

/// Hands the picked tables to this site's server as a background job (the browser's sender session goes with
/// it), then opens the Jobs page.
pub fn run_on_server(state: ReceiveState, jobs_href: String) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(imp::run_on_server(state, jobs_href));
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, jobs_href);
}

/// Transfers the Details tab's table with its filter.
pub fn start_one(state: ReceiveState) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(imp::start_one(state));
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

pub fn load_details(state: ReceiveState, table: String) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(imp::load_details(state, table));
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, table);
}

/// Shows a preview page: `0` the first (with the current filter), `1` the next, `-1` the previous.
pub fn preview(state: ReceiveState, step: i32) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(imp::preview(state, step));
    #[cfg(not(feature = "hydrate"))]
    let _ = (state, step);
}

/// Loads the transfer history of this site.
pub fn load_history(state: ReceiveState) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(imp::load_history(state));
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

pub fn create_table(state: ReceiveState) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(imp::create_table(state));
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

#[cfg(feature = "hydrate")]
mod imp {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use leptos::prelude::*;
    use protocol::TableSchema;
    use protocol::history::TableStrategy;
    use protocol::messages::{Compression, EngineId, JsonPage, Operation, PageFormat, WireFilter};
    use protocol::transfer::{Event, Observer, TableJob, TransferError};
    use protocol::{ImportResult, Strategy, TableInfo};

    use crate::api::receive as local;
    use crate::receiver::adapters::{LinkSource, ServerSink, page_compression, pages_in_flight};
    use crate::receiver::link::SenderLink;
    use crate::receiver::model::*;
    use protocol::address::{display_site, sender_socket_url};

    thread_local! {
        static LINK: RefCell<Option<Rc<SenderLink>>> = const { RefCell::new(None) };
        /// Whether the sender runs the same engine as this site (content checksums are comparable only then).
        static SAME_ENGINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        /// Whether the sender offers binary COPY pages.
        static SENDER_PG_COPY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        /// How the sender's pages travel to this page and on to this site (chosen at connect).
        static PAGE_COMPRESSION: std::cell::Cell<Compression> = const { std::cell::Cell::new(Compression::Zstd) };
    }

    fn link() -> Option<Rc<SenderLink>> {
        LINK.with(|l| l.borrow().clone())
    }

    fn now() -> f64 {
        js_sys::Date::now()
    }

    pub async fn connect(state: ReceiveState, url: String, code: String, base: String) {
        state.connect_error.set(None);
        let location = web_sys::window().expect("a window").location();
        let page_scheme = location.protocol().unwrap_or_default().trim_end_matches(':').to_owned();
        let socket_url = match sender_socket_url(&url, &page_scheme) {
            Ok(u) => u,
            Err(e) => return state.connect_error.set(Some(e)),
        };
        let code = match protocol::ConnectionCode::parse(&code) {
            Ok(code) => code,
            Err(why) => {
                return state.connect_error.set(Some(format!("Check the code on the sender's Send page: {why}.")));
            }
        };
        state.link.set(LinkState::Connecting);
        let identity = match local::receiver_identity().await {
            Ok(i) => i,
            Err(e) => {
                state.link.set(LinkState::Idle);
                return state.connect_error.set(Some(format!("This site could not say who you are: {e}")));
            }
        };
        let own_site = format!("{}{base}", location.origin().unwrap_or_default());
        let opened = SenderLink::open(&socket_url, &code, identity.info(own_site)).await;
        let link = match opened {
            Ok(l) => Rc::new(l),
            Err(e) => {
                state.link.set(LinkState::Idle);
                return state.connect_error.set(Some(e.to_string()));
            }
        };
        let capabilities = match link.capabilities().await {
            Ok(c) => c,
            Err(e) => {
                link.close();
                state.link.set(LinkState::Idle);
                return state.connect_error.set(Some(e.to_string()));
            }
        };
        let engine = capabilities.engine.to_string();
        LINK.with(|l| *l.borrow_mut() = Some(link.clone()));
        SAME_ENGINE.with(|s| s.set(EngineId::from_name(&identity.engine).same_engine(&capabilities.engine)));
        SENDER_PG_COPY.with(|s| s.set(capabilities.offers(PageFormat::PgCopy)));
        PAGE_COMPRESSION.with(|c| c.set(page_compression(&capabilities)));
        state.link.set(LinkState::Connected { site: display_site(&socket_url), engine: engine.clone() });
        watch_link(state, link.clone());
        compare(state, &link).await;
    }

    /// Tells the admin when the sender goes away while nothing is being transferred.
    fn watch_link(state: ReceiveState, link: Rc<SenderLink>) {
        leptos::task::spawn_local(async move {
            loop {
                gloo_timers_sleep(500).await;
                if !LINK.with(|l| l.borrow().as_ref().is_some_and(|cur| Rc::ptr_eq(cur, &link))) {
                    return;
                }
                if let Some(e) = link.closed() {
                    LINK.with(|l| *l.borrow_mut() = None);
                    forget_sender(state);
                    if !state.running.get_untracked() {
                        state.connect_error.set(Some(e.to_string()));
                    }
                    return;
                }
            }
        });
    }

    async fn gloo_timers_sleep(ms: i32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ = web_sys::window()
                .expect("a window")
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }

    pub fn cancel(state: ReceiveState) {
        state.cancel_requested.set(true);
        if let Some(l) = link() {
            l.cancel_pending();
        }
    }

    pub fn disconnect(state: ReceiveState) {
        if let Some(l) = LINK.with(|l| l.borrow_mut().take()) {
            l.close();
        }
        state.cancel_requested.set(true);
        forget_sender(state);
    }

    /// Clears everything that described the last sender, so nothing of it is used against the next one.
    fn forget_sender(state: ReceiveState) {
        state.link.set(LinkState::Idle);
        state.tables.set(Vec::new());
        state.detail_table.set(String::new());
        state.sender_schema.set(None);
        state.local_schema.set(None);
        state.preview.set(None);
        state.preview_cursors.set(Vec::new());
        state.preview_next.set(None);
        state.create_result.set(None);
        state.detail_error.set(None);
    }

    /// Lists both sides and compares each table: missing here → new; counts differ → different; counts equal →
    /// content checksums on both sides (same engine only: the encodings of PostgreSQL and SQLite values differ).
    async fn compare(state: ReceiveState, link: &SenderLink) {
        state.compare_note.set(None);
        let remote: Vec<TableInfo> = match link.call(Operation::ListTables).await {
            Ok(t) => t,
            Err(e) => return state.compare_note.set(Some(e.to_string())),
        };
        let local_tables = match local::local_tables().await {
            Ok(t) => t,
            Err(e) => return state.compare_note.set(Some(format!("Local tables could not be listed: {e}"))),
        };
        let local_rows: HashMap<String, i64> = local_tables.into_iter().map(|t| (t.name, t.rows)).collect();
        let default = state.default_strategy.get_untracked();
        state.tables.set(
            remote
                .iter()
                .map(|t| TableRow {
                    name: t.name.clone(),
                    sender_rows: t.rows,
                    local_rows: local_rows.get(&t.name).copied(),
                    status: Comparison::Checking,
                    note: String::new(),
                    picked: false,
                    strategy: default,
                })
                .collect(),
        );
        if state.detail_table.get_untracked().is_empty()
            && let Some(first) = remote.first()
        {
            state.detail_table.set(first.name.clone());
            leptos::task::spawn_local(load_details(state, first.name.clone()));
        }
        for t in remote {
            let (status, sender_rows, note) = compare_one(link, &t, local_rows.get(&t.name).copied()).await;
            state.tables.update(|rows| {
                if let Some(r) = rows.iter_mut().find(|r| r.name == t.name) {
                    r.status = status;
                    r.sender_rows = sender_rows;
                    r.note = note;
                }
            });
        }
    }

    async fn compare_one(link: &SenderLink, t: &TableInfo, local_rows: Option<i64>) -> (Comparison, i64, String) {
        let same_engine = SAME_ENGINE.with(|s| s.get());
        let sender_rows = if t.rows_exact {
            t.rows
        } else {
            match link.call::<i64>(Operation::Count { table: t.name.clone() }).await {
                Ok(n) => n,
                Err(e) => return (Comparison::Unknown, t.rows, e.to_string()),
            }
        };
        let Some(local_rows) = local_rows else { return (Comparison::New, sender_rows, String::new()) };
        if local_rows != sender_rows {
            return (Comparison::Different, sender_rows, String::new());
        }
        if !same_engine {
            return (Comparison::Same, sender_rows, "equal counts; content not compared across engines".into());
        }
        let remote = link.checksum(&t.name).await;
        let here = local::local_checksum(t.name.clone()).await;
        match (remote, here) {
            (Ok(r), Ok(Some(h))) if r.sha256 == h.sha256 => (Comparison::Same, sender_rows, String::new()),
            (Ok(_), Ok(_)) => (Comparison::Different, sender_rows, "equal counts, different content".into()),
            (Err(e), _) => (Comparison::Unknown, sender_rows, e.to_string()),
            (_, Err(e)) => (Comparison::Unknown, sender_rows, e.to_string()),
        }
    }

    /// Compares `names` again (after a transfer or a table creation changed this side).
    async fn recompare(state: ReceiveState, names: Vec<String>) {
        let Some(link) = link() else { return };
        let Ok(local_tables) = local::local_tables().await else { return };
        let counts: HashMap<String, i64> = local_tables.into_iter().map(|t| (t.name, t.rows)).collect();
        for name in names {
            let Some(row) = state.tables.with_untracked(|rows| rows.iter().find(|r| r.name == name).cloned()) else {
                continue;
            };
            state.tables.update(|rows| {
                if let Some(r) = rows.iter_mut().find(|r| r.name == name) {
                    r.local_rows = counts.get(&name).copied();
                    r.status = Comparison::Checking;
                }
            });
            let info = TableInfo { name: name.clone(), rows: row.sender_rows, rows_exact: true };
            let (status, _, note) = compare_one(&link, &info, counts.get(&name).copied()).await;
            state.tables.update(|rows| {
                if let Some(r) = rows.iter_mut().find(|r| r.name == name) {
                    r.status = status;
                    r.note = note;
                }
            });
        }
    }

    pub async fn start_bulk(state: ReceiveState) {
        let picked: Vec<(String, Strategy)> =
            state.tables.get_untracked().into_iter().filter(|r| r.picked).map(|r| (r.name, r.strategy)).collect();
        if picked.is_empty() {
            return state.transfer_error.set(Some("Pick at least one table.".into()));
        }
        run(state, picked, WireFilter::All, state.create_missing.get_untracked()).await;
    }

    pub async fn run_on_server(state: ReceiveState, jobs_href: String) {
        let Some(link) = link() else {
            return state.transfer_error.set(Some("Connect to a sender first.".into()));
        };
        if state.running.get_untracked() {
            return;
        }
        let picked: Vec<(String, Strategy)> =
            state.tables.get_untracked().into_iter().filter(|r| r.picked).map(|r| (r.name, r.strategy)).collect();
        if picked.is_empty() {
            return state.transfer_error.set(Some("Pick at least one table.".into()));
        }
        state.transfer_error.set(None);
        let mut schemas = Vec::new();
        let source = LinkSource { link: &link, pg_copy: false, compression: Compression::Zstd };
        for (name, _) in &picked {
            let name = match protocol::TableName::parse(name) {
                Ok(name) => name,
                Err(e) => return state.transfer_error.set(Some(e.to_string())),
            };
            match protocol::transfer::driver::fetch_schema::<_, ServerSink>(&source, &name).await {
                Ok(s) => schemas.push(s),
                Err(e) => return state.transfer_error.set(Some(e.to_string())),
            }
        }
        let (order, _) = protocol::order::foreign_key_order(&schemas);
        let strategies: HashMap<String, Strategy> = picked.into_iter().collect();
        let request = crate::api::jobs::JobRequest {
            sender_url: link.socket_url().to_owned(),
            code: None,
            resume_token: Some(link.resume_token().to_owned()),
            tables: order
                .into_iter()
                .map(|t| protocol::history::TableStrategy { strategy: strategies[&t], table: t })
                .collect(),
            create_missing: state.create_missing.get_untracked(),
            batch_size: state
                .page_rows
                .get_untracked()
                .unwrap_or(protocol::transfer::AUTO_PAGE_ROWS)
                .clamp(1, protocol::PageRequest::MAX_LIMIT),
        };
        // The server takes the session over with the resume token, which the sender allows only once this
        // socket is closed.
        drop(link);
        disconnect(state);
        match crate::api::jobs::start_job(request).await {
            Ok(id) => {
                let _ = web_sys::window().expect("a window").location().set_href(&format!("{jobs_href}#job-{id}"));
            }
            Err(e) => state.connect_error.set(Some(format!(
                "The server could not start the job: {e}. The connection to the sender was closed; connect again to retry."
            ))),
        }
    }

    pub async fn start_one(state: ReceiveState) {
        let table = state.detail_table.get_untracked();
        if table.is_empty() {
            return;
        }
        let filter = match state.wire_filter() {
            Ok(f) => f,
            Err(e) => return state.transfer_error.set(Some(e)),
        };
        // One table asked for by name: created here when missing.
        run(state, vec![(table, state.detail_strategy.get_untracked())], filter, true).await;
    }

    /// A transfer: tables in foreign-key order, each paged from the sender and imported here page by page.
    async fn run(state: ReceiveState, tables: Vec<(String, Strategy)>, filter: WireFilter, create_missing: bool) {
        let Some(link) = link() else {
            return state.transfer_error.set(Some("Connect to a sender first.".into()));
        };
        if state.running.get_untracked() {
            return;
        }
        state.running.set(true);
        state.cancel_requested.set(false);
        state.transfer_error.set(None);
        state.summary.set(None);
        state.progress.set(Vec::new());
        let started = now();
        let ticker = async move {
            while state.running.get_untracked() {
                state.now.set(now());
                gloo_timers_sleep(500).await;
            }
        };
        leptos::task::spawn_local(ticker);

        let site = match state.link.get_untracked() {
            LinkState::Connected { site, .. } => site,
            _ => String::new(),
        };
        let recorded: Vec<TableStrategy> = tables
            .iter()
            .map(|(table, strategy)| TableStrategy { table: table.clone(), strategy: *strategy })
            .collect();
        let transfer = match local::begin_transfer(site, recorded).await {
            Ok(id) => id,
            Err(e) => {
                state.transfer_error.set(Some(format!("This site could not start the transfer: {e}")));
                state.running.set(false);
                return;
            }
        };
        let mut notes = Vec::new();
        let mut failed_rows = Vec::new();
        let outcome =
            transfer_tables(state, &link, tables, filter, create_missing, transfer, &mut notes, &mut failed_rows).await;
        if let Err(e) = local::finish_transfer(transfer, outcome, state.transfer_error.get_untracked()).await {
            notes.push(format!("the history could not record the end: {e}"));
        }
        let rows = state.progress.get_untracked().iter().map(|p| p.done).sum();
        state.summary.set(Some(Summary { outcome, seconds: (now() - started) / 1000.0, rows, failed_rows, notes }));
        state.now.set(now());
        state.running.set(false);
        load_history(state).await;
        recompare(state, state.progress.get_untracked().into_iter().map(|p| p.name).collect()).await;
    }

    pub async fn load_history(state: ReceiveState) {
        match local::transfer_history().await {
            Ok(h) => state.history.set(h),
            Err(e) => leptos::logging::warn!("history: {e}"),
        }
    }

    /// How often the progress table is redrawn while pages land: drawing it for every page (hundreds a second
    /// with small pages) cost the tab more than relaying them.
    const SHOW_EVERY_MS: f64 = 250.0;

    /// Progress of the one transfer driver on the page's signals; Cancel is its stop. Pages are counted as they
    /// land and shown at most every [`SHOW_EVERY_MS`] — a page not shown at once is shown by a timer at the latest
    /// then, so the last pages before a pause (the key built after the data) are not hidden — and whenever a table
    /// starts or ends.
    struct PageWatch {
        state: ReceiveState,
        failed_rows: RefCell<Vec<FailedRow>>,
        /// Pages counted but not shown yet: the table and what its import reported.
        unshown: Rc<RefCell<Vec<(String, ImportResult)>>>,
        shown_at: Rc<std::cell::Cell<f64>>,
        /// A timer will show what is unshown.
        timer_set: Rc<std::cell::Cell<bool>>,
    }

    /// Shows every page counted so far on `state`'s progress.
    fn show_pages(
        state: ReceiveState,
        unshown: &RefCell<Vec<(String, ImportResult)>>,
        shown_at: &std::cell::Cell<f64>,
    ) {
        shown_at.set(now());
        let unshown = std::mem::take(&mut *unshown.borrow_mut());
        if unshown.is_empty() {
            return;
        }
        state.progress.update(|all| {
            for (table, imported) in &unshown {
                if let Some(p) = all.iter_mut().find(|p| table == &p.name) {
                    p.add_page(imported);
                }
            }
        });
    }

    impl PageWatch {
        fn new(state: ReceiveState) -> PageWatch {
            PageWatch {
                state,
                failed_rows: RefCell::default(),
                unshown: Rc::default(),
                shown_at: Rc::new(std::cell::Cell::new(0.0)),
                timer_set: Rc::new(std::cell::Cell::new(false)),
            }
        }

        /// Shows every page counted so far.
        fn show(&self) {
            show_pages(self.state, &self.unshown, &self.shown_at);
        }

        /// Shows the pages counted so far once [`SHOW_EVERY_MS`] has passed since they were last shown: now, or
        /// by a timer (one at a time).
        fn show_soon(&self) {
            // A clock that went back counts as due.
            let since = now() - self.shown_at.get();
            if !(0.0..SHOW_EVERY_MS).contains(&since) {
                return self.show();
            }
            if self.timer_set.replace(true) {
                return;
            }
            let (state, unshown, shown_at, timer_set) =
                (self.state, self.unshown.clone(), self.shown_at.clone(), self.timer_set.clone());
            leptos::task::spawn_local(async move {
                gloo_timers_sleep((SHOW_EVERY_MS - since).ceil() as i32).await;
                timer_set.set(false);
                show_pages(state, &unshown, &shown_at);
            });
        }
    }

    impl Observer for PageWatch {
        fn event(&self, event: Event<'_>) {
            match event {
                Event::Started { table, total } => {
                    self.show();
                    self.state.progress.update(|all| {
                        if let Some(p) = all.iter_mut().find(|p| *table == p.name.as_str()) {
                            p.state = TableState::Running;
                            p.started = Some(now());
                            if total.is_some() {
                                p.total = total;
                            }
                        }
                    });
                }
                Event::Page { table, page, .. } => {
                    self.failed_rows.borrow_mut().extend(page.errors.iter().map(|e| FailedRow {
                        table: table.to_string(),
                        key: e.key.clone(),
                        reason: e.reason.clone(),
                    }));
                    self.unshown.borrow_mut().push((table.to_string(), page.clone()));
                    self.show_soon();
                }
                Event::Finished { .. } => self.show(),
            }
        }

        fn stopped(&self) -> bool {
            self.state.cancel_requested.get_untracked()
        }

        fn now(&self) -> f64 {
            now() / 1000.0
        }
    }

    /// Runs the transfer with the one driver over the page's link and this site's server, and shows each table's
    /// outcome. A table that fails does not stop the others; Cancel and a lost sender stop those not started.
    #[allow(clippy::too_many_arguments)]
    async fn transfer_tables(
        state: ReceiveState,
        link: &SenderLink,
        tables: Vec<(String, Strategy)>,
        filter: WireFilter,
        create_missing: bool,
        transfer: i64,
        notes: &mut Vec<String>,
        failed_rows: &mut Vec<FailedRow>,
    ) -> Outcome {
        let page_rows = state.page_rows.get_untracked();
        let mut jobs: Vec<TableJob> = Vec::with_capacity(tables.len());
        for (name, strategy) in &tables {
            match protocol::TableName::parse(name) {
                Ok(table) => jobs.push(TableJob {
                    filter: filter.clone(),
                    create_missing,
                    page_rows,
                    ..TableJob::new(table, *strategy)
                }),
                Err(e) => {
                    state.transfer_error.set(Some(e.to_string()));
                    return Outcome::Failed;
                }
            }
        }
        let known: HashMap<String, TableRow> =
            state.tables.get_untracked().into_iter().map(|r| (r.name.clone(), r)).collect();
        let filtered = filter != WireFilter::All;
        state.progress.set(
            tables
                .iter()
                .map(|(name, strategy)| {
                    let total = known.get(name).filter(|_| !filtered).map(|r| r.sender_rows.max(0) as u64);
                    TableProgress::waiting(name.clone(), *strategy, total)
                })
                .collect(),
        );
        let source = LinkSource {
            link,
            pg_copy: SENDER_PG_COPY.with(|c| c.get()),
            compression: PAGE_COMPRESSION.with(|c| c.get()),
        };
        let sink = ServerSink { transfer, in_flight: pages_in_flight() };
        let watch = PageWatch::new(state);
        let run = protocol::transfer::transfer_tables(&source, &sink, &watch, &jobs).await;
        // A table that failed or was cancelled ends without its Finished event: what landed is shown all the same.
        watch.show();
        failed_rows.extend(watch.failed_rows.take());
        let run = match run {
            Ok(run) => run,
            Err(e) => {
                state.transfer_error.set(Some(e.to_string()));
                for (name, _) in &tables {
                    set_state(state, name, TableState::Failed, "not started");
                }
                return Outcome::Failed;
            }
        };
        notes.extend(run.notes);
        // The tables in the order they ran (parents first).
        let order: Vec<String> = run.outcomes.iter().map(|(name, _)| name.to_string()).collect();
        state.progress.update(|all| all.sort_by_key(|p| order.iter().position(|n| n == &p.name)));
        let (mut cancelled, mut incomplete, mut failure) = (false, false, None::<String>);
        for (name, outcome) in run.outcomes {
            let name = name.as_str();
            match outcome {
                Ok(report) => {
                    set_state(state, name, TableState::Done, "");
                    notes.extend(report.notes.into_iter().map(|n| format!("{name}: {n}")));
                }
                Err(TransferError::Cancelled) => {
                    set_state(state, name, TableState::Cancelled, "stopped after the page in flight");
                    cancelled = true;
                }
                Err(TransferError::NotStarted(why)) => {
                    set_state(state, name, TableState::Cancelled, &format!("not started: {why}"));
                    cancelled |= why == "cancelled";
                }
                Err(TransferError::MissingLocally(_)) => {
                    set_state(state, name, TableState::Failed, "missing here (create missing tables is off)");
                    notes.push(format!("{name}: not transferred, the table does not exist here"));
                    incomplete = true;
                }
                Err(e) => {
                    let message = format!("{name}: {e}");
                    set_state(state, name, TableState::Failed, &e.to_string());
                    notes.push(message.clone());
                    failure.get_or_insert(message);
                }
            }
        }
        match failure {
            Some(message) => {
                state.transfer_error.set(Some(message));
                Outcome::Failed
            }
            None if cancelled => Outcome::Cancelled,
            None if incomplete => Outcome::Incomplete,
            None => Outcome::Finished,
        }
    }

    fn set_state(state: ReceiveState, name: &str, to: TableState, note: &str) {
        state.progress.update(|all| {
            if let Some(p) = all.iter_mut().find(|p| p.name == name) {
                p.state = to;
                p.ended = Some(now());
                if !note.is_empty() {
                    p.note = note.to_owned();
                }
            }
        });
    }

    pub async fn load_details(state: ReceiveState, table: String) {
        state.detail_error.set(None);
        state.create_result.set(None);
        state.structure.set(None);
        state.sender_schema.set(None);
        state.local_schema.set(None);
        state.preview.set(None);
        state.preview_cursors.set(Vec::new());
        let Some(link) = link() else { return };
        let sender = match link.call::<TableSchema>(Operation::Schema { table: table.clone() }).await {
            Ok(s) => s,
            Err(e) => return state.detail_error.set(Some(e.to_string())),
        };
        state.sender_schema.set(Some(sender.clone()));
        match local::local_schema(table).await {
            Ok(s) => {
                let missing = s.is_none();
                state.local_schema.set(Some(s));
                if missing {
                    // Missing here: what creating it would run, shown before anything runs.
                    state.structure.set(Some(local::table_ddl(sender).await.map_err(|e| e.to_string())));
                }
            }
            Err(e) => state.detail_error.set(Some(format!("The local table could not be read: {e}"))),
        }
    }

    pub async fn preview(state: ReceiveState, step: i32) {
        let Some(link) = link() else { return };
        let filter = match state.wire_filter() {
            Ok(f) => f,
            Err(e) => return state.detail_error.set(Some(e)),
        };
        state.detail_error.set(None);
        // The start cursor of every page shown so far: Previous pops, Next pushes the last page's `next`.
        let mut cursors = state.preview_cursors.get_untracked();
        match step {
            0 => cursors = vec![None],
            1 => cursors.push(state.preview_next.get_untracked()),
            _ => {
                if cursors.len() > 1 {
                    cursors.pop();
                }
            }
        }
        let start_after = cursors.last().cloned().flatten();
        let op = Operation::Fetch {
            table: state.detail_table.get_untracked(),
            limit: Some(state.preview_rows.get_untracked().clamp(1, protocol::messages::MAX_JSON_PAGE_ROWS)),
            cursor: start_after,
            offset: None,
            filter: Some(filter),
            format: PageFormat::Json,
            compression: Compression::Zstd,
        };
        let page: JsonPage = match link.json_page(op).await {
            Ok(p) => p,
            Err(e) => return state.detail_error.set(Some(e.to_string())),
        };
        let columns = page.columns.iter().map(|c| c.name.clone()).collect();
        let rows = page.rows.iter().map(|r| r.iter().map(cell_text).collect()).collect();
        let has_more = page.has_more;
        state.preview_next.set(page.next);
        state.preview.set(Some(Preview { columns, rows, has_more, page: cursors.len().max(1) }));
        state.preview_cursors.set(cursors);
    }

    pub async fn create_table(state: ReceiveState) {
        let Some(schema) = state.sender_schema.get_untracked() else { return };
        let name = schema.name.clone();
        match local::create_local_table(schema.clone()).await {
            Ok(notes) => {
                // A new, empty table: its foreign keys and indexes can go on at once.
                let more = local::finish_table(schema).await.unwrap_or_default();
                let notes: Vec<String> = notes.into_iter().chain(more).collect();
                let mut text = format!("Created {name} here.");
                if !notes.is_empty() {
                    text.push_str(&format!(" Notes: {}", notes.join("; ")));
                }
                load_details(state, name.clone()).await;
                state.create_result.set(Some(text));
                recompare(state, vec![name]).await;
            }
            Err(e) => state.create_result.set(Some(format!("Could not create {name}: {e}"))),
        }
    }
}
