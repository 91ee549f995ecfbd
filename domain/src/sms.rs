//! The SMS port: send one text (or place one call) to one number, and say precisely why not.

use super::phone::E164;
use messages::MessageId;

/// The provider accepted the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentText {
    /// The provider's id for the message (Twilio's `SM…` sid), for support and the log.
    pub provider_id: String,
}

/// Why a text was not sent, or may not have been: after [`SmsError::Timeout`],
/// [`SmsError::Unavailable`] (a 5xx) and a refusal that is not clearly Twilio's, the text may
/// have gone out ([`SmsError::may_have_been_sent`]). That is why nothing retries after those,
/// and why they still count against the person's and the number's allowance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Twilio 21211: the `To` number is not valid.
    #[error("Twilio 21211: invalid To number")]
    InvalidNumber,
    /// Twilio 21408: sending to this region is not enabled on the account.
    #[error("Twilio 21408: permission to send to this region is not enabled on the Twilio account")]
    RegionNotEnabled,
    /// Twilio 21608: a trial account can only text verified numbers.
    #[error("Twilio 21608: the Twilio trial account cannot text unverified numbers")]
    TrialUnverified,
    /// Twilio 21610: the recipient replied STOP.
    #[error("Twilio 21610: the recipient has unsubscribed (replied STOP)")]
    OptedOut,
    /// Twilio 21614: not a mobile number.
    #[error("Twilio 21614: the To number cannot receive texts (not a mobile number)")]
    NotMobile,
    /// Twilio 21210 (calls): the number calls come from is not a Twilio number or verified caller
    /// ID of the account. The operator's to fix; the person reads that the call failed.
    #[error(
        "Twilio 21210: the From number of calls (sms.twilio.voice_from) is not a voice-capable Twilio number or verified caller ID on the account"
    )]
    CallerIdNotVerified,
    /// Twilio 21214 (calls): the `To` number cannot be reached by a call.
    #[error("Twilio 21214: the To number cannot be reached by a call")]
    CallUnreachable,
    /// Twilio 21215 (calls): the account's geographic permissions do not allow calling there.
    #[error(
        "Twilio 21215: the Twilio account's voice geographic permissions do not allow calling this region"
    )]
    CallRegionNotEnabled,
    /// Twilio 21216 (calls): the account is not allowed to call this number.
    #[error("Twilio 21216: the Twilio account is not allowed to call this number (blocked)")]
    CallBlocked,
    /// Twilio 21217 (calls): the `To` number does not appear to be a valid phone number.
    #[error("Twilio 21217: the To number does not appear to be a valid phone number to call")]
    CallInvalidNumber,
    /// Twilio 21219 (calls): a trial account can only call verified numbers.
    #[error("Twilio 21219: the Twilio trial account cannot call unverified numbers")]
    CallTrialUnverified,
    /// Twilio 20003 / HTTP 401: the credentials are wrong.
    #[error(
        "Twilio 20003: authentication failed; check sms.twilio.account_sid and the auth token or API key"
    )]
    BadCredentials,
    /// Twilio 20429 / HTTP 429, still after the one retry.
    #[error("Twilio 20429: too many requests, still after one retry")]
    RateLimited,
    /// No answer within the timeout: the text may or may not have been sent.
    #[error("Twilio did not answer within {secs} s; the text or call may or may not have gone out")]
    Timeout { secs: u64 },
    /// Twilio answered 5xx, or the connection failed after the request may have been written.
    #[error("Twilio is unavailable: {detail}")]
    Unavailable { detail: String },
    /// No connection could be made (refused, no route, name not found, TLS handshake failed):
    /// the request was never written, so nothing was sent.
    #[error("Twilio could not be reached: {detail}")]
    Unreachable { detail: String },
    /// Any other refusal, with Twilio's code when it gave one.
    #[error("Twilio refused the message: HTTP {status}, code {code:?}: {message}")]
    Rejected { status: u16, code: Option<u32>, message: String },
}

