//! A form's submit button that shows it is waiting: while its action is on the network (hydrated)
//! it is disabled and spins, so nobody clicks twice or wonders whether anything happened.

use leptos::prelude::*;

use crate::i18n::t;

#[component]
pub fn Submit(
    /// The action's `pending()`.
    #[prop(into)]
    pending: Signal<bool>,
    /// Its look: one of the roles in [`crate::components::form::style`], or its own.
    #[prop(into)]
    class: String,
    children: Children,
) -> impl IntoView {
    view! {
        <button type="submit" class=format!("{class} gap-2") disabled=move || pending.get()>
            <Show when=move || pending.get()>
                <svg aria-hidden="true" viewBox="0 0 24 24" fill="none"
                    class="h-4 w-4 animate-spin motion-reduce:animate-none" data-testid="busy">
                    <circle cx="12" cy="12" r="10" stroke="currentColor" stroke-width="4" class="opacity-25" />
                    <path d="M4 12a8 8 0 0 1 8-8v4a4 4 0 0 0-4 4z" fill="currentColor" class="opacity-75" />
                </svg>
                <span class="sr-only">{t("sign_in.working")}</span>
            </Show>
            {children()}
        </button>
    }
}
