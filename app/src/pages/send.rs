//! The Send page: a live connection to this server holds the send session (see `server/src/send_live.rs`);
//! from it the admin gets codes to share, watches receivers connect and pull, and disconnects them.

use leptos::prelude::*;
use protocol::messages::ReceiverView;

use crate::layout::{AdminLayout, Section};

/// What the page shows, updated by the live connection.
#[derive(Clone, Copy)]
pub struct SendSignals {
    pub status: RwSignal<String>,
    pub connected: RwSignal<bool>,
    pub site_url: RwSignal<String>,
    pub code: RwSignal<Option<String>>,
    pub receivers: RwSignal<Vec<ReceiverView>>,
    pub notice: RwSignal<Option<String>>,
}

fn clock(unix: u64) -> String {
    let s = unix % 86_400;
    format!("{:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}

fn command(json: serde_json::Value) {
    #[cfg(feature = "hydrate")]
    crate::live::send(json);
    #[cfg(not(feature = "hydrate"))]
    let _ = json;
}

#[component]
pub fn SendPage() -> impl IntoView {
    let signals = SendSignals {
        status: RwSignal::new("Connecting…".into()),
        connected: RwSignal::new(false),
        site_url: RwSignal::new(String::new()),
        code: RwSignal::new(None),
        receivers: RwSignal::new(Vec::new()),
        notice: RwSignal::new(None),
    };
    let base = crate::use_base_path();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        crate::live::connect(base.0.clone(), signals);
        #[cfg(not(feature = "hydrate"))]
        let _ = &base;
    });
    let SendSignals { status, connected, site_url, code, receivers, notice } = signals;
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        crate::live::copy_to_clipboard(&site_url.get_untracked());
    };
    let row = move |r: ReceiverView| {
        let id = r.receiver_id.clone();
        let info = r.info.clone().unwrap_or_default();
        view! {
            <tr class="receiver" data-receiver-id=r.receiver_id.clone()>
                <td>
                    <strong>{info.user_name}</strong> " " <span class="muted">{info.user_email}</span><br />
                    {info.project} " · " <span class="muted">{info.site_url}</span>
                </td>
                <td>{r.client_ip}<br /><span class="muted ua">{r.user_agent}</span></td>
                <td>{clock(r.connected_at)}</td>
                <td>{clock(r.last_activity)}</td>
                <td>{r.tables_served} " tables, " {r.rows_served} " rows"</td>
                <td>{if r.connected { "connected" } else { "dropped (may resume)" }}</td>
                <td>
                    <button class="disconnect" on:click=move |_| command(serde_json::json!({"op": "disconnect", "receiver_id": id.clone()}))>
                        "Disconnect"
                    </button>
                </td>
            </tr>
        }
    };

    view! {
        <AdminLayout section=Section::Send>
            <h1>"Send"</h1>
            <p id="live-status" class=move || if connected.get() { "live on" } else { "live off" }>{move || status.get()}</p>
            <section class="share">
                <button id="generate-code" disabled=move || !connected.get() on:click=move |_| command(serde_json::json!({"op": "new_code"}))>
                    "Generate code"
                </button>
                {move || code.get().map(|c| view! { <div id="code" class="code">{c}</div> })}
                <p>
                    "Site URL to share: " <code id="site-url">{move || site_url.get()}</code> " "
                    <button id="copy-url" class="secondary" on:click=copy>"Copy"</button>
                </p>
                <p class="muted">
                    "Give the receiving admin this URL and a code. Each code admits one receiver and expires after 15 minutes; generate another for the next receiver. Tabs showing this page share its session; closing the last of them ends the session and disconnects every receiver."
                </p>
            </section>
            {move || notice.get().map(|n| view! { <p id="notice" role="status">{n}</p> })}
            <section>
                <h2>"Receivers"</h2>
                <table id="receivers">
                    <thead>
                        <tr><th>"Who"</th><th>"From"</th><th>"Connected"</th><th>"Last activity"</th><th>"Served"</th><th>"State"</th><th></th></tr>
                    </thead>
                    <tbody>{move || receivers.get().into_iter().map(row).collect_view()}</tbody>
                </table>
                {move || receivers.get().is_empty().then(|| view! { <p id="no-receivers" class="muted">"No receiver connected."</p> })}
                <button id="end-all" class="danger" disabled=move || !connected.get() on:click=move |_| command(serde_json::json!({"op": "end_all"}))>
                    "End all sessions"
                </button>
            </section>
        </AdminLayout>
    }
}
