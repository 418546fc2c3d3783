//! The Send page. Connection codes and the live receiver list arrive with the sender issue (#4); until then the
//! page says so rather than pretending.

use leptos::prelude::*;

use crate::layout::{AdminLayout, Section};

#[component]
pub fn SendPage() -> impl IntoView {
    view! {
        <AdminLayout section=Section::Send>
            <h1>"Send"</h1>
            <p>"Generating connection codes is not available in this version yet."</p>
        </AdminLayout>
    }
}
