//! The demo phone: every text the demo SMS provider "sent", newest first, so a newcomer can keep
//! this page open beside the portal and read their codes. It exists only with the demo provider;
//! otherwise the server function refuses and the page is a 404.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{DemoTextView, load_demo_texts};
use crate::components::form::LINK;
use crate::error::AppError;
use crate::i18n::{Words, t};
use crate::pages::not_found::NotFound;

#[component]
pub fn DemoPhonePage() -> impl IntoView {
    let texts = Resource::new(|| (), |_| load_demo_texts());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { render_inbox(texts.await) })}
        </Suspense>
    }
}

fn render_inbox(result: Result<Vec<DemoTextView>, AppError>) -> AnyView {
    match result {
        Err(e) if e == AppError::not_found() => view! { <NotFound /> }.into_any(),
        Err(e) => view! { <p role="alert" class="text-red-700 dark:text-red-400">{e.text()}</p> }.into_any(),
        Ok(texts) => view! {
            <Title text=t("demo.phone.title") />
            <section class="mx-auto max-w-sm rounded-[2rem] border-8 border-slate-800 bg-white p-4 shadow-xl dark:border-slate-700 dark:bg-slate-900">
                <div class="flex items-center justify-between">
                    <h1 class="text-lg font-semibold">{t("demo.phone.title")}</h1>
                    <a href="/demo/phone" class=format!("text-sm {LINK}")>
                        {t("demo.phone.refresh")}
                    </a>
                </div>
                <p class="mt-1 text-xs text-slate-500 dark:text-slate-400">{t("demo.phone.intro")}</p>
                <DemoInbox texts words=Words::of(&["demo.phone.empty", "demo.phone.to"]) />
            </section>
        }
        .into_any(),
    }
}

/// The texts, newest first. Hydrated, the inbox asks again every two seconds; without
/// JavaScript the Refresh link does it.
#[island]
fn DemoInbox(texts: Vec<DemoTextView>, words: Words) -> impl IntoView {
    let (texts, set_texts) = signal(texts);
    Effect::new(move |_| {
        crate::components::islands::mark_hydrated();
        if let Ok(handle) = leptos::leptos_dom::helpers::set_interval_with_handle(
            move || {
                leptos::task::spawn_local(async move {
                    use leptos::server_fn::ServerFn;
                    let url = crate::api::LoadDemoTexts::url();
                    if let Some(fresh) = crate::components::islands::call_server(url).await {
                        set_texts.set(fresh);
                    }
                });
            },
            std::time::Duration::from_secs(2),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let (empty, to) = (words.get("demo.phone.empty"), words.get("demo.phone.to"));
    view! {
        <ol class="mt-4 space-y-3" aria-live="polite" data-testid="demo-inbox">
            {move || {
                let texts = texts.get();
                let to = to.clone();
                if texts.is_empty() {
                    view! { <li class="text-sm text-slate-500 dark:text-slate-400">{empty.clone()}</li> }.into_any()
                } else {
                    texts
                        .into_iter()
                        .map(move |text| view! {
                            <li class="rounded-2xl rounded-bl-sm bg-slate-100 p-3 text-sm dark:bg-slate-800" data-testid="demo-text">
                                <p class="text-xs text-slate-500 dark:text-slate-400">{to.clone()} " " {text.to}</p>
                                <p class="mt-1 whitespace-pre-line break-words">{text.body}</p>
                            </li>
                        })
                        .collect_view()
                        .into_any()
                }
            }}
        </ol>
    }
}
