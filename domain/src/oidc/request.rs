//! Checking an authorization request (OIDC Core 3.1.2.1, RFC 6749 §4.1.1, RFC 7636, RFC 9700)
//! before anyone is asked to sign in.

use serde::{Deserialize, Serialize};

use super::claims::Scopes;
use super::decide::Prompt;
use super::levels::{self, Requested};
use super::pkce;

/// A registered client as the provider sees it (built from configuration by the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub id: String,
    pub name: String,
    pub confidential: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub default_acr: Option<String>,
    pub allowed_groups: Vec<String>,
    pub refresh_tokens: bool,
    pub remembered_satisfies_code: bool,
}

/// The raw parameters (from the query string or the POSTed form), all optional strings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawAuthorize {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub acr_values: Option<String>,
    pub login_hint: Option<String>,
    pub response_mode: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    pub ui_locales: Option<String>,
    pub id_token_hint: Option<String>,
    pub display: Option<String>,
    pub claims: Option<String>,
    pub registration: Option<String>,
}

/// A valid request, as stored while the person signs in (server-side, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// An S256 challenge (the only method accepted).
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub requested: Requested,
    pub login_hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    /// Never redirect: show an error page. The client or the redirect_uri cannot be trusted,
    /// and redirecting to an unchecked address would make us an open redirector.
    #[error("{reason}")]
    NoRedirect {
        /// A catalog-free English line for the page and the log.
        reason: &'static str,
    },
    /// Redirect back to the (registered) redirect_uri with error, error_description, state.
    #[error("{error}: {description}")]
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: &'static str,
        state: Option<String>,
    },
}

/// The longest `state` and `nonce` we keep (they come back in redirects and tokens).
pub const MAX_STATE_LEN: usize = 512;
pub const MAX_NONCE_LEN: usize = 512;
/// A longer `login_hint` is ignored (it only pre-fills the login field).
pub const MAX_LOGIN_HINT_LEN: usize = 256;

