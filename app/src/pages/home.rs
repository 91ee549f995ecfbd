//! The start page: who is signed in and how, or an invitation to sign in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::SignedInUser;
use crate::components::form::{PAGE_CARD, PRIMARY};
use crate::components::layout::SiteInfoResource;
use crate::components::time::LocalTime;
use crate::i18n::t;

#[component]
pub fn HomePage() -> impl IntoView {
    let info = expect_context::<SiteInfoResource>();
    view! {
        <Title text=t("home.title") />
        <section class=PAGE_CARD>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match info.await.ok().and_then(|i| i.user) {
                        Some(user) => signed_in(user).into_any(),
                        None => signed_out().into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

fn signed_in(user: SignedInUser) -> impl IntoView {
    let method = match user.method.as_str() {
        "password_and_sms" => t("home.method.password_and_sms"),
        "password_and_new_phone" => t("home.method.password_and_new_phone"),
        "password_and_remembered_browser" => t("home.method.password_and_remembered_browser"),
        "password_and_app" => t("home.method.password_and_app"),
        "password_and_recovery_code" => t("home.method.password_and_recovery_code"),
        _ => t("home.method.password"),
    };
    view! {
        <h1 class="text-2xl font-semibold tracking-tight" data-testid="home-greeting">
            {t("home.signed_in_title").replace("{name}", &user.display_name)}
        </h1>
        <p class="mt-3 max-w-prose text-slate-600 dark:text-slate-300" data-method=user.method.clone()>
            {t("home.last_sign_in")} " " <LocalTime unix_ms=user.signed_in_at * 1000 time_only=true /> ", " {method} "."
        </p>
        <A href="/security" attr:class=format!("mt-6 {PRIMARY}")>{t("home.security_link")}</A>
    }
}

fn signed_out() -> impl IntoView {
    view! {
        <h1 class="text-2xl font-semibold tracking-tight">{t("home.title")}</h1>
        <p class="mt-3 max-w-prose text-slate-600 dark:text-slate-300">{t("home.intro")}</p>
        <A href="/sign-in" attr:class=format!("mt-6 {PRIMARY}")>{t("home.sign_in")}</A>
    }
}
