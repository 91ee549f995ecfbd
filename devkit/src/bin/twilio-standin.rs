//! The local Twilio stand-in, for the end-to-end suite: prints one JSON line with its URL and
//! test credentials, then serves until interrupted.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

/// Run the local Twilio stand-in: prints one JSON line (url, account_sid, auth_token), then
/// serves until interrupted.
#[derive(Debug, Parser)]
#[command(name = "twilio-standin", version, about)]
struct Cli {
    /// Address to listen on (port 0: any free port, named in the JSON line).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    server::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("twilio-standin: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(devkit::twilio_standin::serve(cli.listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("twilio-standin: server: cannot listen on {}: {e}", cli.listen);
            ExitCode::from(2)
        }
    }
}
