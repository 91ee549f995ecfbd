//! Phone numbers: parsed once at the boundary into [`E164`], with the checks that keep SMS fraud
//! and undeliverable numbers out (libphonenumber's metadata, through the `phonenumber` crate).

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id as Region;
use phonenumber::{Mode, PhoneNumber, Type};

use messages::MessageId;

/// A phone number in E.164 form (`+15551234567`), known valid. Only constructed by parsing.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

/// Longest input worth parsing: E.164 has at most 15 digits; allow spaces, dashes, brackets.
const MAX_INPUT: usize = 40;

/// Why a number cannot be used. Each has its own message for the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneRejection {
    #[error("no number given")]
    Empty,
    #[error("input too long")]
    TooLong,
    #[error("not a valid phone number")]
    Invalid,
    #[error("cannot receive texts (type {0:?})")]
    NotMobile(NumberKind),
    #[error("premium-rate number")]
    PremiumRate,
    #[error("toll-free number")]
    TollFree,
    #[error("shared-cost number")]
    SharedCost,
    #[error("VoIP number")]
    Voip,
    #[error("region not allowed")]
    RegionNotAllowed,
    /// A landline (it only takes calls) while the SMS provider cannot place calls.
    #[error("a landline, and calls are not available")]
    LandlineNeedsCalls,
}

/// The kinds of number refused as a second factor although valid, for the log. Landlines are
/// accepted (they take calls, [`E164::takes_texts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Pager,
    PersonalNumber,
    Uan,
    Voicemail,
    Other,
}

impl PhoneRejection {
    pub fn message_id(&self) -> MessageId {
        match self {
            PhoneRejection::Empty => "phone.empty",
            PhoneRejection::TooLong => "phone.too_long",
            PhoneRejection::Invalid => "phone.invalid",
            PhoneRejection::NotMobile(_) => "phone.not_mobile",
            PhoneRejection::PremiumRate => "phone.premium_rate",
            PhoneRejection::TollFree => "phone.toll_free",
            PhoneRejection::SharedCost => "phone.shared_cost",
            PhoneRejection::Voip => "phone.voip",
            PhoneRejection::RegionNotAllowed => "phone.region_not_allowed",
            PhoneRejection::LandlineNeedsCalls => "phone.landline_needs_calls",
        }
    }
}

/// Where numbers may come from and how bare national numbers are read.
#[derive(Debug, Clone)]
pub struct PhonePolicy {
    default_region: Region,
    /// Empty: every region.
    allowed: Vec<Region>,
}

impl PhonePolicy {
    /// `default_region` and `allowed` are ISO 3166 codes ("US", "GB"); unknown ones are refused
    /// with the offending code, so configuration validation can name it.
    pub fn new(default_region: &str, allowed: &[String]) -> Result<Self, String> {
        let parse = |code: &str| Region::from_str(code).map_err(|_| code.to_owned());
        Ok(Self {
            default_region: parse(default_region)?,
            allowed: allowed.iter().map(|c| parse(c)).collect::<Result<_, _>>()?,
        })
    }

    /// Parses what a person typed, reading a number without `+country` in `region` (one of
    /// [`PhonePolicy::picker`]'s codes; anything else falls back to the default region).
    pub fn parse_in(&self, input: &str, region: &str) -> Result<E164, PhoneRejection> {
        match Region::from_str(region) {
            Ok(r) if self.allowed.is_empty() || self.allowed.contains(&r) => {
                Self { default_region: r, allowed: self.allowed.clone() }.parse(input)
            }
            _ => self.parse(input),
        }
    }

    /// The regions a country picker offers, as (ISO code, calling code), the default first:
    /// the allowed regions, or when every region is allowed a list of common ones.
    pub fn picker(&self) -> Vec<(String, u16)> {
        const COMMON: &[&str] = &[
            "US", "CA", "GB", "IE", "FR", "DE", "ES", "IT", "NL", "BE", "CH", "AT", "SE", "NO",
            "DK", "FI", "PL", "PT", "AU", "NZ", "IN", "JP", "SG", "BR", "MX", "ZA",
        ];
        let mut regions: Vec<Region> = if self.allowed.is_empty() {
            COMMON.iter().filter_map(|c| Region::from_str(c).ok()).collect()
        } else {
            self.allowed.clone()
        };
        regions.retain(|r| *r != self.default_region);
        regions.insert(0, self.default_region);
        regions
            .into_iter()
            .filter_map(|r| {
                let meta = phonenumber::metadata::DATABASE.by_id(r.as_ref())?;
                Some((r.as_ref().to_owned(), meta.country_code()))
            })
            .collect()
    }

