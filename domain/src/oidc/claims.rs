//! Scopes, and which claims about a person each one releases.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What the provider may say about a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonClaims {
    /// The stable subject identifier (the directory's unique id, not the login).
    pub sub: String,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    /// E.164, a number Latchkey verified.
    pub phone: Option<String>,
    /// Group names, not DNs.
    pub groups: Vec<String>,
    pub locale: Option<String>,
}

pub const SUPPORTED_SCOPES: &[&str] = &["openid", "profile", "email", "phone", "groups"];

/// The longest `scope` parameter we read.
pub const MAX_SCOPE_LEN: usize = 1024;

/// The claims a set of scopes releases, for userinfo. (OIDC Core 5.4 puts them in the ID token
/// only when no access token is issued; one is always issued here, so the ID token needs no
/// more than `sub` and the protocol claims.)
///
/// - `sub`: always.
/// - `profile`: `name`, `preferred_username`, `locale` (when known).
/// - `email`: `email` and `email_verified: false` — the address comes from the directory and
///   Latchkey never proved it reaches the person, so it does not claim it did.
/// - `phone`: `phone_number` and `phone_number_verified: true`, only for a number Latchkey
///   verified itself (a code sent to it reached the person).
/// - `groups`: `groups`, an array, also when empty (so "in no group" differs from "not asked").
///
/// Claims without a value are left out, never sent as null or "" (OIDC Core 5.1).
pub fn claims_for(scopes: &Scopes, p: &PersonClaims) -> Map<String, Value> {
    let mut claims = Map::new();
    let mut put = |name: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            claims.insert(name.into(), Value::String(v.into()));
            true
        } else {
            false
        }
    };
    put("sub", Some(&p.sub));
    let mut flags = Vec::new();
    if scopes.contains("profile") {
        put("name", Some(&p.name));
        put("preferred_username", Some(&p.login));
        put("locale", p.locale.as_deref());
    }
    if scopes.contains("email") && put("email", p.email.as_deref()) {
        flags.push(("email_verified", false));
    }
    if scopes.contains("phone") && put("phone_number", p.phone.as_deref()) {
        flags.push(("phone_number_verified", true));
    }
    for (name, value) in flags {
        claims.insert(name.into(), Value::Bool(value));
    }
    if scopes.contains("groups") {
        claims.insert("groups".into(), p.groups.iter().cloned().map(Value::String).collect());
    }
    claims
}

/// Granted scopes: known, allowed for the client, deduplicated, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scopes(Vec<String>);

/// Why a `scope` parameter was refused (`invalid_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidScope {
    #[error("scope is too long")]
    TooLong,
    #[error("scope has characters a scope cannot have")]
    Malformed,
    #[error("scope must include openid")]
    NoOpenid,
}

impl InvalidScope {
    /// A short English line for `error_description`.
    pub fn description(self) -> &'static str {
        match self {
            InvalidScope::TooLong => "scope is too long",
            InvalidScope::Malformed => "scope has characters a scope cannot have",
            InvalidScope::NoOpenid => "scope must include openid",
        }
    }
}

impl Scopes {
    /// Parses a `scope` parameter: scope tokens separated by spaces (RFC 6749 §3.3); it must
    /// contain `openid`. Unknown scopes and scopes the client is not allowed are dropped (OAuth
    /// 2.0 lets the server grant less than asked; the token response says what was granted).
    /// `openid` itself is always allowed: it is the protocol, not a permission.
    ///
    /// Over 1024 characters, or a character RFC 6749 does not allow in a scope token (anything
    /// outside printable ASCII, `"` and `\`) → `Err`.
    pub fn parse(input: &str, allowed: &[String]) -> Result<Scopes, InvalidScope> {
        if input.len() > MAX_SCOPE_LEN {
            return Err(InvalidScope::TooLong);
        }
        let scope_char = |b: u8| b == b' ' || (b.is_ascii_graphic() && b != b'"' && b != b'\\');
        if !input.bytes().all(scope_char) {
            return Err(InvalidScope::Malformed);
        }
        let tokens: Vec<&str> = input.split(' ').filter(|t| !t.is_empty()).collect();
        if !tokens.contains(&"openid") {
            return Err(InvalidScope::NoOpenid);
        }
        let mut granted: Vec<String> = Vec::new();
        for token in tokens {
            let known = SUPPORTED_SCOPES.contains(&token);
            let permitted = token == "openid" || allowed.iter().any(|a| a == token);
            if known && permitted && !granted.iter().any(|g| g == token) {
                granted.push(token.into());
            }
        }
        Ok(Scopes(granted))
    }

