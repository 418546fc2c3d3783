//! The DB Transfer admin UI: the page shell, routes, pages and the server functions they call.
//!
//! Compiled twice: with `ssr` into the server (rendering pages, running server functions against the app's
//! database) and with `hydrate` into the browser's WASM. Anything that touches the database or the session lives
//! behind `#[cfg(feature = "ssr")]`.

// Leptos views are nested types; the Receive page's tree is deeper than the default limit allows.
#![recursion_limit = "256"]

pub mod api;
pub mod error;
pub mod layout;
#[cfg(feature = "hydrate")]
pub mod live;
pub mod pages;
pub mod receiver;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

pub use error::ApiError;

/// Where the app is mounted behind a reverse proxy that strips this prefix (e.g. `/db`); empty when at the root.
/// The server routes un-prefixed paths; every URL the app *emits* (links, assets, server function calls,
/// redirects) carries the prefix, so the browser's URLs go through the proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BasePath(pub String);

impl BasePath {
    /// `/prefix/path` for an app path `/path`.
    pub fn href(&self, path: &str) -> String {
        format!("{}{}", self.0, path)
    }
}

/// The base path of this render (server: from the instance's settings; browser: read from the page's meta tag).
pub fn use_base_path() -> BasePath {
    use_context::<BasePath>().unwrap_or_default()
}

/// Name of the `<meta>` that carries the base path from the server-rendered page to the WASM.
pub const BASE_PATH_META: &str = "dbt-base-path";

/// Paths of the pages, in one place so links and the route table cannot drift apart.
pub mod paths {
    pub const LOGIN: &str = "/login";
    pub const INDEX: &str = "/admin/db-transfer";
    pub const SEND: &str = "/admin/db-transfer/send";
    pub const RECEIVE: &str = "/admin/db-transfer/receive";
    pub const JOBS: &str = "/admin/db-transfer/jobs";
}

/// The HTML document around the app, rendered by the server only.
pub fn shell(options: LeptosOptions, base: BasePath) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name=BASE_PATH_META content=base.0.clone() />
                <link rel="icon" href=base.href("/favicon.ico") />
                <AutoReload options=options.clone() />
                <HydrationScripts options root=base.0 />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: the flag flips once the WASM has hydrated the page, which end-to-end tests
    // wait for before clicking.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let base = use_base_path();
    // The server sees paths with the proxy's prefix already stripped; the browser's location still has it.
    let router_base = if cfg!(feature = "hydrate") { base.0.clone() } else { String::new() };
    let index = base.href(paths::INDEX);

    view! {
        <Stylesheet id="leptos" href=base.href("/pkg/db-transfer.css") />
        <Title text="DB Transfer" />
        <div id="app" data-hydrated=move || hydrated.get().to_string()>
            <Router base=router_base>
                <Routes fallback=|| view! { <pages::NotFound /> }>
                    <Route path=path!("/") view=move || view! { <Redirect path=index.clone() /> } />
                    <Route path=path!("/login") view=pages::login::LoginPage />
                    <Route path=path!("/admin/db-transfer") view=pages::index::IndexPage />
                    <Route path=path!("/admin/db-transfer/send") view=pages::send::SendPage />
                    <Route path=path!("/admin/db-transfer/receive") view=pages::receive::ReceivePage />
                    <Route path=path!("/admin/db-transfer/jobs") view=pages::jobs::JobsPage />
                </Routes>
            </Router>
        </div>
    }
}
