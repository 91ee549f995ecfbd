//! A QR code as inline SVG, drawn by the server (the wasm carries no encoder): black modules on
//! white inside the standard quiet zone, so a phone's camera reads it in dark mode too.

use leptos::prelude::*;

/// `text` as an `<svg role="img">` named `label`; `None` when it is too long for a QR code.
#[cfg(feature = "ssr")]
pub fn svg(text: &str, label: &str) -> Option<String> {
    use qrcode::render::svg::Color;
    use qrcode::{EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(text, EcLevel::M).ok()?;
    let image = code
        .render::<Color>()
        .quiet_zone(true)
        .dark_color(Color("#000"))
        .light_color(Color("#fff"))
        .min_dimensions(232, 232)
        .build();
    // The renderer writes a standalone document; inline, it starts at `<svg` and says what it is.
    let rest = &image[image.find("<svg ")? + "<svg ".len()..];
    Some(format!(
        r#"<svg role="img" aria-label="{}" class="h-auto w-56 max-w-full" {rest}"#,
        escape(label)
    ))
}

#[cfg(feature = "ssr")]
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The SVG [`svg`] drew, on the page.
pub fn qr_code(svg: String) -> impl IntoView {
    view! { <div class="inline-block leading-none" data-testid="qr" inner_html=svg></div> }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::svg;

    #[test]
    fn inline_named_black_on_white() {
        let out =
            svg("otpauth://totp/Latchkey:ada?secret=JBSWY3DPEHPK3PXP", "A \"QR\" code").unwrap();
        assert!(out.starts_with(r#"<svg role="img" aria-label="A &quot;QR&quot; code""#), "{out}");
        assert!(!out.contains("<?xml"));
        assert!(out.contains(r##"fill="#fff""##) && out.contains(r##"fill="#000""##));
        assert!(out.ends_with("</svg>"));
    }
}
