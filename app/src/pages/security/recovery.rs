//! Recovery codes on the security page: how many are left, and a new set. A new set is shown
//! exactly once: sealed into the session by the post that made it, taken out by the next page
//! view, never stored in the clear.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::form::{Card, PRIMARY, SECONDARY, Submit};
use crate::components::time::LocalTime;
use crate::error::AppError;
use crate::i18n::{Words, t, t_n};

/// The person's recovery codes as the page tells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryItem {
    /// Unused codes of the current set.
    pub remaining: u32,
    /// When the current set was made; `None`: the person has none yet.
    pub created_at: Option<i64>,
}

/// A set just made, on the one page view that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownCodes {
    pub codes: Vec<String>,
    /// The person's login, named in the downloaded file.
    pub account: String,
}

/// Percent-encodes all but RFC 3986's unreserved characters: a query value, a path segment, a
/// `data:` URL's text.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use tower_sessions::Session;

    use super::{RecoveryItem, ShownCodes};
    use crate::auth::{SESSION_RECOVERY_SHOW_KEY, state, take};
    use crate::error::AppError;
    use crate::pages::security::act::{Ctx, unavailable};
    use domain::authenticated::Authenticated;
    use domain::authenticator::RecoveryStatus;
    use domain::notice::Notice;
    use domain::security::SecurityError;

    pub fn item(r: RecoveryStatus) -> RecoveryItem {
        RecoveryItem { remaining: r.remaining, created_at: r.created_at }
    }

    /// A new set (the old one void), sealed for the next page view to show.
    pub async fn make(ctx: &Ctx, user: &Authenticated) -> Result<Option<Notice>, SecurityError> {
        let security = &state().security;
        let codes = security.new_recovery_codes(&ctx.client, user).await?;
        let sealed = security.seal_codes(user, &codes)?;
        ctx.session.insert(SESSION_RECOVERY_SHOW_KEY, sealed).await.map_err(unavailable)?;
        Ok(Some(Notice::info("security.recovery.made")))
    }

    /// The set just made, taken from the session: shown by this page view only.
    pub async fn take_shown(
        session: &Session,
        user: &Authenticated,
    ) -> Result<Option<ShownCodes>, AppError> {
        let Some(sealed) = take::<String>(session, SESSION_RECOVERY_SHOW_KEY).await? else {
            return Ok(None);
        };
        let codes = state().security.open_codes(user, &sealed);
        Ok((!codes.is_empty()).then(|| ShownCodes { codes, account: user.login.clone() }))
    }
}

/// "Get new recovery codes": needs a recent sign-in; the set is shown on the page it returns to.
#[server(endpoint = "security_recovery_new")]
pub async fn recovery_new() -> Result<(), AppError> {
    use super::act::{Then, act};
    act(Some(Then::NewRecoveryCodes), |ctx| async move { server::make(&ctx, &ctx.user).await })
        .await
}

/// "I have saved them": back to the page (the set was already taken from the session).
#[server(endpoint = "security_recovery_saved")]
pub async fn recovery_saved() -> Result<(), AppError> {
    super::act::act(None, |ctx| async move {
        crate::auth::take::<String>(&ctx.session, crate::auth::SESSION_RECOVERY_SHOW_KEY)
            .await
            .map_err(|_| domain::security::SecurityError::Unavailable)?;
        Ok(None)
    })
    .await
}

crate::components::actions::page_actions! {
    /// The recovery codes' actions; any of them finishing reloads the security page.
    pub(super) struct RecoveryActions {
        new: RecoveryNew,
        saved: RecoverySaved,
    }
}

impl RecoveryActions {
    pub(super) fn create() -> Self {
        Self::new()
    }

    /// Changes whenever one of them finishes.
    pub(super) fn finished(&self) -> usize {
        self.versions()
    }
}

/// "Recovery codes": how many are left, and a new set.
pub(super) fn recovery_card(r: RecoveryItem, a: RecoveryActions) -> AnyView {
    view! {
        <Card labelled_by="recovery-title">
            <h2 id="recovery-title" class="text-lg font-semibold">{t("security.recovery.title")}</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{t("security.recovery.text")}</p>
            <p class="mt-3 text-sm" data-recovery-remaining=r.remaining.to_string()>
                {match r.created_at {
                    Some(at) => view! {
                        <span class="font-medium">{t_n("security.recovery.left", r.remaining)}</span>
                        " · " {t("security.recovery.made_on")} " " <LocalTime unix_ms=at * 1000 />
                    }
                    .into_any(),
                    None => t("security.recovery.none").into_any(),
                }}
            </p>
            <p id="recovery-voids" class="mt-3 text-sm text-slate-600 dark:text-slate-300">{t("security.recovery.voids")}</p>
            <ActionForm action=a.new attr:class="mt-2">
                <Submit pending=a.new.pending() class=PRIMARY attr:data-action="new-recovery-codes"
                    attr:aria-describedby="recovery-voids">
                    {t("security.recovery.generate")}
                </Submit>
            </ActionForm>
        </Card>
    }
    .into_any()
}

