//! The frame around every admin page: navigation and the sign-out button.

use leptos::prelude::*;

use crate::api::Logout;
use crate::{paths, use_base_path};

/// Which entry of the navigation is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Send,
    Receive,
    Jobs,
}

#[component]
pub fn AdminLayout(section: Section, children: Children) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let base = use_base_path();
    // Plain links with the base path written out: identical on the server and in the browser, so hydration and
    // a proxy's prefix agree.
    let link = |target: Section, path: &str, label: &'static str| {
        let current = (target == section).then_some("page");
        view! { <a href=base.href(path) aria-current=current>{label}</a> }
    };
    view! {
        <header class="topbar">
            <a class="brand" href=base.href(paths::INDEX)>"DB Transfer"</a>
            <nav>
                {link(Section::Overview, paths::INDEX, "Overview")}
                {link(Section::Send, paths::SEND, "Send")}
                {link(Section::Receive, paths::RECEIVE, "Receive")}
                {link(Section::Jobs, paths::JOBS, "Jobs")}
            </nav>
            <ActionForm action=logout attr:class="logout">
                <button type="submit">"Sign out"</button>
            </ActionForm>
        </header>
        <main class="page">{children()}</main>
    }
}
