//! The Receive page: connect to a sender (the browser opens the socket itself), then the Bulk Transfer tab
//! (compare, pick, transfer), the Table Details tab (schemas side by side, preview, create, one filtered table),
//! and the live progress of the running transfer under both.

mod bulk;
mod details;
pub(crate) mod history;
mod progress;

use leptos::prelude::*;

use crate::layout::{AdminLayout, Section};
use crate::receiver::control;
use crate::receiver::model::{LinkState, ReceiveState, Tab};

pub(crate) fn strategy_name(s: protocol::Strategy) -> &'static str {
    match s {
        protocol::Strategy::Skip => "skip",
        protocol::Strategy::Overwrite => "overwrite",
        protocol::Strategy::Merge => "merge",
        protocol::Strategy::Append => "append",
    }
}

/// The `<option>`s of a strategy select, the current one selected. The selection is set on the options (not as
/// the select's value), because a select's value set before its options exist falls back to the first option.
pub(crate) fn strategy_options(
    current: impl Fn() -> protocol::Strategy + Copy + Send + Sync + 'static,
) -> impl IntoView {
    use protocol::Strategy::*;
    [
        (Skip, "Skip existing rows"),
        (Overwrite, "Overwrite existing rows"),
        (Merge, "Merge (keep local where sender is NULL)"),
        (Append, "Append (new keys here)"),
    ]
    .map(|(s, label)| view! { <option value=strategy_name(s) prop:selected=move || current() == s>{label}</option> })
}

#[component]
pub fn ReceivePage() -> impl IntoView {
    let state = ReceiveState::new();
    let url = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let connected = move || matches!(state.link.get(), LinkState::Connected { .. });
    let connecting = move || state.link.get() == LinkState::Connecting;
    let base = crate::use_base_path().0;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        control::connect(state, url.get_untracked(), code.get_untracked(), base.clone());
    };
    let status = move || match state.link.get() {
        LinkState::Idle => "Not connected.".to_owned(),
        LinkState::Connecting => "Connecting…".to_owned(),
        LinkState::Connected { site, engine } => format!("Connected to {site} ({engine})."),
    };
    let tab_button = move |tab: Tab, id: &'static str, label: &'static str| {
        view! {
            <button id=id type="button" class="tab" aria-selected=move || (state.tab.get() == tab).to_string()
                on:click=move |_| state.tab.set(tab)>{label}</button>
        }
    };

    view! {
        <AdminLayout section=Section::Receive>
            <h1>"Receive"</h1>
            <form class="connect" on:submit=submit>
                <label>"Sender's site URL" <input id="sender-url" type="text" placeholder="https://other-site.example"
                    autocomplete="url" bind:value=url disabled=move || connected() || connecting() /></label>
                <label>"Connection code" <input id="connection-code" type="text" placeholder="8 characters" maxlength="16"
                    autocomplete="off" bind:value=code disabled=move || connected() || connecting() /></label>
                <button id="connect" type="submit" disabled=move || connected() || connecting()>"Connect"</button>
                <button id="disconnect" type="button" class="secondary" disabled=move || !connected()
                    on:click=move |_| control::disconnect(state)>"Disconnect"</button>
            </form>
            <p id="connection-status" class=move || if connected() { "live on" } else { "live off" }>{status}</p>
            {move || state.connect_error.get().map(|e| view! { <p id="connect-error" class="error" role="alert">{e}</p> })}
            <Show when=connected>
                <nav class="tabs">
                    {tab_button(Tab::Bulk, "tab-bulk", "Bulk Transfer")}
                    {tab_button(Tab::Details, "tab-details", "Table Details")}
                </nav>
                <Show when=move || state.tab.get() == Tab::Bulk fallback=move || view! { <details::DetailsTab state /> }>
                    <bulk::BulkTab state />
                </Show>
            </Show>
            <progress::ProgressPanel state />
            <history::HistoryPanel state />
        </AdminLayout>
    }
}
