//! The results: JSON (for comparison across commits), a table for people, and a chart of
//! throughput and p99 against concurrency (SVG drawn here, turned into PNG by Chromium).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::stats::Percentiles;

#[derive(Debug, Serialize)]
pub struct Results {
    pub database: String,
    pub people: usize,
    pub seconds_per_level: f64,
    pub commit: String,
    pub cpus: usize,
    pub cold_start_fresh_db_ms: f64,
    pub cold_start_ms: f64,
    pub idle_rss_kb: u64,
    pub rss_after_load_kb: u64,
    pub binary_bytes: u64,
    pub sign_in_page: PageFigures,
    /// What the browser loads for each page of a sign-in.
    pub pages: Vec<PageWeight>,
    pub levels: Vec<Level>,
    pub forward_auth: ForwardAuth,
    /// Instructions per whole sign-in at C = 1 under callgrind (None: not counted).
    pub instructions: Option<crate::instructions::Instructions>,
}

/// The forward-auth check phase (`forward_auth.rs`).
#[derive(Debug, Serialize)]
pub struct ForwardAuth {
    /// Why the phase did not run (a binary without forward authentication), if it did not.
    pub skipped: Option<String>,
    pub journeys: Journeys,
    pub levels: Vec<CheckLevel>,
}

/// Getting the cookies: one whole journey per virtual user.
#[derive(Debug, Default, Serialize)]
pub struct Journeys {
    pub attempted: usize,
    pub cookies: usize,
    pub seconds: f64,
    pub errors: BTreeMap<String, u64>,
}

/// Allowed checks at one concurrency.
#[derive(Debug, Serialize)]
pub struct CheckLevel {
    pub concurrency: usize,
    pub seconds: f64,
    pub checks: u64,
    pub checks_per_sec: f64,
    pub latency: Percentiles,
    pub errors: BTreeMap<String, u64>,
    pub server_cpu_us_per_check: f64,
    /// The load generator's own CPU (it shares the machine's cores with the server).
    pub bench_cpu_us_per_check: f64,
}

#[derive(Debug, Serialize)]
pub struct PageFigures {
    pub concurrency: usize,
    pub requests_per_sec: f64,
    pub latency: Percentiles,
    pub errors: u64,
}

/// One page and what a browser loads for it.
#[derive(Debug, Serialize)]
pub struct PageWeight {
    pub page: String,
    /// Whether the browser loads the JS and the wasm for it (a page with an island; before
    /// islands, every page).
    pub loads_wasm: bool,
    pub assets: Vec<Asset>,
}

impl PageWeight {
    /// Raw and brotli bytes in all.
    pub fn total(&self) -> (usize, usize) {
        self.assets.iter().fold((0, 0), |(a, b), x| (a + x.bytes, b + x.brotli_bytes))
    }
}

#[derive(Debug, Serialize)]
pub struct Asset {
    pub path: String,
    pub bytes: usize,
    pub brotli_bytes: usize,
}

impl Asset {
    pub fn of(path: &str, body: &[u8]) -> Self {
        Self { path: path.to_owned(), bytes: body.len(), brotli_bytes: brotli_len(body) }
    }
}

/// Size after brotli at quality 11 (what a precompressing server or CDN would send).
pub fn brotli_len(body: &[u8]) -> usize {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    let _ = brotli::BrotliCompress(&mut &body[..], &mut out, &params);
    out.len()
}

