//! Authentication levels: what an app may ask for (`acr`) and what really happened (`amr`).

use serde::{Deserialize, Serialize};

use crate::authenticated::AuthMethod;

/// How strongly a person proved who they are, ordered by strength: `Password < Code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Password,
    Code,
}

pub const PASSWORD_ACR: &str = "urn:latchkey:acr:password";
pub const CODE_ACR: &str = "urn:latchkey:acr:password+code";
/// Gluu Server's script name: accepted and advertised as an alias of the code level, and echoed
/// back as asked, so an app configured for Gluu keeps working unchanged.
pub const TWILIO_SMS_ACR: &str = "twilio_sms";

/// The longest `acr_values` we read, in characters and in values: enough for any real client,
/// small enough that a hostile one cannot make us loop over megabytes.
pub const MAX_ACR_VALUES_LEN: usize = 1024;
pub const MAX_ACR_VALUES: usize = 16;

impl Level {
    /// The acr this level is advertised under (the project's own URN, never the alias).
    pub fn acr(self) -> &'static str {
        match self {
            Level::Password => PASSWORD_ACR,
            Level::Code => CODE_ACR,
        }
    }

    /// The level an acr value names, if we know it (exact, case-sensitive match).
    pub fn from_acr(acr: &str) -> Option<Level> {
        match acr {
            PASSWORD_ACR => Some(Level::Password),
            CODE_ACR | TWILIO_SMS_ACR => Some(Level::Code),
            _ => None,
        }
    }
}

/// Every acr value the provider advertises (`acr_values_supported`): weakest first, each level's
/// URN before its aliases.
pub fn supported_acrs() -> &'static [&'static str] {
    &[PASSWORD_ACR, CODE_ACR, TWILIO_SMS_ACR]
}

/// The level an authorization request asks for, and the acr to put in the ID token: the value
/// the app asked for, so an app configured for Gluu gets `twilio_sms` back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requested {
    pub acr: String,
    pub level: Level,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("none of the requested authentication levels is supported")]
pub struct UnknownAcr;

/// Whether `acr_values` is longer than we read (the request check answers `invalid_request`
/// for it before asking [`requested`]).
pub fn acr_values_too_long(acr_values: &str) -> bool {
    acr_values.len() > MAX_ACR_VALUES_LEN
        || acr_values.split_ascii_whitespace().nth(MAX_ACR_VALUES).is_some()
}

/// The level asked for. `acr_values` is space-separated, in order of preference (OIDC Core
/// 3.1.2.1): the first value we know wins and unknown ones are skipped. Absent or empty, the
/// client's default acr applies, else the server's.
///
/// Unknown values only, over-long input, or a default that names no level (a configuration
/// mistake the server's start-up check should catch) → `Err`: we would rather refuse than
/// silently sign someone in at a weaker level than the app expects.
pub fn requested(
    acr_values: Option<&str>,
    client_default: Option<&str>,
    server_default: &str,
) -> Result<Requested, UnknownAcr> {
    let known = |acr: &str| Level::from_acr(acr).map(|level| Requested { acr: acr.into(), level });
    match acr_values {
        Some(values) if acr_values_too_long(values) => Err(UnknownAcr),
        Some(values) if !values.trim().is_empty() => {
            values.split_ascii_whitespace().find_map(known).ok_or(UnknownAcr)
        }
        _ => known(client_default.unwrap_or(server_default)).ok_or(UnknownAcr),
    }
}

/// The level a sign-in reached. `remembered_satisfies_code`: the client's setting whether a
/// remembered browser counts as the code level (the browser once saw a code, this sign-in did
/// not).
pub fn achieved(method: AuthMethod, remembered_satisfies_code: bool) -> Level {
    match method {
        AuthMethod::Password => Level::Password,
        AuthMethod::PasswordAndSms
        | AuthMethod::PasswordAndCall
        | AuthMethod::PasswordAndNewPhone
        | AuthMethod::PasswordAndApp
        | AuthMethod::PasswordAndRecoveryCode => Level::Code,
        AuthMethod::PasswordAndRememberedBrowser if remembered_satisfies_code => Level::Code,
        AuthMethod::PasswordAndRememberedBrowser => Level::Password,
    }
}

