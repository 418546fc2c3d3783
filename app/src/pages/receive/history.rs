//! The transfer history of this site: every transfer it received, newest first, with the counts its own
//! imports reported.

use leptos::prelude::*;

use super::strategy_name;
use crate::receiver::model::ReceiveState;

pub(crate) fn when(unix: i64) -> String {
    let s = unix.rem_euclid(86_400);
    let days = unix.div_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), so no date crate is needed here.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", s / 3600, s / 60 % 60)
}

#[component]
pub fn HistoryPanel(state: ReceiveState) -> impl IntoView {
    Effect::new(move |_| crate::receiver::control::load_history(state));
    let row = |r: protocol::history::TransferRecord| {
        let tables = r
            .tables
            .iter()
            .map(|t| format!("{} ({})", t.table, strategy_name(t.strategy)))
            .collect::<Vec<_>>()
            .join(", ");
        let took = r.finished_at.map(|f| format!("{} s", f - r.started_at)).unwrap_or_default();
        view! {
            <tr class="history-row" data-id=r.id>
                <td>{when(r.started_at)}</td>
                <td>{r.admin.clone()} <span class="muted">{format!(" ({})", r.channel)}</span></td>
                <td>{r.sender.clone()}</td>
                <td>{tables}</td>
                <td class="num rows">{r.rows}</td>
                <td class="num">{format!("{} / {} / {}", r.created, r.updated, r.skipped)}</td>
                <td class="num">{r.errors}</td>
                <td class="num">{took}</td>
                <td class=format!("outcome {}", r.outcome)>{r.outcome.as_str()}
                    {r.message.clone().map(|m| view! { <span class="muted note">{m}</span> })}</td>
            </tr>
        }
    };
    view! {
        <section id="history" class="history">
            <h2>"Transfer history"</h2>
            <table>
                <thead>
                    <tr><th>"Started"</th><th>"Who"</th><th>"From"</th><th>"Tables"</th><th>"Rows"</th>
                        <th>"Created / updated / skipped"</th><th>"Errors"</th><th>"Took"</th><th>"Outcome"</th></tr>
                </thead>
                <tbody>{move || state.history.get().into_iter().map(row).collect_view()}</tbody>
            </table>
            {move || state.history.with(|h| h.is_empty()).then(|| view! { <p class="muted">"No transfers yet."</p> })}
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    #[test]
    fn unix_times_read_as_utc_dates() {
        assert_eq!(super::when(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::when(1_795_600_000), "2026-11-25 09:46 UTC");
        assert_eq!(super::when(951_782_400), "2000-02-29 00:00 UTC");
    }
}