#[derive(Debug, Serialize)]
pub struct Level {
    pub concurrency: usize,
    pub seconds: f64,
    pub sign_ins: u64,
    pub sign_ins_per_sec: f64,
    pub floor_per_sec: f64,
    pub ratio_to_floor: f64,
    pub floor_errors: BTreeMap<String, u64>,
    pub steps: BTreeMap<String, Percentiles>,
    pub errors: BTreeMap<String, u64>,
    pub server_peak_rss_kb: u64,
    pub server_cpu_ms_per_sign_in: f64,
    pub slapd_cpu_ms_per_sign_in: f64,
    /// The load generator and the Twilio stand-in in it, per sign-in.
    pub bench_cpu_ms_per_sign_in: f64,
    /// Cores the whole machine kept busy over the level (of `Results::cpus`), and the server's
    /// share of them: what tells waiting from working.
    pub machine_busy_cores: f64,
    pub server_busy_cores: f64,
    /// The server's context switches per sign-in (threads handing work to each other).
    pub server_switches_per_sign_in: f64,
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

pub fn table(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nLatchkey sign-in benchmark — {} ({} people, {} s per level, {} CPUs, commit {})\n",
        r.database, r.people, r.seconds_per_level, r.cpus, r.commit
    );
    let _ = writeln!(
        s,
        "{:>4} {:>10} {:>8} {:>7} {:>9} {:>9} {:>8} {:>8} {:>7} {:>7} {:>8} {:>7}",
        "C",
        "sign-in/s",
        "floor/s",
        "ratio",
        "peak RSS",
        "CPU ms/si",
        "slapd ms",
        "bench ms",
        "cores",
        "server",
        "switches",
        "errors"
    );
    for l in &r.levels {
        let _ = writeln!(
            s,
            "{:>4} {:>10.1} {:>8.0} {:>6.0}% {:>7.1}MB {:>9.2} {:>8.2} {:>8.2} {:>7.2} {:>8.2} {:>7.0} {:>7}",
            l.concurrency,
            l.sign_ins_per_sec,
            l.floor_per_sec,
            l.ratio_to_floor * 100.0,
            mb(l.server_peak_rss_kb),
            l.server_cpu_ms_per_sign_in,
            l.slapd_cpu_ms_per_sign_in,
            l.bench_cpu_ms_per_sign_in,
            l.machine_busy_cores,
            l.server_busy_cores,
            l.server_switches_per_sign_in,
            l.errors.values().sum::<u64>(),
        );
    }
    let _ = writeln!(
        s,
        "(bench ms: the load generator and the Twilio stand-in per sign-in; cores: busy cores of \
         the whole machine over the level, server: the server's share; switches: the server's \
         context switches per sign-in)"
    );
    match &r.instructions {
        Some(i) => {
            let _ = writeln!(
                s,
                "\ninstructions per sign-in (C=1, callgrind, {} sign-ins): {:.2} million",
                i.sign_ins,
                i.per_sign_in / 1e6
            );
        }
        None => {
            let _ = writeln!(s, "\ninstructions per sign-in: not counted");
        }
    }
    let _ = writeln!(s, "\nstep latency, ms (p50 / p95 / p99)");
    let _ = write!(s, "{:>4}", "C");
    for step in crate::signin::STEPS {
        let _ = write!(s, " {step:>22}");
    }
    let _ = writeln!(s);
    for l in &r.levels {
        let _ = write!(s, "{:>4}", l.concurrency);
        for step in crate::signin::STEPS {
            let p = l.steps.get(*step).cloned().unwrap_or_default();
            let cell = format!("{:.1}/{:.1}/{:.1}", p.p50_ms, p.p95_ms, p.p99_ms);
            let _ = write!(s, " {cell:>22}");
        }
        let _ = writeln!(s);
    }
    let errors: Vec<String> = r
        .levels
        .iter()
        .flat_map(|l| {
            l.errors.iter().map(move |(k, n)| format!("  C={}: {n} × {k}", l.concurrency)).chain(
                l.floor_errors
                    .iter()
                    .map(move |(k, n)| format!("  C={} floor: {n} × {k}", l.concurrency)),
            )
        })
        .collect();
    let _ = writeln!(s, "\nerrors by kind: {}", if errors.is_empty() { "none" } else { "" });
    for e in errors {
        let _ = writeln!(s, "{e}");
    }
    forward_auth_table(&mut s, &r.forward_auth);
    let _ = writeln!(
        s,
        "\nstart-up to /readyz: {:.0} ms (restart), {:.0} ms (fresh database, migrations)",
        r.cold_start_ms, r.cold_start_fresh_db_ms
    );
    let _ = writeln!(
        s,
        "idle RSS: {:.1} MB; RSS after the load: {:.1} MB",
        mb(r.idle_rss_kb),
        mb(r.rss_after_load_kb)
    );
    let p = &r.sign_in_page;
    let _ = writeln!(
        s,
        "sign-in page alone: {:.0} requests/s at C={} (p50 {:.1} ms, p99 {:.1} ms, {} errors)",
        p.requests_per_sec, p.concurrency, p.latency.p50_ms, p.latency.p99_ms, p.errors
    );
    let _ = writeln!(s, "release binary: {:.1} MB", r.binary_bytes as f64 / 1_048_576.0);
    let _ = writeln!(s, "page weights, what the browser loads (raw / brotli):");
    for page in &r.pages {
        let (raw, br) = page.total();
        let wasm = if page.loads_wasm { "loads the wasm" } else { "no JS, no wasm" };
        let _ = writeln!(s, "  {} ({wasm}): {raw} B / {br} B", page.page);
        for a in &page.assets {
            let _ = writeln!(s, "    {:<26} {:>9} B {:>9} B", a.path, a.bytes, a.brotli_bytes);
        }
    }
    s
}

