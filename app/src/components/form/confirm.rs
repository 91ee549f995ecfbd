use leptos::prelude::*;

use super::style::CARD;

/// "Are you sure?": a card that is an `alertdialog`, named by its title and described by its
/// text; `children` are its buttons (the safe one should take the focus).
#[component]
pub fn Confirm(
    /// The id prefix: the title is `{id}-title`, the text `{id}-text`.
    id: &'static str,
    #[prop(into)] title: String,
    #[prop(into)] text: String,
    /// `data-step`, which the tests look for.
    step: &'static str,
    children: Children,
) -> impl IntoView {
    let (title_id, labelled_by) = (format!("{id}-title"), format!("{id}-title"));
    let (text_id, described_by) = (format!("{id}-text"), format!("{id}-text"));
    view! {
        <section class=format!("{CARD} ring-2 ring-red-500") role="alertdialog"
            aria-labelledby=labelled_by aria-describedby=described_by data-step=step>
            <h2 id=title_id class="text-lg font-semibold">{title}</h2>
            <p id=text_id class="mt-1 text-sm text-slate-700 dark:text-slate-300">{text}</p>
            <div class="mt-4 flex flex-wrap gap-2">{children()}</div>
        </section>
    }
}
