//! The Bulk Transfer tab: every sender table against the local one, picked with a strategy each, and Start.

use leptos::prelude::*;
use protocol::Strategy;

use super::strategy_options;
use crate::receiver::control;
use crate::receiver::model::{Comparison, ReceiveState, TableRow};

fn difference(r: &TableRow) -> Option<String> {
    let local = r.local_rows?;
    let diff = r.sender_rows - local;
    (diff != 0).then(|| if diff > 0 { format!("+{diff}") } else { diff.to_string() })
}

#[component]
pub fn BulkTab(state: ReceiveState) -> impl IntoView {
    let set_picked = move |name: String, picked: bool| {
        state.tables.update(|rows| {
            if let Some(r) = rows.iter_mut().find(|r| r.name == name) {
                r.picked = picked;
            }
        })
    };
    let set_strategy = move |name: String, value: String| {
        if let Ok(s) = value.parse::<Strategy>() {
            state.tables.update(|rows| {
                if let Some(r) = rows.iter_mut().find(|r| r.name == name) {
                    r.strategy = s;
                }
            })
        }
    };
    let pick_where =
        move |f: fn(&TableRow) -> bool| state.tables.update(|rows| rows.iter_mut().for_each(|r| r.picked = f(r)));
    let row = move |r: TableRow| {
        let (name, name2, strategy) = (r.name.clone(), r.name.clone(), r.strategy);
        let status_class = format!("status {}", r.status.label().trim_end_matches('…'));
        view! {
            <tr class="table-row" data-table=r.name.clone()>
                <td><input class="pick" type="checkbox" prop:checked=r.picked
                    on:change=move |ev| set_picked(name.clone(), event_target_checked(&ev)) /></td>
                <td class="name">{r.name.clone()}</td>
                <td class="sender-rows num">{r.sender_rows}</td>
                <td class="local-rows num">{r.local_rows.map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</td>
                <td class=status_class title=r.note.clone()>{r.status.label()}</td>
                <td class="diff">{difference(&r).map(|d| view! { <span class="badge">{d}</span> })}
                    {(!r.note.is_empty()).then(|| view! { <span class="muted note">{r.note.clone()}</span> })}</td>
                <td><select class="strategy" on:change=move |ev| set_strategy(name2.clone(), event_target_value(&ev))>
                    {strategy_options(move || strategy)}</select></td>
            </tr>
        }
    };
    let jobs_href = crate::use_base_path().href(crate::paths::JOBS);
    let picked_count = move || state.tables.with(|rows| rows.iter().filter(|r| r.picked).count());

    view! {
        <section class="bulk">
            {move || state.compare_note.get().map(|n| view! { <p class="error" role="alert">{n}</p> })}
            <div class="toolbar">
                <button id="select-all" type="button" class="secondary" on:click=move |_| pick_where(|_| true)>"Select all"</button>
                <button id="select-changed" type="button" class="secondary"
                    on:click=move |_| pick_where(|r| matches!(r.status, Comparison::New | Comparison::Different))>
                    "Select new and different"
                </button>
                <button id="select-none" type="button" class="secondary" on:click=move |_| pick_where(|_| false)>"Select none"</button>
                <label>"Strategy for all "
                    <select id="default-strategy" on:change=move |ev| {
                            if let Ok(s) = event_target_value(&ev).parse::<Strategy>() {
                                state.default_strategy.set(s);
                                state.tables.update(|rows| rows.iter_mut().for_each(|r| r.strategy = s));
                            }
                        }>{strategy_options(move || state.default_strategy.get())}</select>
                </label>
                <label><input id="create-missing" type="checkbox" bind:checked=state.create_missing />" Create missing tables"</label>
                <label title="Empty: chosen by bytes (pages of up to 8 MiB), right for narrow and wide tables alike">"Rows per page "
                    <input id="page-rows" type="number" min="1" max="100000" placeholder="auto"
                        prop:value=move || state.page_rows.get().map(|n| n.to_string()).unwrap_or_default()
                        on:change=move |ev| {
                            let raw = event_target_value(&ev);
                            match raw.trim().parse::<u32>() {
                                Ok(n) => state.page_rows.set(Some(n.clamp(1, protocol::PageRequest::MAX_LIMIT))),
                                Err(_) if raw.trim().is_empty() => state.page_rows.set(None),
                                Err(_) => {}
                            }
                        } />
                </label>
            </div>
            <table id="compare">
                <thead>
                    <tr><th></th><th>"Table"</th><th>"Sender rows"</th><th>"Local rows"</th><th>"Status"</th><th>"Difference"</th><th>"Strategy"</th></tr>
                </thead>
                <tbody>{move || state.tables.get().into_iter().map(row).collect_view()}</tbody>
            </table>
            <div class="toolbar">
                <button id="start" type="button" disabled=move || state.running.get() || picked_count() == 0
                    on:click=move |_| control::start_bulk(state)>
                    {move || format!("Transfer {} table(s)", picked_count())}
                </button>
                <button id="cancel" type="button" class="danger" disabled=move || !state.running.get()
                    on:click=move |_| control::cancel(state)>"Cancel"</button>
                <button id="run-on-server" type="button" class="secondary"
                    title="This site's server pulls the tables as a background job: it goes on when this tab closes or the server restarts"
                    disabled=move || state.running.get() || picked_count() == 0
                    on:click=move |_| control::run_on_server(state, jobs_href.clone())>
                    "Run on the server"
                </button>
            </div>
        </section>
    }
    .into_any()
}
