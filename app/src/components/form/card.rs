use leptos::prelude::*;

use super::style::CARD;
use crate::error::AppError;

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

/// Why the page cannot be shown (signed out, not an administrator, an outage), as a card; its
/// message id in `data-notice` for the tests.
pub fn refusal(e: AppError) -> AnyView {
    view! { <p role="alert" class=CARD data-notice=e.id.clone()>{e.text()}</p> }.into_any()
}
