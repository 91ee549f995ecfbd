//! System status: whether the database and the directory answer. An operator's diagnostic, for
//! administrators only (anyone else gets the administrator pages' 403; machines ask `/readyz`).
//! The "Check again" button calls a server function; hydrated it updates in place, without
//! JavaScript the form post comes back to this page, which renders a fresh check.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{CheckSystemStatus, SystemStatus, check_system_status};
use crate::components::form::{PAGE_CARD, PRIMARY, refusal};
use crate::components::time::LocalTime;
use crate::i18n::{Words, t};

#[component]
pub fn StatusPage() -> impl IntoView {
    let initial = Resource::new(|| (), |_| check_system_status());
    let heading =
        || view! { <h1 class="text-2xl font-semibold tracking-tight">{t("status.title")}</h1> };
    view! {
        <Title text=t("status.title") />
        <Suspense fallback=|| view! { <p>{t("status.checking")}</p> }>
            {move || Suspend::new(async move {
                match initial.await {
                    // Worded here: the island carries its texts, not the catalog.
                    Ok(status) => view! {
                        <section class=PAGE_CARD>
                            {heading()}
                            <p class="mt-2 text-slate-600 dark:text-slate-300">{t("status.intro")}</p>
                            <StatusPanel initial=Ok(status) words=Words::of(STATUS_WORDS) />
                        </section>
                    }
                    .into_any(),
                    // Not an administrator (or signed out), as on the administrator pages.
                    Err(e) => view! { <div class="space-y-6">{heading()} {refusal(e)}</div> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The check and its "Check again" button: hydrated, the button calls the server function and
/// the answer replaces the old one in place; without JavaScript it posts the form and the page
/// comes back with a fresh check.
const STATUS_WORDS: &[&str] = &[
    "status.database",
    "status.directory",
    "status.ok",
    "status.down",
    "status.checked_at",
    "status.check_again",
    "status.checking",
    "error.network",
];

#[island]
fn StatusPanel(initial: Result<SystemStatus, String>, words: Words) -> impl IntoView {
    use leptos::server_fn::ServerFn;
    Effect::new(move |_| crate::components::islands::mark_hydrated());
    let latest = RwSignal::new(initial);
    let pending = RwSignal::new(false);
    // A check that failed in the browser could not reach the server.
    let network = words.get("error.network");
    let check_again = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        pending.set(true);
        let network = network.clone();
        leptos::task::spawn_local(async move {
            let answer =
                crate::components::islands::call_server::<SystemStatus>(CheckSystemStatus::url())
                    .await;
            latest.set(answer.ok_or(network));
            pending.set(false);
        });
    };
    let (checking, check) = (words.get("status.checking"), words.get("status.check_again"));
    view! {
        <div aria-live="polite" class="mt-6">{move || render_status(latest.get(), &words)}</div>
        <form method="post" action=CheckSystemStatus::url() class="mt-6" on:submit=check_again>
            <button
                type="submit"
                class=PRIMARY
                disabled=move || pending.get()
                aria-busy=move || pending.get().to_string()
            >
                {move || if pending.get() { checking.clone() } else { check.clone() }}
            </button>
        </form>
    }
}

fn render_status(result: Result<SystemStatus, String>, words: &Words) -> AnyView {
    match result {
        Ok(status) => view! {
            <dl class="divide-y divide-slate-200 dark:divide-slate-800" data-checked-at=status.checked_at_ms>
                {status_row(words.get("status.database"), status.database_ok, "database", words)}
                {status_row(words.get("status.directory"), status.directory_ok, "directory", words)}
            </dl>
            <p class="mt-3 text-xs text-slate-500 dark:text-slate-400">
                {words.get("status.checked_at")} " " <LocalTime unix_ms=status.checked_at_ms time_only=true />
            </p>
        }
        .into_any(),
        Err(text) => view! { <p role="alert" class="text-red-700 dark:text-red-400">{text}</p> }.into_any(),
    }
}

fn status_row(name: String, ok: bool, testid: &'static str, words: &Words) -> impl IntoView {
    let (label, badge) = if ok {
        (
            words.get("status.ok"),
            "bg-emerald-50 text-emerald-800 ring-emerald-600/20 dark:bg-emerald-950 dark:text-emerald-300",
        )
    } else {
        (
            words.get("status.down"),
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
