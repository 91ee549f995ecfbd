use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use server::commands::{self, StartupError};
use server::config::Config;

// jemalloc: a page render allocates and frees thousands of small blocks, and glibc's allocator
// was ~39 % of a sign-in's instructions (docs/performance.md, issue 19 ninth pass).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Latchkey: self-service 2-step sign-in (password + SMS code) for an LDAP directory.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about)]
struct Cli {
    /// Configuration file (default: ./latchkey.toml when it exists). `LATCHKEY_…` environment
    /// variables override it.
    #[arg(long, short, global = true, env = "LATCHKEY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the portal (the default).
    Serve,
    /// Apply database migrations, then exit.
    Migrate,
    /// Check the configuration, the database, the directory and the SMS provider.
    Check,
    /// Print the effective configuration with secrets redacted.
    PrintConfig,
    /// Send one test text through the configured SMS provider.
    SendTestSms {
        /// The number to text, in E.164 (+15551234567) or national form.
        #[arg(long)]
        to: String,
    },
    /// Place one test call (it says the product's name, no code) through the configured provider.
    SendTestCall {
        /// The number to call, in E.164 (+15551234567) or national form.
        #[arg(long)]
        to: String,
    },
    /// Phone numbers in the directory.
    Phones {
        #[command(subcommand)]
        action: PhonesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PhonesCommand {
    /// Record the numbers now in the directory as verified, so they receive sign-in codes (for
    /// a move from a system that verified them, such as Gluu Casa). Audited per person.
    MarkVerified {
        /// Everyone in the directory with a phone number.
        #[arg(long, conflicts_with = "login", required_unless_present = "login")]
        all: bool,
        /// One person, by login.
        #[arg(long)]
        login: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    server::telemetry::init();
    server::sms::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("latchkey: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(StartupError::CheckFailed(_)) => ExitCode::from(1),
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("latchkey: {line}");
            }
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<(), StartupError> {
    let command = cli.command.unwrap_or(Command::Serve);
    let config = Config::load(cli.config.as_deref())?;
    match command {
        Command::Serve => commands::serve(&config).await,
        Command::Migrate => commands::migrate(&config).await,
        Command::Check => commands::check(&config).await,
        Command::PrintConfig => {
            commands::print_config(&config);
            Ok(())
        }
        Command::SendTestSms { to } => commands::send_test_sms(&config, &to).await,
        Command::SendTestCall { to } => commands::send_test_call(&config, &to).await,
        Command::Phones { action: PhonesCommand::MarkVerified { all: _, login } } => {
            let selection = match login {
                Some(login) => commands::PhoneSelection::Login(login),
                None => commands::PhoneSelection::All,
            };
            commands::phones_mark_verified(&config, &selection).await
        }
    }
}