/// Checks an authorization request. `client`: the registered client `raw.client_id` names, if
/// any. Duplicate parameters are the HTTP layer's to refuse.
pub fn validate(
    raw: &RawAuthorize,
    client: Option<&ClientInfo>,
    server_default_acr: &str,
) -> Result<AuthorizeRequest, AuthorizeError> {
    // Nothing redirects until the client and its redirect_uri are known: compared by exact
    // string match (RFC 9700 §2.1), never by prefix or pattern. OIDC requires redirect_uri
    // even when only one is registered (Core 3.1.2.1).
    let no_redirect = |reason| Err(AuthorizeError::NoRedirect { reason });
    let Some(client_id) = param(&raw.client_id) else {
        return no_redirect("The request has no client_id.");
    };
    let Some(client) = client.filter(|c| c.id == client_id) else {
        return no_redirect("The client_id is not a registered client.");
    };
    let Some(redirect_uri) = param(&raw.redirect_uri) else {
        return no_redirect("The request has no redirect_uri.");
    };
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return no_redirect("The redirect_uri is not registered for this client.");
    }

    // From here on errors go back to the app. An over-long state is not echoed: the error is
    // about it, and echoing it would put an unbounded value in our redirect.
    let state = param(&raw.state);
    let fail = |error, description, state: Option<&str>| {
        Err(AuthorizeError::Redirect {
            redirect_uri: redirect_uri.into(),
            error,
            description,
            state: state.map(String::from),
        })
    };
    if state.is_some_and(|s| s.chars().count() > MAX_STATE_LEN) {
        return fail("invalid_request", "state is longer than 512 characters", None);
    }
    let invalid = |description| fail("invalid_request", description, state);

    match param(&raw.response_type) {
        None => return invalid("response_type is missing"),
        Some("code") => {}
        Some(_) => return fail("unsupported_response_type", "response_type must be code", state),
    }
    if param(&raw.response_mode).is_some_and(|m| m != "query") {
        return invalid("response_mode must be query");
    }
    if param(&raw.request).is_some() {
        return fail("request_not_supported", "request objects are not supported", state);
    }
    if param(&raw.request_uri).is_some() {
        return fail("request_uri_not_supported", "request_uri is not supported", state);
    }
    if param(&raw.registration).is_some() {
        return fail("registration_not_supported", "registration is not supported", state);
    }

    let scopes = match Scopes::parse(param(&raw.scope).unwrap_or(""), &client.scopes) {
        Ok(scopes) => scopes,
        Err(e) => return fail("invalid_scope", e.description(), state),
    };

    let prompt = match parse_prompt(param(&raw.prompt)) {
        Ok(prompt) => prompt,
        Err(description) => return invalid(description),
    };

    let max_age = match param(&raw.max_age).map(parse_max_age) {
        None => None,
        Some(Some(seconds)) => Some(seconds),
        Some(None) => return invalid("max_age must be a whole number of seconds"),
    };

    let code_challenge = param(&raw.code_challenge);
    match (code_challenge, param(&raw.code_challenge_method)) {
        (None, None) if !client.confidential => {
            return invalid("code_challenge is required for this client (PKCE, S256)");
        }
        (None, None) => {}
        (None, Some(_)) => return invalid("code_challenge_method without code_challenge"),
        (Some(c), Some("S256")) if pkce::challenge_is_valid(c) => {}
        (Some(_), Some("S256")) => return invalid("code_challenge is not a valid S256 challenge"),
        // Absent means plain (RFC 7636 §4.3), which sends the secret itself.
        (Some(_), None | Some("plain")) => return invalid("PKCE must use S256"),
        (Some(_), Some(_)) => return invalid("code_challenge_method must be S256"),
    }

    let nonce = param(&raw.nonce);
    if nonce.is_some_and(|n| n.chars().count() > MAX_NONCE_LEN) {
        return invalid("nonce is longer than 512 characters");
    }

    // A hint only pre-fills the login field: a bad one is dropped, not an error.
    let login_hint = param(&raw.login_hint)
        .filter(|h| h.chars().count() <= MAX_LOGIN_HINT_LEN && !h.chars().any(char::is_control));

    // OIDC makes acr_values voluntary; we refuse a level we cannot provide rather than sign
    // someone in below what the app asked for.
    let acr_values = param(&raw.acr_values);
    if acr_values.is_some_and(levels::acr_values_too_long) {
        return invalid("acr_values is too long");
    }
    let Ok(requested) =
        levels::requested(acr_values, client.default_acr.as_deref(), server_default_acr)
    else {
        return fail(
            "unmet_authentication_requirements",
            "the requested authentication level is not supported",
            state,
        );
    };

    // Ignored on purpose: ui_locales (the page follows the browser's language), id_token_hint
    // (the session in this browser decides who is signed in), display (one page for every
    // device), claims (claims_parameter_supported is false: scopes decide what is released).
    Ok(AuthorizeRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.into(),
        scopes,
        state: state.map(String::from),
        nonce: nonce.map(String::from),
        code_challenge: code_challenge.map(String::from),
        prompt,
        max_age,
        requested,
        login_hint: login_hint.map(String::from),
    })
}

/// A parameter's value. Sent without a value counts as absent (RFC 6749 §3.1).
fn param(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// `prompt`: space-separated `none`, `login`, `consent`, `select_account` (OIDC Core 3.1.2.1).
/// `consent` and `select_account` are accepted and ignored: there is no consent screen (the
/// operator registers every client, so the organisation has consented for its people), and a
/// browser holds one sign-in, so there is no account to pick.
fn parse_prompt(prompt: Option<&str>) -> Result<Prompt, &'static str> {
    let mut p = Prompt::default();
    let mut others = false;
    for value in prompt.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => p.none = true,
            "login" => (p.login, others) = (true, true),
            "consent" | "select_account" => others = true,
            _ => {
                return Err(
                    "prompt has a value that is not none, login, consent or select_account",
                );
            }
        }
    }
    if p.none && others {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(p)
}