    /// Parses what a person typed (with or without `+country`, with spaces, dashes, brackets).
    pub fn parse(&self, input: &str) -> Result<E164, PhoneRejection> {
        let input = input.trim();
        if input.is_empty() {
            return Err(PhoneRejection::Empty);
        }
        if input.chars().count() > MAX_INPUT {
            return Err(PhoneRejection::TooLong);
        }
        // Only ASCII digits and the usual separators: no letters (vanity numbers), no
        // extensions, no look-alike digits from other scripts.
        if !input.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
            return Err(PhoneRejection::Invalid);
        }
        let number = phonenumber::parse(Some(self.default_region), input)
            .map_err(|_| PhoneRejection::Invalid)?;
        self.check(&number)
    }

    /// Reads a value stored in the directory: E.164 (`+15551234567`) or Casa's digits-only
    /// form (`15551234567`). Lenient about type and region (the number was accepted once); only
    /// validity is required. `None` for values that are not phone numbers at all.
    pub fn from_directory(value: &str) -> Option<E164> {
        let value = value.trim();
        let with_plus = if value.starts_with('+') { value.to_owned() } else { format!("+{value}") };
        if with_plus.len() < 4 || !with_plus[1..].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        read_cache::remembered(&with_plus, |value| {
            let number = phonenumber::parse(None, value).ok()?;
            number.is_valid().then(|| E164(number.format().mode(Mode::E164).to_string()))
        })
    }

    fn check(&self, number: &PhoneNumber) -> Result<E164, PhoneRejection> {
        if !number.is_valid() || number.extension().is_some() {
            return Err(PhoneRejection::Invalid);
        }
        match number.number_type(&phonenumber::metadata::DATABASE) {
            // Landlines take calls only ([`E164::takes_texts`]); the other kinds are what SMS
            // and call fraud abuse, or cannot answer a call with a person.
            Type::Mobile | Type::FixedLineOrMobile | Type::FixedLine => {}
            Type::PremiumRate => return Err(PhoneRejection::PremiumRate),
            Type::TollFree => return Err(PhoneRejection::TollFree),
            Type::SharedCost => return Err(PhoneRejection::SharedCost),
            Type::Voip => return Err(PhoneRejection::Voip),
            Type::Pager => return Err(PhoneRejection::NotMobile(NumberKind::Pager)),
            Type::PersonalNumber => {
                return Err(PhoneRejection::NotMobile(NumberKind::PersonalNumber));
            }
            Type::Uan => return Err(PhoneRejection::NotMobile(NumberKind::Uan)),
            Type::Voicemail => return Err(PhoneRejection::NotMobile(NumberKind::Voicemail)),
            _ => return Err(PhoneRejection::NotMobile(NumberKind::Other)),
        }
        if !self.allowed.is_empty() {
            let region = number.country().id();
            if !region.is_some_and(|r| self.allowed.contains(&r)) {
                return Err(PhoneRejection::RegionNotAllowed);
            }
        }
        Ok(E164(number.format().mode(Mode::E164).to_string()))
    }
}

impl E164 {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Without the `+`: how Gluu Casa stores numbers.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// The last four digits, which is all a page or a log line shows.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len().saturating_sub(4)..]
    }

    /// `•••• 4567`
    pub fn masked(&self) -> String {
        format!("•••• {}", self.last4())
    }

    /// Whether the number can receive texts: not when the numbering plan says it is a fixed
    /// line (a landline, which only takes calls). Mobiles, and numbers the plan cannot tell
    /// from mobiles (libphonenumber's "fixed line or mobile", such as every US number), can.
    /// Remembered per number, like [`PhonePolicy::from_directory`]'s reading.
    pub fn takes_texts(&self) -> bool {
        read_cache::takes_texts(&self.0, |value| {
            phonenumber::parse(None, value).map_or(true, |n| {
                !matches!(n.number_type(&phonenumber::metadata::DATABASE), Type::FixedLine)
            })
        })
    }

    /// Voice-only: a landline, which gets codes by call.
    pub fn voice_only(&self) -> bool {
        !self.takes_texts()
    }
}

