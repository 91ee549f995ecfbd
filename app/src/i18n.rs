//! The message catalog as the pages use it: the catalogs, ids and languages are the
//! `messages` crate's (shared with the domain, which writes texts); this module adds the
//! language of the page or request being answered and the lookups that follow it.

pub use messages::{LANG_COOKIE, Lang, MessageId, has, t_in};

/// The language of the page being rendered or the request being answered.
///
/// On the server it comes from the request (a context the shell provides, or the headers); in
/// the browser from `<html lang>`, which the server wrote, so hydration renders the same words.
pub fn current() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        if let Some(lang) = use_context::<Lang>() {
            return lang;
        }
        leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| {
            request_lang(&parts.headers)
        })
        .unwrap_or_default()
    }
    #[cfg(all(not(feature = "ssr"), target_arch = "wasm32"))]
    {
        thread_local! {
            static PAGE_LANG: Lang = leptos::prelude::document()
                .document_element()
                .and_then(|html| html.get_attribute("lang"))
                .and_then(|tag| Lang::from_tag(&tag))
                .unwrap_or_default();
        }
        PAGE_LANG.with(|l| *l)
    }
    #[cfg(all(not(feature = "ssr"), not(target_arch = "wasm32")))]
    {
        Lang::default()
    }
}

/// The language a request asks for.
#[cfg(feature = "ssr")]
pub fn request_lang(headers: &axum::http::HeaderMap) -> Lang {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    Lang::from_headers(
        header(axum::http::header::COOKIE),
        header(axum::http::header::ACCEPT_LANGUAGE),
    )
}

/// The wording of `id` in the current language.
pub fn t(id: &str) -> &'static str {
    t_in(current(), id)
}

/// The texts an island shows, worded on the server in the page's language and passed as a prop:
/// the catalog (every text of every language) then never reaches the wasm.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Words(Vec<(String, String)>);

impl Words {
    /// The wording of each of `ids` in the current language.
    pub fn of(ids: &[&str]) -> Self {
        Self(ids.iter().map(|id| ((*id).to_owned(), t(id).to_owned())).collect())
    }

    /// The wording of `id` (empty if it was not asked for: a mistake the tests catch).
    pub fn get(&self, id: &str) -> String {
        self.0.iter().find(|(k, _)| k == id).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// The wording of `id` with `{n}` replaced by `n`.
    pub fn get_n(&self, id: &str, n: impl std::fmt::Display) -> String {
        self.get(id).replace("{n}", &n.to_string())
    }
}

/// The wording of `id` with `{n}` replaced by `n`.
pub fn t_n(id: &str, n: impl std::fmt::Display) -> String {
    t(id).replace("{n}", &n.to_string())
}

/// "Try again in …" for a wait in seconds, in seconds or (from two minutes) minutes.
pub fn wait_text(secs: i64) -> String {
    match secs {
        ..=1 => t("sign_in.wait_one").to_owned(),
        2..120 => t_n("sign_in.wait", secs),
        _ => t_n("sign_in.wait_minutes", (secs + 59) / 60),
    }
}

/// An audit event in words ("Sign-in code texted", "Password entered (refused)"); the kind and
/// outcome codes themselves for a kind the catalog does not describe.
pub fn activity(kind: &str, outcome: &str) -> String {
    let id = format!("activity.{kind}");
    if !has(&id) {
        return format!("{kind} ({outcome})");
    }
    let text = t(&id);
    if matches!(outcome, "rejected" | "failed" | "throttled") {
        format!("{text} ({})", t("activity.refused"))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every id the code names (`t("…")`, `t_n("…", …)`, `id: "…"`) is in the catalog.
    #[test]
    fn every_id_the_code_uses_exists() {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut stack = vec![std::path::PathBuf::from(src)];
        let mut unknown = Vec::new();
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("i18n.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in ["t(\"", "t_n(\""] {
                for (i, _) in text.match_indices(call) {
                    let before = text[..i].chars().last();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let rest = &text[i + call.len()..];
                    let id = &rest[..rest.find('"').unwrap()];
                    if !has(id) {
                        unknown.push(format!("{}: {id}", path.display()));
                    }
                }
            }
        }
        assert!(unknown.is_empty(), "ids missing from the catalog: {unknown:#?}");
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_text(1), "Try again in a second.");
        assert_eq!(wait_text(0), "Try again in a second.");
        assert_eq!(wait_text(90), "Try again in 90 seconds.");
        assert_eq!(wait_text(900), "Try again in 15 minutes.");
        assert_eq!(wait_text(121), "Try again in 3 minutes.");
    }

    #[test]
    fn lookup_follows_the_current_language() {
        assert_eq!(t("status.ok"), "Working");
        assert_eq!(t_n("sign_in.wait", 5), "Try again in 5 seconds.");
    }
}

#[cfg(test)]
mod words_tests {
    use super::*;

    #[test]
    fn words_carry_the_texts_asked_for() {
        let words = Words::of(&["sign_in.code.resend", "sign_in.code.resend_in"]);
        assert_eq!(words.get("sign_in.code.resend"), t("sign_in.code.resend"));
        assert_eq!(words.get_n("sign_in.code.resend_in", 7), t_n("sign_in.code.resend_in", 7));
        assert_eq!(words.get("status.ok"), "");
    }
}
