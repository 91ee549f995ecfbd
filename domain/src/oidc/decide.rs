//! The authorization decision: given who is signed in in this browser and what the app asks
//! for, what happens next. Pure, so every combination is tested as a table.

use serde::{Deserialize, Serialize};

use super::levels::Level;

/// The sign-in this browser already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub level: Level,
    /// Unix seconds of the last time the person actively proved who they are (a step-up
    /// moves it too).
    pub auth_time: i64,
    pub has_phone: bool,
}

/// The `prompt` values that change the decision (`consent` and `select_account` do not: see
/// the request check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// None: nobody is signed in in this browser.
    pub session: Option<Session>,
    pub required: Level,
    pub prompt: Prompt,
    /// Seconds.
    pub max_age: Option<i64>,
    /// Unix seconds the authorization request was first received: a sign-in at or after it
    /// satisfies `prompt=login` and `max_age`.
    pub requested_at: i64,
    /// Unix seconds.
    pub now: i64,
    /// Policy lets a person without a phone add one during sign-in.
    pub can_enrol: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go back to the app with a code.
    Issue,
    /// Full sign-in: the password, then a code if the level needs one.
    SignIn,
    /// Signed in below the level: only the code step, not the password again.
    StepUp,
    /// Signed in below the level, no phone, policy permits: add and prove a phone.
    Enrol,
    Refuse(Refusal),
}

/// Why the app gets an error instead of a code (OIDC Core 3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `prompt=none` and a sign-in is needed.
    LoginRequired,
    /// `prompt=none` and the person would have to do something (a code, a new phone).
    InteractionRequired,
    /// The level cannot be reached: no phone and policy does not let the person add one.
    UnmetAuthenticationRequirements,
}

impl Refusal {
    pub fn error_code(self) -> &'static str {
        match self {
            Refusal::LoginRequired => "login_required",
            Refusal::InteractionRequired => "interaction_required",
            Refusal::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
        }
    }
}

/// What happens next. `prompt=none` never yields an interactive step, so it never texts anyone.
pub fn decide(f: Facts) -> Decision {
    let interactive = |step| if f.prompt.none { None } else { Some(step) };
    let decision = match f.session {
        None => interactive(Decision::SignIn).ok_or(Refusal::LoginRequired),
        Some(s) if is_stale(&f, &s) => interactive(Decision::SignIn).ok_or(Refusal::LoginRequired),
        Some(s) if s.level >= f.required => Ok(Decision::Issue),
        Some(s) if s.has_phone => interactive(Decision::StepUp).ok_or(Refusal::InteractionRequired),
        Some(_) if f.can_enrol => interactive(Decision::Enrol).ok_or(Refusal::InteractionRequired),
        Some(_) => Err(Refusal::UnmetAuthenticationRequirements),
    };
    decision.unwrap_or_else(Decision::Refuse)
}