/// The `amr` value of a recovery code (RFC 8176 has none; see docs/oidc.md).
pub const RECOVERY_CODE_AMR: &str = "recovery_code";

/// RFC 8176 `amr` values for how the person really signed in — never more than happened:
/// - a remembered browser is not a code: this sign-in texted nobody, so no `sms` (even when the
///   client lets it count as the code level for `acr`);
/// - a code to a number given during this very sign-in proves the person holds that phone, not
///   that they are who they say (whoever knows the password can give their own number), so it
///   is `sms` but not `mfa`: only one factor the person had before was checked.
pub fn amr(method: AuthMethod) -> Vec<&'static str> {
    match method {
        AuthMethod::Password | AuthMethod::PasswordAndRememberedBrowser => vec!["pwd"],
        AuthMethod::PasswordAndSms => vec!["pwd", "sms", "mfa"],
        // RFC 8176 `tel`: confirmation by a telephone call.
        AuthMethod::PasswordAndCall => vec!["pwd", "tel", "mfa"],
        AuthMethod::PasswordAndNewPhone => vec!["pwd", "sms"],
        AuthMethod::PasswordAndApp => vec!["pwd", "otp", "mfa"],
        // RFC 8176 has no value for a recovery code; ours is documented in docs/oidc.md.
        AuthMethod::PasswordAndRecoveryCode => vec!["pwd", "mfa", RECOVERY_CODE_AMR],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_by_strength() {
        assert!(Level::Password < Level::Code);
        assert_eq!(Level::Code.max(Level::Password), Level::Code);
    }

    #[test]
    fn acrs_round_trip_and_the_alias_is_the_code_level() {
        for level in [Level::Password, Level::Code] {
            assert_eq!(Level::from_acr(level.acr()), Some(level));
        }
        assert_eq!(Level::from_acr(TWILIO_SMS_ACR), Some(Level::Code));
        for unknown in ["", "TWILIO_SMS", "urn:latchkey:acr:Password", " twilio_sms", "mfa"] {
            assert_eq!(Level::from_acr(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn every_supported_acr_names_a_level() {
        let supported = supported_acrs();
        assert_eq!(supported, [PASSWORD_ACR, CODE_ACR, TWILIO_SMS_ACR]);
        for acr in supported {
            assert!(Level::from_acr(acr).is_some(), "{acr}");
        }
    }

    #[test]
    fn level_serialises_in_snake_case() {
        assert_eq!(serde_json::to_string(&Level::Code).expect("json"), "\"code\"");
        let back: Level = serde_json::from_str("\"password\"").expect("json");
        assert_eq!(back, Level::Password);
    }

    #[test]
    fn requested_table() {
        let ok = |acr: &str, level| Ok(Requested { acr: acr.into(), level });
        let many = vec!["x"; MAX_ACR_VALUES + 1].join(" ");
        let many_then_known = format!("{} {CODE_ACR}", vec!["x"; MAX_ACR_VALUES].join(" "));
        let long = format!("{CODE_ACR} {}", "x".repeat(MAX_ACR_VALUES_LEN));
        let blank_but_long = " ".repeat(MAX_ACR_VALUES_LEN + 1);
        let password_then_code = format!("{PASSWORD_ACR} {CODE_ACR}");
        // (acr_values, client default, server default) → result
        type Row<'a> = (Option<&'a str>, Option<&'a str>, &'a str, Result<Requested, UnknownAcr>);
        let table: Vec<Row> = vec![
            (None, None, PASSWORD_ACR, ok(PASSWORD_ACR, Level::Password)),
            (None, None, CODE_ACR, ok(CODE_ACR, Level::Code)),
            (None, Some(TWILIO_SMS_ACR), PASSWORD_ACR, ok(TWILIO_SMS_ACR, Level::Code)),
            (Some(""), Some(CODE_ACR), PASSWORD_ACR, ok(CODE_ACR, Level::Code)),
            (Some("   "), None, PASSWORD_ACR, ok(PASSWORD_ACR, Level::Password)),
            // The app's value wins over both defaults, in either direction.
            (Some(PASSWORD_ACR), Some(CODE_ACR), CODE_ACR, ok(PASSWORD_ACR, Level::Password)),
            (Some(TWILIO_SMS_ACR), None, PASSWORD_ACR, ok(TWILIO_SMS_ACR, Level::Code)),
            // Order of preference: the first known value, not the strongest.
            (
                Some("urn:other twilio_sms urn:latchkey:acr:password"),
                None,
                PASSWORD_ACR,
                ok(TWILIO_SMS_ACR, Level::Code),
            ),
            (Some(&password_then_code), None, CODE_ACR, ok(PASSWORD_ACR, Level::Password)),
            (Some("  twilio_sms  "), None, PASSWORD_ACR, ok(TWILIO_SMS_ACR, Level::Code)),
            // Unknown only: refused, never the default.
            (Some("urn:other gold"), Some(CODE_ACR), PASSWORD_ACR, Err(UnknownAcr)),
            // A misconfigured default is refused too.
            (None, Some("bogus"), PASSWORD_ACR, Err(UnknownAcr)),
            (None, None, "bogus", Err(UnknownAcr)),
            // Over-long input, even with a known value inside.
            (Some(&many), None, PASSWORD_ACR, Err(UnknownAcr)),
            (Some(&many_then_known), None, PASSWORD_ACR, Err(UnknownAcr)),
            (Some(&long), None, PASSWORD_ACR, Err(UnknownAcr)),
            (Some(&blank_but_long), None, PASSWORD_ACR, Err(UnknownAcr)),
        ];
        for (values, client, server, want) in table {
            assert_eq!(requested(values, client, server), want, "{values:?} {client:?} {server}");
        }
    }

    #[test]
    fn sixteen_values_are_still_read() {
        let sixteen = format!("{} {CODE_ACR}", vec!["x"; MAX_ACR_VALUES - 1].join(" "));
        assert!(!acr_values_too_long(&sixteen));
        assert_eq!(requested(Some(&sixteen), None, PASSWORD_ACR).map(|r| r.level), Ok(Level::Code));
    }

    #[test]
    fn achieved_and_amr_table() {
        use AuthMethod as M;
        // (method, remembered satisfies code) → (level, amr)
        let table = [
            (M::Password, false, Level::Password, vec!["pwd"]),
            (M::Password, true, Level::Password, vec!["pwd"]),
            (M::PasswordAndSms, false, Level::Code, vec!["pwd", "sms", "mfa"]),
            (M::PasswordAndSms, true, Level::Code, vec!["pwd", "sms", "mfa"]),
            (M::PasswordAndCall, false, Level::Code, vec!["pwd", "tel", "mfa"]),
            (M::PasswordAndCall, true, Level::Code, vec!["pwd", "tel", "mfa"]),
            (M::PasswordAndRememberedBrowser, false, Level::Password, vec!["pwd"]),
            (M::PasswordAndRememberedBrowser, true, Level::Code, vec!["pwd"]),
            (M::PasswordAndNewPhone, false, Level::Code, vec!["pwd", "sms"]),
            (M::PasswordAndNewPhone, true, Level::Code, vec!["pwd", "sms"]),
        ];
        for (method, remembered, level, amr_values) in table {
            assert_eq!(achieved(method, remembered), level, "{method:?} {remembered}");
            assert_eq!(amr(method), amr_values, "{method:?}");
        }
    }

    #[test]
    fn a_remembered_browser_never_claims_a_code() {
        assert!(!amr(AuthMethod::PasswordAndRememberedBrowser).contains(&"sms"));
        assert!(!amr(AuthMethod::PasswordAndRememberedBrowser).contains(&"mfa"));
        assert!(!amr(AuthMethod::PasswordAndNewPhone).contains(&"mfa"));
    }

    #[test]
    fn every_second_factor_meets_the_code_level_and_says_which() {
        assert_eq!(amr(AuthMethod::PasswordAndApp), ["pwd", "otp", "mfa"]);
        assert_eq!(amr(AuthMethod::PasswordAndRecoveryCode), ["pwd", "mfa", "recovery_code"]);
        for m in [AuthMethod::PasswordAndApp, AuthMethod::PasswordAndRecoveryCode] {
            assert_eq!(achieved(m, false), Level::Code);
            assert!(!amr(m).contains(&"sms"));
        }
    }
}