/// The new set, once: download, print and copy, then back to the page. Printed, only the codes
/// and their heading show.
pub(super) fn codes_panel(shown: ShownCodes, a: RecoveryActions) -> AnyView {
    let text = shown.codes.join("\n");
    let file = format!("{}\n\n{text}\n", t_n("security.recovery.file_heading", &shown.account));
    let download = format!("data:text/plain;charset=utf-8,{}", percent_encode(&file));
    view! {
        <Card labelled_by="codes-title" extra="ring-2 ring-accent-500 print:shadow-none print:ring-0">
            <h2 id="codes-title" class="text-lg font-semibold">{t("security.recovery.shown_title")}</h2>
            <p class="mt-1 text-sm text-slate-700 dark:text-slate-300">{t("security.recovery.shown_text")}</p>
            <p class="mt-1 hidden text-sm print:block">{shown.account.clone()}</p>
            <ol class="mt-4 grid grid-cols-2 gap-x-8 gap-y-2 font-mono text-lg sm:max-w-md" data-testid="recovery-codes" data-step="recovery-codes">
                {shown.codes.into_iter().map(|code| view! { <li data-recovery-code=code.clone()>{code.clone()}</li> }).collect_view()}
            </ol>
            <div class="mt-4 flex flex-wrap items-center gap-2 print:hidden">
                <a href=download download="recovery-codes.txt" class=SECONDARY data-action="download-recovery-codes">
                    {t("security.recovery.download")}
                </a>
                <RecoveryCodeTools text words=Words::of(&[
                    "security.recovery.print_hint",
                    "security.recovery.print",
                    "security.recovery.copy",
                    "security.recovery.copied",
                    "security.recovery.copy_failed",
                ]) />
            </div>
            <ActionForm action=a.saved attr:class="mt-4 border-t border-slate-200 pt-3 print:hidden dark:border-slate-800">
                <Submit pending=a.saved.pending() class=PRIMARY attr:data-action="recovery-codes-saved">
                    {t("security.recovery.saved")}
                </Submit>
            </ActionForm>
        </Card>
    }
    .into_any()
}

/// Print and Copy for the new codes: they need JavaScript, so they appear with it; before that
/// (and without it) a hint says how to print.
#[island]
fn RecoveryCodeTools(text: String, words: Words) -> impl IntoView {
    let (awake, set_awake) = signal(false);
    Effect::new(move |_| {
        crate::components::islands::mark_hydrated();
        set_awake.set(true);
    });
    let copied = RwSignal::new(None::<bool>);
    let hint = words.get("security.recovery.print_hint");
    let (print, copy_label) =
        (words.get("security.recovery.print"), words.get("security.recovery.copy"));
    view! {
        <Show when=move || awake.get()
            fallback=move || view! { <p class="text-sm text-slate-600 dark:text-slate-300">{hint.clone()}</p> }>
            <button type="button" class=SECONDARY data-action="print-recovery-codes" on:click=|_| print_page()>{print.clone()}</button>
            <button type="button" class=SECONDARY data-action="copy-recovery-codes" on:click={
                let text = text.clone();
                move |_| copy(text.clone(), copied)
            }>{copy_label.clone()}</button>
        </Show>
        <p class="text-sm" role="status">
            {move || copied.get().map(|ok| {
                words.get(if ok { "security.recovery.copied" } else { "security.recovery.copy_failed" })
            })}
        </p>
    }
}

#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
fn print_page() {
    let _ = window().print();
}

#[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
fn copy(text: String, copied: RwSignal<Option<bool>>) {
    let promise = window().navigator().clipboard().write_text(&text);
    leptos::task::spawn_local(async move {
        // Refused without a secure context or the person's permission.
        let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
        copied.set(Some(ok));
    });
}

#[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
fn print_page() {}

#[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
fn copy(_text: String, _copied: RwSignal<Option<bool>>) {}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("AB12-_.~"), "AB12-_.~");
        assert_eq!(percent_encode("a b\n#%&ñ"), "a%20b%0A%23%25%26%C3%B1");
    }
}
