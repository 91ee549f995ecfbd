//! Where the keyboard focus goes after a form on the page was answered in place (hydrated).
//! Without JavaScript every answer is a page load, and `autofocus` in the server's HTML does it.

use leptos::prelude::*;

/// Once `answered` turns true (an action of the page finished and its data came back), moves
/// the focus to the first invalid field, else to the field the new step starts with, else to the page's
/// notice — so a screen reader says what happened and typing continues in the right place.
pub fn focus_after_answer(answered: impl Fn() -> bool + 'static) {
    Effect::new(move |_| {
        if answered() {
            // After this tick's render, so the new step's fields exist.
            request_animation_frame(focus_where_needed);
        }
    });
}

#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
fn focus_where_needed() {
    use wasm_bindgen::JsCast;
    let doc = document();
    let target = ["main [aria-invalid=\"true\"]", "main [autofocus]", "main #notice"]
        .into_iter()
        .find_map(|selector| doc.query_selector(selector).ok().flatten());
    if let Some(element) = target.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}

#[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
fn focus_where_needed() {}