impl SmsError {
    /// What the person reads. Problems with the account or the provider all read the same,
    /// since the person can do nothing about them but try later or use another phone.
    pub fn message_id(&self) -> MessageId {
        match self {
            SmsError::InvalidNumber => "sms.invalid_number",
            SmsError::NotMobile => "sms.not_mobile",
            SmsError::OptedOut => "sms.opted_out",
            SmsError::RegionNotEnabled => "sms.region_not_enabled",
            SmsError::CallUnreachable => "call.unreachable",
            SmsError::CallRegionNotEnabled => "call.region_not_enabled",
            SmsError::CallBlocked => "call.blocked",
            SmsError::CallInvalidNumber => "call.invalid_number",
            // The operator's to fix (a caller ID, a trial account): the person can only wait
            // or have the code texted.
            SmsError::CallerIdNotVerified | SmsError::CallTrialUnverified => "call.not_placed",
            SmsError::TrialUnverified
            | SmsError::BadCredentials
            | SmsError::RateLimited
            | SmsError::Timeout { .. }
            | SmsError::Unavailable { .. }
            | SmsError::Unreachable { .. }
            | SmsError::Rejected { .. } => "sms.not_sent",
        }
    }

    /// Twilio's error code, for metrics and the log.
    pub fn twilio_code(&self) -> Option<u32> {
        match self {
            SmsError::InvalidNumber => Some(21211),
            SmsError::RegionNotEnabled => Some(21408),
            SmsError::TrialUnverified => Some(21608),
            SmsError::OptedOut => Some(21610),
            SmsError::NotMobile => Some(21614),
            SmsError::CallerIdNotVerified => Some(21210),
            SmsError::CallUnreachable => Some(21214),
            SmsError::CallRegionNotEnabled => Some(21215),
            SmsError::CallBlocked => Some(21216),
            SmsError::CallInvalidNumber => Some(21217),
            SmsError::CallTrialUnverified => Some(21219),
            SmsError::BadCredentials => Some(20003),
            SmsError::RateLimited => Some(20429),
            SmsError::Rejected { code, .. } => *code,
            SmsError::Timeout { .. }
            | SmsError::Unavailable { .. }
            | SmsError::Unreachable { .. } => None,
        }
    }

    /// Whether the person may have got the text although the send failed. Only a definite
    /// refusal says no: one of Twilio's 4xx answers with its error code (or a 401 or 429,
    /// which Twilio answers before doing anything), or a connection that was never made.
    /// After a timeout or a 5xx Twilio may have queued the text before failing to answer.
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            SmsError::InvalidNumber
            | SmsError::RegionNotEnabled
            | SmsError::TrialUnverified
            | SmsError::OptedOut
            | SmsError::NotMobile
            | SmsError::CallerIdNotVerified
            | SmsError::CallUnreachable
            | SmsError::CallRegionNotEnabled
            | SmsError::CallBlocked
            | SmsError::CallInvalidNumber
            | SmsError::CallTrialUnverified
            | SmsError::BadCredentials
            | SmsError::RateLimited
            | SmsError::Unreachable { .. } => false,
            SmsError::Rejected { status, code, .. } => {
                !((400..500).contains(status) && code.is_some())
            }
            SmsError::Timeout { .. } | SmsError::Unavailable { .. } => true,
        }
    }
}

/// GSM 03.38's basic alphabet; the second string is its extension table (two septets each).
/// For the catalog's test that every text is one segment.
/// What the audit trail says of a text that was not sent: the masked number and Twilio's code.
pub fn failure_detail(number: &E164, e: &SmsError) -> String {
    match e.twilio_code() {
        Some(code) => format!("{} twilio {code}", number.masked()),
        None => format!("{} {}", number.masked(), e.message_id()),
    }
}

#[cfg(test)]
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
    ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
