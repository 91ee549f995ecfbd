//! The demo phone: every text the demo SMS provider "sent", and every call it "placed" as what
//! the call said, newest first, so a newcomer can keep this page open beside the portal and read
//! their codes. It exists only with the demo provider; otherwise the server function refuses and
//! the page is a 404.
//!
//! Each entry carries `data-kind` (`text` or `call`) and `data-to` (the E.164 number), which the
//! end-to-end tests read; texts are `data-testid="demo-text"`, calls `data-testid="demo-call"`.

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
                <DemoInbox
                    texts
                    words=Words::of(&["demo.phone.empty", "demo.phone.to"])
                    call_from=t("demo.phone.call_from").replace("{product}", &crate::site_name())
                />
            </section>
        }
        .into_any(),
    }
}

/// "12:01": the time of day of `unix_secs`, UTC (the same on the server and in the browser).
fn clock(unix_secs: i64) -> String {
    let minutes = unix_secs.rem_euclid(86_400) / 60;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// One entry: a text as a speech bubble; a call as a transcript, with who called and when.
fn entry(message: DemoTextView, to: &str, call_from: &str) -> AnyView {
    let number = message.to.clone();
    if message.kind == "call" {
        view! {
            <li
                class="rounded-2xl border border-emerald-300 bg-emerald-50 p-3 text-sm dark:border-emerald-700 dark:bg-emerald-950"
                data-testid="demo-call"
                data-kind="call"
                data-to=number
            >
                <p class="text-xs font-medium text-emerald-800 dark:text-emerald-300">
                    <span aria-hidden="true">"☎ "</span>
                    {call_from.to_owned()} " · " {clock(message.sent_at)} " · " {to.to_owned()} " " {message.to}
                </p>
                <p class="mt-1 break-words italic" data-testid="demo-call-transcript">
                    "— " {message.body}
                </p>
            </li>
        }
        .into_any()
    } else {
        view! {
            <li
                class="rounded-2xl rounded-bl-sm bg-slate-100 p-3 text-sm dark:bg-slate-800"
                data-testid="demo-text"
                data-kind="text"
                data-to=number
            >
                <p class="text-xs text-slate-500 dark:text-slate-400">{to.to_owned()} " " {message.to}</p>
                <p class="mt-1 whitespace-pre-line break-words">{message.body}</p>
            </li>
        }
        .into_any()
    }
}

/// The texts and calls, newest first. Hydrated, the inbox asks again every two seconds;
/// without JavaScript the Refresh link does it.
#[island]
fn DemoInbox(texts: Vec<DemoTextView>, words: Words, call_from: String) -> impl IntoView {
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
                    let call_from = call_from.clone();
                    texts
                        .into_iter()
                        .map(move |message| entry(message, &to, &call_from))
                        .collect_view()
                        .into_any()
                }
            }}
        </ol>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_call_shows_the_time_of_day_it_rang_in_utc() {
        assert_eq!(super::clock(0), "00:00");
        assert_eq!(super::clock(3 * 3600 + 61), "03:01");
        assert_eq!(super::clock(86_400 + 23 * 3600 + 59 * 60 + 59), "23:59");
    }
}
