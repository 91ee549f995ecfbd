//! The audit trail as CSV (`GET /admin/audit.csv`, the audit page's filters as its query), for
//! administrators only: the same signed-in check as every page (timeouts, sessions ended
//! elsewhere), then the directory is asked whether the caller is an administrator, like every
//! admin server function (a refusal is audited). A plain axum handler, since a download is not
//! a server function; the server's router points at it.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::i18n::t;
use crate::state::AppState;
use domain::admin::{AdminError, TrailQuery, csv_field, parse_date};

/// The trail's filters as the audit page's query string carries them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    person: String,
    actor: String,
    kind: String,
    from: String,
    to: String,
}

/// Most rows one CSV export holds; narrow the filters for more.
const CSV_MAX_ROWS: u32 = 10_000;

/// The header row; one row per event follows, newest first.
const CSV_HEADER: &str = "id,time_utc,unix_time,kind,outcome,actor_id,actor_login,subject_id,subject_login,client_ip,user_agent,detail\r\n";

pub async fn audit_csv(
    State(state): State<AppState>,
    browser: crate::auth::Browser,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Response<Body> {
    let client =
        crate::auth::client_from(Some(peer), &headers, &state.session_policy.trusted_proxies);
    let now = client.now;
    let user = match browser.signed_in(&state, now).await {
        Ok(user) => user,
        Err(_) => {
            return (StatusCode::SERVICE_UNAVAILABLE, t("error.unavailable")).into_response();
        }
    };
    if state.admin.authorize(&client, user.as_ref(), "audit export").await.is_err() {
        return (StatusCode::FORBIDDEN, t("admin.forbidden")).into_response();
    }
    let date =
        |s: &str| if s.trim().is_empty() { Ok(None) } else { parse_date(s).map(Some).ok_or(()) };
    let (Ok(from), Ok(to)) = (date(&q.from), date(&q.to)) else {
        return (StatusCode::BAD_REQUEST, t("admin.audit.bad_date")).into_response();
    };
    let query = TrailQuery { person: q.person, actor: q.actor, kind: q.kind, from, to };
    let events = match state.admin.trail(&query, None, CSV_MAX_ROWS).await {
        Ok(events) => events,
        Err(e) => {
            let status = if e == AdminError::Unavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_REQUEST
            };
            return (status, t(&e.notice().id)).into_response();
        }
    };
    let mut csv = String::from(CSV_HEADER);
    let logins = state.admin.subject_logins(&events).await;
    for e in events {
        let subject_login =
            e.subject_id.as_ref().and_then(|id| logins.get(id)).cloned().unwrap_or_default();
        let fields = [
            e.id.to_string(),
            crate::components::time::format_utc_date_time(e.at),
            e.at.to_string(),
            e.kind,
            e.outcome,
            e.actor_id.unwrap_or_default(),
            e.login.unwrap_or_default(),
            e.subject_id.unwrap_or_default(),
            subject_login,
            e.client_ip,
            e.user_agent,
            e.detail.unwrap_or_default(),
        ];
        csv.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        csv.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"latchkey-audit.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response()
}
