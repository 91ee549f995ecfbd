//! `BENCH_SOAK=N make bench`: N whole sign-ins at C = 8 under production-sized send limits,
//! with the server's CPU per sign-in measured in each tenth of them. A sign-in path whose cost
//! grows with the sign-ins already done (a limit that counts rows, a table that only grows)
//! shows as a last tenth dearer than the first; issue 19 asks for within 10 %.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::signin::{self, Person, Stop};
use crate::stats;

/// Virtual users of the soak.
pub const CONCURRENCY: usize = 8;

/// Send limits as a large deployment sets them: the bench signs the same people in again and
/// again from one address, so each is far above what those sign-ins use, and a limit that
/// counts rows up to its size pays for every text of the soak.
pub const LIMITS: &str = "send_cooldown_secs = 0
sends_per_number_per_10min = 100000
sends_per_user_per_day = 100000
sends_per_ip_per_hour = 10000000
global_sends_per_day = 10000000";

#[derive(Debug, Serialize)]
pub struct Tenth {
    pub sign_ins: u64,
    pub seconds: f64,
    pub sign_ins_per_sec: f64,
    pub server_cpu_ms_per_sign_in: f64,
}

#[derive(Debug, Serialize)]
pub struct Soak {
    pub sign_ins: u64,
    pub concurrency: usize,
    pub tenths: Vec<Tenth>,
    /// CPU per sign-in of the last tenth over that of the first.
    pub last_over_first: f64,
    pub errors: std::collections::BTreeMap<String, u64>,
    pub server_peak_rss_kb: u64,
}

/// Runs `total` sign-ins at [`CONCURRENCY`], sampling the server's CPU as each tenth of them
/// completes.
pub async fn run(
    base: &str,
    pid: u32,
    standin: &Arc<devkit::twilio_standin::TwilioStandin>,
    people: &[Person],
    total: u64,
) -> Soak {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Stop::After { done: done.clone(), total };
    stats::reset_peak(pid);
    let handles: Vec<_> = crate::shares(people, CONCURRENCY)
        .into_iter()
        .map(|share| {
            tokio::spawn(signin::virtual_user(
                base.to_owned(),
                standin.clone(),
                share,
                stop.clone(),
            ))
        })
        .collect();

    // A sample at every tenth: (sign-ins done, server CPU seconds, when).
    let tenth = (total / 10).max(1);
    let mut marks = vec![(0, stats::proc_sample(pid).cpu_secs, Instant::now())];
    let mut last_report = Instant::now();
    while marks.len() <= 10 {
        let now_done = done.load(Ordering::Relaxed);
        if now_done >= tenth * marks.len() as u64 || now_done >= total {
            marks.push((now_done, stats::proc_sample(pid).cpu_secs, Instant::now()));
            if now_done >= total {
                break;
            }
            continue;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  soak: {now_done} of {total} sign-ins");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut tally = stats::Tally::default();
    for h in handles {
        tally.merge(h.await.expect("virtual user"));
    }
    let tenths: Vec<Tenth> = marks
        .windows(2)
        .map(|w| {
            let ((d0, c0, t0), (d1, c1, t1)) = (w[0], w[1]);
            let n = d1.saturating_sub(d0);
            let secs = t1.duration_since(t0).as_secs_f64();
            Tenth {
                sign_ins: n,
                seconds: secs,
                sign_ins_per_sec: if secs > 0.0 { n as f64 / secs } else { 0.0 },
                server_cpu_ms_per_sign_in: if n > 0 { (c1 - c0) * 1000.0 / n as f64 } else { 0.0 },
            }
        })
        .collect();
    let first = tenths.first().map_or(0.0, |t| t.server_cpu_ms_per_sign_in);
    let last = tenths.last().map_or(0.0, |t| t.server_cpu_ms_per_sign_in);
    Soak {
        sign_ins: tally.completed,
        concurrency: CONCURRENCY,
        last_over_first: if first > 0.0 { last / first } else { 0.0 },
        tenths,
        errors: tally.errors,
        server_peak_rss_kb: stats::proc_sample(pid).hwm_kb,
    }
}

/// The soak as a table.
pub fn table(s: &Soak) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "\nSoak: {} sign-ins at C={} (production-sized send limits)\n tenth  sign-ins    /s   server CPU ms/sign-in\n",
        s.sign_ins, s.concurrency
    );
    for (i, t) in s.tenths.iter().enumerate() {
        let _ = writeln!(
            out,
            " {:>5}  {:>8}  {:>5.0}  {:>6.2}",
            i + 1,
            t.sign_ins,
            t.sign_ins_per_sec,
            t.server_cpu_ms_per_sign_in
        );
    }
    let _ = writeln!(
        out,
        " last tenth / first tenth: {:.2} (CPU per sign-in); errors: {:?}; peak RSS {:.1} MB",
        s.last_over_first,
        s.errors,
        s.server_peak_rss_kb as f64 / 1024.0
    );
    out
}