#[cfg(test)]
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// How many septets `text` takes in the GSM-7 alphabet, or `None` when a character is outside
/// it: the whole text then goes as UCS-2, 70 characters a segment instead of 160.
#[cfg(test)]
pub(crate) fn gsm7_septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0, |n, c| {
        if GSM7_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM7_EXTENSION.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text message in every language is one SMS segment: GSM-7 only (one accent outside
    /// it turns the whole text into UCS-2, 70 characters a segment) and at most 160 septets with
    /// a product name, a long host in the autofill line and the largest placeholders.
    #[test]
    fn text_messages_fit_one_gsm7_segment() {
        for lang in messages::Lang::ALL {
            for (id, text) in lang.catalog().iter().filter(|(id, _)| id.starts_with("text.")) {
                let filled = text
                    .replace("{product}", "Latchkey")
                    .replace("{code}", "12345678")
                    .replace("{minutes}", "10")
                    .replace("{last4}", "0188");
                let body = format!("{filled}\n\n@accounts.example.org #12345678");
                let septets = super::gsm7_septets(&body);
                assert!(septets.is_some(), "{lang:?} {id} has a character outside GSM-7: {text}");
                assert!(septets <= Some(160), "{lang:?} {id} takes {septets:?} septets: {text}");
            }
        }
    }

    #[test]
    fn gsm7_counts_septets_and_refuses_what_needs_ucs2() {
        assert_eq!(gsm7_septets("Your code is 123456."), Some(20));
        assert_eq!(gsm7_septets("añadido teléfono"), Some(16), "ñ and é are GSM-7");
        assert_eq!(gsm7_septets("10 €, [ok]"), Some(13), "€ [ ] take two septets each");
        assert_eq!(gsm7_septets("código"), None, "ó is not");
        assert_eq!(gsm7_septets("ok 🙂"), None);
    }

    #[test]
    fn every_error_has_a_catalog_message_and_names_its_code_for_the_operator() {
        let all = [
            SmsError::InvalidNumber,
            SmsError::RegionNotEnabled,
            SmsError::TrialUnverified,
            SmsError::OptedOut,
            SmsError::NotMobile,
            SmsError::CallerIdNotVerified,
            SmsError::CallUnreachable,
            SmsError::CallRegionNotEnabled,
            SmsError::CallBlocked,
            SmsError::CallInvalidNumber,
            SmsError::CallTrialUnverified,
            SmsError::BadCredentials,
            SmsError::RateLimited,
            SmsError::Timeout { secs: 10 },
            SmsError::Unavailable { detail: "HTTP 503".into() },
            SmsError::Unreachable { detail: "connection refused".into() },
            SmsError::Rejected { status: 400, code: Some(21602), message: "Body required".into() },
        ];
        for e in all {
            assert!(messages::has(e.message_id()), "{e:?}");
            if let Some(code) = e.twilio_code() {
                assert!(e.to_string().contains(&code.to_string()), "{e}");
            }
        }
    }

    /// A call that failed reads as a call, never as a text ("cannot receive our texts"), and
    /// each of Twilio's call refusals is a definite 4xx: nothing rang, the allowance comes back.
    #[test]
    fn call_refusals_read_as_calls_and_were_definitely_not_placed() {
        for (e, code, id) in [
            (SmsError::CallerIdNotVerified, 21210, "call.not_placed"),
            (SmsError::CallUnreachable, 21214, "call.unreachable"),
            (SmsError::CallRegionNotEnabled, 21215, "call.region_not_enabled"),
            (SmsError::CallBlocked, 21216, "call.blocked"),
            (SmsError::CallInvalidNumber, 21217, "call.invalid_number"),
            (SmsError::CallTrialUnverified, 21219, "call.not_placed"),
        ] {
            assert_eq!(e.twilio_code(), Some(code), "{e:?}");
            assert_eq!(e.message_id(), id, "{e:?}");
            assert!(!e.may_have_been_sent(), "{e:?}");
            assert!(messages::has(id), "{id}");
        }
    }

    #[test]
    fn only_definite_refusals_say_the_text_was_not_sent() {
        let refused = |status, code| SmsError::Rejected { status, code, message: String::new() };
        for certain in [
            SmsError::InvalidNumber,
            SmsError::OptedOut,
            SmsError::BadCredentials,
            SmsError::RateLimited,
            SmsError::CallerIdNotVerified,
            SmsError::CallUnreachable,
            SmsError::CallRegionNotEnabled,
            SmsError::CallBlocked,
            SmsError::CallInvalidNumber,
            SmsError::CallTrialUnverified,
            SmsError::Unreachable { detail: "connection refused".into() },
            refused(400, Some(21602)),
        ] {
            assert!(!certain.may_have_been_sent(), "{certain:?}");
        }
        for maybe in [
            SmsError::Timeout { secs: 10 },
            SmsError::Unavailable { detail: "HTTP 503".into() },
            refused(400, None),
            refused(302, None),
        ] {
            assert!(maybe.may_have_been_sent(), "{maybe:?}");
        }
    }
}
