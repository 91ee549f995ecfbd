//! With the `embed-assets` feature, puts the browser assets cargo-leptos built (`target/site`,
//! or `LATCHKEY_SITE_DIR`) into the binary: every file under `pkg/` with its precompressed
//! `.br` and `.gz` beside it, and a content hash for its `ETag`. The table it writes is read by
//! `src/http/assets.rs`; without the feature the table is empty and nothing here is read.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // `sqlx::migrate!` reads the migrations at compile time: a new one must rebuild the binary.
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-env-changed=LATCHKEY_SITE_DIR");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let table = if std::env::var_os("CARGO_FEATURE_EMBED_ASSETS").is_some() {
        embedded_table(&site_dir())
    } else {
        "static EMBEDDED: &[Asset] = &[];\n".to_owned()
    };
    std::fs::write(out.join("embedded_assets.rs"), table).expect("OUT_DIR is writable");
}

fn site_dir() -> PathBuf {
    match std::env::var_os("LATCHKEY_SITE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set"));
            manifest.join("../target/site")
        }
    }
}

fn embedded_table(site: &Path) -> String {
    let pkg = site.join("pkg");
    if !pkg.join("latchkey.wasm").is_file() {
        panic!(
            "the embed-assets feature needs the browser assets in {}: build them first with \
             `make frontend` (cargo leptos build --release --frontend-only --precompress), or \
             point LATCHKEY_SITE_DIR at a site directory holding pkg/latchkey.wasm",
            pkg.display()
        );
    }
    // Any change under pkg/ (a rebuilt wasm, a new file) rebuilds the table.
    println!("cargo:rerun-if-changed={}", pkg.display());
    let mut names: Vec<String> = std::fs::read_dir(&pkg)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", pkg.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        // The variants go beside their file; wasm-bindgen's TypeScript declarations serve no one.
        .filter(|n| !n.ends_with(".br") && !n.ends_with(".gz") && !n.ends_with(".d.ts"))
        .collect();
    names.sort();
    let mut table = String::from("static EMBEDDED: &[Asset] = &[\n");
    for name in names {
        let file = pkg.join(&name).canonicalize().expect("listed just now");
        println!("cargo:rerun-if-changed={}", file.display());
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let variant = |suffix: &str| {
            let path = pkg.join(format!("{name}{suffix}"));
            match path.canonicalize() {
                Ok(p) if p.is_file() => {
                    println!("cargo:rerun-if-changed={}", p.display());
                    format!("Some(include_bytes!({:?}))", p.display().to_string())
                }
                _ => "None".to_owned(),
            }
        };
        let _ = writeln!(
            table,
            "    Asset {{ path: {:?}, identity: include_bytes!({:?}), br: {}, gzip: {}, hash: {:?} }},",
            format!("pkg/{name}"),
            file.display().to_string(),
            variant(".br"),
            variant(".gz"),
            format!("{:016x}", fnv1a(&bytes)),
        );
    }
    table.push_str("];\n");
    table
}

/// FNV-1a, 64 bits: a content fingerprint for `ETag` (not a security boundary).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
