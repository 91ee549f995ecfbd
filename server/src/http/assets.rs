//! The browser assets (`/pkg/latchkey.wasm`, `.js`, `.css`) from inside the binary, when it was
//! built with the `embed-assets` feature (`build.rs` writes the table; the Debian package's
//! binary has it): one file is the whole server.
//!
//! Each asset is sent in the best encoding the browser accepts (brotli, gzip, identity, from the
//! `.br` and `.gz` cargo-leptos's `--precompress` wrote), with `Vary: Accept-Encoding`, a strong
//! `ETag` per encoding (a content hash taken at build time) and `304` for a matching
//! `If-None-Match`. cargo-leptos names files without a content hash here (`hash-files` is off), so
//! they are `no-cache` (revalidated on every use: a new version's wasm never meets an old page);
//! a name carrying a hash (`name.<hash>.ext`) is cached for a year as `immutable`.
//!
//! `server.site_root`, when set, is an override: a file there wins over the embedded one (the
//! fallback's disk handler serves it). Only names in the table are ever looked up, so no request
//! path reaches the file system from here.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

/// One file under the site root, in each encoding it was built in.
pub struct Asset {
    /// Relative to the site root: `pkg/latchkey.wasm`.
    pub path: &'static str,
    pub identity: &'static [u8],
    pub br: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
    /// A hash of `identity`, hex: the `ETag`'s stem.
    pub hash: &'static str,
}

// `static EMBEDDED: &[Asset]`: the files built in, or none without the feature.
include!(concat!(env!("OUT_DIR"), "/embedded_assets.rs"));

/// The assets served from memory, and the directory whose files win over them.
pub struct Assets {
    files: &'static [Asset],
    site_root_override: Option<PathBuf>,
}

/// Where the browser assets come from, as `check` and start-up say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetSource {
    /// Built into the binary (this many files), none overridden on disk.
    Embedded(usize),
    /// From this directory (`server.site_root`), embedded ones filling any gap.
    Directory(PathBuf),
    /// Neither: pages render but never become interactive.
    Missing(PathBuf),
}

/// The file every page loads; its presence decides whether the assets are there.
const WASM: &str = "pkg/latchkey.wasm";

impl Assets {
    /// The binary's own assets, with `site_root` (`server.site_root`, when set) winning.
    pub fn embedded(site_root: Option<&str>) -> Self {
        Self::new(EMBEDDED, site_root)
    }

    pub fn new(files: &'static [Asset], site_root: Option<&str>) -> Self {
        Self { files, site_root_override: site_root.map(PathBuf::from) }
    }

    /// Whether this binary was built with its assets inside.
    pub fn binary_has_them() -> bool {
        !EMBEDDED.is_empty()
    }

    /// The directory the disk handler serves from: the override, or `target/site` (cargo-leptos's
    /// output, for development) when the binary carries nothing.
    pub fn disk_root(site_root: Option<&str>) -> String {
        site_root.unwrap_or("target/site").to_owned()
    }

    /// Where the browser assets come from with this configuration.
    pub fn source(&self) -> AssetSource {
        let has_embedded = self.files.iter().any(|a| a.path == WASM);
        match &self.site_root_override {
            Some(dir) if dir.join(WASM).is_file() => AssetSource::Directory(dir.clone()),
            _ if has_embedded => AssetSource::Embedded(self.files.len()),
            Some(dir) => AssetSource::Missing(dir.clone()),
            None => {
                let dir = PathBuf::from(Self::disk_root(None));
                if dir.join(WASM).is_file() {
                    AssetSource::Directory(dir)
                } else {
                    AssetSource::Missing(dir)
                }
            }
        }
    }

