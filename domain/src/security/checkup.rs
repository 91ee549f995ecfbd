//! The security checkup on the start page: the security page's state summed up (2-step sign-in,
//! how many of each credential, remembered browsers), the person's last sign-in as the audit
//! trail recorded it, and the one thing most worth doing when something is weak.

use super::{SecurityError, SecurityService};
use crate::authenticated::Authenticated;
use crate::authenticator::{Methods, RecoveryStatus};

/// The kind of audit event a finished sign-in writes (its outcome is the `AuthMethod`).
const SIGN_IN_KIND: &str = "sign_in.success";

/// Everything the checkup shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkup {
    pub two_factor_on: bool,
    /// Phones in the directory.
    pub phones: u32,
    /// Of those, the ones that receive sign-in codes (verified, or the directory is trusted).
    pub usable_phones: u32,
    /// Authenticator apps.
    pub apps: u32,
    pub recovery: RecoveryStatus,
    /// Which kinds this deployment offers (`policy.methods`).
    pub methods: Methods,
    pub browsers: u32,
    pub last_sign_in: Option<LastSignIn>,
    pub suggestion: Option<Suggestion>,
}

/// The newest sign-in in the audit trail (usually this one; another browser's, if newer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSignIn {
    /// Unix seconds.
    pub at: i64,
    /// How, as `AuthMethod::as_str` (`password_and_sms`, …).
    pub method: String,
    /// "Chrome on Linux", from the recorded User-Agent.
    pub browser: String,
    pub ip: String,
}

/// The one thing most worth doing, in this order: 2-step sign-in off; then no second kind of
/// credential (every way in is a texted code, and nothing helps when the phone is lost); then
/// only one phone or app that gives codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suggestion {
    /// 2-step sign-in is off, and the person has what it needs: turn it on.
    TurnOnTwoFactor,
    /// 2-step sign-in is off, and it needs a phone (or more) first.
    AddPhoneForTwoFactor,
    /// Only phones, no recovery codes left: get a set.
    GetRecoveryCodes,
    /// Only phones, and recovery codes are not offered (or texts are not): add an app.
    AddApp,
    /// One phone or app gives every code: add a second phone.
    AddSecondPhone,
}

impl Suggestion {
    /// A stable name, for pages and tests.
    pub fn as_str(self) -> &'static str {
        match self {
            Suggestion::TurnOnTwoFactor => "turn_on_two_factor",
            Suggestion::AddPhoneForTwoFactor => "add_phone_for_two_factor",
            Suggestion::GetRecoveryCodes => "get_recovery_codes",
            Suggestion::AddApp => "add_app",
            Suggestion::AddSecondPhone => "add_second_phone",
        }
    }
}

/// What the suggestion is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strength {
    pub two_factor_on: bool,
    /// Second factors 2-step sign-in needs (`policy.min_credentials`).
    pub min_credentials: u32,
    pub usable_phones: u32,
    pub apps: u32,
    /// Unused recovery codes.
    pub recovery_left: u32,
    pub methods: Methods,
}

/// The single most important suggestion, or none when nothing is weak.
pub fn suggest(s: &Strength) -> Option<Suggestion> {
    let factors = s.usable_phones + s.apps;
    let m = s.methods;
    if !s.two_factor_on {
        return Some(if factors >= s.min_credentials.max(1) {
            Suggestion::TurnOnTwoFactor
        } else if m.sms || !m.totp {
            Suggestion::AddPhoneForTwoFactor
        } else {
            Suggestion::AddApp
        });
    }
    // Phones only, and no way back: losing them (or their numbers) locks the person out.
    if s.apps == 0 && s.recovery_left == 0 {
        if m.recovery_codes {
            return Some(Suggestion::GetRecoveryCodes);
        }
        if m.totp {
            return Some(Suggestion::AddApp);
        }
    }
    (factors <= 1 && m.sms).then_some(Suggestion::AddSecondPhone)
}

