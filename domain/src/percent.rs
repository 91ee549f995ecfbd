//! Percent-encoding of everything but RFC 3986's unreserved characters: a URI's query values
//! (OpenID Connect redirects) and an `otpauth://` label.

pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn unreserved_stay_the_rest_is_encoded() {
        assert_eq!(super::encode("a-Z_0.9~ b/é"), "a-Z_0.9~%20b%2F%C3%A9");
    }
}
