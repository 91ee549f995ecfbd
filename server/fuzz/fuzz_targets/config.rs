//! Any configuration file and environment: a valid configuration or a list of problems, never
//! a panic. The input is TOML text, then `KEY=VALUE` environment lines after a NUL byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::config::Config;

fuzz_target!(|input: &str| {
    let (toml, env) = input.split_once('\0').unwrap_or((input, ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (format!("LATCHKEY_{k}"), v.to_owned()))
        .collect();
    if let Err(e) = Config::from_toml_str(toml, &env) {
        assert!(!e.problems.is_empty(), "an error names at least one problem");
    }
});
