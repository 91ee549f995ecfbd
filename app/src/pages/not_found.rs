use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::form::LINK;
use crate::i18n::t;

/// The 404 page; during SSR it also sets the response status.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }

    view! {
        <Title text=t("not_found.title") />
        <section class="py-12 text-center" data-page="not-found">
            <p class="text-sm font-semibold text-accent-600 dark:text-accent-400">"404"</p>
            <h1 class="mt-2 text-2xl font-semibold tracking-tight">{t("not_found.title")}</h1>
            <p class="mx-auto mt-3 max-w-prose text-slate-600 dark:text-slate-300">{t("not_found.text")}</p>
            <A href="/" attr:class=format!("mt-6 inline-block {LINK}")>
                {t("not_found.back")}
            </A>
        </section>
    }
}
