//! Latchkey's pages, components and server functions, shared by the server (SSR) and the
//! browser (hydrate). Behind the `ssr` feature the pages reach the `domain` crate's services
//! through [`state::AppState`].

pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod carried;
pub mod components;
pub mod error;
#[cfg(feature = "ssr")]
pub mod flash;
#[cfg(feature = "ssr")]
pub mod flow;
#[cfg(feature = "ssr")]
pub mod forward_auth;
pub mod i18n;
#[cfg(feature = "ssr")]
pub mod oidc;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode, StaticSegment,
    components::{Route, Router, Routes},
    path,
};

use crate::components::layout::Layout;
use crate::pages::{
    admin::{AdminAuditPage, AdminPeoplePage, AdminPersonPage},
    demo_phone::DemoPhonePage,
    home::HomePage,
    not_found::NotFound,
    security::SecurityPage,
    sign_in::SignInPage,
    status::StatusPage,
};

/// The HTML document around the app; the server renders it for every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // Every text of this response is in this language; the browser reads it back from `lang`.
    let lang = i18n::current();
    provide_context(lang);
    // Islands mode: nothing outside an island is hydrated, so the server writes no hydration
    // markers for it.
    if let Some(shared) = Owner::current_shared_context() {
        shared.set_is_hydrating(false);
    }
    let product_name = site_name();
    // The configured accent, as the one inline style the CSP lets through (by nonce).
    #[cfg(feature = "ssr")]
    let accent = use_context::<state::AppState>().map(|s| s.site.accent_color.clone());
    #[cfg(not(feature = "ssr"))]
    let accent: Option<String> = None;
    let accent_style = accent.map(|colour| {
        view! { <style nonce=leptos::nonce::use_nonce()>{format!(":root{{--brand:{colour}}}")}</style> }
    });
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name="application-name" content=product_name />
                {accent_style}
                <link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E%3Cpath fill='%234f46e5' d='M12 1 3 5v6c0 5.6 3.8 10.7 9 12 5.2-1.3 9-6.4 9-12V5z'/%3E%3C/svg%3E" />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <App />
                <IslandScript options />
            </body>
        </html>
    }
}

/// Wakes the page's islands, and loads the wasm only when the page has one: a page with nothing
/// interactive (the password step, most answers) is HTML and CSS alone. Each `<leptos-island>`
/// names the wasm export that hydrates it (`data-component`); its props are in `data-props`.
#[component]
fn IslandScript(options: LeptosOptions) -> impl IntoView {
    let pkg = format!("/{}/{}", options.site_pkg_dir, options.output_name);
    let script = format!(
        "const islands = document.querySelectorAll('leptos-island');\
         if (islands.length) import('{pkg}.js').then(async (wasm) => {{\
           await wasm.default({{ module_or_path: '{pkg}.wasm' }});\
           wasm.hydrate();\
           for (const island of islands) {{\
             const wake = wasm[island.dataset.component];\
             if (wake) await wake(island);\
             else console.error('no wasm export for the island', island.dataset.component);\
           }}\
         }});"
    );
    view! { <script type="module" nonce=leptos::nonce::use_nonce()>{script}</script> }
}

/// The page's Content-Security-Policy: scripts only with this response's nonce (the hydration
/// script and the resource scripts carry it; the wasm module loads from them), styles from the
/// site plus the one inline accent-colour style (same nonce), nothing from other origins.
/// `app_origins`: the origins of the registered apps' redirect URIs — browsers apply
/// `form-action` to where a form's answer redirects too, so a sign-in posted without
/// JavaScript that ends back at an app must be allowed to go there (and nowhere else).
pub fn content_security_policy(nonce: &str, app_origins: &[String]) -> String {
    let mut form_action = String::from("'self'");
    for origin in app_origins {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action {form_action}"
    )
}

/// The configured product name: from the server's settings, or in the browser from the
/// `application-name` meta tag the server wrote.
pub fn site_name() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<state::AppState>()
            .map(|s| s.site.product_name.clone())
            .unwrap_or_else(|| "Latchkey".to_owned())
    }
    #[cfg(not(feature = "ssr"))]
    {
        #[cfg(target_arch = "wasm32")]
        if let Some(name) = document()
            .query_selector("meta[name=application-name]")
            .ok()
            .flatten()
            .and_then(|meta| meta.get_attribute("content"))
        {
            return name;
        }
        "Latchkey".to_owned()
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) =
        (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
        && let Ok(value) = axum::http::HeaderValue::from_str(&content_security_policy(
            &nonce,
            use_context::<state::AppState>().as_ref().map_or(&[], |s| s.oidc.app_origins()),
        ))
    {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }

    // Read here, not in the formatter: `<MetaTags>` may call it after the request's owner (and
    // so the server state in its context) is gone, which gave the default name now and then.
    let name = site_name();
    view! {
        <Stylesheet id="leptos" href="/pkg/latchkey.css" />
        <Title formatter=move |page: String| format!("{page} · {name}") />
        <Router>
            <Layout>
                // Async rendering: the server waits for a page's data and sends it in place.
                // Out-of-order streaming would need JavaScript to move it there, and every page
                // must work without JavaScript; it also lets data decide the status (404).
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=HomePage ssr=SsrMode::Async />
                    <Route path=StaticSegment("status") view=StatusPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("sign-in") view=SignInPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("security") view=SecurityPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("admin") view=AdminPeoplePage ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view=AdminAuditPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/person/:id") view=AdminPersonPage ssr=SsrMode::Async />
                    <Route path=path!("/demo/phone") view=DemoPhonePage ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}
