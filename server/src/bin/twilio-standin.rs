//! Runs the Twilio stand-in on its own, for the end-to-end suite and for trying the `twilio`
//! provider without a Twilio account. Prints its URL and credentials, then serves until killed.

use std::net::SocketAddr;

use server::devkit::twilio_standin::{StandinAccount, TwilioStandin};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".into());
    let Ok(addr) = listen.parse::<SocketAddr>() else {
        eprintln!("twilio-standin: {listen:?} is not an address; usage: twilio-standin [IP:PORT]");
        return std::process::ExitCode::from(2);
    };
    let standin = match TwilioStandin::start_on(addr, StandinAccount::test()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("twilio-standin: cannot listen on {addr}: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // One JSON line, so a test harness can read it.
    println!(
        "{}",
        serde_json::json!({
            "url": standin.url,
            "account_sid": standin.account.account_sid,
            "auth_token": standin.account.auth_token,
        })
    );
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}
