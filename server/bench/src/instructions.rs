//! Instructions per sign-in: a figure a busy neighbour does not move, so that commits can be
//! compared across runs. This VM exposes no hardware counters (`perf stat -e instructions`
//! answers "not supported"), so the server runs under valgrind's callgrind, which counts every
//! instruction of every thread (the runtime's workers and the SQLite threads alike): a few
//! sign-ins to warm up, the counters zeroed, N whole sign-ins at C = 1, a dump, its total / N.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::signin::{self, Person, Stop};

#[derive(Debug, Serialize)]
pub struct Instructions {
    pub sign_ins: u64,
    pub instructions: u64,
    pub per_sign_in: f64,
}

/// Sign-ins before the counters are zeroed: first-use costs (connections, caches) are not a
/// sign-in's.
const WARM_UP: u64 = 5;

/// Runs `command` (the server, already given its `serve` arguments) under callgrind, serving
/// on `port`, and counts `n` sign-ins of `people`.
pub async fn count(
    server: Command,
    port: u16,
    out: &Path,
    standin: &Arc<devkit::twilio_standin::TwilioStandin>,
    people: &[Person],
    n: u64,
) -> Result<Instructions, String> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Err("valgrind is not installed (apt-get install valgrind)".into());
    }
    let dump = out.join("callgrind.out");
    let _ = std::fs::remove_file(dump.with_extension("out.1"));
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", dump.display()))
        .arg(server.get_program())
        .args(server.get_args())
        .env_clear()
        .envs(server.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(out.join("callgrind.log")).map_err(|e| e.to_string())?);
    let mut child = command.spawn().map_err(|e| format!("cannot start valgrind: {e}"))?;
    let result = async {
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        while !http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            if started.elapsed() > Duration::from_secs(180) {
                return Err("the server under callgrind was not ready in 180 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let run = |total| {
            signin::virtual_user(
                base.clone(),
                standin.clone(),
                people.to_vec(),
                Stop::After { done: Arc::new(AtomicU64::new(0)), total },
            )
        };
        let warm = run(WARM_UP).await;
        if warm.completed < WARM_UP {
            return Err(format!("warm-up sign-ins failed: {:?}", warm.errors));
        }
        control(child.id(), "-z")?;
        let tally = run(n).await;
        control(child.id(), "-d")?;
        if !tally.errors.is_empty() {
            return Err(format!("sign-ins failed under callgrind: {:?}", tally.errors));
        }
        let instructions = total_of(&dump.with_extension("out.1"))?;
        Ok(Instructions {
            sign_ins: tally.completed,
            instructions,
            per_sign_in: instructions as f64 / tally.completed.max(1) as f64,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn control(pid: u32, what: &str) -> Result<(), String> {
    let out = Command::new("callgrind_control")
        .arg(what)
        .arg(pid.to_string())
        .output()
        .map_err(|e| format!("callgrind_control: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("callgrind_control {what}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// The instruction total of a callgrind dump (its `summary:` or `totals:` line).
fn total_of(dump: &PathBuf) -> Result<u64, String> {
    let text = std::fs::read_to_string(dump).map_err(|e| format!("{}: {e}", dump.display()))?;
    text.lines()
        .filter_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .filter_map(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .max()
        .ok_or_else(|| format!("no total in {}", dump.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_a_dump() {
        let dir = std::env::temp_dir().join(format!("latchkey-cg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dump = dir.join("callgrind.out.1");
        std::fs::write(&dump, "version: 1\nevents: Ir\nsummary: 123456\ntotals: 123456\n").unwrap();
        assert_eq!(total_of(&dump), Ok(123_456));
        std::fs::write(&dump, "events: Ir\n").unwrap();
        assert!(total_of(&dump).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
