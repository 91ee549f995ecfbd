//! A message on a page, already worded (the wire form every page's view carries): problems
//! interrupt (`alert`), good news waits its turn (`status`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A message on the page, already worded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeView {
    pub id: String,
    pub text: String,
    pub error: bool,
}

/// The ARIA role and the classes of a notice.
pub fn notice_style(error: bool) -> (&'static str, &'static str) {
    if error {
        (
            "alert",
            "rounded-lg bg-red-50 p-3 text-sm text-red-800 ring-1 ring-inset ring-red-600/20 dark:bg-red-950 dark:text-red-200",
        )
    } else {
        (
            "status",
            "rounded-lg bg-emerald-50 p-3 text-sm text-emerald-900 ring-1 ring-inset ring-emerald-600/20 dark:bg-emerald-950 dark:text-emerald-200",
        )
    }
}

/// The page's notice, if it has one; `data-notice` carries the message id for tests.
pub fn notice_box(n: Option<NoticeView>) -> impl IntoView {
    n.map(|n| {
        let (role, class) = notice_style(n.error);
        // `notice` is what an invalid field's aria-describedby names; focusable for the focus mover.
        view! {
            <div id="notice" tabindex="-1" role=role class=class data-notice=n.id>{n.text}</div>
            <crate::components::islands::FocusAfterAnswer />
        }
    })
}
