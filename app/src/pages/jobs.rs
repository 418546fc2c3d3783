//! The Jobs page: background transfers running on this site's server, live (polled every second): state, each
//! table's rows, rate and errors, with cancel and retry. A form starts a job with a fresh connection code; the
//! Receive page starts them with its own sender session ("Run on the server").

use leptos::prelude::*;
use protocol::Strategy;
use protocol::jobs::{JobTableView, JobView};

use crate::api::jobs::{CancelJob, RetryJob, StartJob, list_jobs};
use crate::layout::{AdminLayout, Section};
use crate::pages::receive::history::when;
use crate::pages::receive::strategy_name;

fn rate(t: &JobTableView, now: i64) -> String {
    let Some(started) = t.started_at else { return String::new() };
    let seconds = (t.finished_at.unwrap_or(now) - started).max(1);
    if t.rows == 0 {
        return String::new();
    }
    format!("{:.0} rows/s", t.rows as f64 / seconds as f64)
}

fn progress(t: &JobTableView) -> String {
    match t.total {
        Some(total) if total > 0 => format!("{} / {} ({:.0} %)", t.rows, total, t.rows as f64 * 100.0 / total as f64),
        Some(total) => format!("{} / {}", t.rows, total),
        None => t.rows.to_string(),
    }
}

fn now_secs() -> i64 {
    #[cfg(feature = "hydrate")]
    return (js_sys::Date::now() / 1000.0) as i64;
    #[cfg(not(feature = "hydrate"))]
    return std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
}

/// One job. Its actions and the retry code live as long as the job is listed; the content follows each poll.
#[component]
fn JobCard(id: i64, list: Memo<Vec<JobView>>, refresh: Callback<()>) -> impl IntoView {
    let job = Memo::new(move |_| list.with(|l| l.iter().find(|j| j.id == id).cloned()));
    let cancel = ServerAction::<CancelJob>::new();
    let retry = ServerAction::<RetryJob>::new();
    let retry_code = RwSignal::new(String::new());
    Effect::new(move |_| {
        if cancel.version().get() > 0 || retry.version().get() > 0 {
            refresh.run(());
        }
    });
    let error = move || {
        cancel
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| retry.value().get().and_then(Result::err))
            .map(|e| e.to_string())
    };
    let table_row = move |t: JobTableView, now: i64| {
        view! {
            <tr class="job-table" data-table=t.table.clone() data-state=t.state.as_str()>
                <td>{t.table.clone()}</td>
                <td>{strategy_name(t.strategy)}</td>
                <td class=format!("state {}", t.state)>{t.state.as_str()}</td>
                <td class="num rows" data-rows=t.rows>{progress(&t)}</td>
                <td class="num">{rate(&t, now)}</td>
                <td class="num">{format!("{} / {} / {}", t.created, t.updated, t.skipped)}</td>
                <td class="num errors" data-errors=t.errors>{t.errors}</td>
                <td class="muted note">{t.message.clone()}</td>
            </tr>
        }
    };
    let body = move || {
        job.get().map(|job| {
            let now = now_secs();
            let running = !job.is_ended();
            let total = job.total().map(|t| format!(" of {t}")).unwrap_or_default();
            view! {
                <header>
                    <h3>{format!("Job {id}")} " " <span class=format!("state {}", job.state)>{job.state.as_str()}</span></h3>
                    <p class="muted">
                        {format!("from {} · by {} · queued {} · attempt {} · {} rows{}", job.sender, job.admin, when(job.created_at), job.attempts, job.rows(), total)}
                    </p>
                    {job.message.clone().map(|m| view! { <p class="job-message">{m}</p> })}
                    {(job.cancel_requested && running).then(|| view! { <p class="muted">"Stopping after the page in flight…"</p> })}
                </header>
                <table>
                    <thead>
                        <tr><th>"Table"</th><th>"Strategy"</th><th>"State"</th><th>"Rows"</th><th>"Rate"</th>
                            <th>"Created / updated / skipped"</th><th>"Errors"</th><th>"Note"</th></tr>
                    </thead>
                    <tbody>{job.tables.into_iter().map(|t| table_row(t, now)).collect_view()}</tbody>
                </table>
            }
        })
    };
    let state = move || job.with(|j| j.as_ref().map(|j| j.state.as_str()).unwrap_or_default());
    let running = move || job.with(|j| j.as_ref().is_some_and(|j| !j.is_ended()));
    let retryable = move || job.with(|j| j.as_ref().is_some_and(|j| j.state.can_retry()));
    let cancel_disabled = move || job.with(|j| j.as_ref().is_some_and(|j| j.cancel_requested));
    view! {
        <article class="job" id=format!("job-{id}") data-job-id=id data-state=state>
            {body}
            <div class="toolbar">
                <Show when=running>
                    <button class="danger cancel-job" type="button" disabled=cancel_disabled
                        on:click=move |_| { cancel.dispatch(CancelJob { id }); }>"Cancel"</button>
                </Show>
                <Show when=retryable>
                    <input class="retry-code" type="text" maxlength="8" autocomplete="off"
                        placeholder="new code, if the sender's page closed"
                        prop:value=move || retry_code.get() on:input=move |ev| retry_code.set(event_target_value(&ev)) />
                    <button class="retry-job" type="button" on:click=move |_| {
                        let code = retry_code.get_untracked();
                        retry.dispatch(RetryJob { id, code: (!code.trim().is_empty()).then_some(code) });
                    }>"Retry"</button>
                </Show>
                {move || error().map(|e| view! { <span class="error">{e}</span> })}
            </div>
        </article>
    }
    .into_any()
}

