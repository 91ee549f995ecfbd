//! The message catalog: every sentence a person reads (on a page or in a text message) comes
//! from here, keyed by a stable id, in each language Latchkey speaks. Both the domain (texts,
//! notices) and the pages use it; it depends on nothing, so the browser build can too.
//!
//! Tests and server functions speak in ids (`status.database.down`), never in wording, so the
//! wording can change and translations can be added without touching a test. Each language's
//! catalog is a file of its own (`en.rs`, `es.rs`).

/// A stable message id. Ids are lowercase, dot-separated, and never reused for another meaning.
pub type MessageId = &'static str;

mod en;
mod es;

/// A language the portal speaks. Adding one is a catalog file and a line in each `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Es,
}

/// The cookie that remembers the language a person picked with the switcher.
pub const LANG_COOKIE: &str = "latchkey-lang";

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The BCP 47 tag, as in `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language's name in itself, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
        }
    }

    /// Every `(id, wording)` of this language, sorted by id.
    pub fn catalog(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::En => en::EN,
            Lang::Es => es::ES,
        }
    }

    /// The language of a tag such as `es`, `es-MX` or `EN-gb`; `None` for one we do not speak.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The preferred language we speak from an `Accept-Language` header, by quality value
    /// (ties keep the header's order); `None` when it names none of ours.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, u16)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_tag) else { continue };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_quality)
                .unwrap_or(0);
            if q > 0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }

    /// The language of a request: the switcher's cookie, else `Accept-Language`, else English.
    pub fn from_headers(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        cookie
            .and_then(|c| {
                c.split(';').find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    (name == LANG_COOKIE).then(|| Lang::from_tag(value)).flatten()
                })
            })
            .or_else(|| accept_language.and_then(Lang::from_accept_language))
            .unwrap_or_default()
    }
}

/// A quality value (`0`, `0.5`, `1.000`) in thousandths; `None` when malformed.
fn parse_quality(q: &str) -> Option<u16> {
    let value: f32 = q.trim().parse().ok()?;
    (0.0..=1.0).contains(&value).then(|| (value * 1000.0).round() as u16)
}

/// The wording of `id` in `lang`.
pub fn t_in(lang: Lang, id: &str) -> &'static str {
    let catalog = lang.catalog();
    match catalog.binary_search_by(|(k, _)| (*k).cmp(id)) {
        Ok(i) => catalog[i].1,
        // An unknown id can only come from the wire (a newer server): say something generic.
        Err(_) => t_in_fallback(lang),
    }
}

fn t_in_fallback(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Something went wrong. Please try again.",
        Lang::Es => "Algo salió mal. Inténtalo de nuevo.",
    }
}

/// Whether the catalog knows `id` (used by tests of code that produces ids).
pub fn has(id: &str) -> bool {
    en::EN.binary_search_by(|(k, _)| (*k).cmp(id)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_are_sorted_and_unique() {
        for lang in Lang::ALL {
            for pair in lang.catalog().windows(2) {
                assert!(
                    pair[0].0 < pair[1].0,
                    "{lang:?}: {} must sort before {}",
                    pair[0].0,
                    pair[1].0
                );
            }
        }
    }

    /// Fails when a message id lacks a translation (or a translation has no English original).
    #[test]
    fn every_language_translates_every_message() {
        let english: Vec<&str> = en::EN.iter().map(|(id, _)| *id).collect();
        for lang in Lang::ALL {
            let ids: Vec<&str> = lang.catalog().iter().map(|(id, _)| *id).collect();
            let missing: Vec<_> = english.iter().filter(|id| !ids.contains(id)).collect();
            let extra: Vec<_> = ids.iter().filter(|id| !english.contains(id)).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
            assert!(extra.is_empty(), "{lang:?} has ids English does not: {extra:?}");
        }
    }

    /// A translation keeps the original's placeholders, so `{n}` is never shown raw.
    #[test]
    fn translations_keep_placeholders() {
        fn placeholders(text: &str) -> Vec<&str> {
            let mut found: Vec<&str> = text
                .match_indices('{')
                .filter_map(|(i, _)| text[i..].find('}').map(|j| &text[i..=i + j]))
                .collect();
            found.sort_unstable();
            found
        }
        for lang in Lang::ALL {
            for (id, text) in lang.catalog() {
                assert!(!text.trim().is_empty(), "{lang:?} {id} has no text");
                assert_eq!(placeholders(text), placeholders(t_in(Lang::En, id)), "{lang:?} {id}");
            }
        }
    }

    #[test]
    fn languages_follow_the_cookie_then_accept_language() {
        assert_eq!(Lang::from_headers(None, None), Lang::En);
        assert_eq!(Lang::from_headers(None, Some("es-MX,es;q=0.9,en;q=0.8")), Lang::Es);
        assert_eq!(Lang::from_headers(None, Some("fr-FR, en;q=0.5, es;q=0.7")), Lang::Es);
        assert_eq!(Lang::from_headers(None, Some("de, fr")), Lang::En);
        assert_eq!(Lang::from_headers(None, Some("es;q=0, en")), Lang::En);
        assert_eq!(Lang::from_headers(None, Some("es;q=banana, en;q=0.2")), Lang::En);
        assert_eq!(Lang::from_headers(Some("a=b; latchkey-lang=en"), Some("es")), Lang::En);
        assert_eq!(Lang::from_headers(Some("latchkey-lang=xx"), Some("es")), Lang::Es);
        assert_eq!(Lang::from_tag("ES_es"), Some(Lang::Es));
        assert_eq!(Lang::from_tag(""), None);
    }

    #[test]
    fn ids_are_well_formed_and_texts_non_empty() {
        for (id, text) in en::EN {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "bad id {id}"
            );
            assert!(!text.trim().is_empty(), "{id} has no text");
        }
    }

    #[test]
    fn lookup_finds_known_ids_and_hides_unknown_ones() {
        assert_eq!(t_in(Lang::En, "status.ok"), "Working");
        assert_eq!(t_in(Lang::Es, "nav.sign_in"), "Iniciar sesión");
        assert!(has("error.internal"));
        assert!(!has("no.such.id"));
        assert_eq!(t_in(Lang::En, "no.such.id"), "Something went wrong. Please try again.");
    }
}
