//! Send limits as counters whose cost does not grow with what was sent, nor with the limit.
//!
//! Each limit (a number's ten minutes, a person's day, a client IP's hour, the deployment's
//! day) is a counter per key ("this number", "this person", …) kept in buckets of a tenth of
//! its window. A send reads the buckets of its keys that touch the window (at most 11 per key,
//! whatever the limit is set to) and adds one to the newest bucket of each.
//!
//! The count is conservative: a bucket counts whole as long as any second of it lies within the
//! window. So no window ever holds more sends than its limit, and a slot frees up at most a
//! tenth of the window later than an exact count would say (a minute of ten, six of an hour,
//! 2.4 hours of a day). A cooldown (a number's, within one flow) is a limit of one, counted to
//! the second: at most one of its buckets is ever in the window, and the resend countdown people
//! see is exact.

use super::records::{Channel, LimitKind, SendKind, SendLimits, SendRequest};

const TEN_MINUTES: i64 = 600;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Buckets per window: the precision bought with at most `BUCKETS + 1` rows read per key.
pub const BUCKETS: i64 = 10;

/// One limit as a send meets it: whose counter, over which window, up to how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub limit: LimitKind,
    /// `n:` number, `u:` person, `i:` client IP, `c:` a number's cooldown in one flow
    /// (`c:<number>:<flow id>`), `g` everyone.
    pub key: String,
    pub window_secs: i64,
    pub bucket_secs: i64,
    pub max: i64,
    /// What this send adds: 1, or a call's weight on the global budget.
    pub weight: i64,
}

impl Counter {
    /// A counter of `window_secs` in buckets of a tenth of it, a send counting one.
    fn tenths(limit: LimitKind, key: String, window_secs: i64, max: u32) -> Self {
        let bucket_secs = (window_secs / BUCKETS).max(1);
        Self { limit, key, window_secs, bucket_secs, max: max.into(), weight: 1 }
    }

    /// The start of the bucket `t` falls in.
    pub fn bucket_of(&self, t: i64) -> i64 {
        t.div_euclid(self.bucket_secs) * self.bucket_secs
    }

    /// The oldest bucket still counted at `now`: the one holding the window's first second
    /// (a send at `t` counts while `t > now - window`, as the whole seconds they are).
    pub fn oldest_counted(&self, now: i64) -> i64 {
        self.bucket_of(now - self.window_secs + 1)
    }

    /// Whether one more send (of this counter's weight) fits, given this counter's buckets
    /// (start, sends) at `now`, in any order; if not, in how many seconds enough old buckets
    /// will have left the window.
    pub fn check(&self, buckets: &[(i64, i64)], now: i64) -> Result<(), i64> {
        let oldest = self.oldest_counted(now);
        let mut counted: Vec<(i64, i64)> = buckets
            .iter()
            .copied()
            .filter(|&(start, sends)| start >= oldest && sends > 0)
            .collect();
        let mut total: i64 = counted.iter().map(|&(_, sends)| sends).sum();
        if total + self.weight <= self.max {
            return Ok(());
        }
        counted.sort_unstable();
        for (start, sends) in counted {
            total -= sends;
            if total + self.weight <= self.max {
                // The bucket leaves once the window's first second is past its last one.
                return Err((start + self.bucket_secs + self.window_secs - 1 - now).max(1));
            }
        }
        // A limit of 0 (or below the weight) never frees; say a window.
        Err(self.window_secs)
    }
}

