//! Recovery codes: ten single-use codes for when no phone or app is at hand. Shown once, stored
//! only as keyed hashes (the same rotatable keys as texted codes), typed forgivingly.

use unicode_normalization::UnicodeNormalization;

/// Codes per set.
pub const SET_SIZE: usize = 10;
/// Characters per code: 10 of 32 symbols, 50 bits each, far beyond guessing under the second
/// step's failure lock.
const LENGTH: usize = 10;
/// Crockford-style alphabet: no I, L, O or U, so what is read aloud or copied by hand is what
/// was meant (I and L are read as 1, O as 0 when typed).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A fresh set, each code formatted `XXXXX-XXXXX`.
pub fn generate() -> Vec<String> {
    (0..SET_SIZE)
        .map(|_| {
            let bytes = crate::tokens::random_bytes(LENGTH);
            // 256 is a multiple of 32: taking the low five bits keeps every symbol uniform.
            let code: String =
                bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect();
            format!("{}-{}", &code[..5], &code[5..])
        })
        .collect()
}

/// The canonical form of a typed code, or `None` when it cannot be one: Unicode compatibility
/// forms folded (full-width letters), case ignored, spaces and dashes dropped, the confusable
/// letters read as the digits they look like.
pub fn normalize(input: &str) -> Option<String> {
    if input.len() > 100 {
        return None;
    }
    let mut out = String::with_capacity(LENGTH);
    for c in input.nfkc() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\t' | '_' | '\u{2010}'..='\u{2015}' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == LENGTH).then_some(out)
}

/// What the person reads: the number left, the set's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryStatus {
    /// Unused codes of the current set.
    pub remaining: u32,
    /// When the current set was made; `None` when the person has none.
    pub created_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_well_formed_codes() {
        let set = generate();
        assert_eq!(set.len(), SET_SIZE);
        for code in &set {
            assert_eq!(code.len(), 11, "{code}");
            assert_eq!(&code[5..6], "-");
            assert_eq!(normalize(code).as_deref(), Some(code.replace('-', "").as_str()));
        }
        let mut unique = set.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), SET_SIZE);
    }

    #[test]
    fn typed_forgivingly() {
        let want = Some("0123456789".to_owned());
        for typed in [
            "01234-56789",
            "0123456789",
            " 01234 56789 ",
            "o1234-56789",
            "O1234\u{2013}56789",
            "０１２３４-５６７８９",
        ] {
            assert_eq!(normalize(typed), want, "{typed:?}");
        }
        assert_eq!(normalize("abcde-fghjk"), Some("ABCDEFGHJK".to_owned()));
        assert_eq!(normalize("i1234l5678"), Some("1123415678".to_owned()));
    }

    #[test]
    fn what_cannot_be_a_code() {
        for typed in ["", "0123", "01234-567890", "01234-5678U", "01234-5678é", "0123456789'; --"]
        {
            assert_eq!(normalize(typed), None, "{typed:?}");
        }
        assert_eq!(normalize(&"0".repeat(101)), None);
    }
}