impl SecurityService {
    /// The start page's checkup for `user`: the same reads as the security page's (no activity
    /// page), and the newest sign-in from the audit trail.
    pub async fn checkup(&self, user: &Authenticated, now: i64) -> Result<Checkup, SecurityError> {
        let id = &user.user_id;
        let (person, records, browsers, last) = tokio::try_join!(
            self.person(user),
            self.records(user),
            async { Ok::<_, SecurityError>(self.p.accounts.trusted_browsers(id, now).await?) },
            async {
                Ok::<_, SecurityError>(self.p.audit.newest_by(id.as_str(), SIGN_IN_KIND).await?)
            },
        )?;
        let phones = self.phone_views(user, &person, &records, now).await?;
        let two_factor_on = records.two_factor_on;
        let factors = self.p.authenticators.factors_of(records.apps, records.recovery);
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let methods = self.p.authenticators.methods();
        let usable_phones = count(phones.iter().filter(|p| p.usable).count());
        let apps = count(factors.apps.len());
        let suggestion = suggest(&Strength {
            two_factor_on,
            min_credentials: self.p.settings.min_credentials,
            usable_phones,
            apps,
            recovery_left: factors.recovery.remaining,
            methods,
        });
        Ok(Checkup {
            two_factor_on,
            phones: count(phones.len()),
            usable_phones,
            apps,
            recovery: factors.recovery,
            methods,
            browsers: count(browsers.len()),
            last_sign_in: last.map(|e| LastSignIn {
                at: e.at,
                method: e.outcome,
                browser: crate::client::describe_browser(&e.user_agent),
                ip: e.client_ip,
            }),
            suggestion,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Suggestion as S;
    use super::*;

    const ALL: Methods = Methods { sms: true, totp: true, recovery_codes: true };

    fn judge(on: bool, phones: u32, apps: u32, recovery_left: u32, methods: Methods) -> Option<S> {
        suggest(&Strength {
            two_factor_on: on,
            min_credentials: 1,
            usable_phones: phones,
            apps,
            recovery_left,
            methods,
        })
    }

    /// (2-step on, usable phones, apps, recovery codes left) → the suggestion, with every
    /// method offered.
    #[test]
    fn the_most_important_weakness_wins() {
        let table = [
            // 2-step off comes first, whatever else is weak.
            ((false, 0, 0, 0), Some(S::AddPhoneForTwoFactor)),
            ((false, 1, 0, 0), Some(S::TurnOnTwoFactor)),
            ((false, 0, 1, 10), Some(S::TurnOnTwoFactor)),
            ((false, 2, 1, 10), Some(S::TurnOnTwoFactor)),
            // Then phones only, with no way back.
            ((true, 1, 0, 0), Some(S::GetRecoveryCodes)),
            ((true, 2, 0, 0), Some(S::GetRecoveryCodes)),
            // Then one phone or app for every code.
            ((true, 1, 0, 3), Some(S::AddSecondPhone)),
            ((true, 0, 1, 0), Some(S::AddSecondPhone)),
            // Nothing weak.
            ((true, 2, 0, 3), None),
            ((true, 1, 1, 0), None),
            ((true, 2, 1, 10), None),
        ];
        for ((on, phones, apps, left), want) in table {
            assert_eq!(judge(on, phones, apps, left, ALL), want, "{on} {phones} {apps} {left}");
        }
    }

    #[test]
    fn only_what_is_offered_is_suggested() {
        let no_recovery = Methods { recovery_codes: false, ..ALL };
        assert_eq!(judge(true, 2, 0, 0, no_recovery), Some(S::AddApp));
        let sms_only = Methods { sms: true, totp: false, recovery_codes: false };
        assert_eq!(judge(true, 1, 0, 0, sms_only), Some(S::AddSecondPhone));
        assert_eq!(judge(true, 2, 0, 0, sms_only), None);
        assert_eq!(judge(false, 0, 0, 0, sms_only), Some(S::AddPhoneForTwoFactor));
        let apps_only = Methods { sms: false, totp: true, recovery_codes: false };
        assert_eq!(judge(false, 0, 0, 0, apps_only), Some(S::AddApp));
        assert_eq!(judge(true, 0, 1, 0, apps_only), None, "no phones to add without texts");
    }

    #[test]
    fn two_factor_needs_the_policys_number_of_factors() {
        let s = |phones| Strength {
            two_factor_on: false,
            min_credentials: 2,
            usable_phones: phones,
            apps: 0,
            recovery_left: 0,
            methods: ALL,
        };
        assert_eq!(suggest(&s(1)), Some(S::AddPhoneForTwoFactor));
        assert_eq!(suggest(&s(2)), Some(S::TurnOnTwoFactor));
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(S::GetRecoveryCodes.as_str(), "get_recovery_codes");
        assert_eq!(S::TurnOnTwoFactor.as_str(), "turn_on_two_factor");
    }
}
