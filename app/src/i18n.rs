//! The message catalog: every sentence a person reads comes from here, keyed by a stable id.
//!
//! Tests and server functions speak in ids (`status.database.down`), never in wording, so the
//! wording can change and translations can be added without touching a test.

/// A stable message id. Ids are lowercase, dot-separated, and never reused for another meaning.
pub type MessageId = &'static str;

mod es;

/// A language the portal speaks. Adding one is a catalog file and a line in each `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Es,
}

/// The cookie that remembers the language a person picked with the switcher.
pub const LANG_COOKIE: &str = "latchkey-lang";

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The BCP 47 tag, as in `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language's name in itself, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
        }
    }

    fn catalog(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::En => EN,
            Lang::Es => es::ES,
        }
    }

    /// The language of a tag such as `es`, `es-MX` or `EN-gb`; `None` for one we do not speak.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The preferred language we speak from an `Accept-Language` header, by quality value
    /// (ties keep the header's order); `None` when it names none of ours.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, u16)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_tag) else { continue };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_quality)
                .unwrap_or(0);
            if q > 0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((lang, q));
            }
        }
        best.map(|(l, _)| l)
    }

    /// The language of a request: the switcher's cookie, else `Accept-Language`, else English.
    pub fn from_headers(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        cookie
            .and_then(|c| {
                c.split(';').find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    (name == LANG_COOKIE).then(|| Lang::from_tag(value)).flatten()
                })
            })
            .or_else(|| accept_language.and_then(Lang::from_accept_language))
            .unwrap_or_default()
    }
}

/// A quality value (`0`, `0.5`, `1.000`) in thousandths; `None` when malformed.
fn parse_quality(q: &str) -> Option<u16> {
    let value: f32 = q.trim().parse().ok()?;
    (0.0..=1.0).contains(&value).then(|| (value * 1000.0).round() as u16)
}

/// The language of the page being rendered or the request being answered.
///
/// On the server it comes from the request (a context the shell provides, or the headers); in
/// the browser from `<html lang>`, which the server wrote, so hydration renders the same words.
pub fn current() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        if let Some(lang) = use_context::<Lang>() {
            return lang;
        }
        use_context::<axum::http::request::Parts>()
            .map(|parts| request_lang(&parts.headers))
            .unwrap_or_default()
    }
    #[cfg(all(not(feature = "ssr"), target_arch = "wasm32"))]
    {
        thread_local! {
            static PAGE_LANG: Lang = leptos::prelude::document()
                .document_element()
                .and_then(|html| html.get_attribute("lang"))
                .and_then(|tag| Lang::from_tag(&tag))
                .unwrap_or_default();
        }
        PAGE_LANG.with(|l| *l)
    }
    #[cfg(all(not(feature = "ssr"), not(target_arch = "wasm32")))]
    {
        Lang::default()
    }
}

/// The language a request asks for.
#[cfg(feature = "ssr")]
pub fn request_lang(headers: &axum::http::HeaderMap) -> Lang {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    Lang::from_headers(
        header(axum::http::header::COOKIE),
        header(axum::http::header::ACCEPT_LANGUAGE),
    )
}

/// English wording, sorted by id (a test keeps it sorted and free of duplicates).
static EN: &[(&str, &str)] = &[
    ("activity.admin.denied", "Administrator page refused"),
    ("activity.admin.phone_removed", "Phone removed by an administrator"),
    ("activity.admin.reset", "Reset to password-only by an administrator"),
    ("activity.admin.unlocked", "Sign-in codes unlocked by an administrator"),
    ("activity.browser.forgotten", "Remembered browser forgotten"),
    ("activity.phone.added", "Phone added"),
    ("activity.phone.enrolled", "Phone added while signing in"),
    ("activity.phone.marked_verified", "Phone marked verified by an operator"),
    ("activity.phone.preferred", "Preferred phone changed"),
    ("activity.phone.removed", "Phone removed"),
    ("activity.phone.renamed", "Phone renamed"),
    ("activity.phone.verified", "Phone verified"),
    ("activity.reauth", "Confirmed it was you"),
    ("activity.reauth.password", "Password entered to confirm it was you"),
    ("activity.refused", "refused"),
    ("activity.security.code", "Confirmation code entered"),
    ("activity.security.code_sent", "Confirmation code texted"),
    ("activity.security.notice", "Security notice text"),
    ("activity.session.signed_out_others", "Signed out of all other browsers"),
    ("activity.sign_in.code", "Sign-in code entered"),
    ("activity.sign_in.code_sent", "Sign-in code texted"),
    ("activity.sign_in.locked", "Sign-in locked after too many attempts"),
    ("activity.sign_in.password", "Password entered"),
    ("activity.sign_in.remembered_browser", "Remembered browser used"),
    ("activity.sign_in.success", "Signed in"),
    ("activity.sign_out", "Signed out"),
    ("activity.two_factor.off", "2-step sign-in turned off"),
    ("activity.two_factor.on", "2-step sign-in turned on"),
    ("admin.audit.actor", "Actor (login)"),
    ("admin.audit.bad_date", "Write dates as YYYY-MM-DD."),
    ("admin.audit.bad_kind", "An event kind is lowercase words with dots, like sign_in.success."),
    ("admin.audit.csv", "Download as CSV"),
    ("admin.audit.filter", "Filter"),
    ("admin.audit.from", "From (YYYY-MM-DD)"),
    ("admin.audit.kind", "Kind (prefix)"),
    ("admin.audit.none", "No events match."),
    ("admin.audit.older", "Older events"),
    ("admin.audit.person", "Person (login)"),
    ("admin.audit.title", "Audit trail"),
    ("admin.audit.to", "Until (YYYY-MM-DD, exclusive)"),
    ("admin.audit.unknown_login", "No person has that login."),
    ("admin.browsers", "Remembered browsers"),
    ("admin.confirm", "I am sure"),
    ("admin.events.actor", "By"),
    ("admin.events.detail", "Detail"),
    ("admin.events.ip", "IP address"),
    ("admin.events.kind", "Event"),
    ("admin.events.outcome", "Outcome"),
    ("admin.events.subject", "Person affected"),
    ("admin.events.when", "When"),
    ("admin.forbidden", "Only administrators can see this."),
    ("admin.mail", "Mail"),
    ("admin.name", "Name"),
    ("admin.next", "Next page"),
    ("admin.no_such_person", "There is no such person in the directory."),
    ("admin.not_confirmed", "Tick the box to confirm."),
    ("admin.not_locked", "Sign-in codes are not locked: there is nothing to unlock."),
    ("admin.off", "Off"),
    ("admin.on", "On"),
    ("admin.people.empty", "Nobody matches."),
    ("admin.people.phones", "Phones"),
    ("admin.people.title", "People"),
    ("admin.phone_removed", "Phone removed. The person's other phones were sent a notice."),
    ("admin.previous", "Previous page"),
    ("admin.reason", "Reason (recorded in the audit trail)"),
    ("admin.reason_required", "Give a reason (up to 500 characters)."),
    ("admin.reauth_needed", "Confirm it is you first (on your Security page), then come back."),
    ("admin.recent_activity", "Recent activity"),
    ("admin.remove_phone", "Remove this phone"),
    ("admin.reset", "Reset to password-only"),
    ("admin.reset_done", "2-step sign-in is off and remembered browsers are forgotten."),
    (
        "admin.reset_intro",
        "Turns 2-step sign-in off and forgets every remembered browser; the phones stay.",
    ),
    ("admin.search", "Search"),
    ("admin.search_label", "Login, name or mail"),
    ("admin.second_step", "Sign-in codes"),
    ("admin.second_step.locked", "Locked for a while after too many wrong codes"),
    (
        "admin.second_step.locked_until_unlocked",
        "Locked after too many wrong codes, until an administrator unlocks them",
    ),
    ("admin.second_step.open", "Not locked"),
    ("admin.term_too_short", "Type at least 2 characters."),
    ("admin.title", "Administration"),
    ("admin.two_factor", "2-step sign-in"),
    ("admin.uid", "Login"),
    ("admin.unlock", "Unlock sign-in codes"),
    (
        "admin.unlock_intro",
        "Lets this person use sign-in codes again and clears the count of wrong codes. Their phones get a text saying so.",
    ),
    ("admin.unlocked", "Sign-in codes are unlocked. The person's phones were sent a notice."),
    ("app.tagline", "Your account, with a second lock on the door."),
    ("demo.phone.empty", "No texts yet. Texts that Latchkey sends appear here, newest first."),
    (
        "demo.phone.intro",
        "Demo only: every text message Latchkey sends is delivered to this page instead of a real phone.",
    ),
    ("demo.phone.refresh", "Refresh"),
    ("demo.phone.title", "Demo phone"),
    ("demo.phone.to", "To"),
    ("enrol.change_number", "Use a different number"),
    (
        "enrol.intro",
        "Your organisation requires 2-step sign-in. Add a mobile phone you can receive text messages on; we will text it a code to prove it is yours.",
    ),
    ("enrol.number", "Mobile number"),
    (
        "enrol.number_hint",
        "Include the country code if it is not from your usual country, for example +44 7400 123456.",
    ),
    (
        "enrol.number_taken",
        "This number is already registered to another account. Use another number.",
    ),
    ("enrol.required", "Your organisation requires 2-step sign-in. Add a phone to continue."),
    ("enrol.send", "Text me a code"),
    ("enrol.title", "Add a phone to continue"),
    ("error.bad_request", "The request could not be read. Reload the page and try again."),
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
    ("home.last_sign_in", "Signed in at"),
    ("home.method.password", "with your password"),
    (
        "home.method.password_and_new_phone",
        "with your password and a code sent to the phone you added",
    ),
    ("home.method.password_and_remembered_browser", "with your password, on a remembered browser"),
    ("home.method.password_and_sms", "with your password and a code sent by text message"),
    ("home.security_link", "Manage your phones and 2-step sign-in"),
    ("home.sign_in", "Sign in"),
    ("home.signed_in_title", "Hello, {name}"),
    ("home.status_link", "See system status"),
    ("home.title", "Welcome to Latchkey"),
    ("nav.admin", "Admin"),
    ("nav.demo_phone", "Demo phone"),
    ("nav.home", "Home"),
    ("nav.language", "Language"),
    ("nav.main", "Main"),
    ("nav.security", "Security"),
    ("nav.sign_in", "Sign in"),
    ("nav.sign_out", "Sign out"),
    ("nav.signed_in_as", "Signed in as"),
    ("nav.skip", "Skip to content"),
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
    (
        "otp.locked_until_unlocked",
        "Too many wrong codes. For your safety, codes are blocked until an administrator unlocks them: contact your help desk.",
    ),
    ("otp.malformed", "Enter the code from the text message: digits only."),
    ("otp.none_sent", "No code has been sent yet. Ask for one first."),
    ("otp.send_limit", "Too many codes were requested. Please wait before asking for another."),
    ("otp.sent", "We texted you a code. It can take a moment to arrive."),
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
    ("security.activity.none", "Nothing has happened on your account yet."),
    ("security.activity.older", "Older activity"),
    ("security.activity.title", "Recent activity"),
    ("security.add.button", "Add a phone"),
    ("security.add.code_title", "Enter the code to add this phone"),
    ("security.add.country", "Country"),
    ("security.add.finish", "Add phone"),
    ("security.add.nickname", "Name (optional)"),
    ("security.add.nickname_default", "Phone ending {n}"),
    ("security.add.title", "Add a phone"),
    ("security.added", "Added"),
    ("security.already_yours", "This phone is already on your account."),
    ("security.browsers.forget", "Forget"),
    ("security.browsers.forget_all", "Forget all"),
    ("security.browsers.none", "No remembered browsers."),
    ("security.browsers.title", "Remembered browsers"),
    (
        "security.browsers_forgotten",
        "Done. Next time, that browser will be asked for a code again.",
    ),
    ("security.cancel", "Cancel"),
    ("security.in_progress", "In progress"),
    ("security.last_used", "last used"),
    ("security.make_preferred", "Make preferred"),
    ("security.never_used", "never used"),
    ("security.nickname_too_long", "Keep the name to 40 characters or fewer."),
    ("security.no_such_phone", "That phone is no longer on your account."),
    ("security.not_verified", "Not verified"),
    (
        "security.not_verified.text",
        "Sign-in codes are not sent to this number until you verify it.",
    ),
    ("security.number_in_use", "This number is already in use."),
    ("security.out_of_order", "That step no longer applies. This is where things stand now."),
    ("security.phone_added", "Phone added. Your other phones were sent a notice."),
    ("security.phone_preferred", "Preferred phone changed."),
    ("security.phone_removed", "Phone removed. Your other phones were sent a notice."),
    ("security.phone_removed_two_factor_off", "Phone removed. 2-step sign-in is now off."),
    ("security.phone_renamed", "Name saved."),
    ("security.phone_verified", "Phone verified. Sign-in codes can now be sent to it."),
    ("security.phones.none", "No phones yet."),
    ("security.phones.title", "Phones"),
    ("security.preferred", "Preferred"),
    (
        "security.reauth.intro",
        "Enter your password. With 2-step sign-in on, we will also text a code to your preferred phone.",
    ),
    ("security.reauth.submit", "Continue"),
    ("security.reauth.title", "Confirm it is you"),
    ("security.reauth_done", "Thank you. You can go on."),
    ("security.reauth_needed", "For your safety, confirm it is you first."),
    ("security.remove.button", "Remove"),
    ("security.remove.confirm", "Remove phone"),
    (
        "security.remove.text",
        "It will no longer receive sign-in codes. Your other phones will be sent a notice.",
    ),
    ("security.remove.title", "Remove {n}?"),
    (
        "security.remove.turns_off",
        "Without it you have too few phones for 2-step sign-in: removing it turns 2-step sign-in off, and only your password will protect your account.",
    ),
    ("security.rename.button", "Save name"),
    ("security.rename.label", "Name"),
    (
        "security.required_by_policy",
        "Your organisation requires 2-step sign-in, so this is not possible. Add another phone first.",
    ),
    ("security.sessions.sign_out_others", "Sign out of all other browsers"),
    (
        "security.sessions.signed_out_others",
        "Done. Every other browser is signed out; this one stays signed in.",
    ),
    (
        "security.sessions.text",
        "Signed in somewhere you do not recognise, or on a computer you no longer use? End every sign-in but this one.",
    ),
    ("security.sessions.title", "Where you are signed in"),
    ("security.sign_in_first", "Sign in to manage your security settings."),
    ("security.title", "Security"),
    ("security.two_factor.needs_phone", "Add a phone first: 2-step sign-in needs a phone."),
    ("security.two_factor.off", "Off: only your password protects your account."),
    (
        "security.two_factor.on",
        "On: signing in needs your password and a code texted to one of your phones.",
    ),
    ("security.two_factor.required", "Required by your organisation."),
    ("security.two_factor.title", "2-step sign-in"),
    ("security.two_factor.turn_off", "Turn off"),
    ("security.two_factor.turn_on", "Turn on"),
    ("security.two_factor.turned_off", "2-step sign-in is off."),
    ("security.two_factor.turned_on", "2-step sign-in is on."),
    ("security.unnamed", "Unnamed"),
    ("security.verified", "Verified"),
    ("security.verify.button", "Verify"),
    ("security.verify.submit", "Verify"),
    ("security.verify.title", "Verify this phone"),
    ("security.wrong_password", "That password is not right."),
    ("sign_in.already", "You are signed in."),
    ("sign_in.cancel", "Start again"),
    ("sign_in.choose.intro", "Choose a phone. We will text it a code."),
    ("sign_in.choose.send", "Text"),
    ("sign_in.choose.title", "Where should we send your code?"),
    ("sign_in.code.intro", "We sent a text message with a code to"),
    ("sign_in.code.label", "Code from the text message"),
    ("sign_in.code.other_phone", "Use another phone"),
    ("sign_in.code.remember", "Remember this browser for {n} days"),
    (
        "sign_in.code.remember_hint",
        "Only on a device you alone use. You will not be asked for a code here until then.",
    ),
    ("sign_in.code.resend", "Send a new code"),
    ("sign_in.code.resend_in", "Send a new code in {n} s"),
    ("sign_in.code.submit", "Verify"),
    ("sign_in.code.title", "Enter your code"),
    ("sign_in.expired", "Your sign-in took too long or has ended. Please start again."),
    ("sign_in.failed", "The username or password is not right."),
    ("sign_in.intro", "Use your organisation account."),
    (
        "sign_in.must_change_password",
        "Your password must be changed before you can sign in. Change it where your organisation changes passwords, then sign in with the new one.",
    ),
    ("sign_in.out_of_order", "That step no longer applies. This is where your sign-in stands now."),
    ("sign_in.password", "Password"),
    ("sign_in.send_failed.retry", "Try again"),
    ("sign_in.send_failed.title", "The text was not sent"),
    (
        "sign_in.session_ended",
        "You were signed out because your account's security changed. Please sign in again.",
    ),
    ("sign_in.signed_out", "You are signed out."),
    ("sign_in.step_two", "Step 2 of 2"),
    ("sign_in.submit", "Sign in"),
    ("sign_in.submitting", "Signing in…"),
    ("sign_in.throttled", "Too many attempts. Please wait before trying again."),
    ("sign_in.title", "Sign in"),
    ("sign_in.username", "Username"),
    ("sign_in.wait", "Try again in {n} seconds."),
    ("sign_in.wait_minutes", "Try again in {n} minutes."),
    ("sign_in.wait_one", "Try again in a second."),
    ("sign_in.working", "One moment…"),
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
    // The bodies of text messages: one SMS segment each, so GSM-7 characters only (a test checks).
    (
        "text.code",
        "Your {product} code is {code}. It expires in {minutes} minutes. Never share it.",
    ),
    (
        "text.phone_added",
        "A phone ending {last4} was added to your {product} account. If this was not you, contact your help desk now.",
    ),
    (
        "text.phone_removed",
        "The phone ending {last4} was removed from your {product} account. If this was not you, contact your help desk now.",
    ),
    (
        "text.phone_removed_by_admin",
        "An administrator removed the phone ending {last4} from your {product} account.",
    ),
    (
        "text.second_step_unlocked_by_admin",
        "An administrator unlocked sign-in codes for your {product} account. If you did not ask for this, contact your help desk now.",
    ),
    (
        "text.two_factor_off_by_admin",
        "An administrator turned 2-step sign-in off for your {product} account.",
    ),
];

/// The wording of `id` in the current language.
pub fn t(id: &str) -> &'static str {
    t_in(current(), id)
}

/// The wording of `id` in `lang`.
pub fn t_in(lang: Lang, id: &str) -> &'static str {
    let catalog = lang.catalog();
    match catalog.binary_search_by(|(k, _)| (*k).cmp(id)) {
        Ok(i) => catalog[i].1,
        // An unknown id can only come from the wire (a newer server): say something generic.
        Err(_) => t_in_fallback(lang),
    }
}

fn t_in_fallback(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Something went wrong. Please try again.",
        Lang::Es => "Algo salió mal. Inténtalo de nuevo.",
    }
}

/// The wording of `id` with `{n}` replaced by `n`.
pub fn t_n(id: &str, n: impl std::fmt::Display) -> String {
    t(id).replace("{n}", &n.to_string())
}

/// "Try again in …" for a wait in seconds, in seconds or (from two minutes) minutes.
pub fn wait_text(secs: i64) -> String {
    match secs {
        ..=1 => t("sign_in.wait_one").to_owned(),
        2..120 => t_n("sign_in.wait", secs),
        _ => t_n("sign_in.wait_minutes", (secs + 59) / 60),
    }
}

/// Whether the catalog knows `id` (used by tests of code that produces ids).
pub fn has(id: &str) -> bool {
    EN.binary_search_by(|(k, _)| (*k).cmp(id)).is_ok()
}

/// An audit event in words ("Sign-in code texted", "Password entered (refused)"); the kind and
/// outcome codes themselves for a kind the catalog does not describe.
pub fn activity(kind: &str, outcome: &str) -> String {
    let id = format!("activity.{kind}");
    if !has(&id) {
        return format!("{kind} ({outcome})");
    }
    let text = t(&id);
    if matches!(outcome, "rejected" | "failed" | "throttled") {
        format!("{text} ({})", t("activity.refused"))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_are_sorted_and_unique() {
        for lang in Lang::ALL {
            for pair in lang.catalog().windows(2) {
                assert!(
                    pair[0].0 < pair[1].0,
                    "{lang:?}: {} must sort before {}",
                    pair[0].0,
                    pair[1].0
                );
            }
        }
    }

    /// Every text message in every language is one SMS segment: GSM-7 only (one accent outside
    /// it turns the whole text into UCS-2, 70 characters a segment) and at most 160 septets with
    /// a product name, a long host in the autofill line and the largest placeholders.
    #[cfg(feature = "ssr")]
    #[test]
    fn text_messages_fit_one_gsm7_segment() {
        for lang in Lang::ALL {
            for (id, text) in lang.catalog().iter().filter(|(id, _)| id.starts_with("text.")) {
                let filled = text
                    .replace("{product}", "Latchkey")
                    .replace("{code}", "12345678")
                    .replace("{minutes}", "10")
                    .replace("{last4}", "0188");
                let body = format!("{filled}\n\n@accounts.example.org #12345678");
                let septets = crate::domain::sms::gsm7_septets(&body);
                assert!(septets.is_some(), "{lang:?} {id} has a character outside GSM-7: {text}");
                assert!(septets <= Some(160), "{lang:?} {id} takes {septets:?} septets: {text}");
            }
        }
    }

    /// Fails when a message id lacks a translation (or a translation has no English original).
    #[test]
    fn every_language_translates_every_message() {
        let english: Vec<&str> = EN.iter().map(|(id, _)| *id).collect();
        for lang in Lang::ALL {
            let ids: Vec<&str> = lang.catalog().iter().map(|(id, _)| *id).collect();
            let missing: Vec<_> = english.iter().filter(|id| !ids.contains(id)).collect();
            let extra: Vec<_> = ids.iter().filter(|id| !english.contains(id)).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
            assert!(extra.is_empty(), "{lang:?} has ids English does not: {extra:?}");
        }
    }

    /// A translation keeps the original's placeholders, so `{n}` is never shown raw.
    #[test]
    fn translations_keep_placeholders() {
        fn placeholders(text: &str) -> Vec<&str> {
            let mut found: Vec<&str> = text
                .match_indices('{')
                .filter_map(|(i, _)| text[i..].find('}').map(|j| &text[i..=i + j]))
                .collect();
            found.sort_unstable();
            found
        }
        for lang in Lang::ALL {
            for (id, text) in lang.catalog() {
                assert!(!text.trim().is_empty(), "{lang:?} {id} has no text");
                assert_eq!(placeholders(text), placeholders(t_in(Lang::En, id)), "{lang:?} {id}");
            }
        }
    }

    /// Every id the code names (`t("…")`, `t_n("…", …)`, `id: "…"`) is in the catalog.
    #[test]
    fn every_id_the_code_uses_exists() {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut stack = vec![std::path::PathBuf::from(src)];
        let mut unknown = Vec::new();
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("i18n.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in ["t(\"", "t_n(\""] {
                for (i, _) in text.match_indices(call) {
                    let before = text[..i].chars().last();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let rest = &text[i + call.len()..];
                    let id = &rest[..rest.find('"').unwrap()];
                    if !has(id) {
                        unknown.push(format!("{}: {id}", path.display()));
                    }
                }
            }
        }
        assert!(unknown.is_empty(), "ids missing from the catalog: {unknown:#?}");
    }

    #[test]
    fn languages_follow_the_cookie_then_accept_language() {
        assert_eq!(Lang::from_headers(None, None), Lang::En);
        assert_eq!(Lang::from_headers(None, Some("es-MX,es;q=0.9,en;q=0.8")), Lang::Es);
        assert_eq!(Lang::from_headers(None, Some("fr-FR, en;q=0.5, es;q=0.7")), Lang::Es);
        assert_eq!(Lang::from_headers(None, Some("de, fr")), Lang::En);
        assert_eq!(Lang::from_headers(None, Some("es;q=0, en")), Lang::En);
        assert_eq!(Lang::from_headers(None, Some("es;q=banana, en;q=0.2")), Lang::En);
        assert_eq!(Lang::from_headers(Some("a=b; latchkey-lang=en"), Some("es")), Lang::En);
        assert_eq!(Lang::from_headers(Some("latchkey-lang=xx"), Some("es")), Lang::Es);
        assert_eq!(Lang::from_tag("ES_es"), Some(Lang::Es));
        assert_eq!(Lang::from_tag(""), None);
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
        assert_eq!(t_in(Lang::Es, "nav.sign_in"), "Iniciar sesión");
        assert!(has("error.internal"));
        assert!(!has("no.such.id"));
        assert_eq!(t("no.such.id"), "Something went wrong. Please try again.");
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_text(1), "Try again in a second.");
        assert_eq!(wait_text(0), "Try again in a second.");
        assert_eq!(wait_text(90), "Try again in 90 seconds.");
        assert_eq!(wait_text(900), "Try again in 15 minutes.");
        assert_eq!(wait_text(121), "Try again in 3 minutes.");
    }
}
