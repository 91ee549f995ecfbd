//! The apps a proxy protects, and the addresses a forward-auth check reads and writes: origins
//! (which app a request is for), return paths (where the browser goes back to), the paths
//! Latchkey serves on an app's host. Pure.

use crate::oidc::levels::Level;

/// Latchkey's paths on each app's host: the proxy routes this prefix to Latchkey, unchecked.
pub const HOST_PREFIX: &str = "/_latchkey/";
/// Sets the state cookie on the app's host and sends the browser to Latchkey.
pub const START_PATH: &str = "/_latchkey/start";
/// Takes the one-time code and sets the app host's cookie.
pub const CALLBACK_PATH: &str = "/_latchkey/callback";
/// The longest return path kept: a real app's deep link fits, a hostile megabyte does not.
pub const MAX_RETURN_PATH: usize = 2048;

/// One app behind a proxy (`[[forward_auth.apps]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedApp {
    /// Its grants' client id: `forward-auth:` and the origin (stable while the name changes).
    pub id: String,
    /// Shown to people: "Signed in to Wiki".
    pub name: String,
    /// `scheme://host[:port]`, canonical ([`normalize_origin`]).
    pub origin: String,
    /// Directory groups (cn) whose members may pass. Empty: everyone who can sign in.
    pub allowed_groups: Vec<String>,
    pub level: Level,
    /// Seconds since the person last proved who they are, beyond which they prove it again.
    pub max_age_secs: Option<i64>,
    /// Whether a remembered browser counts as the code level for this app.
    pub remembered_satisfies_code: bool,
}

/// Prefix of a protected app's client id.
pub const CLIENT_ID_PREFIX: &str = "forward-auth:";

impl ProtectedApp {
    /// An app at `origin` (any case, default port or not); `Err` says what is wrong with it.
    pub fn new(name: &str, origin: &str, level: Level) -> Result<Self, &'static str> {
        let (scheme, authority) =
            origin.split_once("://").ok_or("is not an origin: write scheme://host[:port]")?;
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        let origin = normalize_origin(scheme, authority)
            .ok_or("is not an origin: write http(s)://host[:port], no path, user or query")?;
        Ok(ProtectedApp {
            id: format!("{CLIENT_ID_PREFIX}{origin}"),
            name: if name.is_empty() { origin.clone() } else { name.to_owned() },
            origin,
            allowed_groups: Vec::new(),
            level,
            max_age_secs: None,
            remembered_satisfies_code: false,
        })
    }

    pub fn is_https(&self) -> bool {
        self.origin.starts_with("https://")
    }

    /// The app host's sign-in cookie. `__Host-` over https: host-only, `Secure`, `Path=/`,
    /// so no other host (not even a sibling subdomain) can set or shadow it.
    pub fn cookie_name(&self) -> &'static str {
        if self.is_https() { "__Host-latchkey-fa" } else { "latchkey-fa" }
    }

    /// The cookie that binds a one-time code to the browser that set out for it.
    pub fn state_cookie_name(&self) -> &'static str {
        if self.is_https() { "__Host-latchkey-fa-state" } else { "latchkey-fa-state" }
    }

    /// Where a browser without a good cookie is sent: this app's own start path.
    pub fn start_location(&self, return_path: &str) -> String {
        crate::oidc::provider::with_query(
            &format!("{}{START_PATH}", self.origin),
            &[("rd", return_path)],
        )
    }
}

