//! The devkit's binaries as the end-to-end harness starts them. (Having this test also makes
//! `cargo test -p devkit --no-run`, and so `make e2e`, build them into target/debug/.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn the_twilio_standin_prints_its_url_and_credentials_as_one_json_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twilio-standin"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("twilio-standin starts");
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    read.expect("one line");
    let first: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    let url = first["url"].as_str().expect("url");
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"), "{first}");
    let account = devkit::twilio_standin::StandinAccount::test();
    assert_eq!(first["account_sid"], account.account_sid.as_str(), "{first}");
    assert_eq!(first["auth_token"], account.auth_token.as_str(), "{first}");
}

#[test]
fn the_demo_takes_the_address_and_the_scratch_directory() {
    let help = Command::new(env!("CARGO_BIN_EXE_latchkey-demo"))
        .arg("--help")
        .output()
        .expect("latchkey-demo runs");
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--listen") && help.contains("--data-dir"), "{help}");
}
