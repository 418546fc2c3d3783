//! The sign-in page: the only page an anonymous visitor may see.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::Login;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || login.value().get().and_then(|result| result.err()).map(|e| e.to_string());
    view! {
        <main class="login">
            <h1>"DB Transfer"</h1>
            <p class="muted">"Sign in as an admin of this site."</p>
            <ActionForm action=login>
                <label>
                    "Username"
                    <input type="text" name="username" autocomplete="username" required />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <input type="hidden" name="next" prop:value=next />
                <button type="submit" disabled=move || login.pending().get()>"Sign in"</button>
            </ActionForm>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </main>
    }
}