    /// Scopes granted earlier and stored by the server (a grant, a token): taken as they are,
    /// only unknown ones dropped and duplicates removed. Never for a request's input: that is
    /// [`Scopes::parse`].
    pub fn from_granted(granted: &[String]) -> Scopes {
        let mut scopes: Vec<String> = Vec::new();
        for s in granted {
            if SUPPORTED_SCOPES.contains(&s.as_str()) && !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        Scopes(scopes)
    }

    pub fn contains(&self, s: &str) -> bool {
        self.0.iter().any(|g| g == s)
    }

    /// The space-separated form, for the token response's `scope`.
    pub fn as_string(&self) -> String {
        self.0.join(" ")
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn all_allowed() -> Vec<String> {
        SUPPORTED_SCOPES.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parse_table() {
        let all = all_allowed();
        let profile_only = vec!["openid".to_string(), "profile".to_string()];
        let nothing: Vec<String> = Vec::new();
        let long = format!("openid {}", "a".repeat(MAX_SCOPE_LEN));
        let ok = |s: &[&str]| Ok(s.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // (input, allowed) → granted, in order
        type Row<'a> = (&'a str, &'a [String], Result<Vec<String>, InvalidScope>);
        let table: Vec<Row> = vec![
            ("openid", &all, ok(&["openid"])),
            ("openid profile email phone groups", &all, ok(SUPPORTED_SCOPES)),
            ("groups email openid", &all, ok(&["groups", "email", "openid"])),
            ("openid  profile   openid profile", &all, ok(&["openid", "profile"])),
            (" openid ", &all, ok(&["openid"])),
            // Unknown scopes are dropped, not refused.
            ("openid offline_access address", &all, ok(&["openid"])),
            // So are scopes the client may not have.
            ("openid profile email groups", &profile_only, ok(&["openid", "profile"])),
            // openid needs no permission.
            ("openid profile", &nothing, ok(&["openid"])),
            // Case matters: scope tokens are case-sensitive.
            ("OpenID profile", &all, Err(InvalidScope::NoOpenid)),
            ("profile email", &all, Err(InvalidScope::NoOpenid)),
            ("", &all, Err(InvalidScope::NoOpenid)),
            ("openidprofile", &all, Err(InvalidScope::NoOpenid)),
            ("openid\tprofile", &all, Err(InvalidScope::Malformed)),
            ("openid\nprofile", &all, Err(InvalidScope::Malformed)),
            ("openid profilé", &all, Err(InvalidScope::Malformed)),
            ("openid \"profile\"", &all, Err(InvalidScope::Malformed)),
            ("openid pro\\file", &all, Err(InvalidScope::Malformed)),
            ("openid\u{0}", &all, Err(InvalidScope::Malformed)),
            (&long, &all, Err(InvalidScope::TooLong)),
        ];
        for (input, allowed, want) in table {
            let got = Scopes::parse(input, allowed).map(|s| s.iter().map(String::from).collect());
            assert_eq!(got, want, "{input:?} {allowed:?}");
        }
    }

    #[test]
    fn scopes_helpers() {
        let s = Scopes::parse("openid email profile email", &all_allowed()).expect("valid");
        assert!(s.contains("email"));
        assert!(!s.contains("phone"));
        assert_eq!(s.as_string(), "openid email profile");
        let json = serde_json::to_string(&s).expect("serialise");
        assert_eq!(json, r#"["openid","email","profile"]"#);
        assert_eq!(serde_json::from_str::<Scopes>(&json).expect("parse"), s);
    }

    #[test]
    fn from_granted_keeps_known_scopes_once() {
        let stored: Vec<String> = ["openid", "groups", "bogus", "groups", "email"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(Scopes::from_granted(&stored).as_string(), "openid groups email");
        assert_eq!(Scopes::from_granted(&[]).as_string(), "");
    }

    #[test]
    fn error_descriptions_match_the_messages() {
        for e in [InvalidScope::TooLong, InvalidScope::Malformed, InvalidScope::NoOpenid] {
            assert_eq!(e.description(), e.to_string());
        }
    }

    fn ada() -> PersonClaims {
        PersonClaims {
            sub: "5f0c-11aa".into(),
            login: "ada".into(),
            name: "Ada Lovelace".into(),
            email: Some("ada@example.org".into()),
            phone: Some("+12015550123".into()),
            groups: vec!["staff".into(), "admins".into()],
            locale: Some("en-GB".into()),
        }
    }

    fn bare() -> PersonClaims {
        PersonClaims {
            sub: "77".into(),
            login: "bob".into(),
            name: String::new(),
            email: None,
            phone: None,
            groups: Vec::new(),
            locale: None,
        }
    }

    #[test]
    fn claims_table() {
        let table = [
            ("openid", ada(), json!({"sub": "5f0c-11aa"})),
            (
                "openid profile",
                ada(),
                json!({"sub": "5f0c-11aa", "name": "Ada Lovelace", "preferred_username": "ada",
                       "locale": "en-GB"}),
            ),
            (
                "openid email",
                ada(),
                json!({"sub": "5f0c-11aa", "email": "ada@example.org", "email_verified": false}),
            ),
            (
                "openid phone",
                ada(),
                json!({"sub": "5f0c-11aa", "phone_number": "+12015550123",
                       "phone_number_verified": true}),
            ),
            ("openid groups", ada(), json!({"sub": "5f0c-11aa", "groups": ["staff", "admins"]})),
            (
                "openid profile email phone groups",
                ada(),
                json!({"sub": "5f0c-11aa", "name": "Ada Lovelace", "preferred_username": "ada",
                       "locale": "en-GB", "email": "ada@example.org", "email_verified": false,
                       "phone_number": "+12015550123", "phone_number_verified": true,
                       "groups": ["staff", "admins"]}),
            ),
            // Nothing known: nothing claimed, not even the verified flags; groups stay an array.
            (
                "openid profile email phone groups",
                bare(),
                json!({"sub": "77", "preferred_username": "bob", "groups": []}),
            ),
        ];
        for (scope, person, want) in table {
            let scopes = Scopes::parse(scope, &all_allowed()).expect("valid");
            assert_eq!(Value::Object(claims_for(&scopes, &person)), want, "{scope}");
        }
    }
}
