//! The configured logo (`server.logo`), served at `LOGO_PATH`; 404 when none is configured.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::branding::Logo;

/// The configured logo; an SVG may not run script or load anything, even opened on its own.
pub async fn serve_logo(logo: Option<Arc<Logo>>) -> Response {
    let Some(logo) = logo else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, logo.content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            ),
        ],
        logo.bytes.clone(),
    )
        .into_response()
}
