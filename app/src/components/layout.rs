//! The chrome around every page: header with the product name, navigation and the signed-in
//! person, then the page, then a footer.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::api::{SiteInfo, load_site_info};
use crate::components::button::Submit;
use crate::error::AppError;
use crate::i18n::{Lang, t};
use crate::pages::sign_in::SignOut;

/// The site info the layout loaded, for pages that need to know who is signed in.
pub type SiteInfoResource = Resource<Result<SiteInfo, AppError>>;

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let pathname = use_location().pathname;
    // Reloaded on every navigation and sign-out, so the header never shows a stale sign-in.
    let info: SiteInfoResource =
        Resource::new(move || (pathname.get(), sign_out.version().get()), |_| load_site_info());
    provide_context(info);

    // `data-hydrated` turns `true` once one of the page's islands runs in the browser
    // (`islands::mark_hydrated`), so tests can tell a woken page from server-rendered HTML.
    view! {
        <div class="flex min-h-screen flex-col" data-hydrated="false">
            <a
                href="#main"
                class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-accent-700"
            >
                {t("nav.skip")}
            </a>
            <header class="print:hidden border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
                <div class="mx-auto flex max-w-4xl flex-wrap items-center justify-between gap-3 px-4 py-3">
                    <A href="/" attr:class="flex items-center gap-2 text-lg font-semibold text-slate-900 dark:text-white">
                        // Each boundary awaits the resource (`Suspend`) rather than reading it
                        // with `.get()`: one resource read by several boundaries can stall a
                        // server render (leptos issues #4578, #4851).
                        <Transition fallback=|| view! { {shield()} "Latchkey" }>
                            {move || Suspend::new(async move {
                                let info = info.await.ok();
                                let logo = info.as_ref().is_some_and(|i| i.logo);
                                view! {
                                    // The name beside it says what it is: the logo is decoration.
                                    {if logo {
                                        view! { <img src=LOGO_PATH alt="" class="h-7 w-auto max-w-32" /> }.into_any()
                                    } else {
                                        shield().into_any()
                                    }}
                                    {info.map(|i| i.product_name).unwrap_or_else(|| "Latchkey".to_owned())}
                                }
                            })}
                        </Transition>
                    </A>
                    <nav aria-label=t("nav.main") class="flex flex-wrap items-center gap-1 text-sm">
                        <NavLink href="/" label=t("nav.home") />
                        <Transition>
                            {move || Suspend::new(async move {
                                info.await
                                    .ok()
                                    .map(|i| {
                                        view! {
                                            <Show when=move || i.demo_phone>
                                                <NavLink href="/demo/phone" label=t("nav.demo_phone") />
                                            </Show>
                                            {match i.user {
                                                Some(u) => view! {
                                                    <NavLink href="/security" label=t("nav.security") />
                                                    // The status page is an operator's diagnostic:
                                                    // administrators only (machines ask /readyz).
                                                    {u.is_admin.then(|| view! {
                                                        <NavLink href="/admin" label=t("nav.admin") />
                                                        <NavLink href="/status" label=t("nav.status") />
                                                    })}
                                                    <span class="ml-2 rounded-full bg-slate-100 px-3 py-1 text-slate-700 dark:bg-slate-800 dark:text-slate-200" data-testid="signed-in-as">
                                                        <span class="sr-only">{t("nav.signed_in_as")} " "</span>
                                                        {u.display_name}
                                                    </span>
                                                    <ActionForm action=sign_out attr:class="ml-1">
                                                        <Submit pending=sign_out.pending() class="inline-flex items-center rounded-md px-3 py-2 font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white">
                                                            {t("nav.sign_out")}
                                                        </Submit>
                                                    </ActionForm>
                                                }.into_any(),
                                                None => view! { <NavLink href="/sign-in" label=t("nav.sign_in") /> }.into_any(),
                                            }}
                                        }
                                    })
                            })}
                        </Transition>
                    </nav>
                </div>
            </header>
            <main id="main" class="mx-auto w-full max-w-4xl flex-1 px-4 py-8">
                {children()}
            </main>
            <footer class="print:hidden border-t border-slate-200 px-4 py-4 text-xs text-slate-600 dark:border-slate-800 dark:text-slate-400">
                <div class="mx-auto flex max-w-4xl flex-wrap items-center justify-between gap-3">
                    <p>{t("app.tagline")}</p>
                    <LanguageSwitcher />
                </div>
            </footer>
        </div>
    }
}

/// Where the configured logo is served.
pub const LOGO_PATH: &str = "/brand/logo";

fn shield() -> impl IntoView {
    view! {
        <svg aria-hidden="true" viewBox="0 0 24 24" class="h-6 w-6 fill-accent-600 dark:fill-accent-400">
            <path d="M12 1 3 5v6c0 5.6 3.8 10.7 9 12 5.2-1.3 9-6.4 9-12V5z" />
        </svg>
    }
}

#[component]
fn NavLink(href: &'static str, label: &'static str) -> impl IntoView {
    // `A` sets aria-current="page" on the active link; the class follows it.
    view! {
        <A
            href=href
            exact=true
            attr:class="rounded-md px-3 py-2 font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 aria-[current=page]:bg-accent-50 aria-[current=page]:text-accent-700 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white dark:aria-[current=page]:bg-accent-950 dark:aria-[current=page]:text-accent-300"
        >
            {label}
        </A>
    }
}

/// One button per language. A plain form, not an action: the answer is the same page again,
/// rendered in the new language, with or without JavaScript.
#[component]
fn LanguageSwitcher() -> impl IntoView {
    use leptos::server_fn::ServerFn;
    let current = crate::i18n::current();
    view! {
        <form method="post" action=crate::api::SetLanguage::url() class="flex items-center gap-1"
            aria-label=t("nav.language")>
            {Lang::ALL
                .into_iter()
                .map(|lang| {
                    let selected = lang == current;
                    view! {
                        <button type="submit" name="lang" value=lang.code() lang=lang.code()
                            aria-pressed=selected.to_string()
                            class="rounded-md px-2 py-1 font-medium hover:bg-slate-100 aria-pressed:bg-slate-200 aria-pressed:text-slate-900 dark:hover:bg-slate-800 dark:aria-pressed:bg-slate-700 dark:aria-pressed:text-white">
                            {lang.native_name()}
                        </button>
                    }
                })
                .collect_view()}
        </form>
    }
}