/// Whether the session is too old for this request, so the person must sign in again.
///
/// Our reading of OIDC Core 3.1.2.1: `max_age` bounds the time since the person last actively
/// authenticated, and `max_age=0` "is equivalent to `prompt=login`". Taken literally, `now -
/// auth_time > 0` would also reject the sign-in the person just did for this very request
/// (they come back a second later) and loop forever. So a sign-in at or after the moment the
/// request first arrived is always fresh enough: it is the re-authentication the app asked
/// for. That makes `max_age=0` exactly `prompt=login`, and a positive `max_age` reject only
/// sign-ins older than the request and older than `max_age` (elapsed == `max_age` is still
/// within it: the spec re-authenticates when elapsed time is *greater*).
fn is_stale(f: &Facts, s: &Session) -> bool {
    if s.auth_time >= f.requested_at {
        return false;
    }
    // max_age=0 is prompt=login: within the same second `now - auth_time > 0` would not say so.
    f.prompt.login
        || f.max_age.is_some_and(|max| max == 0 || f.now.saturating_sub(s.auth_time) > max)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const REQUESTED_AT: i64 = 1_000;
    const NOW: i64 = 1_100;
    /// Signed in before this request, 200 s ago.
    const EARLIER: i64 = 900;

    const PLAIN: Prompt = Prompt { none: false, login: false };
    const NONE: Prompt = Prompt { none: true, login: false };
    const LOGIN: Prompt = Prompt { none: false, login: true };

    const ABSENT: Option<i64> = None;
    const WITHIN: Option<i64> = Some(300);
    const EXCEEDED: Option<i64> = Some(50);

    const I: Decision = Decision::Issue;
    const S: Decision = Decision::SignIn;
    const U: Decision = Decision::StepUp;
    const E: Decision = Decision::Enrol;
    const LR: Decision = Decision::Refuse(Refusal::LoginRequired);
    const IR: Decision = Decision::Refuse(Refusal::InteractionRequired);
    const UA: Decision = Decision::Refuse(Refusal::UnmetAuthenticationRequirements);

    fn facts(
        session: Option<(Level, i64, bool)>,
        required: Level,
        prompt: Prompt,
        max_age: Option<i64>,
        can_enrol: bool,
    ) -> Facts {
        Facts {
            session: session.map(|(level, auth_time, has_phone)| Session {
                level,
                auth_time,
                has_phone,
            }),
            required,
            prompt,
            max_age,
            requested_at: REQUESTED_AT,
            now: NOW,
            can_enrol,
        }
    }

    /// Every combination of session (none, password, code; signed in before the request),
    /// required level, prompt and max_age; the four columns are
    /// (phone, no enrolment), (phone, enrolment), (no phone, no enrolment), (no phone, enrolment).
    #[test]
    fn decision_table() {
        use Level::{Code, Password};
        let none = None;
        let pw = Some(Password);
        let code = Some(Code);
        // (session level, required, prompt, max_age) → the four columns
        type Row = (Option<Level>, Level, Prompt, Option<i64>, [Decision; 4]);
        let table: Vec<Row> = vec![
            // Nobody signed in: sign in, or login_required under prompt=none.
            (none, Password, PLAIN, ABSENT, [S, S, S, S]),
            (none, Password, PLAIN, WITHIN, [S, S, S, S]),
            (none, Password, PLAIN, EXCEEDED, [S, S, S, S]),
            (none, Password, NONE, ABSENT, [LR, LR, LR, LR]),
            (none, Password, NONE, WITHIN, [LR, LR, LR, LR]),
            (none, Password, NONE, EXCEEDED, [LR, LR, LR, LR]),
            (none, Password, LOGIN, ABSENT, [S, S, S, S]),
            (none, Password, LOGIN, WITHIN, [S, S, S, S]),
            (none, Password, LOGIN, EXCEEDED, [S, S, S, S]),
            (none, Code, PLAIN, ABSENT, [S, S, S, S]),
            (none, Code, PLAIN, WITHIN, [S, S, S, S]),
            (none, Code, PLAIN, EXCEEDED, [S, S, S, S]),
            (none, Code, NONE, ABSENT, [LR, LR, LR, LR]),
            (none, Code, NONE, WITHIN, [LR, LR, LR, LR]),
            (none, Code, NONE, EXCEEDED, [LR, LR, LR, LR]),
            (none, Code, LOGIN, ABSENT, [S, S, S, S]),
            (none, Code, LOGIN, WITHIN, [S, S, S, S]),
            (none, Code, LOGIN, EXCEEDED, [S, S, S, S]),
            // Password session, password asked: reused unless stale.
            (pw, Password, PLAIN, ABSENT, [I, I, I, I]),
            (pw, Password, PLAIN, WITHIN, [I, I, I, I]),
            (pw, Password, PLAIN, EXCEEDED, [S, S, S, S]),
            (pw, Password, NONE, ABSENT, [I, I, I, I]),
            (pw, Password, NONE, WITHIN, [I, I, I, I]),
            (pw, Password, NONE, EXCEEDED, [LR, LR, LR, LR]),
            (pw, Password, LOGIN, ABSENT, [S, S, S, S]),
            (pw, Password, LOGIN, WITHIN, [S, S, S, S]),
            (pw, Password, LOGIN, EXCEEDED, [S, S, S, S]),
            // Password session, code asked: step up, enrol, or refuse.
            (pw, Code, PLAIN, ABSENT, [U, U, UA, E]),
            (pw, Code, PLAIN, WITHIN, [U, U, UA, E]),
            (pw, Code, PLAIN, EXCEEDED, [S, S, S, S]),
            (pw, Code, NONE, ABSENT, [IR, IR, UA, IR]),
            (pw, Code, NONE, WITHIN, [IR, IR, UA, IR]),
            (pw, Code, NONE, EXCEEDED, [LR, LR, LR, LR]),
            (pw, Code, LOGIN, ABSENT, [S, S, S, S]),
            (pw, Code, LOGIN, WITHIN, [S, S, S, S]),
            (pw, Code, LOGIN, EXCEEDED, [S, S, S, S]),
            // Code session: above or at either level.
            (code, Password, PLAIN, ABSENT, [I, I, I, I]),
            (code, Password, PLAIN, WITHIN, [I, I, I, I]),
            (code, Password, PLAIN, EXCEEDED, [S, S, S, S]),
            (code, Password, NONE, ABSENT, [I, I, I, I]),
            (code, Password, NONE, WITHIN, [I, I, I, I]),
            (code, Password, NONE, EXCEEDED, [LR, LR, LR, LR]),
            (code, Password, LOGIN, ABSENT, [S, S, S, S]),
            (code, Password, LOGIN, WITHIN, [S, S, S, S]),
            (code, Password, LOGIN, EXCEEDED, [S, S, S, S]),
            (code, Code, PLAIN, ABSENT, [I, I, I, I]),
            (code, Code, PLAIN, WITHIN, [I, I, I, I]),
            (code, Code, PLAIN, EXCEEDED, [S, S, S, S]),
            (code, Code, NONE, ABSENT, [I, I, I, I]),
            (code, Code, NONE, WITHIN, [I, I, I, I]),
            (code, Code, NONE, EXCEEDED, [LR, LR, LR, LR]),
            (code, Code, LOGIN, ABSENT, [S, S, S, S]),
            (code, Code, LOGIN, WITHIN, [S, S, S, S]),
            (code, Code, LOGIN, EXCEEDED, [S, S, S, S]),
        ];
        assert_eq!(table.len(), 3 * 2 * 3 * 3, "every combination is listed");
        let columns = [(true, false), (true, true), (false, false), (false, true)];
        for (level, required, prompt, max_age, want) in table {
            for ((has_phone, can_enrol), want) in columns.into_iter().zip(want) {
                let session = level.map(|l| (l, EARLIER, has_phone));
                let f = facts(session, required, prompt, max_age, can_enrol);
                assert_eq!(decide(f), want, "{f:?}");
            }
        }
    }

    /// A sign-in done for this very request, the edges of max_age, and clock skew.
    #[test]
    fn freshness_table() {
        use Level::{Code, Password};
        // (auth_time, prompt, max_age, now) → decision, for a code session asked for code.
        let table = [
            // prompt=login: a sign-in at or after the request satisfies it.
            (REQUESTED_AT, LOGIN, ABSENT, NOW, I),
            (REQUESTED_AT + 50, LOGIN, ABSENT, NOW, I),
            (REQUESTED_AT - 1, LOGIN, ABSENT, NOW, S),
            (REQUESTED_AT - 1, Prompt { none: true, login: true }, ABSENT, NOW, LR),
            (REQUESTED_AT, Prompt { none: true, login: true }, ABSENT, NOW, I),
            // max_age=0 is prompt=login: the sign-in for this request counts, even seconds later.
            (REQUESTED_AT, PLAIN, Some(0), NOW, I),
            (REQUESTED_AT, PLAIN, Some(0), REQUESTED_AT, I),
            (REQUESTED_AT - 1, PLAIN, Some(0), NOW, S),
            (REQUESTED_AT - 1, NONE, Some(0), NOW, LR),
            // Elapsed equal to max_age is within it; one second more is not.
            (EARLIER, PLAIN, Some(NOW - EARLIER), NOW, I),
            (EARLIER, PLAIN, Some(NOW - EARLIER - 1), NOW, S),
            // Signed in for this request, then slow to come back: still this request's sign-in.
            (REQUESTED_AT, PLAIN, Some(50), NOW, I),
            // A clock that went backwards does not make an old sign-in stale, nor a new one.
            (NOW + 100, PLAIN, Some(0), NOW, I),
            (EARLIER, PLAIN, Some(5), EARLIER - 10, I),
            // max_age=0 is prompt=login, even within the second of the sign-in.
            (EARLIER, PLAIN, Some(0), EARLIER, S),
            // Extreme times do not overflow.
            (i64::MIN, PLAIN, Some(i64::MAX), i64::MAX, I),
            (i64::MIN, PLAIN, Some(0), i64::MAX, S),
        ];
        for (auth_time, prompt, max_age, now, want) in table {
            let mut f = facts(Some((Code, auth_time, true)), Code, prompt, max_age, false);
            f.now = now;
            assert_eq!(decide(f), want, "{f:?}");
        }
        // A stale session below the level signs in again in full, not just the code.
        let f = facts(Some((Password, EARLIER, true)), Code, LOGIN, ABSENT, true);
        assert_eq!(decide(f), S);
    }

    #[test]
    fn error_codes() {
        assert_eq!(Refusal::LoginRequired.error_code(), "login_required");
        assert_eq!(Refusal::InteractionRequired.error_code(), "interaction_required");
        assert_eq!(
            Refusal::UnmetAuthenticationRequirements.error_code(),
            "unmet_authentication_requirements"
        );
    }

    #[test]
    fn prompt_round_trips_through_json() {
        for p in [PLAIN, NONE, LOGIN] {
            let json = serde_json::to_string(&p).expect("serialise");
            assert_eq!(serde_json::from_str::<Prompt>(&json).expect("parse"), p);
        }
        assert_eq!(serde_json::from_str::<Prompt>("{}").expect("parse"), PLAIN);
    }

    fn any_level() -> impl Strategy<Value = Level> {
        prop_oneof![Just(Level::Password), Just(Level::Code)]
    }

    fn any_facts() -> impl Strategy<Value = Facts> {
        let session =
            proptest::option::of((any_level(), any::<i64>(), any::<bool>())).prop_map(|s| {
                s.map(|(level, auth_time, has_phone)| Session { level, auth_time, has_phone })
            });
        (
            session,
            any_level(),
            (any::<bool>(), any::<bool>()),
            proptest::option::of(0..i64::MAX),
            any::<i64>(),
            any::<i64>(),
            any::<bool>(),
        )
            .prop_map(
                |(session, required, (none, login), max_age, requested_at, now, can_enrol)| Facts {
                    session,
                    required,
                    prompt: Prompt { none, login },
                    max_age,
                    requested_at,
                    now,
                    can_enrol,
                },
            )
    }

    proptest! {
        /// prompt=none never asks anything of the person, so it never texts anyone.
        #[test]
        fn prompt_none_is_never_interactive(mut f in any_facts()) {
            f.prompt.none = true;
            let d = decide(f);
            prop_assert!(matches!(d, Decision::Issue | Decision::Refuse(_)), "{f:?} → {d:?}");
        }

        /// A code is issued only for a session at or above the level.
        #[test]
        fn issue_needs_the_level(f in any_facts()) {
            if decide(f) == Decision::Issue {
                let session = f.session.expect("a session");
                prop_assert!(session.level >= f.required, "{f:?}");
            }
        }

        /// Without prompt=none, only a person who cannot reach the level is refused.
        #[test]
        fn interactive_refusals_are_unreachable_levels(mut f in any_facts()) {
            f.prompt.none = false;
            if let Decision::Refuse(r) = decide(f) {
                prop_assert_eq!(r, Refusal::UnmetAuthenticationRequirements);
                prop_assert!(!f.can_enrol, "{:?}", f);
            }
        }
    }
}
