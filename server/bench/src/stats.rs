//! Latency samples, percentiles and process figures from `/proc`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Percentiles of one step, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Nearest-rank percentiles of samples in microseconds.
pub fn percentiles(samples: &mut [u32]) -> Percentiles {
    if samples.is_empty() {
        return Percentiles::default();
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let i = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        f64::from(samples[i.clamp(1, samples.len()) - 1]) / 1000.0
    };
    Percentiles {
        count: samples.len(),
        p50_ms: rank(50.0),
        p95_ms: rank(95.0),
        p99_ms: rank(99.0),
        max_ms: f64::from(samples[samples.len() - 1]) / 1000.0,
    }
}

/// Samples per step name and errors per kind, as one virtual user or a whole level gathers them.
#[derive(Debug, Default)]
pub struct Tally {
    pub steps: BTreeMap<&'static str, Vec<u32>>,
    pub errors: BTreeMap<String, u64>,
    pub completed: u64,
}

impl Tally {
    pub fn sample(&mut self, step: &'static str, elapsed: std::time::Duration) {
        let micros = u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX);
        self.steps.entry(step).or_default().push(micros);
    }

    pub fn error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }

    pub fn merge(&mut self, other: Tally) {
        for (step, samples) in other.steps {
            self.steps.entry(step).or_default().extend(samples);
        }
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        self.completed += other.completed;
    }
}

/// CPU time and memory of a process, from `/proc/<pid>/`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// User + system CPU seconds so far.
    pub cpu_secs: f64,
    /// Resident set now and its high-water mark since the last reset, in KiB.
    pub rss_kb: u64,
    pub hwm_kb: u64,
    /// Context switches (voluntary + involuntary) of the threads alive now: every hand-off to
    /// another thread (SQLite's worker, a woken runtime thread) shows here.
    pub switches: u64,
}

/// Linux reports CPU times in USER_HZ ticks, 100 per second on every architecture it runs on.
const TICKS_PER_SEC: f64 = 100.0;

pub fn proc_sample(pid: u32) -> ProcSample {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    ProcSample {
        cpu_secs: cpu_secs(&stat),
        rss_kb: kb(&status, "VmRSS:"),
        hwm_kb: kb(&status, "VmHWM:"),
        switches: thread_switches(pid),
    }
}

fn thread_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .map(|t| {
            let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            switches(&status)
        })
        .sum()
}

fn switches(status: &str) -> u64 {
    kb(status, "voluntary_ctxt_switches:") + kb(status, "nonvoluntary_ctxt_switches:")
}

/// CPU seconds the whole machine spent busy (not idle, not waiting for I/O) so far, from
/// `/proc/stat`: with the elapsed time, how many of the cores a level kept busy.
pub fn machine_busy_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    busy_secs(&stat)
}

fn busy_secs(stat: &str) -> f64 {
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let ticks: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    total.saturating_sub(idle) as f64 / TICKS_PER_SEC
}

/// Resets the peak-RSS mark (`VmHWM`) so the next level's peak is its own.
pub fn reset_peak(pid: u32) {
    if let Err(e) = std::fs::write(format!("/proc/{pid}/clear_refs"), "5") {
        eprintln!("warning: cannot reset the peak RSS of {pid}: {e}");
    }
}

fn cpu_secs(stat: &str) -> f64 {
    // Fields after the command name (which is in parentheses and may hold spaces): utime and
    // stime are the 12th and 13th.
    let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / TICKS_PER_SEC
}

fn kb(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        samples.reverse();
        let p = percentiles(&mut samples);
        assert_eq!(
            (p.count, p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms),
            (100, 50.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(percentiles(&mut [7000]).p99_ms, 7.0);
        assert_eq!(percentiles(&mut []), Percentiles::default());
    }

    #[test]
    fn proc_fields_are_read() {
        let stat = "4242 (latch key) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(cpu_secs(stat), 3.0);
        let status = "Name:\tlatchkey\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!((kb(status, "VmRSS:"), kb(status, "VmHWM:")), (10240, 20480));
        let me = proc_sample(std::process::id());
        assert!(me.rss_kb > 0 && me.hwm_kb >= me.rss_kb);
        let status = "voluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(switches(status), 10);
        assert!(me.switches > 0);
    }

    #[test]
    fn machine_busy_time_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 0 50 1000 30 5 5 10 0 0\ncpu0 50 0 25 500 15 2 2 5 0 0\n";
        assert_eq!(busy_secs(stat), 1.7);
        assert_eq!(busy_secs("nothing"), 0.0);
        assert!(machine_busy_secs() > 0.0);
    }

    #[test]
    fn tallies_merge() {
        let mut a = Tally::default();
        a.sample("page", std::time::Duration::from_millis(2));
        a.error("timeout".into());
        a.completed = 1;
        let mut b = Tally::default();
        b.sample("page", std::time::Duration::from_millis(3));
        b.error("timeout".into());
        b.completed = 2;
        a.merge(b);
        assert_eq!((a.steps["page"].len(), a.errors["timeout"], a.completed), (2, 2, 3));
    }
}
