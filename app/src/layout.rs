//! The frame around every admin page: navigation and the sign-out button.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::Logout;
use crate::paths;

#[component]
pub fn AdminLayout(children: Children) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="topbar">
            <a class="brand" href=paths::INDEX>"DB Transfer"</a>
            <nav>
                <A href=paths::INDEX exact=true>"Overview"</A>
                <A href=paths::SEND>"Send"</A>
                <A href=paths::RECEIVE>"Receive"</A>
            </nav>
            <ActionForm action=logout attr:class="logout">
                <button type="submit">"Sign out"</button>
            </ActionForm>
        </header>
        <main class="page">{children()}</main>
    }
}