/// `max_age`: a non-negative whole number of seconds, digits only.
fn parse_max_age(value: &str) -> Option<i64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::levels::{CODE_ACR, Level, PASSWORD_ACR, TWILIO_SMS_ACR};

    const REDIRECT: &str = "https://app.example.org/callback";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client(confidential: bool) -> ClientInfo {
        ClientInfo {
            id: "wiki".into(),
            name: "The wiki".into(),
            confidential,
            redirect_uris: vec![REDIRECT.into(), "http://127.0.0.1:8080/cb".into()],
            post_logout_redirect_uris: Vec::new(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            default_acr: None,
            allowed_groups: Vec::new(),
            refresh_tokens: false,
            remembered_satisfies_code: false,
        }
    }

    fn some(s: &str) -> Option<String> {
        Some(s.into())
    }

    /// A valid request from a public client.
    fn base() -> RawAuthorize {
        RawAuthorize {
            client_id: some("wiki"),
            redirect_uri: some(REDIRECT),
            response_type: some("code"),
            scope: some("openid profile"),
            state: some("xyz"),
            nonce: some("n-0S6_WzA2Mj"),
            code_challenge: some(CHALLENGE),
            code_challenge_method: some("S256"),
            ..RawAuthorize::default()
        }
    }

    #[test]
    fn a_valid_request() {
        let got = validate(&base(), Some(&client(false)), PASSWORD_ACR).expect("valid");
        let want = AuthorizeRequest {
            client_id: "wiki".into(),
            redirect_uri: REDIRECT.into(),
            scopes: Scopes::parse("openid profile", &client(false).scopes).expect("valid"),
            state: some("xyz"),
            nonce: some("n-0S6_WzA2Mj"),
            code_challenge: some(CHALLENGE),
            prompt: Prompt::default(),
            max_age: None,
            requested: Requested { acr: PASSWORD_ACR.into(), level: Level::Password },
            login_hint: None,
        };
        assert_eq!(got, want);
        let json = serde_json::to_string(&got).expect("serialise");
        assert_eq!(serde_json::from_str::<AuthorizeRequest>(&json).expect("parse"), got);
    }

    fn long(n: usize) -> Option<String> {
        some(&"a".repeat(n))
    }

    /// RFC 6749 §4.1.2.1: error_description is printable ASCII without `"` and `\`.
    fn is_valid_description(d: &str) -> bool {
        !d.is_empty()
            && d.len() <= 80
            && d.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\')
    }

    enum Want {
        NoRedirect,
        /// error, error_description, and whether `state` comes back.
        Redirect(&'static str, &'static str, bool),
    }

    /// One row per rule: a change to the valid base request, and what must come of it.
    #[test]
    fn error_table() {
        use Want::{NoRedirect, Redirect};
        type Edit = fn(&mut RawAuthorize, &mut Option<ClientInfo>);
        let table: Vec<(&str, Edit, Want)> = vec![
            ("no client_id", |r, _| r.client_id = None, NoRedirect),
            ("empty client_id", |r, _| r.client_id = some(""), NoRedirect),
            ("unknown client", |_, c| *c = None, NoRedirect),
            ("client_id not the client's", |r, _| r.client_id = some("blog"), NoRedirect),
            ("no redirect_uri", |r, _| r.redirect_uri = None, NoRedirect),
            (
                "unregistered redirect_uri",
                |r, _| r.redirect_uri = some("https://evil.example/cb"),
                NoRedirect,
            ),
            (
                "prefix of a registered uri",
                |r, _| r.redirect_uri = some("https://app.example.org/"),
                NoRedirect,
            ),
            (
                "registered uri plus a path",
                |r, _| r.redirect_uri = some(&format!("{REDIRECT}/x")),
                NoRedirect,
            ),
            (
                "registered uri plus a query",
                |r, _| r.redirect_uri = some(&format!("{REDIRECT}?a=1")),
                NoRedirect,
            ),
            (
                "a different case",
                |r, _| r.redirect_uri = some("https://APP.example.org/callback"),
                NoRedirect,
            ),
            (
                "a different port",
                |r, _| r.redirect_uri = some("http://127.0.0.1:8081/cb"),
                NoRedirect,
            ),
            // Even a request that is wrong in every other way gets no redirect.
            (
                "unregistered redirect_uri and no response_type",
                |r, _| (r.redirect_uri, r.response_type) = (some("https://evil.example/cb"), None),
                NoRedirect,
            ),
            (
                "no response_type",
                |r, _| r.response_type = None,
                Redirect("invalid_request", "response_type is missing", true),
            ),
            (
                "implicit flow",
                |r, _| r.response_type = some("token"),
                Redirect("unsupported_response_type", "response_type must be code", true),
            ),
            (
                "hybrid flow",
                |r, _| r.response_type = some("code id_token"),
                Redirect("unsupported_response_type", "response_type must be code", true),
            ),
            (
                "response_type case",
                |r, _| r.response_type = some("Code"),
                Redirect("unsupported_response_type", "response_type must be code", true),
            ),
            (
                "fragment mode",
                |r, _| r.response_mode = some("fragment"),
                Redirect("invalid_request", "response_mode must be query", true),
            ),
            (
                "form_post mode",
                |r, _| r.response_mode = some("form_post"),
                Redirect("invalid_request", "response_mode must be query", true),
            ),
            (
                "request object",
                |r, _| r.request = some("eyJhbGciOiJub25lIn0.e30."),
                Redirect("request_not_supported", "request objects are not supported", true),
            ),
            (
                "request_uri",
                |r, _| r.request_uri = some("https://app.example.org/r"),
                Redirect("request_uri_not_supported", "request_uri is not supported", true),
            ),
            (
                "registration",
                |r, _| r.registration = some("{}"),
                Redirect("registration_not_supported", "registration is not supported", true),
            ),
            (
                "no openid",
                |r, _| r.scope = some("profile email"),
                Redirect("invalid_scope", "scope must include openid", true),
            ),
            (
                "no scope",
                |r, _| r.scope = None,
                Redirect("invalid_scope", "scope must include openid", true),
            ),
            (
                "non-ascii scope",
                |r, _| r.scope = some("openid prøfile"),
                Redirect("invalid_scope", "scope has characters a scope cannot have", true),
            ),
            (
                "unknown prompt",
                |r, _| r.prompt = some("login bogus"),
                Redirect(
                    "invalid_request",
                    "prompt has a value that is not none, login, consent or select_account",
                    true,
                ),
            ),
            (
                "prompt=none with login",
                |r, _| r.prompt = some("none login"),
                Redirect(
                    "invalid_request",
                    "prompt=none cannot be combined with other values",
                    true,
                ),
            ),
            (
                "prompt=none with consent",
                |r, _| r.prompt = some("consent none"),
                Redirect(
                    "invalid_request",
                    "prompt=none cannot be combined with other values",
                    true,
                ),
            ),
            (
                "negative max_age",
                |r, _| r.max_age = some("-1"),
                Redirect("invalid_request", "max_age must be a whole number of seconds", true),
            ),
            (
                "signed max_age",
                |r, _| r.max_age = some("+5"),
                Redirect("invalid_request", "max_age must be a whole number of seconds", true),
            ),
            (
                "fractional max_age",
                |r, _| r.max_age = some("1.5"),
                Redirect("invalid_request", "max_age must be a whole number of seconds", true),
            ),
            (
                "text max_age",
                |r, _| r.max_age = some("soon"),
                Redirect("invalid_request", "max_age must be a whole number of seconds", true),
            ),
            (
                "huge max_age",
                |r, _| r.max_age = some("99999999999999999999"),
                Redirect("invalid_request", "max_age must be a whole number of seconds", true),
            ),
            (
                "plain by default",
                |r, _| r.code_challenge_method = None,
                Redirect("invalid_request", "PKCE must use S256", true),
            ),
            (
                "plain",
                |r, _| r.code_challenge_method = some("plain"),
                Redirect("invalid_request", "PKCE must use S256", true),
            ),
            (
                "unknown method",
                |r, _| r.code_challenge_method = some("S512"),
                Redirect("invalid_request", "code_challenge_method must be S256", true),
            ),
            (
                "method case",
                |r, _| r.code_challenge_method = some("s256"),
                Redirect("invalid_request", "code_challenge_method must be S256", true),
            ),
            (
                "bad S256 challenge",
                |r, _| r.code_challenge = some("short"),
                Redirect("invalid_request", "code_challenge is not a valid S256 challenge", true),
            ),
            (
                "method without challenge",
                |r, _| r.code_challenge = None,
                Redirect("invalid_request", "code_challenge_method without code_challenge", true),
            ),
            (
                "public client without PKCE",
                |r, _| (r.code_challenge, r.code_challenge_method) = (None, None),
                Redirect(
                    "invalid_request",
                    "code_challenge is required for this client (PKCE, S256)",
                    true,
                ),
            ),
            (
                "long state",
                |r, _| r.state = long(513),
                Redirect("invalid_request", "state is longer than 512 characters", false),
            ),
            (
                "long nonce",
                |r, _| r.nonce = long(513),
                Redirect("invalid_request", "nonce is longer than 512 characters", true),
            ),
            (
                "unknown acr",
                |r, _| r.acr_values = some("urn:other:gold"),
                Redirect(
                    "unmet_authentication_requirements",
                    "the requested authentication level is not supported",
                    true,
                ),
            ),
            (
                "too many acr values",
                |r, _| r.acr_values = some(&["twilio_sms"; 17].join(" ")),
                Redirect("invalid_request", "acr_values is too long", true),
            ),
            (
                "acr_values too long",
                |r, _| r.acr_values = long(1025),
                Redirect("invalid_request", "acr_values is too long", true),
            ),
            (
                "client default acr unknown",
                |_, c| c.as_mut().expect("client").default_acr = some("bogus"),
                Redirect(
                    "unmet_authentication_requirements",
                    "the requested authentication level is not supported",
                    true,
                ),
            ),
        ];
        for (name, edit, want) in table {
            let mut raw = base();
            let mut client = Some(client(false));
            edit(&mut raw, &mut client);
            let got = validate(&raw, client.as_ref(), PASSWORD_ACR);
            match (got, want) {
                (Err(AuthorizeError::NoRedirect { reason }), NoRedirect) => {
                    assert!(!reason.is_empty(), "{name}");
                }
                (
                    Err(AuthorizeError::Redirect { redirect_uri, error, description, state }),
                    Redirect(code, want_description, echoes_state),
                ) => {
                    assert_eq!((error, description), (code, want_description), "{name}");
                    assert!(is_valid_description(description), "{name}: {description}");
                    assert_eq!(redirect_uri, REDIRECT, "{name}");
                    assert_eq!(state, echoes_state.then(|| "xyz".to_string()), "{name}");
                }
                (got, _) => panic!("{name}: unexpected {got:?}"),
            }
        }
    }

    /// Requests that are fine, and what they become.
    #[test]
    fn accepted_table() {
        type Edit = fn(&mut RawAuthorize, &mut ClientInfo);
        type Check = fn(&AuthorizeRequest);
        let table: Vec<(&str, Edit, Check)> = vec![
            (
                "the second registered uri",
                |r, _| r.redirect_uri = some("http://127.0.0.1:8080/cb"),
                |a| assert_eq!(a.redirect_uri, "http://127.0.0.1:8080/cb"),
            ),
            (
                "confidential client without PKCE",
                |r, c| {
                    (r.code_challenge, r.code_challenge_method) = (None, None);
                    c.confidential = true;
                },
                |a| assert_eq!(a.code_challenge, None),
            ),
            ("response_mode query", |r, _| r.response_mode = some("query"), |_| {}),
            (
                "empty parameters count as absent",
                |r, _| {
                    r.request = some("");
                    r.request_uri = some("");
                    r.registration = some("");
                    r.response_mode = some("");
                    r.prompt = some("");
                    r.max_age = some("");
                    r.state = some("");
                    r.nonce = some("");
                    r.acr_values = some("");
                    r.login_hint = some("");
                },
                |a| {
                    assert_eq!(
                        (a.state.as_deref(), a.nonce.as_deref(), a.max_age),
                        (None, None, None)
                    );
                    assert_eq!(a.login_hint, None);
                },
            ),
            (
                "no state, no nonce",
                |r, _| (r.state, r.nonce) = (None, None),
                |a| assert_eq!((a.state.as_deref(), a.nonce.as_deref()), (None, None)),
            ),
            (
                "state and nonce of 512",
                |r, _| {
                    r.state = some(&"s".repeat(512));
                    r.nonce = some(&"é".repeat(512));
                },
                |a| assert_eq!(a.nonce.as_deref().map(|n| n.chars().count()), Some(512)),
            ),
            (
                "prompt=none",
                |r, _| r.prompt = some("none"),
                |a| assert_eq!(a.prompt, Prompt { none: true, login: false }),
            ),
            (
                "prompt=login consent select_account",
                |r, _| r.prompt = some("login  consent select_account"),
                |a| assert_eq!(a.prompt, Prompt { none: false, login: true }),
            ),
            (
                "prompt=consent alone",
                |r, _| r.prompt = some("consent"),
                |a| assert_eq!(a.prompt, Prompt::default()),
            ),
            ("max_age=0", |r, _| r.max_age = some("0"), |a| assert_eq!(a.max_age, Some(0))),
            (
                "max_age=3600",
                |r, _| r.max_age = some("003600"),
                |a| assert_eq!(a.max_age, Some(3600)),
            ),
            (
                "twilio_sms is echoed",
                |r, _| r.acr_values = some("urn:other twilio_sms"),
                |a| {
                    assert_eq!(
                        a.requested,
                        Requested { acr: TWILIO_SMS_ACR.into(), level: Level::Code }
                    )
                },
            ),
            (
                "client default acr",
                |_, c| c.default_acr = some(CODE_ACR),
                |a| assert_eq!(a.requested, Requested { acr: CODE_ACR.into(), level: Level::Code }),
            ),
            (
                "scopes the client lacks are dropped",
                |r, _| r.scope = some("openid groups phone email"),
                |a| assert_eq!(a.scopes.as_string(), "openid email"),
            ),
            (
                "a login hint",
                |r, _| r.login_hint = some("ada"),
                |a| assert_eq!(a.login_hint.as_deref(), Some("ada")),
            ),
            (
                "a login hint with a control character is dropped",
                |r, _| r.login_hint = some("ada\r\nx"),
                |a| assert_eq!(a.login_hint, None),
            ),
            (
                "a login hint of 257 is dropped",
                |r, _| r.login_hint = some(&"a".repeat(257)),
                |a| assert_eq!(a.login_hint, None),
            ),
            (
                "a login hint of 256 is kept",
                |r, _| r.login_hint = some(&"a".repeat(256)),
                |a| assert_eq!(a.login_hint.as_deref().map(str::len), Some(256)),
            ),
            (
                "ignored parameters",
                |r, _| {
                    r.ui_locales = some("fr");
                    r.id_token_hint = some("eyJ...");
                    r.display = some("popup");
                    r.claims = some("{\"userinfo\":{}}");
                },
                |a| assert_eq!(a.scopes.as_string(), "openid profile"),
            ),
        ];
        for (name, edit, check) in table {
            let mut raw = base();
            let mut client = client(false);
            edit(&mut raw, &mut client);
            match validate(&raw, Some(&client), PASSWORD_ACR) {
                Ok(request) => check(&request),
                Err(e) => panic!("{name}: {e:?}"),
            }
        }
    }
}
