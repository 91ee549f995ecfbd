//! The sign-in flow as a pure state machine: no I/O, so every transition is tested as a table.
//!
//! A flow starts once the password is accepted and the second step is needed; it lives in SQL
//! (several instances share it) and is bound to the browser's session.

use serde::{Deserialize, Serialize};

use crate::phone::E164;

/// Where a sign-in stands after the password. Phones are indexes into the flow's phone list,
/// which is fixed when the flow starts (preferred first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Several phones: the person picks one.
    ChoosePhone,
    /// A code was texted to this phone.
    CodeSent { phone: usize },
    /// The text to this phone could not be sent: retry or pick another.
    SendFailed { phone: usize },
    /// Policy requires a phone and there is none: the person must add one first.
    EnrolNumber,
    /// An enrolment code was texted to this new number.
    EnrolCodeSent { number: E164 },
    /// The enrolment text could not be sent.
    EnrolSendFailed { number: E164 },
    /// Signed in; the flow is over.
    Done,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    TextSent { phone: usize },
    TextFailed { phone: usize },
    CodeAccepted,
    UseAnotherPhone,
    EnrolTextSent { number: E164 },
    EnrolTextFailed { number: E164 },
    ChangeNumber,
}

/// How the flow begins once the password is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// No second step: 2-step sign-in is off (and not required).
    SignedIn,
    /// A remembered browser skips the code.
    Remembered,
    /// One phone: text it at once.
    SendTo(usize),
    ChoosePhone,
    EnrolNumber,
}

/// What decides the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub two_factor_on: bool,
    pub policy_required: bool,
    pub remembered_browser: bool,
    pub phones: usize,
}

