//! The overview: what this instance is, whether it serves receivers, and the way to Send and Receive.

use leptos::prelude::*;

use crate::api::{InstanceStatus, SetTransfersEnabled, system_status};
use crate::layout::{AdminLayout, Section};
use crate::{paths, use_base_path};

#[component]
pub fn IndexPage() -> impl IntoView {
    let toggle = ServerAction::<SetTransfersEnabled>::new();
    // Refetched after every toggle, so the page shows what the server holds, not what was asked for.
    let status = Resource::new(move || toggle.version().get(), |_| system_status());
    let toggle_message = move || {
        toggle.value().get().map(|result| match result {
            Ok(s) => format!("Saved: transfers are {}.", if s.transfers_enabled { "on" } else { "off" }),
            Err(e) => format!("Could not change it: {e}"),
        })
    };

    let base = use_base_path();
    view! {
        <AdminLayout section=Section::Overview>
            <h1>"Overview"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! { <StatusPanel status=s toggle /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p id="toggle-result" role="status">{toggle_message}</p>
            <section class="cards">
                <a class="card" href=base.href(paths::SEND)>
                    <h2>"Send"</h2>
                    <p>"Let another site pull tables from this one: get a connection code to share."</p>
                </a>
                <a class="card" href=base.href(paths::RECEIVE)>
                    <h2>"Receive"</h2>
                    <p>"Pull tables from another site into this one with its URL and code."</p>
                </a>
            </section>
        </AdminLayout>
    }
}

#[component]
fn StatusPanel(status: InstanceStatus, toggle: ServerAction<SetTransfersEnabled>) -> impl IntoView {
    let enabled = status.transfers_enabled;
    view! {
        <section class="status">
            <dl>
                <dt>"Transfers"</dt>
                <dd id="transfers-state" class=if enabled { "on" } else { "off" }>
                    {if enabled { "On: receivers with a code may connect" } else { "Off: every receiver is refused" }}
                </dd>
                <dt>"Database"</dt>
                <dd id="engine">{status.engine}</dd>
                <dt>"Signed in as"</dt>
                <dd id="admin-name">{status.admin}</dd>
                <dt>"Version"</dt>
                <dd>{status.version}</dd>
            </dl>
            <button
                id="toggle-transfers"
                disabled=move || toggle.pending().get()
                on:click=move |_| {
                    toggle.dispatch(SetTransfersEnabled { enabled: !enabled });
                }
            >
                {if enabled { "Turn transfers off" } else { "Turn transfers on" }}
            </button>
        </section>
    }
}
