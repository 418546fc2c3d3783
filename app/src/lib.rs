//! The DB Transfer admin UI: the page shell, routes, pages and the server functions they call.
//!
//! Compiled twice: with `ssr` into the server (rendering pages, running server functions against the app's
//! database) and with `hydrate` into the browser's WASM. Anything that touches the database or the session lives
//! behind `#[cfg(feature = "ssr")]`.

pub mod api;
pub mod error;
pub mod layout;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

pub use error::ApiError;

/// Paths of the pages, in one place so links and the route table cannot drift apart.
pub mod paths {
    pub const LOGIN: &str = "/login";
    pub const INDEX: &str = "/admin/db-transfer";
    pub const SEND: &str = "/admin/db-transfer/send";
    pub const RECEIVE: &str = "/admin/db-transfer/receive";
}

/// The HTML document around the app, rendered by the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
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

    view! {
        <Stylesheet id="leptos" href="/pkg/db-transfer.css" />
        <Title text="DB Transfer" />
        <div id="app" data-hydrated=move || hydrated.get().to_string()>
            <Router>
                <Routes fallback=|| view! { <pages::NotFound /> }>
                    <Route path=path!("/") view=|| view! { <Redirect path=paths::INDEX /> } />
                    <Route path=path!("/login") view=pages::login::LoginPage />
                    <Route path=path!("/admin/db-transfer") view=pages::index::IndexPage />
                    <Route path=path!("/admin/db-transfer/send") view=pages::send::SendPage />
                    <Route path=path!("/admin/db-transfer/receive") view=pages::receive::ReceivePage />
                </Routes>
            </Router>
        </div>
    }
}