fn forward_auth_table(s: &mut String, f: &ForwardAuth) {
    if let Some(why) = &f.skipped {
        let _ = writeln!(s, "\nforward-auth check: skipped — {why}");
        return;
    }
    let j = &f.journeys;
    let _ = writeln!(
        s,
        "\nforward-auth check (GET /api/authz/auth-request, allowed; cookies from {} of {} \
         journeys in {:.1} s)",
        j.cookies, j.attempted, j.seconds
    );
    let _ = writeln!(
        s,
        "{:>4} {:>9} {:>7} {:>7} {:>12} {:>11} {:>7} {:>8}",
        "C", "checks/s", "p50 ms", "p99 ms", "CPU µs/chk", "bench µs", "errors", "n"
    );
    for l in &f.levels {
        let _ = writeln!(
            s,
            "{:>4} {:>9.0} {:>7.2} {:>7.2} {:>12.1} {:>11.1} {:>7} {:>8}",
            l.concurrency,
            l.checks_per_sec,
            l.latency.p50_ms,
            l.latency.p99_ms,
            l.server_cpu_us_per_check,
            l.bench_cpu_us_per_check,
            l.errors.values().sum::<u64>(),
            l.checks,
        );
    }
    for (k, n) in &j.errors {
        let _ = writeln!(s, "  journey: {n} × {k}");
    }
    for l in &f.levels {
        for (k, n) in &l.errors {
            let _ = writeln!(s, "  C={} check: {n} × {k}", l.concurrency);
        }
    }
}

