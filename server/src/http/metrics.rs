//! `/metrics`: who may read it (a bearer token, or this machine) and the answer. The numbers
//! themselves are counted by the port decorators in `crate::metrics`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use app::state::AppState;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use domain::client_ip::IpRange;
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;
use crate::metrics::Metrics;

/// The `/metrics` route: [`serve_metrics`] with who may read it decided from the configuration
/// (`server.metrics_token`, `server.trusted_proxies`).
pub fn endpoint(
    config: &Config,
    metrics: Metrics,
    trusted_proxies: Arc<[IpRange]>,
) -> MethodRouter<AppState> {
    let access = Arc::new(MetricsAccess {
        token: config
            .server
            .metrics_token
            .clone()
            .filter(|t| !t.expose_secret().is_empty())
            .map(Arc::new),
        trusted_proxies,
    });
    if access.token.is_none() && !access.trusted_proxies.is_empty() {
        // Behind a proxy on this machine every request comes from loopback, so without a token
        // nobody can be told apart from anybody: said once here, not at every refusal.
        tracing::warn!(
            "server.trusted_proxies is set and server.metrics_token is not: /metrics is refused to everyone; set server.metrics_token for Prometheus"
        );
    }
    get(move |ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap| {
        let (metrics, access) = (metrics.clone(), access.clone());
        async move { serve_metrics(&metrics, &access, peer, &headers) }
    })
}

/// Who may read `/metrics`.
struct MetricsAccess {
    token: Option<Arc<SecretString>>,
    trusted_proxies: Arc<[IpRange]>,
}

impl MetricsAccess {
    /// A Prometheus that sends the configured bearer token; without a token, a client on this
    /// machine — unless proxies are configured: behind a proxy on this machine every request
    /// comes from loopback, so then nobody is let in without the token.
    fn allows(&self, client: IpAddr, headers: &HeaderMap) -> bool {
        match &self.token {
            Some(token) => headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|given| {
                    constant_time_eq(given.as_bytes(), token.expose_secret().as_bytes())
                }),
            None => self.trusted_proxies.is_empty() && client.is_loopback(),
        }
    }
}

/// The metrics, for those [`MetricsAccess`] lets in: they tell who signs in how often, which is
/// nobody else's business.
fn serve_metrics(
    metrics: &Metrics,
    access: &MetricsAccess,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Response {
    // The client as everything else sees it: through a trusted proxy, the forwarded address.
    let forwarded = domain::client_ip::forwarded_for(
        headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes()),
    );
    let client = domain::client_ip::client_ip(peer.ip(), Some(&forwarded), &access.trusted_proxies);
    if !access.allows(client, headers) {
        if access.token.is_some() || access.trusted_proxies.is_empty() {
            tracing::warn!(client = %client, "refused /metrics (see server.metrics_token)");
        }
        return (
            StatusCode::FORBIDDEN,
            "Metrics need server.metrics_token (Authorization: Bearer …).",
        )
            .into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.render())
        .into_response()
}

/// Equal bytes, in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

    #[test]
    fn metrics_go_to_this_machine_or_to_the_token_holder() {
        let m = Metrics::default();
        let (local, remote) = ("127.0.0.1:9".parse().unwrap(), "203.0.113.5:9".parse().unwrap());
        let status = |token: Option<&str>,
                      proxies: &[&str],
                      peer,
                      pairs: &[(&'static str, &'static str)]| {
            let access = MetricsAccess {
                token: token.map(|t| Arc::new(SecretString::from(t.to_owned()))),
                trusted_proxies: proxies
                    .iter()
                    .map(|r| IpRange::parse(r).unwrap())
                    .collect::<Vec<_>>()
                    .into(),
            };
            serve_metrics(&m, &access, peer, &headers(pairs)).status()
        };
        assert_eq!(status(None, &[], local, &[]), StatusCode::OK);
        assert_eq!(status(None, &[], remote, &[]), StatusCode::FORBIDDEN);
        let right = [("authorization", "Bearer s3cret-token")];
        assert_eq!(status(Some("s3cret-token"), &[], remote, &right), StatusCode::OK);
        let wrong = [("authorization", "Bearer s3cret-tokem")];
        assert_eq!(status(Some("s3cret-token"), &[], remote, &wrong), StatusCode::FORBIDDEN);
        assert_eq!(
            status(Some("s3cret-token"), &[], local, &[]),
            StatusCode::FORBIDDEN,
            "token set: always"
        );
        // Behind a proxy on this machine loopback proves nothing: without a token, nobody.
        let proxy = ["127.0.0.0/8"];
        assert_eq!(status(None, &proxy, local, &[]), StatusCode::FORBIDDEN);
        let forwarded = [("x-forwarded-for", "127.0.0.1")];
        assert_eq!(status(None, &proxy, local, &forwarded), StatusCode::FORBIDDEN);
        assert_eq!(status(Some("s3cret-token"), &proxy, local, &right), StatusCode::OK);
        assert_eq!(status(Some("s3cret-token"), &proxy, local, &[]), StatusCode::FORBIDDEN);
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
