//! One module per page.

pub mod index;
pub mod jobs;
pub mod login;
pub mod receive;
pub mod send;

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="page">
            <h1>"Not found"</h1>
            <p><a href=crate::use_base_path().href(crate::paths::INDEX)>"Back to the overview"</a></p>
        </main>
    }
}
