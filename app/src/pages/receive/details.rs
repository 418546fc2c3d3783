//! The Table Details tab: the sender's schema beside the local one with differences marked, a filtered preview
//! of the sender's rows, creating the table here, and transferring this one table with the filter.

use leptos::prelude::*;
use protocol::Strategy;
use protocol::schema::{Column, Dialect, TableSchema};

use super::strategy_options;
use crate::receiver::control;
use crate::receiver::model::ReceiveState;

/// One column's description: type, nullability, default and key roles.
fn describe(schema: &TableSchema, c: &Column) -> String {
    let mut parts = vec![c.data_type.clone()];
    parts.push(if c.nullable { "NULL".into() } else { "NOT NULL".into() });
    if let Some(d) = &c.default {
        parts.push(format!("DEFAULT {d}"));
    }
    if c.identity.is_some() {
        parts.push("identity".into());
    }
    if schema.primary_key.contains(&c.name) {
        parts.push("PK".into());
    }
    if schema.unique_constraints.iter().any(|u| u.columns.contains(&c.name)) {
        parts.push("UNIQUE".into());
    }
    for fk in schema.foreign_keys.iter().filter(|fk| fk.columns.contains(&c.name)) {
        parts.push(format!("→ {}({})", fk.ref_table, fk.ref_columns.join(", ")));
    }
    parts.join(" · ")
}

/// A type name as its engine compares it: PostgreSQL's `format_type` spelling is canonical already; SQLite keeps
/// declared types as written and reads them case-insensitively, so `varchar(200)` is `VARCHAR(200)`.
fn type_key(dialect: Dialect, data_type: &str) -> String {
    match dialect {
        Dialect::Postgres => data_type.to_owned(),
        Dialect::Sqlite => data_type.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_uppercase(),
    }
}

/// Whether two columns differ in what a transfer cares about. Between two databases of one engine the types are
/// compared as that engine reads them (a copy keeps them exactly); across engines the names never match, so the
/// kind of value the mapping gives them (integer, text, …, `docs/types.md`) is compared instead of the spelling.
fn columns_differ(a: &TableSchema, ac: &Column, b: &TableSchema, bc: &Column) -> bool {
    let same_type = if a.dialect == b.dialect {
        type_key(a.dialect, &ac.data_type) == type_key(b.dialect, &bc.data_type)
    } else {
        ac.kind == bc.kind
    };
    let key = |s: &TableSchema, c: &Column| s.primary_key.contains(&c.name);
    !same_type || ac.nullable != bc.nullable || key(a, ac) != key(b, bc)
}

