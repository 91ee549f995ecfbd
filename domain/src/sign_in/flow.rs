//! The sign-in flow as a pure state machine: no I/O, so every transition is tested as a table.
//!
//! A flow starts once the password is accepted and the second step is needed; it lives in SQL
//! (several instances share it) and is bound to the browser's session.

use serde::{Deserialize, Serialize};

use crate::codes::Channel;
use crate::phone::E164;

/// Where a sign-in stands after the password. Phones and apps are indexes into the flow's
/// lists, which are fixed when the flow starts (preferred first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Several ways: the person picks one ("use another way" comes back here).
    #[serde(alias = "choose_phone")]
    ChooseMethod,
    /// A code was texted to this phone, or spoken by a call (`channel`; flows stored before
    /// calls existed are texts).
    CodeSent {
        phone: usize,
        #[serde(default)]
        channel: Channel,
    },
    /// The text (or call) to this phone could not be sent: retry or pick another.
    SendFailed {
        phone: usize,
        #[serde(default)]
        channel: Channel,
    },
    /// The person types the current code of this authenticator app.
    AppCode { app: usize },
    /// The person types one of their recovery codes.
    RecoveryCode,
    /// Policy requires a phone and there is none: the person must add one first.
    EnrolNumber,
    /// An enrolment code was texted (or, to a landline, called) to this new number.
    EnrolCodeSent {
        number: E164,
        #[serde(default)]
        channel: Channel,
    },
    /// The enrolment text (or call) could not be sent.
    EnrolSendFailed {
        number: E164,
        #[serde(default)]
        channel: Channel,
    },
    /// Signed in; the flow is over.
    Done,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A code went out to the phone, by text or by call.
    TextSent {
        phone: usize,
        channel: Channel,
    },
    TextFailed {
        phone: usize,
        channel: Channel,
    },
    AppChosen {
        app: usize,
    },
    RecoveryChosen,
    CodeAccepted,
    UseAnotherWay,
    EnrolTextSent {
        number: E164,
        channel: Channel,
    },
    EnrolTextFailed {
        number: E164,
        channel: Channel,
    },
    ChangeNumber,
}

/// The ways a flow's person has: how many phones and apps, and whether recovery codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ways {
    pub phones: usize,
    pub apps: usize,
    pub recovery: bool,
}

impl Ways {
    pub fn count(self) -> usize {
        self.phones + self.apps + usize::from(self.recovery)
    }
}

/// How the flow begins once the password is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// No second step: 2-step sign-in is off (and not required).
    SignedIn,
    /// A remembered browser skips the code.
    Remembered,
    /// A phone is the only way (recovery codes aside): text it at once.
    SendTo(usize),
    /// Ask for this app's code at once (the preferred way, or the only one).
    AskApp(usize),
    ChooseMethod,
    EnrolNumber,
}

/// What decides the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub two_factor_on: bool,
    pub policy_required: bool,
    pub remembered_browser: bool,
    pub phones: usize,
    pub apps: usize,
    /// The app the person prefers, when it is one (an index into the apps).
    pub preferred_app: Option<usize>,
}

