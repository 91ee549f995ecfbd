use leptos::prelude::*;

use super::style::CARD;

/// A section of a page, named by its heading (`labelled_by`, the heading's id) when it has one.
#[component]
pub fn Card(
    #[prop(optional)] labelled_by: Option<&'static str>,
    /// Classes added to the card's own (a ring that marks it, say).
    #[prop(optional)]
    extra: &'static str,
    children: Children,
) -> impl IntoView {
    let class = if extra.is_empty() { CARD.to_owned() } else { format!("{CARD} {extra}") };
    view! { <section class=class aria-labelledby=labelled_by>{children()}</section> }
}
