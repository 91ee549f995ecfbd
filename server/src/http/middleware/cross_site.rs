//! CSRF defence: a state-changing request that a browser says comes from another site is
//! refused with 403 before it reaches a page or a server function.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Config;

/// `scheme://host[:port]` of the configured public URL: the state [`refuse_cross_site`] needs.
pub fn public_origin(config: &Config) -> String {
    url::Url::parse(&config.server.public_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// CSRF defence for every state-changing request: browsers say where a request comes from
/// (`Sec-Fetch-Site`, else `Origin`); anything not from our own origin is refused. Requests
/// with neither header do not come from a browser page, so they cannot carry a victim's cookie
/// on an attacker's behalf.
pub async fn refuse_cross_site(
    State(origin): State<Arc<String>>,
    request: Request,
    next: Next,
) -> Response {
    // The OpenID Connect endpoints take apps' posts by design; each guards itself (tokens and
    // client secrets, or no effect without a same-site confirmation: `http/oidc.rs`). The
    // forward-auth checks answer proxies, whatever the method of the request they check.
    let path = request.uri().path();
    let provider_path = crate::http::oidc::CROSS_SITE_PATHS.contains(&path)
        || crate::http::forward_auth::CROSS_SITE_PATHS.contains(&path);
    if is_safe_method(request.method())
        || provider_path
        || is_same_origin(request.headers(), &origin)
    {
        return next.run(request).await;
    }
    tracing::warn!(
        method = %request.method(),
        path = %request.uri().path(),
        "refused a cross-site request"
    );
    (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response()
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub fn is_same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        // "none": the person typed the URL or used a bookmark.
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(header::ORIGIN) {
        Some(value) => value.to_str().is_ok_and(|v| v == origin),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    const ORIGIN: &str = "https://security.example.org";

    #[test]
    fn same_origin_requests_pass() {
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "same-origin")]), ORIGIN));
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "none")]), ORIGIN));
        assert!(is_same_origin(&headers(&[("origin", ORIGIN)]), ORIGIN));
        // No browser provenance at all: not a browser, so no ambient cookie to abuse.
        assert!(is_same_origin(&headers(&[]), ORIGIN));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "cross-site")]), ORIGIN));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "same-site")]), ORIGIN));
        assert!(!is_same_origin(&headers(&[("origin", "https://evil.example")]), ORIGIN));
        assert!(!is_same_origin(&headers(&[("origin", "null")]), ORIGIN));
        // Sec-Fetch-Site wins over a forged-looking Origin.
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site"), ("origin", ORIGIN)]),
            ORIGIN
        ));
    }

    #[test]
    fn only_unsafe_methods_are_checked() {
        assert!(is_safe_method(&Method::GET));
        assert!(is_safe_method(&Method::HEAD));
        assert!(!is_safe_method(&Method::POST));
        assert!(!is_safe_method(&Method::DELETE));
    }
}