/// Draws the chart as SVG beside `stem` and asks Chromium for a PNG of it. Returns the PNG's
/// path (or the SVG's, when Chromium is missing).
pub fn chart(r: &Results, stem: &Path) -> PathBuf {
    let svg = stem.with_extension("svg");
    let png = stem.with_extension("png");
    let (w, h) = (900.0, 520.0);
    let _ = std::fs::write(&svg, svg_chart(r, w, h));
    let abs = std::fs::canonicalize(&svg).unwrap_or(svg.clone());
    let png_abs = abs.with_extension("png");
    let status = std::process::Command::new("/usr/bin/chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .args(["--no-first-run", "--disable-background-networking", "--disable-component-update"])
        .arg(format!("--screenshot={}", png_abs.display()))
        .arg(format!("--window-size={},{}", w as u32, h as u32))
        .arg(format!("file://{}", abs.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if status.is_ok_and(|s| s.success()) && png.exists() { png } else { svg }
}

/// Two panels against concurrency (log scale): sign-ins/s with the floor × 25 % line, and p99
/// of each step.
pub fn svg_chart(r: &Results, w: f64, h: f64) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">Latchkey whole sign-ins — {} ({})</text>"#,
        w / 2.0,
        r.database,
        r.commit
    );
    let xs: Vec<f64> = r.levels.iter().map(|l| (l.concurrency as f64).log2()).collect();
    let xmax = xs.iter().cloned().fold(1.0, f64::max);
    // Two panels with a 60 px margin left of each (the axis labels) and 30 px at the right.
    let panel_w = (w - 150.0) / 2.0;
    let (top, bottom) = (50.0, h - 60.0);
    // Left: throughput.
    let tput: Vec<f64> = r.levels.iter().map(|l| l.sign_ins_per_sec).collect();
    let quarter_floor: Vec<f64> = r.levels.iter().map(|l| l.floor_per_sec * 0.25).collect();
    let ymax1 = tput.iter().chain(&quarter_floor).cloned().fold(1.0, f64::max) * 1.15;
    let left = Panel { x0: 60.0, top, width: panel_w, bottom, xmax, ymax: ymax1 };
    left.frame(&mut s, &r.levels, "sign-ins per second");
    left.line(&mut s, &xs, &tput, ("#1d4ed8", "sign-ins/s", false), 0);
    left.line(&mut s, &xs, &quarter_floor, ("#9ca3af", "25 % of the floor", true), 1);
    // Right: p99 per step.
    let colors = ["#059669", "#d97706", "#dc2626", "#7c3aed", "#0891b2"];
    let series: Vec<(&str, Vec<f64>)> = crate::signin::STEPS
        .iter()
        .map(|step| {
            (*step, r.levels.iter().map(|l| l.steps.get(*step).map_or(0.0, |p| p.p99_ms)).collect())
        })
        .collect();
    let ymax2 = series.iter().flat_map(|(_, v)| v.iter()).cloned().fold(1.0, f64::max) * 1.15;
    let right = Panel { x0: 60.0 + panel_w + 60.0, ymax: ymax2, ..left };
    right.frame(&mut s, &r.levels, "p99 latency per step, ms");
    for (i, (name, v)) in series.iter().enumerate() {
        right.line(&mut s, &xs, v, (colors[i % colors.len()], name, false), i);
    }
    s.push_str("</svg>\n");
    s
}

/// One chart panel: where it is drawn and the data range it maps there (x: log2 of C).
#[derive(Clone, Copy)]
struct Panel {
    x0: f64,
    top: f64,
    width: f64,
    bottom: f64,
    xmax: f64,
    ymax: f64,
}

impl Panel {
    fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.x0 + x / self.xmax * self.width,
            self.bottom - y / self.ymax * (self.bottom - self.top),
        )
    }

    /// Title, axes, the concurrency levels under the x axis and five y grid lines.
    fn frame(&self, s: &mut String, levels: &[Level], title: &str) {
        let Panel { x0, top, width, bottom, ymax, .. } = *self;
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="13">{title}</text><line x1="{x0}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="#333"/><line x1="{x0}" y1="{top}" x2="{x0}" y2="{bottom}" stroke="#333"/>"##,
            x0 + width / 2.0,
            top - 10.0,
            x0 + width
        );
        for l in levels {
            let (x, _) = self.at((l.concurrency as f64).log2(), 0.0);
            let _ = write!(
                s,
                r#"<text x="{x}" y="{}" text-anchor="middle">{}</text>"#,
                bottom + 16.0,
                l.concurrency
            );
        }
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">concurrent virtual users</text>"#,
            x0 + width / 2.0,
            bottom + 34.0
        );
        for i in 0..=4 {
            let v = ymax * f64::from(i) / 4.0;
            let (_, y) = self.at(0.0, v);
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" text-anchor="end">{v:.0}</text><line x1="{x0}" y1="{y}" x2="{}" y2="{y}" stroke="#e5e7eb"/>"##,
                x0 - 4.0,
                y + 4.0,
                x0 + width
            );
        }
    }

    /// A series as a polyline with dots, and its legend entry in row `legend_row`.
    fn line(
        &self,
        s: &mut String,
        xs: &[f64],
        ys: &[f64],
        (color, label, dashed): (&str, &str, bool),
        legend_row: usize,
    ) {
        let points: Vec<(f64, f64)> = xs.iter().zip(ys).map(|(x, y)| self.at(*x, *y)).collect();
        let dash = if dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let polyline: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
            polyline.join(" ")
        );
        for (x, y) in &points {
            let _ = write!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{color}"/>"#);
        }
        let ly = self.top + 8.0 + legend_row as f64 * 16.0;
        let _ = write!(
            s,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{}">{label}</text>"#,
            self.x0 + 10.0,
            self.x0 + 28.0,
            self.x0 + 32.0,
            ly + 4.0
        );
    }
}