#[component]
pub fn DetailsTab(state: ReceiveState) -> impl IntoView {
    let schema_rows = move || {
        let sender = state.sender_schema.get()?;
        let local = state.local_schema.get().flatten();
        let mut names: Vec<String> = sender.columns.iter().map(|c| c.name.clone()).collect();
        if let Some(l) = &local {
            names.extend(l.columns.iter().filter(|c| sender.column(&c.name).is_none()).map(|c| c.name.clone()));
        }
        let rows = names
            .into_iter()
            .map(|name| {
                let s = sender.column(&name);
                let l = local.as_ref().and_then(|l| l.column(&name));
                // A column on one side only (or a table missing here) is a difference too.
                let differs = match (s, l, &local) {
                    (Some(sc), Some(lc), Some(ls)) => columns_differ(&sender, sc, ls, lc),
                    _ => true,
                };
                let cell = |schema: Option<&TableSchema>, c: Option<&Column>| match (schema, c) {
                    (Some(schema), Some(c)) => describe(schema, c),
                    _ => "—".to_owned(),
                };
                view! {
                    <tr class=if differs { "column-row differs" } else { "column-row" } data-column=name.clone()>
                        <td>{name.clone()}</td>
                        <td>{cell(Some(&sender), s)}</td>
                        <td>{cell(local.as_ref(), l)}</td>
                    </tr>
                }
            })
            .collect_view();
        let dialect = |d: Dialect| match d {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Sqlite => "SQLite",
        };
        let local_head =
            local.as_ref().map(|l| format!("Here ({})", dialect(l.dialect))).unwrap_or_else(|| "Here".into());
        Some(view! {
            <table id="schema-compare">
                <thead><tr><th>"Column"</th><th>{format!("Sender ({})", dialect(sender.dialect))}</th><th>{local_head}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })
    };
    let missing = move || state.local_schema.get() == Some(None);
    let preview = move || {
        state.preview.get().map(|p| {
            view! {
                <table id="preview-table">
                    <thead><tr>{p.columns.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {p.rows.iter().map(|r| view! {
                            <tr class="preview-row">{r.iter().map(|v| view! { <td>{v.clone()}</td> }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
                {p.rows.is_empty().then(|| view! { <p class="muted">"No rows match."</p> })}
                <div class="toolbar">
                    <button id="preview-prev" type="button" class="secondary" disabled=p.page <= 1
                        on:click=move |_| control::preview(state, -1)>"Previous"</button>
                    <span id="preview-page">{format!("Page {}", p.page)}</span>
                    <button id="preview-next" type="button" class="secondary" disabled=!p.has_more
                        on:click=move |_| control::preview(state, 1)>"Next"</button>
                </div>
            }
        })
    };

    view! {
        <section class="details">
            <label>"Table "
                <select id="detail-table" on:change=move |ev| {
                        let name = event_target_value(&ev);
                        state.detail_table.set(name.clone());
                        control::load_details(state, name);
                    }>
                    {move || state.tables.get().into_iter().map(|t| {
                        let name = t.name.clone();
                        view! { <option value=t.name.clone() prop:selected=move || state.detail_table.get() == name>{t.name.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            {move || state.detail_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <h2>"Schema"</h2>
            {schema_rows}
            <Show when=missing>
                <p id="local-missing">"This table does not exist here. "
                    <button id="create-table" type="button" on:click=move |_| control::create_table(state)>"Create it from the sender's schema"</button>
                </p>
            </Show>
            {move || state.create_result.get().map(|r| view! { <p id="create-result" role="status">{r}</p> })}
            {move || state.structure.get().map(|s| match s {
                Ok(ddl) => {
                    let text: String = ddl.statements.iter().map(|st| format!("{st};\n")).collect();
                    view! {
                        <h2>"Structure"</h2>
                        <p class="muted">"What creating it here will run:"</p>
                        <pre id="structure-ddl">{text}</pre>
                        {(!ddl.notes.is_empty()).then(|| view! {
                            <ul id="structure-notes">
                                {ddl.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}
                            </ul>
                        })}
                    }.into_any()
                }
                Err(e) => view! { <p id="structure-error" class="error">{format!("The structure could not be planned: {e}")}</p> }.into_any(),
            })}
            <h2>"Records"</h2>
            <div class="toolbar filter">
                <label>"Filter "
                    <select id="filter-kind" bind:value=state.filter_kind>
                        <option value="all">"All rows"</option>
                        <option value="key_range">"Key range"</option>
                        <option value="keys">"Specific keys"</option>
                    </select>
                </label>
                <Show when=move || state.filter_kind.get() == "key_range">
                    <label>"From " <input id="filter-from" type="text" bind:value=state.filter_from /></label>
                    <label>"To " <input id="filter-to" type="text" bind:value=state.filter_to /></label>
                </Show>
                <Show when=move || state.filter_kind.get() == "keys">
                    <label>"Keys (one per line) " <textarea id="filter-keys" rows="4" bind:value=state.filter_keys></textarea></label>
                </Show>
                <label>"Rows "
                    <input id="preview-rows" type="number" min="1" max="1000" prop:value=move || state.preview_rows.get().to_string()
                        on:change=move |ev| {
                            if let Ok(n) = event_target_value(&ev).trim().parse::<u32>() {
                                state.preview_rows.set(n.clamp(1, protocol::messages::MAX_JSON_PAGE_ROWS));
                            }
                        } />
                </label>
                <button id="preview" type="button" on:click=move |_| control::preview(state, 0)>"Preview"</button>
            </div>
            {preview}
            <h2>"Transfer this table"</h2>
            <div class="toolbar">
                <label>"Strategy "
                    <select id="detail-strategy" on:change=move |ev| {
                            if let Ok(s) = event_target_value(&ev).parse::<Strategy>() {
                                state.detail_strategy.set(s);
                            }
                        }>{strategy_options(move || state.detail_strategy.get())}</select>
                </label>
                <button id="transfer-one" type="button" disabled=move || state.running.get()
                    on:click=move |_| control::start_one(state)>"Transfer with this filter"</button>
                <button type="button" class="danger" disabled=move || !state.running.get()
                    on:click=move |_| control::cancel(state)>"Cancel"</button>
            </div>
            <p class="muted">"The table is created here first when it is missing. Rows go in key order, a page at a time."</p>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use protocol::ValueKind;

    use super::*;

    fn one(dialect: Dialect, data_type: &str, kind: ValueKind) -> TableSchema {
        TableSchema {
            name: "t".into(),
            dialect,
            columns: vec![Column {
                name: "c".into(),
                data_type: data_type.into(),
                kind,
                nullable: true,
                default: None,
                identity: None,
                generated: None,
                enum_labels: Vec::new(),
                domain_base: None,
                sequence: None,
                comment: None,
                collation: None,
            }],
            ..TableSchema::default()
        }
    }

    fn differ(a: &TableSchema, b: &TableSchema) -> bool {
        columns_differ(a, &a.columns[0], b, &b.columns[0])
    }

    #[test]
    fn a_column_differs_only_when_its_engine_or_the_mapping_says_the_types_differ() {
        use Dialect::{Postgres, Sqlite};
        use ValueKind::{Float, Int, Text};
        // SQLite reads declared types case-insensitively: a copy of itself is the same.
        assert!(!differ(&one(Sqlite, "VARCHAR(200)", Text), &one(Sqlite, "varchar(200)", Text)));
        assert!(!differ(&one(Sqlite, "DOUBLE  PRECISION", Float), &one(Sqlite, "double precision", Float)));
        assert!(differ(&one(Sqlite, "VARCHAR(200)", Text), &one(Sqlite, "TEXT", Text)));
        // PostgreSQL's spelling is canonical: any difference is a different type.
        assert!(differ(&one(Postgres, "character varying(20)", Text), &one(Postgres, "text", Text)));
        assert!(!differ(
            &one(Postgres, "numeric(12,2)", ValueKind::Numeric),
            &one(Postgres, "numeric(12,2)", ValueKind::Numeric)
        ));
        // Across engines the mapping decides: bigint and INTEGER are both integers, text and INTEGER are not.
        assert!(!differ(&one(Postgres, "bigint", Int), &one(Sqlite, "INTEGER", Int)));
        assert!(differ(&one(Postgres, "text", Text), &one(Sqlite, "INTEGER", Int)));
    }
}
