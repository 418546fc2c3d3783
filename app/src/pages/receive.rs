//! The Receive page. Connecting to a sender and the transfer UI arrive with the receiver issue (#5); until then
//! the page says so rather than pretending.

use leptos::prelude::*;

use crate::layout::{AdminLayout, Section};

#[component]
pub fn ReceivePage() -> impl IntoView {
    view! {
        <AdminLayout section=Section::Receive>
            <h1>"Receive"</h1>
            <p>"Pulling tables from another site is not available in this version yet."</p>
        </AdminLayout>
    }
}
