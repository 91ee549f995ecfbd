//! The start page: the signed-in person's security checkup — 2-step sign-in, each kind of
//! credential with a count, the last sign-in (when, how, from where), remembered browsers, apps
//! signed in to, and the one thing most worth doing when something is weak — each line a link
//! to the part of the security page where it is changed; or an invitation to sign in. Links
//! only, no island of its own: it reads the same without JavaScript.

mod api;

pub use api::*;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::SignedInUser;
use crate::components::form::{PAGE_CARD, PRIMARY};
use crate::components::layout::SiteInfoResource;
use crate::components::time::LocalTime;
use crate::error::AppError;
use crate::i18n::{t, t_n};

/// A line of the checkup: the whole line is the link.
const ROW: &str = "flex items-center justify-between gap-4 rounded-lg px-3 py-3 hover:bg-slate-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-accent-600 dark:hover:bg-slate-800";
const LIST: &str = "mt-2 divide-y divide-slate-200 dark:divide-slate-800";
const SUBHEAD: &str = "mt-8 text-lg font-semibold";

#[component]
pub fn HomePage() -> impl IntoView {
    let info = expect_context::<SiteInfoResource>();
    let checkup = Resource::new(|| (), |_| load_checkup());
    view! {
        <Title text=t("home.title") />
        <section class=PAGE_CARD>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match info.await.ok().and_then(|i| i.user) {
                        Some(user) => signed_in(user, checkup.await).into_any(),
                        None => signed_out().into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// "with your password and a code sent by text message", for a sign-in's `method`.
fn method_text(method: &str) -> &'static str {
    match method {
        "password_and_sms" => t("home.method.password_and_sms"),
        "password_and_call" => t("home.method.password_and_call"),
        "password_and_new_phone" => t("home.method.password_and_new_phone"),
        "password_and_remembered_browser" => t("home.method.password_and_remembered_browser"),
        "password_and_app" => t("home.method.password_and_app"),
        "password_and_recovery_code" => t("home.method.password_and_recovery_code"),
        _ => t("home.method.password"),
    }
}

fn signed_in(user: SignedInUser, checkup: Result<Option<CheckupView>, AppError>) -> impl IntoView {
    let body = match checkup {
        Ok(Some(c)) => checkup_view(c).into_any(),
        // Signed out between the two reads: the greeting alone.
        Ok(None) => ().into_any(),
        Err(e) => view! {
            <p role="alert" class="mt-6 text-sm text-red-700 dark:text-red-300" data-notice=e.id.clone()>{e.text()}</p>
        }
        .into_any(),
    };
    view! {
        <h1 class="text-2xl font-semibold tracking-tight" data-testid="home-greeting">
            {t("home.signed_in_title").replace("{name}", &user.display_name)}
        </h1>
        // How this session signed in, for tests and tools (the checkup shows the newest sign-in).
        <p class="mt-2 max-w-prose text-slate-600 dark:text-slate-300" data-method=user.method>
            {t("home.checkup.intro")}
        </p>
        {body}
    }
}

/// One line: its title, what it says now, and `#anchor` on the security page.
fn row(item: &'static str, anchor: &'static str, title: &'static str, value: AnyView) -> AnyView {
    view! {
        <li>
            <a href=format!("/security#{anchor}") class=ROW data-checkup=item>
                <span class="min-w-0">
                    <span class="block font-medium">{title}</span>
                    <span class="block text-sm text-slate-600 dark:text-slate-300">{value}</span>
                </span>
                <span aria-hidden="true" class="text-xl leading-none text-slate-500 dark:text-slate-400">"›"</span>
            </a>
        </li>
    }
    .into_any()
}

/// `n` as "None", "1 …" or "{n} …" (each worded by the caller), with `data-count` for the
/// tests.
fn count(n: u32, none: &str, one: &str, many: String) -> AnyView {
    let text = match n {
        0 => none.to_owned(),
        1 => one.to_owned(),
        _ => many,
    };
    view! { <span data-count=n.to_string()>{text}</span> }.into_any()
}

fn phones(n: u32) -> AnyView {
    let many = t_n("home.checkup.phones.many", n);
    count(n, t("home.checkup.phones.none"), t("home.checkup.phones.one"), many)
}

fn apps(n: u32) -> AnyView {
    let many = t_n("home.checkup.apps.many", n);
    count(n, t("home.checkup.apps.none"), t("home.checkup.apps.one"), many)
}

fn recovery_codes(n: u32) -> AnyView {
    let many = t_n("home.checkup.recovery.many", n);
    count(n, t("home.checkup.recovery.none"), t("home.checkup.recovery.one"), many)
}

fn browsers(n: u32) -> AnyView {
    let many = t_n("home.checkup.browsers.many", n);
    count(n, t("home.checkup.browsers.none"), t("home.checkup.browsers.one"), many)
}

fn checkup_view(c: CheckupView) -> impl IntoView {
    let two_factor = view! {
        <span data-state=if c.two_factor_on { "on" } else { "off" }>
            {match (c.two_factor_on, c.authenticators.unwrap_or(0) > 0) {
                (true, true) => t("security.two_factor.on_with_apps"),
                (true, false) => t("security.two_factor.on"),
                (false, _) => t("security.two_factor.off"),
            }}
        </span>
    }
    .into_any();
    let unverified = c.phones.saturating_sub(c.usable_phones);
    let phone_line = view! {
        {phones(c.phones)}
        {(unverified > 0).then(|| view! {
            " · " <span data-unverified=unverified.to_string()>{t_n("home.checkup.phones.unverified", unverified)}</span>
        })}
    }
    .into_any();
    let authenticators = c.authenticators.map(|n| {
        row("authenticators", "authenticators-title", t("security.authenticator.title"), apps(n))
    });
    let recovery = c.recovery.map(|r| {
        let value = match (r.created_at, r.remaining) {
            (None, _) => recovery_codes(0),
            (Some(_), 0) => {
                view! { <span data-count="0">{t("home.checkup.recovery.used_up")}</span> }
                    .into_any()
            }
            (Some(_), n) => recovery_codes(n),
        };
        row("recovery", "recovery-title", t("security.recovery.title"), value)
    });
    let signed_in_apps =
        c.apps.map(|n| row("apps", "apps-title", t("security.apps.title"), apps(n)));
    view! {
        {suggestion(c.suggestion.as_deref())}
        <h2 id="checkup-ways" class=SUBHEAD>{t("home.checkup.ways")}</h2>
        <ul class=LIST aria-labelledby="checkup-ways">
            {row("two-factor", "two-factor-title", t("security.two_factor.title"), two_factor)}
            {row("phones", "phones-title", t("security.phones.title"), phone_line)}
            {authenticators}
            {recovery}
        </ul>
        <h2 id="checkup-where" class=SUBHEAD>{t("home.checkup.where")}</h2>
        <ul class=LIST aria-labelledby="checkup-where">
            {row("last-sign-in", "activity-title", t("home.checkup.last_sign_in"), last_sign_in(c.last_sign_in))}
            {row(
                "browsers",
                "browsers-title",
                t("security.browsers.title"),
                browsers(c.browsers),
            )}
            {signed_in_apps}
        </ul>
    }
}

/// When, how and from where, as the activity log recorded the newest sign-in.
fn last_sign_in(last: Option<LastSignInItem>) -> AnyView {
    let Some(l) = last else {
        return t("home.checkup.last_sign_in.none").into_any();
    };
    let from = t("home.checkup.from").replace("{browser}", &l.browser).replace("{ip}", &l.ip);
    view! {
        <span data-last-method=l.method.clone() data-last-ip=l.ip.clone()>
            <LocalTime unix_ms=l.at * 1000 /> ", " {method_text(&l.method)} "."
        </span>
        <span class="block">{from}</span>
    }
    .into_any()
}

/// The one suggestion (its text and a link to where it is done), or a word that nothing is
/// weak.
fn suggestion(name: Option<&str>) -> AnyView {
    let Some(name) = name else {
        return view! {
            <p class="mt-6 rounded-xl bg-emerald-50 p-4 text-sm text-emerald-900 ring-1 ring-emerald-200 dark:bg-emerald-950 dark:text-emerald-100 dark:ring-emerald-800"
                data-suggestion="none">
                {t("home.suggest.none")}
            </p>
        }
        .into_any();
    };
    let (text, link, anchor) = match name {
        "turn_on_two_factor" => (
            t("home.suggest.turn_on_two_factor"),
            t("home.suggest.turn_on_two_factor.link"),
            "two-factor-title",
        ),
        "add_phone_for_two_factor" => {
            (t("home.suggest.add_phone_for_two_factor"), t("security.add.button"), "phones-title")
        }
        "get_recovery_codes" => (
            t("home.suggest.get_recovery_codes"),
            t("home.suggest.get_recovery_codes.link"),
            "recovery-title",
        ),
        "add_app" => {
            (t("home.suggest.add_app"), t("security.authenticator.add"), "authenticators-title")
        }
        _ => (t("home.suggest.add_second_phone"), t("security.add.button"), "phones-title"),
    };
    view! {
        <section class="mt-6 rounded-xl bg-amber-50 p-4 ring-1 ring-amber-200 dark:bg-amber-950 dark:ring-amber-800"
            aria-labelledby="suggestion-title" data-suggestion=name.to_owned()>
            <h2 id="suggestion-title" class="font-semibold text-amber-950 dark:text-amber-50">{t("home.suggest.title")}</h2>
            <p class="mt-1 max-w-prose text-sm text-amber-950 dark:text-amber-50">{text}</p>
            <a href=format!("/security#{anchor}") class=format!("mt-3 {PRIMARY}") data-action="suggestion">{link}</a>
        </section>
    }
    .into_any()
}

fn signed_out() -> impl IntoView {
    view! {
        <h1 class="text-2xl font-semibold tracking-tight">{t("home.title")}</h1>
        <p class="mt-3 max-w-prose text-slate-600 dark:text-slate-300">{t("home.intro")}</p>
        <A href="/sign-in" attr:class=format!("mt-6 {PRIMARY}")>{t("home.sign_in")}</A>
    }
}
