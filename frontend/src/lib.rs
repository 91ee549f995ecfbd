//! The browser half: wake the page's islands (`#[island]` components in `app`); the rest of
//! every page is server-rendered HTML that needs no wasm.

// Linked for its islands: each is a wasm-bindgen export the island script calls by name.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
