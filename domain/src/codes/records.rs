//! What the code engine and its store exchange: purposes, rules, limits, stored codes, sends.

use crate::phone::E164;

/// What a code is for: a code issued for one purpose never verifies another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    Enrol,
    Reauth,
    /// Not a code: the digest of a "remember this browser" token, kept apart from codes.
    RememberBrowser,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "sign_in",
            Purpose::Enrol => "enrol",
            Purpose::Reauth => "reauth",
            Purpose::RememberBrowser => "remember_browser",
        }
    }
}

/// How a code reaches a phone: a text, or a voice call that speaks it. Landlines only take
/// calls ([`crate::phone::E164::takes_texts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Text,
    Call,
}

impl Channel {
    /// How a code reaches `number` when `wanted` is asked for: a number that does not take
    /// texts always gets a call; a call is only placed when the provider places calls
    /// (`places_calls`), otherwise a number that takes texts is texted.
    pub fn for_number(number: &E164, wanted: Channel, places_calls: bool) -> Channel {
        if !number.takes_texts() {
            Channel::Call
        } else if wanted == Channel::Call && !places_calls {
            Channel::Text
        } else {
            wanted
        }
    }

    /// Reads a form's `channel` value; anything else is a text.
    pub fn parse(value: &str) -> Channel {
        match value {
            "call" => Channel::Call,
            _ => Channel::Text,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Text => "text",
            Channel::Call => "call",
        }
    }

    /// RFC 8176's method: `sms` for a texted code, `tel` for a call.
    pub fn amr(self) -> &'static str {
        match self {
            Channel::Text => "sms",
            Channel::Call => "tel",
        }
    }
}

/// The numbers from configuration.
#[derive(Debug, Clone)]
pub struct CodeRules {
    pub length: u8,
    pub lifetime_secs: i64,
    pub max_attempts_per_code: u32,
    pub failures_before_lock: u32,
    pub lock_secs: i64,
    /// Wrong codes since the last right one, across the short locks, after which the second
    /// step stays locked until an administrator unlocks it (NIST SP 800-63B-4: at most 100).
    pub max_failures_before_reset: u32,
    pub limits: SendLimits,
}

#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    pub cooldown_secs: i64,
    pub per_number_per_10min: u32,
    pub per_user_per_day: u32,
    pub per_ip_per_hour: u32,
    pub global_per_day: u32,
    /// How many texts a call costs of the global budget (`security.call_weight`): calls cost
    /// the operator several times a text. Every other limit counts a call as one send.
    pub call_weight: u32,
}

/// Which send limit stopped a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Cooldown,
    PerNumber,
    PerUser,
    PerIp,
    Global,
}

/// What a text is, for the limits. Both kinds count against the number, the person and the
/// global budget. Only codes wait for (and start) a cooldown and count against the client's IP:
/// a notice follows a change the person or an administrator already proved they may make, it
/// is sent once and never retried, so a cooldown started by the code that confirmed the change
/// would drop the very notice that tells the person about it; and the per-IP limit is against
/// anonymous SMS pumping, which notices cannot be (an administrator's resets would otherwise use
/// up the administrator's own address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind<'a> {
    /// A code of the flow `flow_id`. The cooldown is the flow's, per number: it paces "send a
    /// new code" within the flow, while a new flow's first text (signing in again after signing
    /// out) meets only the number's, the person's, the client IP's and the global limits, which
    /// are what bound how often fresh flows can text one number.
    Code {
        flow_id: &'a str,
    },
    Notice,
}

/// A text or call about to be sent, as the store counts it.
#[derive(Debug, Clone)]
pub struct SendRequest<'a> {
    pub user_id: &'a str,
    pub number: &'a E164,
    pub client_ip: &'a str,
    pub now: i64,
    /// A call costs [`SendLimits::call_weight`] of the global budget.
    pub channel: Channel,
}

/// A stored code, as the store hands it back for verification.
#[derive(Debug, Clone)]
pub struct StoredCode {
    pub number: String,
    pub digest: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// Attempts including this one.
    pub attempts: u32,
    /// True when the attempt limit was already reached: this attempt was not counted and the
    /// code must not be compared.
    pub exhausted: bool,
    /// True when this attempt matched and marked the code used (no other attempt did).
    pub used_now: bool,
}

/// A new code to store.
#[derive(Debug, Clone)]
pub struct NewCode<'a> {
    pub flow_id: &'a str,
    pub purpose: Purpose,
    pub user_id: &'a str,
    pub number: &'a E164,
    pub digest: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A person's second-step failure record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondStep {
    pub locked_until: Option<i64>,
    /// Locked until an administrator unlocks it: too many wrong codes since the last right one.
    pub reset_required: bool,
    /// Failures counted since the last right code (across short locks); a right code clears
    /// them only when there are any, so the common sign-in does no delete (a write the
    /// database must serialise).
    pub failures: u32,
}

impl SecondStep {
    /// Seconds until codes are accepted again: `Some(None)` when only an administrator can
    /// unlock, `None` when not locked.
    pub(crate) fn lock(&self, now: i64) -> Option<Option<i64>> {
        if self.reset_required {
            Some(None)
        } else {
            self.locked_until.map(|until| Some(until - now))
        }
    }

    pub fn is_locked(&self) -> bool {
        self.reset_required || self.locked_until.is_some()
    }
}

/// What a counted failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Counted,
    /// The short lock, until then.
    LockedUntil(i64),
    /// Locked until an administrator unlocks it.
    ResetRequired,
}