/// `scheme://host[:port]` in one spelling: scheme and host lowercased, the scheme's default
/// port dropped. `None` for anything that is not exactly an http(s) origin: user info, a path,
/// a host outside letters, digits, `-` and `.` (a proxy passes IDNs as punycode), a bad port.
pub fn normalize_origin(scheme: &str, authority: &str) -> Option<String> {
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        // An IPv6 literal.
        let (inside, after) = rest.split_once(']')?;
        if inside.is_empty() || !inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return None;
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", inside.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
            return None;
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some(p) if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) => {
            return None;
        }
        Some(p) => {
            let n: u16 = p.parse().ok().filter(|n| *n > 0)?;
            let n = n.to_string();
            (n != default_port).then_some(n)
        }
    };
    Some(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// An absolute URL (`X-Original-URL`) as its origin and its path with query: `None` when it
/// is not an http(s) URL with a host.
pub fn split_url(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(end);
    let origin = normalize_origin(scheme, authority)?;
    // A fragment never reaches a server; drop one if a proxy passed it anyway.
    let rest = rest.split('#').next().unwrap_or("");
    let path = if rest.starts_with('/') { rest.to_owned() } else { format!("/{rest}") };
    Some((origin, path))
}

/// Whether `path` can be sent back to on the app's own host: a path (`/…`), never `//host`
/// or `/\host` (browsers read both as another host), no control characters, not too long.
pub fn is_return_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= MAX_RETURN_PATH
        && !path.chars().any(|c| c == '\\' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_have_one_spelling() {
        let n = |s: &str, a: &str| normalize_origin(s, a);
        assert_eq!(n("HTTPS", "Wiki.Example.ORG").as_deref(), Some("https://wiki.example.org"));
        assert_eq!(n("https", "wiki.example.org:443").as_deref(), Some("https://wiki.example.org"));
        assert_eq!(n("http", "app-a.localhost:80").as_deref(), Some("http://app-a.localhost"));
        assert_eq!(
            n("http", "app-a.localhost:8080").as_deref(),
            Some("http://app-a.localhost:8080")
        );
        assert_eq!(n("http", "127.0.0.1:09").as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(n("https", "[::1]:8443").as_deref(), Some("https://[::1]:8443"));
        for (scheme, bad) in [
            ("https", "user@wiki.example.org"),
            ("https", "wiki.example.org/path"),
            ("https", "wiki.example.org:"),
            ("https", "wiki.example.org:65536"),
            ("https", "wiki.example.org:0"),
            ("https", "wiki..example.org"),
            ("https", "-wiki.example.org"),
            ("https", "wikí.example.org"),
            ("https", "wiki.example.org\r\nX: y"),
            ("https", ""),
            ("ftp", "wiki.example.org"),
            ("javascript", "x"),
            ("https", "[::1"),
            ("https", "[zz]"),
        ] {
            assert_eq!(n(scheme, bad), None, "{scheme}://{bad}");
        }
    }

    #[test]
    fn original_urls_split_into_origin_and_path() {
        assert_eq!(
            split_url("http://app-a.localhost:8123/wiki/Page?x=1#top"),
            Some(("http://app-a.localhost:8123".into(), "/wiki/Page?x=1".into()))
        );
        assert_eq!(
            split_url("https://App.Example.org"),
            Some(("https://app.example.org".into(), "/".into()))
        );
        assert_eq!(
            split_url("https://app.example.org?x"),
            Some(("https://app.example.org".into(), "/?x".into()))
        );
        assert_eq!(split_url("app.example.org/x"), None);
        assert_eq!(split_url("https://evil.example@app.example.org/"), None);
    }

    #[test]
    fn only_paths_on_the_same_host_are_returned_to() {
        for ok in ["/", "/wiki/Page?x=1&y=%2F", "/a/b/"] {
            assert!(is_return_path(ok), "{ok}");
        }
        for bad in
            ["", "wiki", "//evil.example", "/\\evil.example", "https://evil.example/", "/a\nb"]
        {
            assert!(!is_return_path(bad), "{bad:?}");
        }
        assert!(!is_return_path(&format!("/{}", "a".repeat(MAX_RETURN_PATH))));
    }

    #[test]
    fn an_app_has_its_canonical_origin_and_cookies() {
        let app = ProtectedApp::new("Wiki", "HTTPS://wiki.example.org:443/", Level::Code).unwrap();
        assert_eq!(app.origin, "https://wiki.example.org");
        assert_eq!(app.id, "forward-auth:https://wiki.example.org");
        assert_eq!(app.cookie_name(), "__Host-latchkey-fa");
        assert_eq!(
            app.start_location("/a b?c=d"),
            "https://wiki.example.org/_latchkey/start?rd=%2Fa%20b%3Fc%3Dd"
        );
        let plain = ProtectedApp::new("", "http://app-a.localhost:8123", Level::Password).unwrap();
        assert_eq!(plain.name, "http://app-a.localhost:8123");
        assert_eq!(plain.cookie_name(), "latchkey-fa");
        assert!(ProtectedApp::new("x", "https://wiki.example.org/path", Level::Code).is_err());
    }
}
