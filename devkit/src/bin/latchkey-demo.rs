//! `make demo`: the demo people in a throwaway OpenLDAP, a fresh SQLite file, texts shown on the
//! demo phone page, and the real server run in-process, until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Run a self-contained Latchkey demo: throwaway directory with demo people, SQLite, demo phone
/// page. `LATCHKEY_…` environment variables may override server and SMS settings.
#[derive(Debug, Parser)]
#[command(name = "latchkey-demo", version, about)]
struct Cli {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    /// Scratch directory for the demo database (emptied at every start).
    #[arg(long, default_value = "target/demo")]
    data_dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    server::telemetry::init();
    server::sms::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("latchkey-demo: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(devkit::demo::run(&cli.listen, &cli.data_dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("latchkey-demo: {line}");
            }
            ExitCode::from(2)
        }
    }
}