/// Every counter a send of `kind` for `req` must fit under, in the order a refusal is reported.
/// Codes wait for their flow's cooldown on the number and count against the client IP; notices
/// do neither ([`SendKind`] says why). A cooldown of 0 is no cooldown. A call counts as one
/// send everywhere but in the global budget, where it weighs [`SendLimits::call_weight`].
pub fn counters_for(
    req: &SendRequest<'_>,
    kind: SendKind<'_>,
    limits: &SendLimits,
) -> Vec<Counter> {
    let number = req.number.as_str();
    let is_code = matches!(kind, SendKind::Code { .. });
    let mut counters = Vec::with_capacity(5);
    if let SendKind::Code { flow_id } = kind
        && limits.cooldown_secs > 0
    {
        // Keyed by the flow: a resend within it waits, another flow's first text does not
        // (signing in again at once). The number stays in the key, so a flow that moves to
        // another phone texts it at once, as before.
        counters.push(Counter {
            limit: LimitKind::Cooldown,
            key: format!("c:{number}:{flow_id}"),
            window_secs: limits.cooldown_secs,
            bucket_secs: 1,
            max: 1,
            weight: 1,
        });
    }
    let per_number = limits.per_number_per_10min;
    counters.push(Counter::tenths(
        LimitKind::PerNumber,
        format!("n:{number}"),
        TEN_MINUTES,
        per_number,
    ));
    let per_user = limits.per_user_per_day;
    counters.push(Counter::tenths(LimitKind::PerUser, format!("u:{}", req.user_id), DAY, per_user));
    if is_code {
        let per_ip = limits.per_ip_per_hour;
        counters.push(Counter::tenths(
            LimitKind::PerIp,
            format!("i:{}", req.client_ip),
            HOUR,
            per_ip,
        ));
    }
    let weight = match req.channel {
        Channel::Call => i64::from(limits.call_weight.max(1)),
        Channel::Text => 1,
    };
    counters.push(Counter {
        weight,
        ..Counter::tenths(LimitKind::Global, "g".to_owned(), DAY, limits.global_per_day)
    });
    counters
}

/// A send the store is asked to record: the counters it must fit under, at `now`.
#[derive(Debug, Clone)]
pub struct SendPlan {
    pub counters: Vec<Counter>,
    pub now: i64,
}

impl SendPlan {
    pub fn new(req: &SendRequest<'_>, kind: SendKind<'_>, limits: &SendLimits) -> Self {
        Self { counters: counters_for(req, kind, limits), now: req.now }
    }

    /// Each counter's key and the first bucket of it that counts: what the store reads.
    pub fn reads(&self) -> impl Iterator<Item = (&str, i64)> {
        self.counters.iter().map(|c| (c.key.as_str(), c.oldest_counted(self.now)))
    }

    /// Each counter's key, first bucket that counts, the bucket this send is added to, its
    /// limit and what the send weighs on it: what the store's conditional add binds (it adds
    /// the weight when the sends counted plus the weight stay within the limit).
    pub fn adds(&self) -> impl Iterator<Item = (&str, i64, i64, i64, i64)> {
        self.counters.iter().map(|c| {
            (c.key.as_str(), c.oldest_counted(self.now), c.bucket_of(self.now), c.max, c.weight)
        })
    }

    /// Whether the send fits under every counter, given the rows the store read (key, bucket
    /// start, sends); the first counter that is full says which limit and when it frees up.
    pub fn judge(&self, rows: &[(String, i64, i64)]) -> Result<(), (LimitKind, i64)> {
        for counter in &self.counters {
            let buckets: Vec<(i64, i64)> = rows
                .iter()
                .filter(|(key, _, _)| *key == counter.key)
                .map(|&(_, start, sends)| (start, sends))
                .collect();
            counter
                .check(&buckets, self.now)
                .map_err(|retry_after| (counter.limit, retry_after))?;
        }
        Ok(())
    }

    /// What a text the provider certainly did not send gives back: the number's and the
    /// person's allowance and the cooldown it started; the client IP and the global budget keep
    /// it (a refused text still tells a pumper something, and still cost a request).
    pub fn ticket(&self) -> SendTicket {
        let give_back = self
            .counters
            .iter()
            .filter(|c| {
                matches!(c.limit, LimitKind::Cooldown | LimitKind::PerNumber | LimitKind::PerUser)
            })
            .map(|c| (c.key.clone(), c.bucket_of(self.now)))
            .collect();
        SendTicket { give_back }
    }
}

