//! System status: whether the database and the directory answer. The "Check again" button calls
//! a server function; hydrated it updates in place, without JavaScript the form post comes back
//! to this page, which renders a fresh check.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{CheckSystemStatus, SystemStatus, check_system_status};
use crate::components::form::{PAGE_CARD, PRIMARY};
use crate::components::time::LocalTime;
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
        <section class=PAGE_CARD>
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
                    class=PRIMARY
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
                {t("status.checked_at")} " " <LocalTime unix_ms=status.checked_at_ms time_only=true />
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