    /// The answer for `path` from memory, or `None` to let the disk handler and the 404 page
    /// have it (not an embedded name, a file the override holds, or a method other than
    /// GET/HEAD).
    pub fn serve(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response<Body>> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let name = path.strip_prefix('/')?;
        let asset = self.files.iter().find(|a| a.path == name)?;
        if let Some(dir) = &self.site_root_override
            && dir.join(asset.path).is_file()
        {
            return None;
        }
        let accepted = accepted_encodings(headers);
        let (body, encoding, etag_suffix) = match (asset.br, asset.gzip) {
            (Some(br), _) if accepted.br => (br, Some("br"), "-br"),
            (_, Some(gz)) if accepted.gzip => (gz, Some("gzip"), "-gz"),
            _ => (asset.identity, None, ""),
        };
        let etag = format!("\"{}{etag_suffix}\"", asset.hash);
        let mut response = Response::builder()
            .header(header::VARY, "accept-encoding")
            .header(header::ETAG, &etag)
            .header(header::CACHE_CONTROL, cache_control(asset.path));
        if if_none_match(headers, &etag) {
            return response.status(StatusCode::NOT_MODIFIED).body(Body::empty()).ok();
        }
        response = response
            .header(header::CONTENT_TYPE, content_type(asset.path))
            .header(header::CONTENT_LENGTH, body.len());
        if let Some(encoding) = encoding {
            response = response.header(header::CONTENT_ENCODING, encoding);
        }
        let body = if method == Method::HEAD { Body::empty() } else { Body::from(body) };
        response.status(StatusCode::OK).body(body).ok()
    }
}

/// Which of our encodings the request's `Accept-Encoding` allows (`q=0` refuses one; `*`
/// stands for those not named).
#[derive(Debug, Default, PartialEq, Eq)]
struct Accepted {
    br: bool,
    gzip: bool,
}

fn accepted_encodings(headers: &HeaderMap) -> Accepted {
    let (mut br, mut gzip, mut star) = (None, None, None);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let allowed = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .all(|q| q > 0.0);
            match coding.as_str() {
                "br" => br = Some(allowed),
                "gzip" | "x-gzip" => gzip = Some(allowed),
                "*" => star = Some(allowed),
                _ => {}
            }
        }
    }
    let star = star.unwrap_or(false);
    Accepted { br: br.unwrap_or(star), gzip: gzip.unwrap_or(star) }
}

/// `If-None-Match` names this `ETag` (or is `*`); weak comparison, as for GET.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
    })
}

fn content_type(path: &str) -> HeaderValue {
    let ext = path.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
    HeaderValue::from_static(match ext {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    })
}

