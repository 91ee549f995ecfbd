//! System status: whether the database and the directory answer. The "Check again" button calls
//! a server function; hydrated it updates in place, without JavaScript the form post comes back
//! to this page, which renders a fresh check.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{CheckSystemStatus, SystemStatus, check_system_status};
use crate::error::AppError;
use crate::i18n::t;

#[component]
pub fn StatusPage() -> impl IntoView {
    let check_again = ServerAction::<CheckSystemStatus>::new();
    let initial = Resource::new(|| (), |_| check_system_status());
    // The newest answer wins: the button's once it has one, the page load's before.
    let latest = move || check_again.value().get().or_else(|| initial.get());

    view! {
        <Title text=t("status.title") />
        <section class="rounded-2xl bg-white p-8 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800">
            <h1 class="text-2xl font-semibold tracking-tight">{t("status.title")}</h1>
            <p class="mt-2 text-slate-600 dark:text-slate-300">{t("status.intro")}</p>
            <div aria-live="polite" class="mt-6">
                <Transition fallback=|| view! { <p>{t("status.checking")}</p> }>
                    {move || latest().map(render_status)}
                </Transition>
            </div>
            <ActionForm action=check_again attr:class="mt-6">
                <button
                    type="submit"
                    class="inline-flex items-center rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60"
                    disabled=move || check_again.pending().get()
                    aria-busy=move || check_again.pending().get().to_string()
                >
                    {move || if check_again.pending().get() { t("status.checking") } else { t("status.check_again") }}
                </button>
            </ActionForm>
        </section>
    }
}

fn render_status(result: Result<SystemStatus, AppError>) -> AnyView {
    match result {
        Ok(status) => view! {
            <dl class="divide-y divide-slate-200 dark:divide-slate-800" data-checked-at=status.checked_at_ms>
                <StatusRow name=t("status.database") ok=status.database_ok testid="database" />
                <StatusRow name=t("status.directory") ok=status.directory_ok testid="directory" />
            </dl>
            <p class="mt-3 text-xs text-slate-500 dark:text-slate-400">
                {t("status.checked_at")} " " {format_utc_time(status.checked_at_ms)}
            </p>
        }
        .into_any(),
        Err(e) => view! { <p role="alert" class="text-red-700 dark:text-red-400">{e.text()}</p> }.into_any(),
    }
}

#[component]
fn StatusRow(name: &'static str, ok: bool, testid: &'static str) -> impl IntoView {
    let (label, badge) = if ok {
        (
            t("status.ok"),
            "bg-emerald-50 text-emerald-800 ring-emerald-600/20 dark:bg-emerald-950 dark:text-emerald-300",
        )
    } else {
        (
            t("status.down"),
            "bg-red-50 text-red-800 ring-red-600/20 dark:bg-red-950 dark:text-red-300",
        )
    };
    view! {
        <div class="flex items-center justify-between py-3" data-testid=testid data-ok=ok.to_string()>
            <dt class="font-medium">{name}</dt>
            <dd class=format!("rounded-full px-3 py-1 text-sm font-medium ring-1 ring-inset {badge}")>{label}</dd>
        </div>
    }
}

/// `HH:MM:SS UTC`, without pulling a date library into the wasm.
pub(crate) fn format_utc_time(unix_ms: i64) -> String {
    let secs_of_day = unix_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02} UTC", secs_of_day / 3600, secs_of_day % 3600 / 60, secs_of_day % 60)
}

/// `YYYY-MM-DD HH:MM UTC` from Unix seconds (the civil-from-days algorithm: no date library in
/// the wasm).
pub fn format_utc_date_time(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_time_of_day_in_utc() {
        assert_eq!(super::format_utc_time(0), "00:00:00 UTC");
        assert_eq!(super::format_utc_time(86_399_999), "23:59:59 UTC");
        assert_eq!(super::format_utc_time(1_700_000_000_000), "22:13:20 UTC");
    }

    #[test]
    fn formats_dates_in_utc() {
        assert_eq!(super::format_utc_date_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_utc_date_time(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(super::format_utc_date_time(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(super::format_utc_date_time(1_798_761_599), "2026-12-31 23:59 UTC");
    }
}