pub fn start(f: Facts) -> Start {
    if !f.two_factor_on && !f.policy_required {
        return Start::SignedIn;
    }
    // With no phone nor app a remembered browser cannot stand in for one: the factor was
    // removed, so the person proves a new one (an attacker with only the password gains nothing
    // here that the password alone would not give when 2-step sign-in is optional). Recovery
    // codes alone do not count: they are a way back, not a factor to live on.
    if f.phones + f.apps == 0 {
        return Start::EnrolNumber;
    }
    if f.remembered_browser {
        return Start::Remembered;
    }
    // An app costs nothing to ask for; a text is sent unasked only when a phone is the one way.
    match (f.preferred_app.filter(|&a| a < f.apps), f.phones, f.apps) {
        (Some(app), _, _) => Start::AskApp(app),
        (None, 1, 0) => Start::SendTo(0),
        (None, 0, 1) => Start::AskApp(0),
        _ => Start::ChooseMethod,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event:?} is not possible in {state:?}")]
pub struct InvalidTransition {
    pub state: State,
    pub event: Event,
}

/// The one place a flow changes state.
pub fn next(state: &State, event: &Event, ways: Ways) -> Result<State, InvalidTransition> {
    use Event as E;
    use State as S;
    let valid_phone = |p: usize| p < ways.phones;
    let choosing = matches!(state, S::ChooseMethod | S::CodeSent { .. } | S::SendFailed { .. });
    let asking = matches!(
        state,
        S::CodeSent { .. } | S::SendFailed { .. } | S::AppCode { .. } | S::RecoveryCode
    );
    let next = match (state, event) {
        (_, E::TextSent { phone, channel }) if choosing && valid_phone(*phone) => {
            Some(S::CodeSent { phone: *phone, channel: *channel })
        }
        (_, E::TextFailed { phone, channel }) if choosing && valid_phone(*phone) => {
            Some(S::SendFailed { phone: *phone, channel: *channel })
        }
        (S::ChooseMethod, E::AppChosen { app }) if *app < ways.apps => {
            Some(S::AppCode { app: *app })
        }
        (S::ChooseMethod, E::RecoveryChosen) if ways.recovery => Some(S::RecoveryCode),
        (S::CodeSent { .. } | S::AppCode { .. } | S::RecoveryCode, E::CodeAccepted) => {
            Some(S::Done)
        }
        (_, E::UseAnotherWay) if asking && ways.count() > 1 => Some(S::ChooseMethod),
        (
            S::EnrolNumber | S::EnrolCodeSent { .. } | S::EnrolSendFailed { .. },
            E::EnrolTextSent { number, channel },
        ) => Some(S::EnrolCodeSent { number: number.clone(), channel: *channel }),
        (
            S::EnrolNumber | S::EnrolCodeSent { .. } | S::EnrolSendFailed { .. },
            E::EnrolTextFailed { number, channel },
        ) => Some(S::EnrolSendFailed { number: number.clone(), channel: *channel }),
        (S::EnrolCodeSent { .. }, E::CodeAccepted) => Some(S::Done),
        (S::EnrolCodeSent { .. } | S::EnrolSendFailed { .. }, E::ChangeNumber) => {
            Some(S::EnrolNumber)
        }
        _ => None,
    };
    next.ok_or_else(|| InvalidTransition { state: state.clone(), event: event.clone() })
}

impl State {
    /// The phone a code is (or was to be) sent to, for resends.
    pub fn phone(&self) -> Option<usize> {
        match self {
            State::CodeSent { phone, .. } | State::SendFailed { phone, .. } => Some(*phone),
            _ => None,
        }
    }

    /// The number being enrolled, if any.
    pub fn enrol_number(&self) -> Option<&E164> {
        match self {
            State::EnrolCodeSent { number, .. } | State::EnrolSendFailed { number, .. } => {
                Some(number)
            }
            _ => None,
        }
    }

    /// How the step's code went out (or was to): a text or a call.
    pub fn channel(&self) -> Option<Channel> {
        match self {
            State::CodeSent { channel, .. }
            | State::SendFailed { channel, .. }
            | State::EnrolCodeSent { channel, .. }
            | State::EnrolSendFailed { channel, .. } => Some(*channel),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Channel;

    fn num() -> E164 {
        crate::phone::PhonePolicy::from_directory("+12015550123").expect("valid")
    }

    const ALL: Ways = Ways { phones: 2, apps: 2, recovery: true };

    fn states() -> Vec<State> {
        vec![
            State::ChooseMethod,
            State::CodeSent { phone: 0, channel: Channel::Text },
            State::SendFailed { phone: 1, channel: Channel::Text },
            State::AppCode { app: 0 },
            State::RecoveryCode,
            State::EnrolNumber,
            State::EnrolCodeSent { number: num(), channel: Channel::Text },
            State::EnrolSendFailed { number: num(), channel: Channel::Text },
            State::Done,
        ]
    }

    fn events() -> Vec<Event> {
        vec![
            Event::TextSent { phone: 1, channel: Channel::Text },
            Event::TextFailed { phone: 1, channel: Channel::Text },
            Event::AppChosen { app: 1 },
            Event::RecoveryChosen,
            Event::CodeAccepted,
            Event::UseAnotherWay,
            Event::EnrolTextSent { number: num(), channel: Channel::Text },
            Event::EnrolTextFailed { number: num(), channel: Channel::Text },
            Event::ChangeNumber,
        ]
    }

    /// The whole table, with two phones, two apps and recovery codes: every (state, event)
    /// pair not listed is refused.
    #[test]
    fn transition_table() {
        use Event as E;
        use State as S;
        let n = num;
        let allowed: Vec<(State, Event, State)> = vec![
            (
                S::ChooseMethod,
                E::TextSent { phone: 1, channel: Channel::Text },
                S::CodeSent { phone: 1, channel: Channel::Text },
            ),
            (
                S::ChooseMethod,
                E::TextFailed { phone: 1, channel: Channel::Text },
                S::SendFailed { phone: 1, channel: Channel::Text },
            ),
            (S::ChooseMethod, E::AppChosen { app: 1 }, S::AppCode { app: 1 }),
            (S::ChooseMethod, E::RecoveryChosen, S::RecoveryCode),
            (
                S::CodeSent { phone: 0, channel: Channel::Text },
                E::TextSent { phone: 1, channel: Channel::Text },
                S::CodeSent { phone: 1, channel: Channel::Text },
            ),
            (
                S::CodeSent { phone: 0, channel: Channel::Text },
                E::TextFailed { phone: 1, channel: Channel::Text },
                S::SendFailed { phone: 1, channel: Channel::Text },
            ),
            (S::CodeSent { phone: 0, channel: Channel::Text }, E::CodeAccepted, S::Done),
            (S::CodeSent { phone: 0, channel: Channel::Text }, E::UseAnotherWay, S::ChooseMethod),
            (
                S::SendFailed { phone: 1, channel: Channel::Text },
                E::TextSent { phone: 1, channel: Channel::Text },
                S::CodeSent { phone: 1, channel: Channel::Text },
            ),
            (
                S::SendFailed { phone: 1, channel: Channel::Text },
                E::TextFailed { phone: 1, channel: Channel::Text },
                S::SendFailed { phone: 1, channel: Channel::Text },
            ),
            // No code was sent, so none can be accepted.
            (S::SendFailed { phone: 1, channel: Channel::Text }, E::UseAnotherWay, S::ChooseMethod),
            (S::AppCode { app: 0 }, E::CodeAccepted, S::Done),
            (S::AppCode { app: 0 }, E::UseAnotherWay, S::ChooseMethod),
            (S::RecoveryCode, E::CodeAccepted, S::Done),
            (S::RecoveryCode, E::UseAnotherWay, S::ChooseMethod),
            (
                S::EnrolNumber,
                E::EnrolTextSent { number: n(), channel: Channel::Text },
                S::EnrolCodeSent { number: n(), channel: Channel::Text },
            ),
            (
                S::EnrolNumber,
                E::EnrolTextFailed { number: n(), channel: Channel::Text },
                S::EnrolSendFailed { number: n(), channel: Channel::Text },
            ),
            (S::EnrolCodeSent { number: n(), channel: Channel::Text }, E::CodeAccepted, S::Done),
            (
                S::EnrolCodeSent { number: n(), channel: Channel::Text },
                E::EnrolTextSent { number: n(), channel: Channel::Text },
                S::EnrolCodeSent { number: n(), channel: Channel::Text },
            ),
            (
                S::EnrolCodeSent { number: n(), channel: Channel::Text },
                E::EnrolTextFailed { number: n(), channel: Channel::Text },
                S::EnrolSendFailed { number: n(), channel: Channel::Text },
            ),
            (
                S::EnrolCodeSent { number: n(), channel: Channel::Text },
                E::ChangeNumber,
                S::EnrolNumber,
            ),
            (
                S::EnrolSendFailed { number: n(), channel: Channel::Text },
                E::EnrolTextSent { number: n(), channel: Channel::Text },
                S::EnrolCodeSent { number: n(), channel: Channel::Text },
            ),
            (
                S::EnrolSendFailed { number: n(), channel: Channel::Text },
                E::EnrolTextFailed { number: n(), channel: Channel::Text },
                S::EnrolSendFailed { number: n(), channel: Channel::Text },
            ),
            (
                S::EnrolSendFailed { number: n(), channel: Channel::Text },
                E::ChangeNumber,
                S::EnrolNumber,
            ),
        ];
        for state in states() {
            for event in events() {
                let want = allowed
                    .iter()
                    .find(|(s, e, _)| *s == state && *e == event)
                    .map(|(_, _, to)| to.clone());
                assert_eq!(next(&state, &event, ALL).ok(), want, "{state:?} + {event:?}");
            }
        }
    }

    #[test]
    fn indexes_outside_the_lists_are_refused() {
        let ways = Ways { phones: 2, apps: 1, recovery: false };
        assert!(
            next(&State::ChooseMethod, &Event::TextSent { phone: 2, channel: Channel::Text }, ways)
                .is_err()
        );
        assert!(
            next(
                &State::ChooseMethod,
                &Event::TextFailed { phone: 5, channel: Channel::Text },
                ways
            )
            .is_err()
        );
        assert!(next(&State::ChooseMethod, &Event::AppChosen { app: 1 }, ways).is_err());
        assert!(next(&State::ChooseMethod, &Event::RecoveryChosen, ways).is_err());
        let none = Ways { phones: 0, apps: 0, recovery: false };
        assert!(
            next(&State::ChooseMethod, &Event::TextSent { phone: 0, channel: Channel::Text }, none)
                .is_err()
        );
    }

    #[test]
    fn another_way_needs_more_than_one() {
        let one_phone = Ways { phones: 1, apps: 0, recovery: false };
        assert!(
            next(
                &State::CodeSent { phone: 0, channel: Channel::Text },
                &Event::UseAnotherWay,
                one_phone
            )
            .is_err()
        );
        assert!(
            next(
                &State::SendFailed { phone: 0, channel: Channel::Text },
                &Event::UseAnotherWay,
                one_phone
            )
            .is_err()
        );
        let one_app = Ways { phones: 0, apps: 1, recovery: false };
        assert!(next(&State::AppCode { app: 0 }, &Event::UseAnotherWay, one_app).is_err());
        let with_codes = Ways { phones: 1, apps: 0, recovery: true };
        assert_eq!(
            next(
                &State::CodeSent { phone: 0, channel: Channel::Text },
                &Event::UseAnotherWay,
                with_codes
            ),
            Ok(State::ChooseMethod)
        );
    }

    #[test]
    fn start_table() {
        let f =
            |two_factor_on, policy_required, remembered_browser, phones, apps, preferred_app| {
                Facts {
                    two_factor_on,
                    policy_required,
                    remembered_browser,
                    phones,
                    apps,
                    preferred_app,
                }
            };
        // (2fa on, required, remembered, phones, apps, preferred app) → start
        let table = [
            (f(false, false, false, 0, 0, None), Start::SignedIn),
            (f(false, false, true, 2, 1, Some(0)), Start::SignedIn),
            (f(true, false, false, 1, 0, None), Start::SendTo(0)),
            (f(true, false, false, 3, 0, None), Start::ChooseMethod),
            (f(true, false, true, 1, 0, None), Start::Remembered),
            (f(true, false, true, 0, 1, None), Start::Remembered),
            (f(true, false, false, 0, 0, None), Start::EnrolNumber),
            (f(true, false, true, 0, 0, None), Start::EnrolNumber),
            (f(false, true, false, 0, 0, None), Start::EnrolNumber),
            (f(false, true, false, 1, 0, None), Start::SendTo(0)),
            (f(false, true, false, 2, 0, None), Start::ChooseMethod),
            (f(false, true, true, 2, 0, None), Start::Remembered),
            // Apps: the preferred one is asked for at once; one app alone too.
            (f(true, false, false, 0, 1, None), Start::AskApp(0)),
            (f(true, false, false, 0, 2, None), Start::ChooseMethod),
            (f(true, false, false, 1, 1, None), Start::ChooseMethod),
            (f(true, false, false, 1, 2, Some(1)), Start::AskApp(1)),
            (f(true, false, false, 2, 2, Some(0)), Start::AskApp(0)),
            // A stale preference (the app is gone) is ignored.
            (f(true, false, false, 1, 0, Some(0)), Start::SendTo(0)),
        ];
        for (facts, want) in table {
            assert_eq!(start(facts), want, "{facts:?}");
        }
    }

    #[test]
    fn states_round_trip_through_json() {
        for s in states() {
            let json = serde_json::to_string(&s).expect("serialise");
            let back: State = serde_json::from_str(&json).expect("parse");
            assert_eq!(back, s);
        }
        // Flows stored before apps existed still load.
        let old: State = serde_json::from_str(r#"{"state":"choose_phone"}"#).expect("parse");
        assert_eq!(old, State::ChooseMethod);
    }

    /// Issue 21: a call goes wherever a text goes; the state says which, so the code step
    /// offers the other; stored flows from before calls load as texts.
    #[test]
    fn calls_move_the_flow_like_texts_and_are_remembered() {
        let call = Channel::Call;
        let sent = next(&State::ChooseMethod, &Event::TextSent { phone: 1, channel: call }, ALL);
        assert_eq!(sent, Ok(State::CodeSent { phone: 1, channel: call }));
        // Text, then "call me instead" in the same flow, then "text me instead".
        let texted = State::CodeSent { phone: 0, channel: Channel::Text };
        let called = next(&texted, &Event::TextSent { phone: 0, channel: call }, ALL).unwrap();
        assert_eq!(called.channel(), Some(call));
        let back =
            next(&called, &Event::TextSent { phone: 0, channel: Channel::Text }, ALL).unwrap();
        assert_eq!(back, texted);
        let failed = next(&texted, &Event::TextFailed { phone: 0, channel: call }, ALL).unwrap();
        assert_eq!(failed, State::SendFailed { phone: 0, channel: call });
        let enrol = Event::EnrolTextSent { number: num(), channel: call };
        assert_eq!(
            next(&State::EnrolNumber, &enrol, ALL),
            Ok(State::EnrolCodeSent { number: num(), channel: call })
        );
        for state in [
            State::CodeSent { phone: 1, channel: call },
            State::EnrolSendFailed { number: num(), channel: call },
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert!(json.contains(r#""channel":"call""#), "{json}");
            assert_eq!(serde_json::from_str::<State>(&json).unwrap(), state);
        }
        let old: State = serde_json::from_str(r#"{"state":"code_sent","phone":0}"#).unwrap();
        assert_eq!(old, State::CodeSent { phone: 0, channel: Channel::Text });
        let old: State =
            serde_json::from_str(r#"{"state":"enrol_code_sent","number":"+12015550123"}"#).unwrap();
        assert_eq!(old.channel(), Some(Channel::Text));
    }
}