pub fn start(f: Facts) -> Start {
    if !f.two_factor_on && !f.policy_required {
        return Start::SignedIn;
    }
    // With no phone a remembered browser cannot stand in for one: the phone was removed, so
    // the person proves a new one (an attacker with only the password gains nothing here that
    // the password alone would not give when 2-step sign-in is optional).
    match f.phones {
        0 => Start::EnrolNumber,
        _ if f.remembered_browser => Start::Remembered,
        1 => Start::SendTo(0),
        _ => Start::ChoosePhone,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event:?} is not possible in {state:?}")]
pub struct InvalidTransition {
    pub state: State,
    pub event: Event,
}

/// The one place a flow changes state. `phones`: how many phones the flow has.
pub fn next(state: &State, event: &Event, phones: usize) -> Result<State, InvalidTransition> {
    use Event as E;
    use State as S;
    let valid_phone = |p: usize| p < phones;
    let next = match (state, event) {
        (S::ChoosePhone | S::CodeSent { .. } | S::SendFailed { .. }, E::TextSent { phone })
            if valid_phone(*phone) =>
        {
            Some(S::CodeSent { phone: *phone })
        }
        (S::ChoosePhone | S::CodeSent { .. } | S::SendFailed { .. }, E::TextFailed { phone })
            if valid_phone(*phone) =>
        {
            Some(S::SendFailed { phone: *phone })
        }
        (S::CodeSent { .. }, E::CodeAccepted) => Some(S::Done),
        (S::CodeSent { .. } | S::SendFailed { .. }, E::UseAnotherPhone) if phones > 1 => {
            Some(S::ChoosePhone)
        }
        (
            S::EnrolNumber | S::EnrolCodeSent { .. } | S::EnrolSendFailed { .. },
            E::EnrolTextSent { number },
        ) => Some(S::EnrolCodeSent { number: number.clone() }),
        (
            S::EnrolNumber | S::EnrolCodeSent { .. } | S::EnrolSendFailed { .. },
            E::EnrolTextFailed { number },
        ) => Some(S::EnrolSendFailed { number: number.clone() }),
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
            State::CodeSent { phone } | State::SendFailed { phone } => Some(*phone),
            _ => None,
        }
    }

    /// The number being enrolled, if any.
    pub fn enrol_number(&self) -> Option<&E164> {
        match self {
            State::EnrolCodeSent { number } | State::EnrolSendFailed { number } => Some(number),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num() -> E164 {
        crate::phone::PhonePolicy::from_directory("+12015550123").expect("valid")
    }

    fn states() -> Vec<State> {
        vec![
            State::ChoosePhone,
            State::CodeSent { phone: 0 },
            State::SendFailed { phone: 1 },
            State::EnrolNumber,
            State::EnrolCodeSent { number: num() },
            State::EnrolSendFailed { number: num() },
            State::Done,
        ]
    }

    fn events() -> Vec<Event> {
        vec![
            Event::TextSent { phone: 1 },
            Event::TextFailed { phone: 1 },
            Event::CodeAccepted,
            Event::UseAnotherPhone,
            Event::EnrolTextSent { number: num() },
            Event::EnrolTextFailed { number: num() },
            Event::ChangeNumber,
        ]
    }

    /// The whole table, with two phones: every (state, event) pair, the expected outcome.
    #[test]
    fn transition_table() {
        use Event as E;
        use State as S;
        let n = num;
        let expected: Vec<(State, Event, Option<State>)> = vec![
            (S::ChoosePhone, E::TextSent { phone: 1 }, Some(S::CodeSent { phone: 1 })),
            (S::ChoosePhone, E::TextFailed { phone: 1 }, Some(S::SendFailed { phone: 1 })),
            (S::ChoosePhone, E::CodeAccepted, None),
            (S::ChoosePhone, E::UseAnotherPhone, None),
            (S::ChoosePhone, E::EnrolTextSent { number: n() }, None),
            (S::ChoosePhone, E::EnrolTextFailed { number: n() }, None),
            (S::ChoosePhone, E::ChangeNumber, None),
            (S::CodeSent { phone: 0 }, E::TextSent { phone: 1 }, Some(S::CodeSent { phone: 1 })),
            (
                S::CodeSent { phone: 0 },
                E::TextFailed { phone: 1 },
                Some(S::SendFailed { phone: 1 }),
            ),
            (S::CodeSent { phone: 0 }, E::CodeAccepted, Some(S::Done)),
            (S::CodeSent { phone: 0 }, E::UseAnotherPhone, Some(S::ChoosePhone)),
            (S::CodeSent { phone: 0 }, E::EnrolTextSent { number: n() }, None),
            (S::CodeSent { phone: 0 }, E::EnrolTextFailed { number: n() }, None),
            (S::CodeSent { phone: 0 }, E::ChangeNumber, None),
            (S::SendFailed { phone: 1 }, E::TextSent { phone: 1 }, Some(S::CodeSent { phone: 1 })),
            (
                S::SendFailed { phone: 1 },
                E::TextFailed { phone: 1 },
                Some(S::SendFailed { phone: 1 }),
            ),
            // No code was sent, so none can be accepted.
            (S::SendFailed { phone: 1 }, E::CodeAccepted, None),
            (S::SendFailed { phone: 1 }, E::UseAnotherPhone, Some(S::ChoosePhone)),
            (S::SendFailed { phone: 1 }, E::EnrolTextSent { number: n() }, None),
            (S::SendFailed { phone: 1 }, E::EnrolTextFailed { number: n() }, None),
            (S::SendFailed { phone: 1 }, E::ChangeNumber, None),
            (S::EnrolNumber, E::TextSent { phone: 1 }, None),
            (S::EnrolNumber, E::TextFailed { phone: 1 }, None),
            (S::EnrolNumber, E::CodeAccepted, None),
            (S::EnrolNumber, E::UseAnotherPhone, None),
            (
                S::EnrolNumber,
                E::EnrolTextSent { number: n() },
                Some(S::EnrolCodeSent { number: n() }),
            ),
            (
                S::EnrolNumber,
                E::EnrolTextFailed { number: n() },
                Some(S::EnrolSendFailed { number: n() }),
            ),
            (S::EnrolNumber, E::ChangeNumber, None),
            (S::EnrolCodeSent { number: n() }, E::TextSent { phone: 1 }, None),
            (S::EnrolCodeSent { number: n() }, E::TextFailed { phone: 1 }, None),
            (S::EnrolCodeSent { number: n() }, E::CodeAccepted, Some(S::Done)),
            (S::EnrolCodeSent { number: n() }, E::UseAnotherPhone, None),
            (
                S::EnrolCodeSent { number: n() },
                E::EnrolTextSent { number: n() },
                Some(S::EnrolCodeSent { number: n() }),
            ),
            (
                S::EnrolCodeSent { number: n() },
                E::EnrolTextFailed { number: n() },
                Some(S::EnrolSendFailed { number: n() }),
            ),
            (S::EnrolCodeSent { number: n() }, E::ChangeNumber, Some(S::EnrolNumber)),
            (S::EnrolSendFailed { number: n() }, E::TextSent { phone: 1 }, None),
            (S::EnrolSendFailed { number: n() }, E::TextFailed { phone: 1 }, None),
            (S::EnrolSendFailed { number: n() }, E::CodeAccepted, None),
            (S::EnrolSendFailed { number: n() }, E::UseAnotherPhone, None),
            (
                S::EnrolSendFailed { number: n() },
                E::EnrolTextSent { number: n() },
                Some(S::EnrolCodeSent { number: n() }),
            ),
            (
                S::EnrolSendFailed { number: n() },
                E::EnrolTextFailed { number: n() },
                Some(S::EnrolSendFailed { number: n() }),
            ),
            (S::EnrolSendFailed { number: n() }, E::ChangeNumber, Some(S::EnrolNumber)),
        ];
        // Done accepts nothing.
        let mut expected = expected;
        for e in events() {
            expected.push((S::Done, e, None));
        }
        assert_eq!(expected.len(), states().len() * events().len(), "every pair is listed");
        for (state, event, want) in expected {
            let got = next(&state, &event, 2).ok();
            assert_eq!(got, want, "{state:?} + {event:?}");
        }
    }

    #[test]
    fn phone_indexes_outside_the_list_are_refused() {
        assert!(next(&State::ChoosePhone, &Event::TextSent { phone: 2 }, 2).is_err());
        assert!(next(&State::ChoosePhone, &Event::TextFailed { phone: 5 }, 2).is_err());
        assert!(next(&State::ChoosePhone, &Event::TextSent { phone: 0 }, 0).is_err());
    }

    #[test]
    fn another_phone_needs_more_than_one() {
        assert!(next(&State::CodeSent { phone: 0 }, &Event::UseAnotherPhone, 1).is_err());
        assert!(next(&State::SendFailed { phone: 0 }, &Event::UseAnotherPhone, 1).is_err());
    }

    #[test]
    fn start_table() {
        let f = |two_factor_on, policy_required, remembered_browser, phones| Facts {
            two_factor_on,
            policy_required,
            remembered_browser,
            phones,
        };
        // (2fa on, required, remembered, phones) → start
        let table = [
            (f(false, false, false, 0), Start::SignedIn),
            (f(false, false, true, 2), Start::SignedIn),
            (f(true, false, false, 1), Start::SendTo(0)),
            (f(true, false, false, 3), Start::ChoosePhone),
            (f(true, false, true, 1), Start::Remembered),
            (f(true, false, false, 0), Start::EnrolNumber),
            (f(true, false, true, 0), Start::EnrolNumber),
            (f(false, true, false, 0), Start::EnrolNumber),
            (f(false, true, false, 1), Start::SendTo(0)),
            (f(false, true, false, 2), Start::ChoosePhone),
            (f(false, true, true, 2), Start::Remembered),
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
    }
}
