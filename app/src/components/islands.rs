//! The small interactive parts every page may carry, as islands: the only components whose code
//! reaches the browser (with the page-specific islands: the resend countdown, the status check,
//! the recovery codes' Print and Copy, the demo inbox). Each works on top of server-rendered
//! HTML that is already complete without JavaScript.

use leptos::prelude::*;

/// Tells tests (and the curious) that this page's islands have woken: the layout's
/// `data-hydrated` turns `true` once any island has run in the browser.
pub fn mark_hydrated() {
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    if let Ok(Some(element)) = document().query_selector("[data-hydrated]") {
        let _ = element.set_attribute("data-hydrated", "true");
    }
}

/// Dates and times in the reader's own locale and zone: rewrites every `<time data-local>` the
/// server wrote in UTC (see [`crate::components::time::LocalTime`]). Every date brings one (an
/// empty element with no props); the first to wake does them all and leaves the others nothing.
#[island]
pub fn LocalTimes() -> impl IntoView {
    Effect::new(move |_| {
        mark_hydrated();
        localise_times();
    });
}

#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
fn localise_times() {
    let Ok(times) = document().query_selector_all("time[data-local]") else {
        return;
    };
    for i in 0..times.length() {
        let Some(element) =
            times.item(i).and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
        else {
            continue;
        };
        let unix_ms = element.get_attribute("data-local").and_then(|v| v.parse::<i64>().ok());
        let time_only = element.has_attribute("data-time-only");
        if let Some(text) =
            unix_ms.and_then(|ms| crate::components::time::browser_text(ms, time_only))
        {
            element.set_text_content(Some(&text));
        }
    }
}

#[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
fn localise_times() {}

/// After a form's answer the page arrives with a notice: unless the focus is already on
/// something, it goes to the first invalid field, else to the field the new step starts with,
/// else to the notice, so a screen reader says what happened and typing continues in the right
/// place. `autofocus` in the HTML does the first two as the page loads, with or without
/// JavaScript; the island never takes the focus from where a person has moved it.
#[island]
pub fn FocusAfterAnswer() -> impl IntoView {
    Effect::new(move |_| {
        mark_hydrated();
        focus_where_needed();
    });
}

#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
fn focus_where_needed() {
    use wasm_bindgen::JsCast;
    let doc = document();
    // The wasm wakes a moment after the page: if the focus is already somewhere (an
    // `autofocus` field, or where the person has tabbed and started typing), it stays there.
    if doc.active_element().is_some_and(|e| e.tag_name() != "BODY") {
        return;
    }
    let target = ["main [aria-invalid=\"true\"]", "main [autofocus]", "main #notice"]
        .into_iter()
        .find_map(|selector| doc.query_selector(selector).ok().flatten());
    if let Some(element) = target.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}

#[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
fn focus_where_needed() {}

/// "Rename" on the security page: each phone's and app's name field opens in place under a `<details>`,
/// which needs no JavaScript. Awake, opening one puts the focus in its field, and Cancel (shown
/// only now) or Escape closes it and gives the focus back to "Rename".
#[island]
pub fn RenameFocus() -> impl IntoView {
    Effect::new(move |_| {
        mark_hydrated();
        wire_renames();
    });
}

#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
fn wire_renames() {
    use wasm_bindgen::{JsCast, closure::Closure};
    let focus = |within: &web_sys::Element, selector: &str| {
        let found = within.query_selector(selector).ok().flatten();
        if let Some(element) = found.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    };
    let Ok(all) = document().query_selector_all("details[data-rename]") else {
        return;
    };
    for i in 0..all.length() {
        let Some(details) = all.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) else {
            continue;
        };
        if let Ok(Some(cancel)) = details.query_selector("[data-rename-cancel]") {
            let _ = cancel.remove_attribute("hidden");
        }
        let opened = {
            let details = details.clone();
            Closure::<dyn Fn()>::new(move || {
                if details.has_attribute("open") {
                    focus(&details, "input[type=text]");
                }
            })
        };
        let _ = details.add_event_listener_with_callback("toggle", opened.as_ref().unchecked_ref());
        opened.forget();
        let closed = {
            let details = details.clone();
            Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
                let target = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
                let cancel = target
                    .is_some_and(|t| t.closest("[data-rename-cancel]").ok().flatten().is_some());
                let escape = event
                    .dyn_ref::<web_sys::KeyboardEvent>()
                    .is_some_and(|key| key.key() == "Escape");
                if (cancel && event.type_() == "click") || escape {
                    event.prevent_default();
                    let _ = details.remove_attribute("open");
                    focus(&details, "summary");
                }
            })
        };
        for kind in ["click", "keydown"] {
            let _ = details.add_event_listener_with_callback(kind, closed.as_ref().unchecked_ref());
        }
        closed.forget();
    }
}

#[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
fn wire_renames() {}

/// Calls a server function that takes no arguments (`POST` to its URL, as leptos's client
/// would) and reads its JSON answer; `None` when the request or the answer failed. A hand-written
/// `fetch` rather than the server-function client: the wasm then carries no client, form
/// encoding or URL library, which is most of what it would weigh.
#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
pub async fn call_server<T: serde::de::DeserializeOwned>(url: &str) -> Option<T> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().ok()?;
    headers.set("Accept", "application/json").ok()?;
    headers.set("Content-Type", "application/x-www-form-urlencoded").ok()?;
    init.set_headers(&headers);
    let answer = JsFuture::from(window().fetch_with_str_and_init(url, &init)).await.ok()?;
    let response: web_sys::Response = answer.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    let text = JsFuture::from(response.text().ok()?).await.ok()?.as_string()?;
    serde_json::from_str(&text).ok()
}

/// Outside the browser there is no server to call from an island.
#[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
pub async fn call_server<T: serde::de::DeserializeOwned>(_url: &str) -> Option<T> {
    None
}
