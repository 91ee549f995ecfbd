//! Just enough HTML reading for a browser without JavaScript: the fields a form would send and
//! the assets a page makes the browser load.

/// The hidden fields of the form posting to `action` (names and values as written), or `None`
/// when the page has no such form. A browser sends these (a CSRF token, a flow key) along with
/// what the person types.
pub fn hidden_fields(html: &str, action: &str) -> Option<Vec<(String, String)>> {
    let needle = format!("action=\"{action}\"");
    let at = html.find(&needle)?;
    let start = html[..at].rfind("<form")?;
    let end = html[at..].find("</form>").map_or(html.len(), |e| at + e);
    let form = &html[start..end];
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input") {
        let tag_end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
        let tag = &rest[i..tag_end];
        if attr(tag, "type") == Some("hidden")
            && let Some(name) = attr(tag, "name")
        {
            fields.push((unescape(name), unescape(attr(tag, "value").unwrap_or(""))));
        }
        rest = &rest[tag_end..];
    }
    Some(fields)
}

/// The value of attribute `name` in `tag` (double-quoted, as Leptos writes them).
pub fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = tag[from..].find(&format!("{name}=\"")) {
        let at = from + i;
        // Whole attribute names only (`data-step` must not match `step`).
        let boundary = at == 0 || tag.as_bytes()[at - 1].is_ascii_whitespace();
        let value = at + name.len() + 2;
        if boundary {
            let len = tag[value..].find('"')?;
            return Some(&tag[value..value + len]);
        }
        from = value;
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every same-site asset path under `/pkg/` the page names (stylesheet, script, module
/// preload, the wasm the loader fetches), in order, without repeats.
pub fn pkg_assets(html: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("/pkg/") {
        let tail = &rest[i..];
        let len = tail.find(['"', '\'', ' ', ')', '>', '`']).unwrap_or(tail.len());
        let path = &tail[..len];
        if path.len() > "/pkg/".len() && !found.iter().any(|f| f == path) {
            found.push(path.to_owned());
        }
        rest = &tail[len..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<main data-step="code"><form method="post" action="/api/other"><input type="hidden" name="x" value="no"></form>
<form method="post" action="/api/sign_in_code" class="f"><input type="hidden" name="csrf" value="a&amp;b"/>
<input name="code" type="text" autocomplete="one-time-code"><input type="hidden" name="flow" value="f1"></form>"#;

    #[test]
    fn hidden_fields_of_the_named_form_only() {
        let fields = hidden_fields(PAGE, "/api/sign_in_code").unwrap();
        assert_eq!(fields, vec![("csrf".into(), "a&b".into()), ("flow".into(), "f1".into())]);
        assert_eq!(hidden_fields(PAGE, "/api/other").unwrap(), vec![("x".into(), "no".into())]);
        assert_eq!(hidden_fields(PAGE, "/api/missing"), None);
    }

    #[test]
    fn attributes_match_whole_names() {
        assert_eq!(attr(r#"<main data-step="code" step="x">"#, "step"), Some("x"));
        assert_eq!(attr(r#"<main data-step="code">"#, "data-step"), Some("code"));
        assert_eq!(attr(r#"<main data-step="code">"#, "step"), None);
    }

    #[test]
    fn assets_under_pkg_once_each() {
        let html = r#"<link rel="stylesheet" href="/pkg/latchkey.css"><link rel="modulepreload" href="/pkg/latchkey.js" nonce="n">
<script type="module">import('/pkg/latchkey.js').then(m => m.default({module_or_path: '/pkg/latchkey.wasm'}))</script>"#;
        assert_eq!(
            pkg_assets(html),
            vec!["/pkg/latchkey.css", "/pkg/latchkey.js", "/pkg/latchkey.wasm"]
        );
    }
}