/// What [`PhonePolicy::from_directory`] made of the values it read lately. Parsing and
/// validating against the numbering plans costs about 190 000 instructions a number, and every
/// sign-in reads the same few numbers again (from the directory entry, from the stored flow);
/// the answer for a string never changes, so it is remembered, a bounded number of them.
mod read_cache {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};

    use super::E164;

    /// Values remembered at most; a full cache starts again empty.
    const CAPACITY: usize = 10_000;

    pub(super) fn remembered(
        value: &str,
        parse: impl FnOnce(&str) -> Option<E164>,
    ) -> Option<E164> {
        static READ: OnceLock<Mutex<HashMap<String, Option<E164>>>> = OnceLock::new();
        let cache = READ.get_or_init(Mutex::default);
        if let Some(known) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(value) {
            return known.clone();
        }
        let parsed = parse(value);
        let mut map = cache.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(value.to_owned(), parsed.clone());
        parsed
    }

    /// Whether a number takes texts, remembered like the readings above (the answer for a
    /// number never changes, and costs a parse).
    pub(super) fn takes_texts(value: &str, classify: impl FnOnce(&str) -> bool) -> bool {
        static KINDS: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
        let cache = KINDS.get_or_init(Mutex::default);
        if let Some(&known) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(value) {
            return known;
        }
        let texts = classify(value);
        let mut map = cache.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(value.to_owned(), texts);
        texts
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_kind_is_classified_once() {
            let mut calls = 0;
            let mut kind = |v: &str| {
                takes_texts(v, |v| {
                    calls += 1;
                    v.ends_with('1')
                })
            };
            assert!(kind("+99900000011"));
            assert!(kind("+99900000011"));
            assert!(!kind("+99900000012"));
            assert_eq!(calls, 2);
        }

        #[test]
        fn a_value_is_parsed_once_and_answered_the_same_after() {
            let mut calls = 0;
            let mut read = |v: &str| {
                remembered(v, |v| {
                    calls += 1;
                    (v == "+99900000001").then(|| E164(v.to_owned()))
                })
            };
            assert_eq!(read("+99900000001"), Some(E164("+99900000001".into())));
            assert_eq!(read("+99900000001"), Some(E164("+99900000001".into())));
            assert_eq!(read("+99900000002"), None);
            assert_eq!(read("+99900000002"), None);
            assert_eq!(calls, 2);
        }
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneRejection;

    /// Accepts only what [`E164`] itself produces (`+` and digits, valid).
    fn try_from(value: String) -> Result<Self, Self::Error> {
        if !value.starts_with('+') {
            return Err(PhoneRejection::Invalid);
        }
        PhonePolicy::from_directory(&value).filter(|e| e.0 == value).ok_or(PhoneRejection::Invalid)
    }
}

impl From<E164> for String {
    fn from(value: E164) -> Self {
        value.0
    }
}