#[component]
fn NewJobForm(refresh: Callback<()>) -> impl IntoView {
    let start = ServerAction::<StartJob>::new();
    let url = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let tables = RwSignal::new(String::new());
    let strategy = RwSignal::new(Strategy::Skip);
    let create_missing = RwSignal::new(true);
    // `None` (the default): pages chosen by bytes.
    let page_rows = RwSignal::new(None::<u32>);
    let form_error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if start.version().get() > 0 {
            refresh.run(());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let strategy = strategy.get_untracked();
        let tables = tables
            .get_untracked()
            .split([',', ' ', '\n'])
            .filter(|t| !t.is_empty())
            .map(|t| protocol::history::TableStrategy { table: t.to_owned(), strategy })
            .collect();
        // An address typed without a scheme means the scheme of this page, as on the Receive page.
        #[cfg(feature = "hydrate")]
        let sender_url = {
            let scheme = web_sys::window().and_then(|w| w.location().protocol().ok()).unwrap_or_default();
            let scheme = if scheme.starts_with("https") { "https" } else { "http" };
            // The server connects, not this page: an http:// sender is fine even when this page is https.
            let typed = url.get_untracked();
            let typed = if typed.contains("://") { typed } else { format!("{scheme}://{}", typed.trim()) };
            match protocol::address::client_socket_url(&typed) {
                Ok(u) => u,
                Err(e) => return form_error.set(Some(e)),
            }
        };
        #[cfg(not(feature = "hydrate"))]
        let sender_url = url.get_untracked();
        form_error.set(None);
        start.dispatch(StartJob {
            request: crate::api::jobs::JobRequest {
                sender_url,
                code: Some(code.get_untracked()),
                resume_token: None,
                tables,
                create_missing: create_missing.get_untracked(),
                batch_size: page_rows.get_untracked().unwrap_or(protocol::transfer::AUTO_PAGE_ROWS),
            },
        });
    };
    let outcome = move || match start.value().get() {
        _ if form_error.get().is_some() => {
            form_error.get().map(|e| view! { <span class="error">{e}</span> }.into_any())
        }
        Some(Ok(id)) => Some(view! { <span class="ok">{format!("Job {id} queued.")}</span> }.into_any()),
        Some(Err(e)) => Some(view! { <span class="error">{e.to_string()}</span> }.into_any()),
        None => None,
    };
    view! {
        <details class="new-job">
            <summary>"New background job with a connection code"</summary>
            <form id="new-job" on:submit=submit>
                <label>"Sender URL" <input name="url" type="text" required prop:value=move || url.get()
                    on:input=move |ev| url.set(event_target_value(&ev)) /></label>
                <label>"Connection code" <input name="code" type="text" maxlength="8" required prop:value=move || code.get()
                    on:input=move |ev| code.set(event_target_value(&ev)) /></label>
                <label>"Tables (parents first, separated by commas)" <input name="tables" type="text" required
                    prop:value=move || tables.get() on:input=move |ev| tables.set(event_target_value(&ev)) /></label>
                <label>"Strategy"
                    <select name="strategy" on:change=move |ev| {
                        if let Ok(s) = event_target_value(&ev).parse() { strategy.set(s) }
                    }>
                        <option value="skip">"skip"</option>
                        <option value="overwrite">"overwrite"</option>
                        <option value="merge">"merge"</option>
                        <option value="append">"append"</option>
                    </select>
                </label>
                <label title="Empty: chosen by bytes (pages of up to 8 MiB)">"Rows per page" <input name="page-rows" type="number" min="1" max="100000"
                    placeholder="auto" prop:value=move || page_rows.get().map(|n| n.to_string()).unwrap_or_default()
                    on:input=move |ev| {
                        let raw = event_target_value(&ev);
                        match raw.trim().parse::<u32>() {
                            Ok(n) => page_rows.set(Some(n)),
                            Err(_) if raw.trim().is_empty() => page_rows.set(None),
                            Err(_) => {}
                        }
                    } /></label>
                <label class="check"><input name="create-missing" type="checkbox" prop:checked=move || create_missing.get()
                    on:change=move |ev| create_missing.set(event_target_checked(&ev)) /> "Create missing tables"</label>
                <button type="submit">"Start job"</button>
                {outcome}
            </form>
        </details>
    }
    .into_any()
}

#[component]
pub fn JobsPage() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let jobs = Resource::new(move || tick.get(), |_| list_jobs());
    let list = Memo::new(move |_| jobs.get().and_then(Result::ok).unwrap_or_default());
    let refresh = Callback::new(move |_| tick.update(|t| *t += 1));
    // Live: the list is asked for again every second while the page is open.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Ok(handle) =
            set_interval_with_handle(move || tick.update(|t| *t += 1), std::time::Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <AdminLayout section=Section::Jobs>
            <h1>"Background jobs"</h1>
            <p class="muted">"Transfers this site's server runs on its own: they go on when the browser closes and \
                resume after a restart from the last committed page."</p>
            <NewJobForm refresh=refresh />
            <Transition fallback=|| view! { <p class="muted">"Loading jobs…"</p> }>
                {move || jobs.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted" id="no-jobs">"No background jobs yet."</p> }.into_any(),
                    Ok(_) => ().into_any(),
                })}
                <For each=move || list.with(|l| l.iter().map(|j| j.id).collect::<Vec<_>>()) key=|id| *id let:id>
                    <JobCard id=id list=list refresh=refresh />
                </For>
            </Transition>
        </AdminLayout>
    }
}
