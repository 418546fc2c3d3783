//! The transfer's live progress, counted from this site's import results, and the summary when it ends.

use leptos::prelude::*;

use super::strategy_name;
use crate::receiver::model::{Outcome, ReceiveState, TableProgress};

/// Only this many refused rows are listed; the count says how many more there were.
const LISTED_ERRORS: usize = 200;

fn seconds(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, s / 60 % 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[component]
pub fn ProgressPanel(state: ReceiveState) -> impl IntoView {
    let row = move |p: TableProgress| {
        let now = state.now.get();
        let total = p.total.map(|t| t.to_string()).unwrap_or_else(|| "?".into());
        view! {
            <tr class="progress-row" data-table=p.name.clone()>
                <td>{p.name.clone()}</td>
                <td>{strategy_name(p.strategy)}</td>
                <td class=format!("state {}", p.state.label())>{p.state.label()}</td>
                <td class="rows num">{format!("{} / {total}", p.done)}</td>
                <td class="pages num">{p.pages}</td>
                <td class="created num">{p.created}</td>
                <td class="updated num">{p.updated}</td>
                <td class="skipped num">{p.skipped}</td>
                <td class="errors num">{p.errors}</td>
                <td class="rate num">{p.rate(now).map(|r| format!("{r:.0}/s")).unwrap_or_default()}</td>
                <td class="eta num">{p.eta(now).map(seconds).unwrap_or_default()}</td>
                <td class="muted">{p.note.clone()}</td>
            </tr>
        }
    };
    let overall = move || {
        let all = state.progress.get();
        let done: u64 = all.iter().map(|p| p.done).sum();
        let total: Option<u64> = all.iter().map(|p| p.total).sum();
        let pct =
            total.filter(|t| *t > 0).map(|t| format!(" ({:.0} %)", done as f64 * 100.0 / t as f64)).unwrap_or_default();
        let finished = all.iter().filter(|p| p.ended.is_some()).count();
        format!(
            "{done} of {} rows{pct}; {finished} of {} tables over",
            total.map(|t| t.to_string()).unwrap_or("?".into()),
            all.len()
        )
    };
    let summary = move || {
        state.summary.get().map(|s| {
            let headline = match s.outcome {
                Outcome::Finished => "Transfer finished",
                Outcome::Incomplete => "Transfer incomplete",
                Outcome::Cancelled => "Transfer cancelled",
                Outcome::Failed => "Transfer failed",
            };
            let more = s.failed_rows.len().saturating_sub(LISTED_ERRORS);
            view! {
                <div id="transfer-summary" class=format!("summary {headline}") role="status">
                    <strong>{headline}</strong>
                    {format!(": {} rows in {}, {} row error(s).", s.rows, seconds(s.seconds), s.failed_rows.len())}
                    {(!s.failed_rows.is_empty()).then(|| view! {
                        <ul id="row-errors">
                            {s.failed_rows.iter().take(LISTED_ERRORS).map(|e| view! {
                                <li><code>{e.table.clone()}</code> " " <code>{e.key.clone()}</code> ": " {e.reason.clone()}</li>
                            }).collect_view()}
                            {(more > 0).then(|| view! { <li>{format!("… and {more} more")}</li> })}
                        </ul>
                    })}
                    {(!s.notes.is_empty()).then(|| view! {
                        <ul class="notes">{s.notes.iter().map(|n| view! { <li class="muted">{n.clone()}</li> }).collect_view()}</ul>
                    })}
                </div>
            }
        })
    };

    view! {
        <section class="progress">
            {move || state.transfer_error.get().map(|e| view! { <p id="transfer-error" class="error" role="alert">{e}</p> })}
            <Show when=move || !state.progress.with(|p| p.is_empty())>
                <h2>"Progress"</h2>
                <p id="overall">{overall}</p>
                <table id="progress">
                    <thead>
                        <tr>
                            <th>"Table"</th><th>"Strategy"</th><th>"State"</th><th>"Rows"</th><th>"Pages"</th><th>"Created"</th>
                            <th>"Updated"</th><th>"Skipped"</th><th>"Errors"</th><th>"Rate"</th><th>"ETA"</th><th></th>
                        </tr>
                    </thead>
                    <tbody>{move || state.progress.get().into_iter().map(row).collect_view()}</tbody>
                </table>
            </Show>
            {summary}
        </section>
    }
    .into_any()
}