/// A recorded send, to be given back if the provider certainly did not take the text: the
/// buckets (key, start) to take it out of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendTicket {
    pub give_back: Vec<(String, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::E164;

    const T0: i64 = 1_800_000_000;

    fn limits() -> SendLimits {
        SendLimits {
            cooldown_secs: 60,
            per_number_per_10min: 3,
            per_user_per_day: 10,
            per_ip_per_hour: 20,
            global_per_day: 1000,
            call_weight: 3,
        }
    }

    fn number() -> E164 {
        crate::phone::PhonePolicy::from_directory("+12015550123").unwrap()
    }

    /// A code of flow `flow-a`.
    const CODE: SendKind<'static> = SendKind::Code { flow_id: "flow-a" };

    fn per_number() -> Counter {
        Counter::tenths(LimitKind::PerNumber, "n:x".into(), 600, 3)
    }

    #[test]
    fn a_bucket_counts_while_any_second_of_it_is_in_the_window() {
        let c = per_number();
        // Sends at T0, T0+60, T0+120 (buckets of 60 s): full until the first bucket leaves.
        let b = [(T0, 1), (T0 + 60, 1), (T0 + 120, 1)];
        assert_eq!(c.check(&b, T0 + 180), Err(479));
        assert_eq!(c.check(&b, T0 + 658), Err(1));
        assert_eq!(c.check(&b, T0 + 659), Ok(()));
        // Never more than the limit in any ten minutes: at T0+599 the window holds all three.
        assert!(c.check(&b, T0 + 599).is_err());
    }

    #[test]
    fn the_wait_skips_as_many_buckets_as_must_leave() {
        let c = Counter { max: 2, ..per_number() };
        // Three sends in the oldest bucket, one later: the oldest bucket leaving is enough for a
        // limit of two; a limit of one waits for the later bucket too.
        let b = [(T0 + 120, 1), (T0, 3)];
        assert_eq!(c.check(&b, T0 + 130), Err(659 - 130));
        let c = Counter { max: 1, ..per_number() };
        assert_eq!(c.check(&b, T0 + 130), Err(120 + 659 - 130));
    }

    #[test]
    fn buckets_before_the_window_and_empty_ones_do_not_count() {
        let c = per_number();
        let b = [(T0 - 660, 50), (T0, 0), (T0 + 60, 2)];
        assert_eq!(c.check(&b, T0 + 61), Ok(()));
        assert_eq!(c.check(&[(T0 + 60, 3)], T0 + 61), Err(60 + 659 - 61));
    }

    #[test]
    fn a_cooldown_is_exact_to_the_second() {
        let n = number();
        let req = SendRequest {
            user_id: "u1",
            number: &n,
            client_ip: "ip",
            now: T0 + 7,
            channel: Channel::Text,
        };
        let cooldown = counters_for(&req, CODE, &limits()).remove(0);
        assert_eq!(cooldown.check(&[(T0 + 7, 1)], T0 + 20), Err(47));
        assert_eq!(cooldown.check(&[(T0 + 7, 1)], T0 + 66), Err(1));
        assert_eq!(cooldown.check(&[(T0 + 7, 1)], T0 + 67), Ok(()));
    }

    #[test]
    fn a_limit_of_zero_refuses_for_a_whole_window() {
        let c = Counter { max: 0, ..per_number() };
        assert_eq!(c.check(&[], T0), Err(600));
    }

    #[test]
    fn codes_meet_five_counters_and_notices_three() {
        let n = number();
        let req = SendRequest {
            user_id: "u1",
            number: &n,
            client_ip: "10.0.0.1",
            now: T0,
            channel: Channel::Text,
        };
        let kinds = |kind| {
            counters_for(&req, kind, &limits()).into_iter().map(|c| c.limit).collect::<Vec<_>>()
        };
        use LimitKind::*;
        assert_eq!(kinds(CODE), [Cooldown, PerNumber, PerUser, PerIp, Global]);
        assert_eq!(kinds(SendKind::Notice), [PerNumber, PerUser, Global]);
        let no_cooldown = SendLimits { cooldown_secs: 0, ..limits() };
        assert_eq!(counters_for(&req, CODE, &no_cooldown)[0].limit, PerNumber);
    }

    #[test]
    fn the_plan_reports_the_first_full_counter_and_gives_back_only_the_persons_share() {
        let n = number();
        let req = SendRequest {
            user_id: "u1",
            number: &n,
            client_ip: "10.0.0.1",
            now: T0 + 30,
            channel: Channel::Text,
        };
        let plan = SendPlan::new(&req, CODE, &limits());
        let key = |k: &str| k.to_owned();
        assert_eq!(plan.judge(&[]), Ok(()));
        // The cooldown (to the second) is reported before the number's count.
        let rows = [(key("c:+12015550123:flow-a"), T0, 1), (key("n:+12015550123"), T0, 3)];
        assert_eq!(plan.judge(&rows), Err((LimitKind::Cooldown, 60 - 30)));
        assert_eq!(plan.judge(&rows[1..]), Err((LimitKind::PerNumber, 659 - 30)));
        // Another key's rows never count.
        assert_eq!(plan.judge(&[(key("n:+12015550999"), T0, 3)]), Ok(()));
        let ticket = plan.ticket();
        let back: Vec<&str> = ticket.give_back.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(back, ["c:+12015550123:flow-a", "n:+12015550123", "u:u1"]);
        let adds: Vec<(&str, i64, i64, i64, i64)> = plan.adds().collect();
        assert_eq!(adds[0], ("c:+12015550123:flow-a", T0 + 30 - 59, T0 + 30, 1, 1));
        assert_eq!(adds[4], ("g", T0 - T0 % 8640 - 86_400, T0 - T0 % 8640, 1000, 1));
    }

    /// Issue 23: signing in again at once (a new flow) is texted; "send a new code" within a
    /// flow still waits for the cooldown; every other limit holds for new flows too, so fresh
    /// flows cannot text a number more often than its own limit allows.
    #[test]
    fn the_cooldown_is_per_flow_and_new_flows_meet_every_other_limit() {
        use LimitKind::*;
        let n = number();
        let other = crate::phone::PhonePolicy::from_directory("+12015550999").unwrap();
        let key = |k: &str| k.to_owned();
        // The flow-a text of T0 to the number, as the store holds it: its cooldown (per flow, to
        // the second) and one of the number's three in ten minutes.
        let one_text = vec![(key("c:+12015550123:flow-a"), T0, 1), (key("n:+12015550123"), T0, 1)];
        let mut three_texts = one_text.clone();
        three_texts[1].2 = 3;
        let person_spent = vec![(key("u:u1"), T0 - T0 % 8640, 10)];
        let ip_spent = vec![(key("i:10.0.0.1"), T0 - T0 % 360, 20)];
        let global_spent = vec![(key("g"), T0 - T0 % 8640, 1000)];
        // (what, flow, number, seconds after T0, rows, outcome)
        type Row<'a> =
            (&'a str, &'a str, &'a E164, i64, &'a [(String, i64, i64)], Result<(), LimitKind>);
        let table: [Row; 9] = [
            ("resend in the flow, at once", "flow-a", &n, 5, &one_text, Err(Cooldown)),
            ("resend in the flow, after the cooldown", "flow-a", &n, 60, &one_text, Ok(())),
            ("a new flow's first text, at once", "flow-b", &n, 5, &one_text, Ok(())),
            ("the same flow, another phone", "flow-a", &other, 5, &one_text, Ok(())),
            ("a new flow, the number's limit spent", "flow-b", &n, 5, &three_texts, Err(PerNumber)),
            ("a new flow, the person's day spent", "flow-b", &n, 5, &person_spent, Err(PerUser)),
            ("a new flow, the client IP's hour spent", "flow-b", &n, 5, &ip_spent, Err(PerIp)),
            ("a new flow, the global budget spent", "flow-b", &n, 5, &global_spent, Err(Global)),
            ("a resend, the number full too", "flow-a", &n, 5, &three_texts, Err(Cooldown)),
        ];
        for (what, flow_id, to, after, rows, outcome) in table {
            let req = SendRequest {
                user_id: "u1",
                number: to,
                client_ip: "10.0.0.1",
                now: T0 + after,
                channel: Channel::Text,
            };
            let plan = SendPlan::new(&req, SendKind::Code { flow_id }, &limits());
            assert_eq!(plan.judge(rows).map_err(|(limit, _)| limit), outcome, "{what}");
        }
    }

    /// However many fresh flows there are, one number is texted at most its ten-minute limit in
    /// any ten minutes: 3 at once, then nothing until the first minute's bucket has left.
    #[test]
    fn fresh_flows_cannot_text_a_number_beyond_its_own_limit() {
        let n = number();
        let mut rows: Vec<(String, i64, i64)> = Vec::new();
        let mut sent = Vec::new();
        for second in 0..1200 {
            let flow_id = format!("flow-{second}");
            let now = T0 + second;
            let req = SendRequest {
                user_id: "u1",
                number: &n,
                client_ip: "10.0.0.1",
                now,
                channel: Channel::Text,
            };
            let plan = SendPlan::new(&req, SendKind::Code { flow_id: &flow_id }, &limits());
            // Only the number's counter: the person's and the IP's limits would stop it sooner.
            let plan = SendPlan {
                counters: plan
                    .counters
                    .into_iter()
                    .filter(|c| matches!(c.limit, LimitKind::Cooldown | LimitKind::PerNumber))
                    .collect(),
                ..plan
            };
            if plan.judge(&rows).is_ok() {
                sent.push(second);
                for (key, _, bucket, _, _) in plan.adds() {
                    match rows.iter_mut().find(|(k, b, _)| k == key && *b == bucket) {
                        Some(row) => row.2 += 1,
                        None => rows.push((key.to_owned(), bucket, 1)),
                    }
                }
            }
        }
        // Three at once (no cooldown between flows), the next three once the first minute's
        // bucket has left the ten minutes.
        assert_eq!(sent, [0, 1, 2, 659, 660, 661]);
    }

    /// Issue 21: a call weighs `call_weight` on the global budget and one everywhere else; a
    /// send that would take a counter past its limit is refused, however few sends came before.
    #[test]
    fn a_call_weighs_call_weight_on_the_global_budget_only() {
        let n = number();
        let req = |channel| SendRequest {
            user_id: "u1",
            number: &n,
            client_ip: "10.0.0.1",
            now: T0,
            channel,
        };
        let weights = |channel| {
            counters_for(&req(channel), CODE, &limits())
                .into_iter()
                .map(|c| (c.limit, c.weight))
                .collect::<Vec<_>>()
        };
        use LimitKind::*;
        assert_eq!(
            weights(Channel::Call),
            [(Cooldown, 1), (PerNumber, 1), (PerUser, 1), (PerIp, 1), (Global, 3)]
        );
        assert!(weights(Channel::Text).iter().all(|&(_, w)| w == 1));
        // The global budget of 1000 with 997 spent: a call (3) still fits, with 998 it does not,
        // while a text does until 999.
        let day = T0 - T0 % 8640;
        let spent = |sends| vec![("g".to_owned(), day, sends)];
        let judge = |channel, sends| {
            SendPlan::new(&req(channel), CODE, &limits()).judge(&spent(sends)).map_err(|(l, _)| l)
        };
        assert_eq!(judge(Channel::Call, 997), Ok(()));
        assert_eq!(judge(Channel::Call, 998), Err(Global));
        assert_eq!(judge(Channel::Text, 999), Ok(()));
        assert_eq!(judge(Channel::Text, 1000), Err(Global));
        // The store adds the weight.
        let plan = SendPlan::new(&req(Channel::Call), CODE, &limits());
        let global = plan.adds().last().unwrap();
        assert_eq!((global.0, global.3, global.4), ("g", 1000, 3));
        // Giving back is the person's share only, never the global budget.
        assert!(plan.ticket().give_back.iter().all(|(k, _)| k != "g"));
    }

    /// The wait of a refused heavy send: enough buckets must leave for the weight to fit.
    #[test]
    fn a_heavy_send_waits_until_its_weight_fits() {
        let c = Counter { max: 5, weight: 3, ..per_number() };
        // 2 sends at T0, 2 at T0+60: 4 + 3 > 5; once T0's bucket leaves, 2 + 3 fits.
        let b = [(T0, 2), (T0 + 60, 2)];
        assert_eq!(c.check(&b, T0 + 100), Err(659 - 100));
        assert_eq!(c.check(&b, T0 + 659), Ok(()));
        assert_eq!(c.check(&[(T0, 2)], T0 + 1), Ok(()));
        // A weight above the limit never fits.
        let c = Counter { max: 2, weight: 3, ..per_number() };
        assert_eq!(c.check(&[], T0), Err(600));
    }
}