/// Debug shows the masked form: numbers are personal data and must not spill into logs.
impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.masked())
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use messages as i18n;
    use proptest::prelude::*;

    fn us() -> PhonePolicy {
        PhonePolicy::new("US", &[]).unwrap()
    }

    #[test]
    fn national_and_international_forms_normalise_to_e164() {
        let p = us();
        for input in
            ["+1 201-555-0123", "(201) 555-0123", "201.555.0123", "12015550123", " +12015550123 "]
        {
            assert_eq!(p.parse(input).unwrap().as_str(), "+12015550123", "{input}");
        }
        let gb = PhonePolicy::new("GB", &[]).unwrap();
        assert_eq!(gb.parse("07400 123456").unwrap().as_str(), "+447400123456");
    }

    #[test]
    fn each_rejection_has_its_own_catalog_message() {
        let p = us();
        let cases: &[(&str, PhoneRejection)] = &[
            ("", PhoneRejection::Empty),
            ("1234567890123456789012345678901234567890123", PhoneRejection::TooLong),
            ("12", PhoneRejection::Invalid),
            ("+1 201 555 0123 ext 4", PhoneRejection::Invalid),
            ("1-800-555-0199", PhoneRejection::TollFree),
            ("+1 900 555 0199", PhoneRejection::PremiumRate),
            ("+33 810 12 34 56", PhoneRejection::SharedCost),
            ("+44 345 123 4567", PhoneRejection::NotMobile(NumberKind::Uan)),
            ("+44 56 1234 5678", PhoneRejection::Voip),
            // Look-alike digits from another script are not digits here.
            ("２０１５５５０１２３", PhoneRejection::Invalid),
        ];
        let mut ids = std::collections::HashSet::new();
        for (input, expected) in cases {
            let got = p.parse(input).unwrap_err();
            assert_eq!(got, *expected, "{input}");
            assert!(i18n::has(got.message_id()), "{} missing from the catalog", got.message_id());
            ids.insert(got.message_id());
        }
        assert!(i18n::has(PhoneRejection::RegionNotAllowed.message_id()));
        assert!(i18n::has(PhoneRejection::LandlineNeedsCalls.message_id()));
        assert_eq!(ids.len(), 8, "distinct messages");
    }

    /// Issue 21: landlines are accepted and take calls only; mobiles, and numbers that may be
    /// either (US numbers), take texts too; the kinds fraud abuses are still refused.
    #[test]
    fn landlines_are_accepted_as_voice_only() {
        let p = us();
        let cases: &[(&str, bool)] = &[
            ("+44 20 7946 0000", false),
            ("+34 912 345 678", false),
            ("+49 30 1234567", false),
            ("+44 7400 123456", true),
            ("+33 6 12 34 56 78", true),
            ("+1 201 555 0123", true),
        ];
        for (input, texts) in cases {
            let n = p.parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.takes_texts(), *texts, "{input}");
            assert_eq!(n.voice_only(), !texts, "{input}");
            // The same answer for the number read back from the directory.
            assert_eq!(PhonePolicy::from_directory(n.as_str()).unwrap().takes_texts(), *texts);
        }
        for (input, refused) in [
            ("+44 56 1234 5678", PhoneRejection::Voip),
            ("+1 900 555 0199", PhoneRejection::PremiumRate),
            ("+44 345 123 4567", PhoneRejection::NotMobile(NumberKind::Uan)),
            ("+33 810 12 34 56", PhoneRejection::SharedCost),
            ("1-800-555-0199", PhoneRejection::TollFree),
        ] {
            assert_eq!(p.parse(input).unwrap_err(), refused, "{input}");
        }
    }

    #[test]
    fn the_region_allow_list_is_enforced() {
        let p = PhonePolicy::new("US", &["US".into(), "CA".into()]).unwrap();
        assert!(p.parse("+12015550123").is_ok());
        assert_eq!(p.parse("+447400123456").unwrap_err(), PhoneRejection::RegionNotAllowed);
        assert!(PhonePolicy::new("US", &["XX".into()]).is_err());
    }

    #[test]
    fn directory_values_are_read_in_both_forms() {
        let e164 = PhonePolicy::from_directory("+12015550123").unwrap();
        let digits = PhonePolicy::from_directory("12015550123").unwrap();
        assert_eq!(e164, digits);
        assert_eq!(digits.digits(), "12015550123");
        assert_eq!(PhonePolicy::from_directory("not a phone"), None);
        assert_eq!(PhonePolicy::from_directory("+1"), None);
        assert_eq!(PhonePolicy::from_directory(""), None);
    }

    #[test]
    fn masking_shows_only_the_last_four_digits() {
        let n = us().parse("+12015550123").unwrap();
        assert_eq!(n.masked(), "•••• 0123");
        assert_eq!(format!("{n}"), "•••• 0123");
        assert_eq!(format!("{n:?}"), "E164(•••• 0123)");
    }

    #[test]
    fn serde_round_trips_and_refuses_non_e164() {
        let n = us().parse("+12015550123").unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"+12015550123\"");
        assert_eq!(serde_json::from_str::<E164>(&json).unwrap(), n);
        assert!(serde_json::from_str::<E164>("\"12015550123\"").is_err());
        assert!(serde_json::from_str::<E164>("\"+1 201 555 0123\"").is_err());
    }

    proptest! {
        /// Whatever is typed, parsing never panics, and anything accepted is canonical E.164
        /// that parses back to itself.
        #[test]
        fn parsing_is_total_and_canonical(input in "\\PC{0,45}") {
            if let Ok(n) = us().parse(&input) {
                prop_assert!(n.as_str().starts_with('+'));
                prop_assert!(n.as_str()[1..].bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(n.as_str().len() <= 16);
                prop_assert_eq!(us().parse(n.as_str()).unwrap(), n.clone());
                prop_assert_eq!(PhonePolicy::from_directory(n.digits()).unwrap(), n);
            }
        }

        /// US mobile-or-landline numbers in valid ranges are accepted in any common spelling.
        #[test]
        fn formatting_does_not_change_the_number(area in 201u32..=989, line in 0u32..10_000) {
            let national = format!("{area}555{line:04}");
            if let Ok(n) = us().parse(&national) {
                let spaced = format!("+1 ({area}) 555-{line:04}");
                prop_assert_eq!(us().parse(&spaced).unwrap(), n);
            }
        }
    }
}