/// Old and new binary side by side, from one run (`--old`): each figure and new / old.
pub fn compare(old: &crate::Measured, new: &crate::Measured) -> String {
    use crate::Measured;
    let ratio = |o: f64, n: f64| if o > 0.0 { format!("{:.2}", n / o) } else { "-".to_owned() };
    let mut out = String::from("\nOld and new binary, one run (new / old)\n");
    match (old, new) {
        (Measured::Levels(o), Measured::Levels(n)) => {
            out.push_str(
                "   C   sign-ins/s old → new (×)       server CPU ms/sign-in old → new (×)\n",
            );
            for (lo, ln) in o.levels.iter().zip(&n.levels) {
                let _ = writeln!(
                    out,
                    " {:>3}   {:>7.1} → {:>7.1} ({})       {:>6.2} → {:>6.2} ({})",
                    ln.concurrency,
                    lo.sign_ins_per_sec,
                    ln.sign_ins_per_sec,
                    ratio(lo.sign_ins_per_sec, ln.sign_ins_per_sec),
                    lo.server_cpu_ms_per_sign_in,
                    ln.server_cpu_ms_per_sign_in,
                    ratio(lo.server_cpu_ms_per_sign_in, ln.server_cpu_ms_per_sign_in),
                );
            }
            // Page weights are not compared: both binaries serve the same --site assets.
            if let (Some(io), Some(inew)) = (&o.instructions, &n.instructions) {
                let _ = writeln!(
                    out,
                    " instructions per sign-in (millions): {:.2} → {:.2} ({})",
                    io.per_sign_in / 1e6,
                    inew.per_sign_in / 1e6,
                    ratio(io.per_sign_in, inew.per_sign_in)
                );
            }
        }
        (Measured::Soak(o), Measured::Soak(n)) => {
            out.push_str(" tenth   server CPU ms/sign-in old → new (×)   sign-ins/s old → new\n");
            for (i, (to, tn)) in o.tenths.iter().zip(&n.tenths).enumerate() {
                let _ = writeln!(
                    out,
                    " {:>5}   {:>6.2} → {:>6.2} ({})              {:>5.0} → {:>5.0}",
                    i + 1,
                    to.server_cpu_ms_per_sign_in,
                    tn.server_cpu_ms_per_sign_in,
                    ratio(to.server_cpu_ms_per_sign_in, tn.server_cpu_ms_per_sign_in),
                    to.sign_ins_per_sec,
                    tn.sign_ins_per_sec,
                );
            }
            let _ = writeln!(
                out,
                " last tenth / first tenth: old {:.2}, new {:.2}",
                o.last_over_first, n.last_over_first
            );
        }
        _ => out.push_str(" (the two runs measured different things)\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Results {
        let level = |c: usize, tput: f64| Level {
            concurrency: c,
            seconds: 10.0,
            sign_ins: (tput * 10.0) as u64,
            sign_ins_per_sec: tput,
            floor_per_sec: tput * 3.0,
            ratio_to_floor: 1.0 / 3.0,
            floor_errors: BTreeMap::new(),
            steps: crate::signin::STEPS
                .iter()
                .map(|s| {
                    (
                        (*s).to_owned(),
                        Percentiles {
                            count: 1,
                            p50_ms: 1.0,
                            p95_ms: 2.0,
                            p99_ms: 3.0,
                            max_ms: 4.0,
                        },
                    )
                })
                .collect(),
            errors: BTreeMap::from([("code: timeout".to_owned(), 2)]),
            server_peak_rss_kb: 30_000,
            server_cpu_ms_per_sign_in: 5.0,
            slapd_cpu_ms_per_sign_in: 1.0,
            bench_cpu_ms_per_sign_in: 1.5,
            machine_busy_cores: 1.75,
            server_busy_cores: 1.25,
            server_switches_per_sign_in: 220.0,
        };
        Results {
            database: "sqlite".into(),
            people: 1000,
            seconds_per_level: 10.0,
            commit: "abc1234".into(),
            cpus: 2,
            cold_start_fresh_db_ms: 120.0,
            cold_start_ms: 80.0,
            idle_rss_kb: 20_000,
            rss_after_load_kb: 40_000,
            binary_bytes: 12_000_000,
            sign_in_page: PageFigures {
                concurrency: 32,
                requests_per_sec: 900.0,
                latency: Percentiles::default(),
                errors: 0,
            },
            pages: vec![PageWeight {
                page: "sign-in: password".into(),
                loads_wasm: false,
                assets: vec![Asset::of(
                    "/sign-in (HTML)",
                    "<html>hello hello hello</html>".as_bytes(),
                )],
            }],
            levels: vec![level(1, 10.0), level(8, 40.0), level(32, 50.0)],
            forward_auth: ForwardAuth {
                skipped: None,
                journeys: Journeys {
                    attempted: 8,
                    cookies: 7,
                    seconds: 0.5,
                    errors: BTreeMap::from([("code: no new text at the stand-in".to_owned(), 1)]),
                },
                levels: vec![CheckLevel {
                    concurrency: 8,
                    seconds: 5.0,
                    checks: 20_000,
                    checks_per_sec: 4_000.0,
                    latency: Percentiles::default(),
                    errors: BTreeMap::from([("status 401".to_owned(), 3)]),
                    server_cpu_us_per_check: 123.4,
                    bench_cpu_us_per_check: 99.0,
                }],
            },
            instructions: Some(crate::instructions::Instructions {
                sign_ins: 100,
                instructions: 3_210_000_000,
                per_sign_in: 32_100_000.0,
            }),
        }
    }

    #[test]
    fn the_table_names_every_level_step_and_error() {
        let t = table(&results());
        for needle in [
            "sign-in/s",
            "  32 ",
            "sign_out",
            "C=32: 2 × code: timeout",
            "idle RSS: 19.5 MB",
            "sign-in: password (no JS, no wasm)",
            "cookies from 7 of 8 journeys",
            "   123.4 ",
            "journey: 1 × code: no new text at the stand-in",
            "C=8 check: 3 × status 401",
            "instructions per sign-in (C=1, callgrind, 100 sign-ins): 32.10 million",
        ] {
            assert!(t.contains(needle), "{needle:?} in\n{t}");
        }
    }

    #[test]
    fn a_skipped_forward_auth_phase_says_why() {
        let mut r = results();
        r.forward_auth.skipped = Some("the binary has no forward authentication".into());
        let t = table(&r);
        assert!(t.contains("forward-auth check: skipped — the binary has no"), "{t}");
        assert!(!t.contains("CPU µs/chk"), "{t}");
    }

    #[test]
    fn old_and_new_soaks_compare_tenth_by_tenth() {
        let soak = |cpu: [f64; 2]| {
            crate::Measured::Soak(crate::soak::Soak {
                sign_ins: 200,
                concurrency: 8,
                tenths: cpu
                    .iter()
                    .map(|&c| crate::soak::Tenth {
                        sign_ins: 100,
                        seconds: 1.0,
                        sign_ins_per_sec: 100.0,
                        server_cpu_ms_per_sign_in: c,
                    })
                    .collect(),
                last_over_first: cpu[1] / cpu[0],
                errors: BTreeMap::new(),
                server_peak_rss_kb: 1,
            })
        };
        let t = compare(&soak([10.0, 20.0]), &soak([10.0, 10.0]));
        assert!(t.contains("20.00 →  10.00 (0.50)"), "{t}");
        assert!(t.contains("old 2.00, new 1.00"), "{t}");
        let levels = crate::Measured::Levels(Box::new(results()));
        assert!(compare(&soak([1.0, 1.0]), &levels).contains("different things"));
    }

    #[test]
    fn the_chart_is_svg_with_a_line_per_series() {
        let svg = svg_chart(&results(), 900.0, 520.0);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2 + crate::signin::STEPS.len());
    }

    #[test]
    fn brotli_shrinks_repetitive_text() {
        let body = "sign in ".repeat(1000);
        let n = brotli_len(body.as_bytes());
        assert!(n > 0 && n < 100, "{n}");
    }

    #[test]
    fn results_serialise() {
        let json = serde_json::to_value(results()).unwrap();
        assert_eq!(json["levels"][2]["concurrency"], 32);
        assert_eq!(json["levels"][0]["steps"]["password"]["p99_ms"], 3.0);
        assert_eq!(json["forward_auth"]["levels"][0]["server_cpu_us_per_check"], 123.4);
        assert_eq!(json["forward_auth"]["skipped"], serde_json::Value::Null);
    }
}