/// A year and `immutable` for a name carrying a content hash (cargo-leptos's `hash-files`:
/// `latchkey.<base64url hash>.wasm`); otherwise revalidate each time (the `ETag` makes that a
/// `304`).
fn cache_control(path: &str) -> HeaderValue {
    let file = path.rsplit('/').next().unwrap_or(path);
    let parts: Vec<&str> = file.split('.').collect();
    let hashed = parts.len() >= 3
        && parts[1..parts.len() - 1].iter().any(|p| {
            p.len() >= 16 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    HeaderValue::from_static(if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILES: &[Asset] = &[
        Asset {
            path: "pkg/latchkey.wasm",
            identity: b"\0asm identity",
            br: Some(b"brotli bytes"),
            gzip: Some(b"gzip bytes"),
            hash: "00000000000000aa",
        },
        Asset {
            path: "pkg/latchkey.css",
            identity: b"body{}",
            br: None,
            gzip: Some(b"gz css"),
            hash: "00000000000000bb",
        },
        Asset {
            path: "pkg/latchkey.Q2xhdWRlIHdhcyBoZXJl.js",
            identity: b"js",
            br: None,
            gzip: None,
            hash: "00000000000000cc",
        },
    ];

    fn get(path: &str, accept_encoding: Option<&str>) -> Option<Response<Body>> {
        let mut headers = HeaderMap::new();
        if let Some(v) = accept_encoding {
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        Assets::new(FILES, None).serve(&Method::GET, path, &headers)
    }

    fn header_of(r: &Response<Body>, name: header::HeaderName) -> &str {
        r.headers().get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    async fn body_of(r: Response<Body>) -> Vec<u8> {
        axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec()
    }

    #[tokio::test]
    async fn sends_the_best_encoding_the_browser_accepts() {
        let cases = [
            (Some("gzip, deflate, br, zstd"), "br", b"brotli bytes".as_slice()),
            (Some("gzip"), "gzip", b"gzip bytes"),
            (Some("br;q=0, gzip"), "gzip", b"gzip bytes"),
            (Some("*"), "br", b"brotli bytes"),
            (Some("*, br;q=0, gzip;q=0"), "", b"\0asm identity"),
            (Some("identity"), "", b"\0asm identity"),
            (None, "", b"\0asm identity"),
        ];
        for (accept, encoding, body) in cases {
            let r = get("/pkg/latchkey.wasm", accept).unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{accept:?}");
            assert_eq!(header_of(&r, header::CONTENT_ENCODING), encoding, "{accept:?}");
            assert_eq!(header_of(&r, header::CONTENT_TYPE), "application/wasm");
            assert_eq!(header_of(&r, header::VARY), "accept-encoding");
            assert_eq!(header_of(&r, header::CONTENT_LENGTH), body.len().to_string());
            assert_eq!(body_of(r).await, body, "{accept:?}");
        }
    }

    #[tokio::test]
    async fn a_missing_variant_falls_back_to_the_next() {
        let r = get("/pkg/latchkey.css", Some("br, gzip")).unwrap();
        assert_eq!(header_of(&r, header::CONTENT_ENCODING), "gzip");
        assert_eq!(header_of(&r, header::CONTENT_TYPE), "text/css; charset=utf-8");
        assert_eq!(body_of(r).await, b"gz css");
    }

    #[test]
    fn each_encoding_has_its_own_etag_and_a_match_is_304() {
        let br = get("/pkg/latchkey.wasm", Some("br")).unwrap();
        let plain = get("/pkg/latchkey.wasm", None).unwrap();
        assert_eq!(header_of(&br, header::ETAG), "\"00000000000000aa-br\"");
        assert_eq!(header_of(&plain, header::ETAG), "\"00000000000000aa\"");
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"00000000000000aa-br\""));
        let assets = Assets::new(FILES, None);
        let r = assets.serve(&Method::GET, "/pkg/latchkey.wasm", &headers).unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header_of(&r, header::VARY), "accept-encoding");
        // The identity tag does not match the brotli answer.
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"00000000000000aa\""));
        let r = assets.serve(&Method::GET, "/pkg/latchkey.wasm", &headers).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[test]
    fn unhashed_names_revalidate_and_hashed_ones_are_immutable() {
        let plain = get("/pkg/latchkey.wasm", None).unwrap();
        assert_eq!(header_of(&plain, header::CACHE_CONTROL), "no-cache");
        let hashed = get("/pkg/latchkey.Q2xhdWRlIHdhcyBoZXJl.js", None).unwrap();
        assert_eq!(
            header_of(&hashed, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header_of(&hashed, header::CONTENT_TYPE), "text/javascript; charset=utf-8");
    }

    #[tokio::test]
    async fn head_has_the_headers_and_no_body() {
        let r = Assets::new(FILES, None)
            .serve(&Method::HEAD, "/pkg/latchkey.wasm", &HeaderMap::new())
            .unwrap();
        assert_eq!(header_of(&r, header::CONTENT_LENGTH), "13");
        assert!(body_of(r).await.is_empty());
    }

    #[test]
    fn only_names_in_the_table_and_only_reads() {
        for path in [
            "/pkg/unknown.js",
            "/pkg/latchkey.wasm.br",
            "/pkg/../pkg/latchkey.wasm",
            "/pkg/%2e%2e/Cargo.toml",
            "/pkg//latchkey.wasm",
            "pkg/latchkey.wasm",
            "/",
        ] {
            assert!(get(path, Some("br")).is_none(), "{path}");
        }
        let post =
            Assets::new(FILES, None).serve(&Method::POST, "/pkg/latchkey.wasm", &HeaderMap::new());
        assert!(post.is_none());
    }

    #[test]
    fn a_file_in_the_site_root_override_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/latchkey.css"), "custom{}").unwrap();
        let root = dir.path().to_str().unwrap();
        let assets = Assets::new(FILES, Some(root));
        let headers = HeaderMap::new();
        assert!(assets.serve(&Method::GET, "/pkg/latchkey.css", &headers).is_none());
        assert!(assets.serve(&Method::GET, "/pkg/latchkey.wasm", &headers).is_some());
        assert_eq!(assets.source(), AssetSource::Embedded(3));
        std::fs::write(dir.path().join("pkg/latchkey.wasm"), "custom").unwrap();
        assert_eq!(assets.source(), AssetSource::Directory(dir.path().to_path_buf()));
        let missing = Assets::new(&[], Some(root)).source();
        assert_eq!(missing, AssetSource::Directory(dir.path().to_path_buf()));
        let none = Assets::new(&[], Some("/nonexistent"));
        assert_eq!(none.source(), AssetSource::Missing(PathBuf::from("/nonexistent")));
    }
}
