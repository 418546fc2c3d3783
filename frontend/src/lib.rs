//! The browser entry point: hydrates the server-rendered page with the app compiled to WASM.

use app::{App, BASE_PATH_META, BasePath};
use leptos::prelude::*;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The server writes the reverse proxy's prefix into the page; server functions and links must carry it.
    let base = document()
        .query_selector(&format!("meta[name=\"{BASE_PATH_META}\"]"))
        .ok()
        .flatten()
        .and_then(|meta| meta.get_attribute("content"))
        .unwrap_or_default();
    if !base.is_empty() {
        leptos::server_fn::client::set_server_url(Box::leak(base.clone().into_boxed_str()));
    }
    leptos::mount::hydrate_body(move || {
        provide_context(BasePath(base));
        view! { <App /> }
    });
}
