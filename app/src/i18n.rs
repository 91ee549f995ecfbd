//! The message catalog: every sentence a person reads comes from here, keyed by a stable id.
//!
//! Tests and server functions speak in ids (`status.database.down`), never in wording, so the
//! wording can change and translations can be added without touching a test.

/// A stable message id. Ids are lowercase, dot-separated, and never reused for another meaning.
pub type MessageId = &'static str;

/// English wording, sorted by id (a test keeps it sorted and free of duplicates).
static EN: &[(&str, &str)] = &[
    ("app.tagline", "Your account, with a second lock on the door."),
    ("demo.phone.empty", "No texts yet. Texts that Latchkey sends appear here, newest first."),
    (
        "demo.phone.intro",
        "Demo only: every text message Latchkey sends is delivered to this page instead of a real phone.",
    ),
    ("demo.phone.refresh", "Refresh"),
    ("demo.phone.title", "Demo phone"),
    ("demo.phone.to", "To"),
    ("error.internal", "Something went wrong on our side. Please try again in a moment."),
    ("error.network", "Latchkey could not be reached. Check your connection and try again."),
    ("error.not_found", "There is nothing here."),
    ("error.rate_limited", "Too many attempts. Please wait before trying again."),
    ("error.title", "Something went wrong"),
    (
        "error.unavailable",
        "A service Latchkey depends on is not answering. Please try again in a moment.",
    ),
    (
        "home.intro",
        "Latchkey protects your organisation account with a one-time code sent to your phone by text message, on top of your password.",
    ),
    ("home.status_link", "See system status"),
    ("home.title", "Welcome to Latchkey"),
    ("nav.demo_phone", "Demo phone"),
    ("nav.home", "Home"),
    ("nav.main", "Main"),
    ("nav.signed_in_as", "Signed in as"),
    ("nav.status", "Status"),
    ("not_found.back", "Go to the start page"),
    (
        "not_found.text",
        "The page you asked for does not exist. It may have moved, or the link may be mistyped.",
    ),
    ("not_found.title", "Page not found"),
    ("otp.cooldown", "A code was just sent. Please wait a moment before asking for another."),
    ("otp.expired", "This code has expired. Ask for a new one."),
    ("otp.locked", "Too many wrong codes. For your safety, codes are blocked for a while."),
    ("otp.malformed", "Enter the code from the text message: digits only."),
    ("otp.none_sent", "No code has been sent yet. Ask for one first."),
    ("otp.send_limit", "Too many codes were requested. Please wait before asking for another."),
    ("otp.too_many_attempts", "Too many wrong tries for this code. Ask for a new one."),
    ("otp.used", "This code was already used. Ask for a new one."),
    ("otp.wrong", "That code is not right. Check the text message and try again."),
    ("phone.empty", "Enter a phone number."),
    ("phone.invalid", "This is not a valid phone number. Check the digits and the country."),
    ("phone.not_mobile", "This number cannot receive text messages. Use a mobile number."),
    ("phone.premium_rate", "Premium-rate numbers cannot be used."),
    ("phone.region_not_allowed", "Numbers from this country cannot be used here."),
    ("phone.shared_cost", "Shared-cost numbers cannot be used."),
    ("phone.toll_free", "Toll-free numbers cannot be used."),
    ("phone.too_long", "That is too long for a phone number."),
    (
        "phone.voip",
        "Internet (VoIP) numbers cannot be used: codes sent to them are easy to intercept.",
    ),
    ("sms.invalid_number", "This number cannot receive our texts. Check it, or use another phone."),
    ("sms.not_mobile", "This number cannot receive text messages. Use a mobile number."),
    (
        "sms.not_sent",
        "We could not send the text just now. Try again in a moment, or use another phone.",
    ),
    (
        "sms.opted_out",
        "This phone has blocked our texts (it replied STOP). Reply START from it, or use another phone.",
    ),
    ("sms.region_not_enabled", "We cannot send texts to this country. Use another phone."),
    ("status.check_again", "Check again"),
    ("status.checked_at", "Checked at"),
    ("status.checking", "Checking…"),
    ("status.database", "Database"),
    ("status.directory", "Directory"),
    ("status.down", "Not answering"),
    ("status.intro", "Whether the services Latchkey depends on are answering right now."),
    ("status.ok", "Working"),
    ("status.title", "System status"),
];

/// The English wording of `id`.
pub fn t(id: &str) -> &'static str {
    match EN.binary_search_by(|(k, _)| (*k).cmp(id)) {
        Ok(i) => EN[i].1,
        // An unknown id can only come from the wire (a newer server): say something generic.
        Err(_) => "Something went wrong. Please try again.",
    }
}

/// Whether the catalog knows `id` (used by tests of code that produces ids).
pub fn has(id: &str) -> bool {
    EN.binary_search_by(|(k, _)| (*k).cmp(id)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_and_unique() {
        for pair in EN.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} must sort before {}", pair[0].0, pair[1].0);
        }
    }

    #[test]
    fn ids_are_well_formed_and_texts_non_empty() {
        for (id, text) in EN {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "bad id {id}"
            );
            assert!(!text.trim().is_empty(), "{id} has no text");
        }
    }

    #[test]
    fn lookup_finds_known_ids_and_hides_unknown_ones() {
        assert_eq!(t("status.ok"), "Working");
        assert!(has("error.internal"));
        assert!(!has("no.such.id"));
        assert_eq!(t("no.such.id"), "Something went wrong. Please try again.");
    }
}
