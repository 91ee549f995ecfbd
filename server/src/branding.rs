//! Branding, as Casa offers it: the product name (in `config`), a logo file and an accent colour.
//! Both are checked when the configuration loads, so a wrong file or an unreadable colour stops
//! start-up with one clear line instead of showing a broken page.

/// The accent colour when none is configured (Tailwind's indigo-600).
pub const DEFAULT_ACCENT: &str = "#4f46e5";

/// Largest logo accepted: it is sent with every first page view.
pub const MAX_LOGO_BYTES: usize = 200 * 1024;

/// WCAG AA for normal text: buttons put white text on the accent, links accent text on white.
const MIN_CONTRAST: f64 = 4.5;

/// A logo read from disk, ready to serve.
#[derive(Debug, Clone)]
pub struct Logo {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// `#rrggbb` (or `#rgb`) as red, green, blue.
pub fn parse_hex_color(text: &str) -> Option<[u8; 3]> {
    let hex = text.trim().strip_prefix('#')?;
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |s: &str| u8::from_str_radix(s, 16).ok();
    match hex.len() {
        6 => Some([channel(&hex[0..2])?, channel(&hex[2..4])?, channel(&hex[4..6])?]),
        3 => {
            let short = |i: usize| channel(&hex[i..=i]).map(|v| v * 17);
            Some([short(0)?, short(1)?, short(2)?])
        }
        _ => None,
    }
}

/// The WCAG contrast ratio of white against `rgb` (1 to 21).
pub fn contrast_with_white(rgb: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let luminance = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
    1.05 / (luminance + 0.05)
}

/// The accent as `#rrggbb`, or why it cannot be used.
pub fn check_accent(text: &str) -> Result<String, String> {
    let rgb = parse_hex_color(text).ok_or_else(|| {
        format!("server.accent_color = {text:?} is not a colour: write it as \"#rrggbb\", e.g. \"#4f46e5\"")
    })?;
    let ratio = contrast_with_white(rgb);
    if ratio < MIN_CONTRAST {
        return Err(format!(
            "server.accent_color = {text:?} gives white button text a contrast of {ratio:.1}:1; \
             WCAG AA needs {MIN_CONTRAST}:1 — choose a darker shade"
        ));
    }
    Ok(format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]))
}

/// The image type of `bytes` by its first bytes, never by the file name.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
        head.contains("<svg").then_some("image/svg+xml")
    }
}

/// Reads and checks the logo at `path`.
pub fn load_logo(path: &str) -> Result<Logo, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("server.logo = {path:?} cannot be read: {e}"))?;
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(format!(
            "server.logo = {path:?} is {} KB; the limit is {} KB (it loads with every first page)",
            bytes.len() / 1024,
            MAX_LOGO_BYTES / 1024
        ));
    }
    let content_type = sniff(&bytes)
        .ok_or_else(|| format!("server.logo = {path:?} is not a PNG, JPEG, WebP or SVG image"))?;
    Ok(Logo { bytes, content_type })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_in_long_and_short_form() {
        assert_eq!(parse_hex_color("#4f46e5"), Some([0x4f, 0x46, 0xe5]));
        assert_eq!(parse_hex_color(" #FFF "), Some([255, 255, 255]));
        for bad in ["4f46e5", "#4f46e", "#ggg", "#+1+2+3", "", "#", "#ｆｆｆ"] {
            assert_eq!(parse_hex_color(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn contrast_matches_wcag_figures() {
        assert!((contrast_with_white([0, 0, 0]) - 21.0).abs() < 0.01);
        assert!((contrast_with_white([255, 255, 255]) - 1.0).abs() < 0.01);
        // #767676 is the classic lightest grey that passes AA on white.
        assert!((contrast_with_white([0x76, 0x76, 0x76]) - 4.54).abs() < 0.01);
    }

    #[test]
    fn accents_too_light_for_white_text_are_refused() {
        assert_eq!(check_accent("#4F46E5").as_deref(), Ok("#4f46e5"));
        assert_eq!(check_accent(DEFAULT_ACCENT).as_deref(), Ok(DEFAULT_ACCENT));
        let err = check_accent("#ffcc00").unwrap_err();
        assert!(err.contains("1.") && err.contains("4.5:1"), "{err}");
        assert!(check_accent("red").unwrap_err().contains("#rrggbb"));
    }

    #[test]
    fn logos_are_known_image_types_of_a_sane_size() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path.to_string_lossy().into_owned()
        };
        let svg =
            write("logo.svg", br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>"#);
        assert_eq!(load_logo(&svg).unwrap().content_type, "image/svg+xml");
        let png = write("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
        assert_eq!(load_logo(&png).unwrap().content_type, "image/png");
        let text = write("logo.png.txt", b"hello");
        assert!(load_logo(&text).unwrap_err().contains("not a PNG"));
        let huge = write("huge.png", &[0x89; MAX_LOGO_BYTES + 1]);
        assert!(load_logo(&huge).unwrap_err().contains("limit"));
        assert!(load_logo("/no/such/logo.svg").unwrap_err().contains("cannot be read"));
    }
}
