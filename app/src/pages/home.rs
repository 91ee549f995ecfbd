use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::i18n::t;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text=t("home.title") />
        <section class="rounded-2xl bg-white p-8 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800">
            <h1 class="text-2xl font-semibold tracking-tight">{t("home.title")}</h1>
            <p class="mt-3 max-w-prose text-slate-600 dark:text-slate-300">{t("home.intro")}</p>
            <A
                href="/status"
                attr:class="mt-6 inline-flex items-center rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
            >
                {t("home.status_link")}
            </A>
        </section>
    }
}
