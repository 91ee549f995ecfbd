//! Codes by voice call: what a call says (inline TwiML for Twilio's Calls API, and the same
//! words as plain text for the console and the demo phone's transcript).
//!
//! The code is spoken digit by digit, twice, with a pause between, in the person's language, by
//! a voice Twilio offers for it. Nothing is recorded: the TwiML has no `<Record>` and no
//! `<Gather>`, and the call itself is placed with `Record=false`.

use messages::{Lang, t_in};

use crate::codes::OtpCode;

/// A call ready to place: what Twilio runs, and what it will say.
#[derive(Clone, PartialEq, Eq)]
pub struct VoiceCall {
    /// `<Response>…</Response>`, for the `Twiml` form field.
    pub twiml: String,
    /// The words spoken, for the console, the demo phone and tests. Holds the code.
    pub transcript: String,
}

/// Never print the code by accident: Debug says only how long the TwiML is.
impl std::fmt::Debug for VoiceCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VoiceCall(<{} bytes of TwiML>)", self.twiml.len())
    }
}

/// Twilio's `<Say>` voice and language for `lang` (Amazon Polly voices Twilio offers).
pub fn voice_for(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::En => ("Polly.Joanna", "en-US"),
        Lang::Es => ("Polly.Lucia", "es-ES"),
    }
}

/// The call that speaks `code`: the catalog's `call.code` ("Your {product} code is {digits}.")
/// said twice with a pause, then `call.goodbye`.
pub fn code_call(code: &OtpCode, lang: Lang, product: &str) -> VoiceCall {
    // "4, 8, 1, …": the commas make every voice pause between digits instead of reading a
    // number ("four hundred and eighty-one thousand…").
    let digits = code.expose().chars().map(String::from).collect::<Vec<_>>().join(", ");
    let sentence =
        t_in(lang, "call.code").replace("{product}", product).replace("{digits}", &digits);
    let again = t_in(lang, "call.again").replace("{digits}", &digits);
    let goodbye = t_in(lang, "call.goodbye");
    let (voice, language) = voice_for(lang);
    let say = |text: &str| {
        format!("<Say voice=\"{voice}\" language=\"{language}\">{}</Say>", xml_escape(text))
    };
    let twiml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Pause length=\"1\"/>{}<Pause length=\"1\"/>{}{}</Response>",
        say(&sentence),
        say(&again),
        say(goodbye)
    );
    VoiceCall { twiml, transcript: format!("{sentence} {again} {goodbye}") }
}

/// A test call for `latchkey send-test-call`: no code, just the product's name.
pub fn test_call(lang: Lang, product: &str) -> VoiceCall {
    let sentence = t_in(lang, "call.test").replace("{product}", product);
    let (voice, language) = voice_for(lang);
    let twiml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say voice=\"{voice}\" language=\"{language}\">{}</Say></Response>",
        xml_escape(&sentence)
    );
    VoiceCall { twiml, transcript: sentence }
}

/// Text as XML character data or an attribute value: the product name comes from the
/// operator's configuration and may hold `&` or `<`.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `<Say>` texts of a TwiML document, parsed as XML (so the test fails on anything
    /// malformed), with every element named.
    /// An element's name, `voice` and `language`.
    type Element = (String, Option<String>, Option<String>);

    fn parse(twiml: &str) -> (Vec<String>, Vec<Element>) {
        let doc = roxmltree::Document::parse(twiml).expect("TwiML is well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "Response");
        let elements = doc
            .root_element()
            .children()
            .filter(|n| n.is_element())
            .map(|n| {
                (
                    n.tag_name().name().to_owned(),
                    n.attribute("voice").map(str::to_owned),
                    n.attribute("language").map(str::to_owned),
                )
            })
            .collect();
        let said = doc
            .descendants()
            .filter(|n| n.has_tag_name("Say"))
            .map(|n| n.text().unwrap_or_default().to_owned())
            .collect();
        (said, elements)
    }

    #[test]
    fn the_code_is_spoken_digit_by_digit_twice_in_the_persons_language() {
        let code = OtpCode::parse("481026", 6).unwrap();
        for lang in Lang::ALL {
            let call = code_call(&code, lang, "Latchkey");
            let (said, elements) = parse(&call.twiml);
            let spoken = "4, 8, 1, 0, 2, 6";
            assert_eq!(said.iter().filter(|s| s.contains(spoken)).count(), 2, "{lang:?}: {said:?}");
            assert!(!call.twiml.contains("481026"), "never the number whole");
            let names: Vec<&str> = elements.iter().map(|(n, _, _)| n.as_str()).collect();
            assert_eq!(names, ["Pause", "Say", "Pause", "Say", "Say"], "{lang:?}");
            let (voice, language) = voice_for(lang);
            for (name, v, l) in &elements {
                if name == "Say" {
                    assert_eq!((v.as_deref(), l.as_deref()), (Some(voice), Some(language)));
                }
            }
            assert!(language.starts_with(lang.code()));
            assert_eq!(call.transcript.matches(spoken).count(), 2);
            assert!(call.twiml.len() <= 4000, "Twilio's limit on inline TwiML");
        }
    }

    #[test]
    fn nothing_is_recorded_or_gathered() {
        let call = code_call(&OtpCode::parse("123456", 6).unwrap(), Lang::En, "Latchkey");
        for element in ["Record", "Gather", "Dial", "Redirect", "Play"] {
            assert!(!call.twiml.contains(&format!("<{element}")), "{element}");
        }
    }

    #[test]
    fn an_operators_product_name_cannot_break_out_of_the_say() {
        let code = OtpCode::parse("123456", 6).unwrap();
        let call = code_call(&code, Lang::En, "Acme <Dial>+19005550199</Dial> & \"Co\"");
        let (said, elements) = parse(&call.twiml);
        assert!(elements.iter().all(|(n, _, _)| n == "Say" || n == "Pause"), "{elements:?}");
        assert!(said[0].contains("Acme <Dial>+19005550199</Dial> & \"Co\""), "{said:?}");
        let (said, _) = parse(&test_call(Lang::Es, "A&B").twiml);
        assert!(said[0].contains("A&B"));
    }

    #[test]
    fn debug_never_shows_the_code() {
        let call = code_call(&OtpCode::parse("999111", 6).unwrap(), Lang::En, "Latchkey");
        let debug = format!("{call:?}");
        assert!(!debug.contains("9, 9") && !debug.contains("999"), "{debug}");
    }
}
