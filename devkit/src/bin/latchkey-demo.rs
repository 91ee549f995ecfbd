//! `make demo`: the demo people in a throwaway OpenLDAP, a fresh SQLite file, texts shown on the
//! demo phone page, the real server run in-process, two demo apps that sign in through it with
//! OpenID Connect, and a small app behind nginx and Caddy that ask it about every request
//! (forward authentication), until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use devkit::demo::DemoApps;

/// Run a self-contained Latchkey demo: throwaway directory with demo people, SQLite, demo phone
/// page, two demo apps that sign in through Latchkey with OpenID Connect, and protected apps
/// behind nginx and Caddy (forward authentication). `LATCHKEY_…` environment variables may
/// override server and SMS settings.
#[derive(Debug, Parser)]
#[command(name = "latchkey-demo", version)]
struct Cli {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    /// Scratch directory for the demo database, its latchkey.toml and signing key (emptied at
    /// every start).
    #[arg(long, default_value = "target/demo")]
    data_dir: PathBuf,
    /// Register an OpenID Connect client for an app you run yourself at this base URL (repeat
    /// for several). The first is client `demo-app-a`, the next `demo-app-b`, …, each with
    /// secret `latchkey-demo-app-secret-not-for-production`, redirect URI URL/callback and
    /// post-logout redirect URI URL/signed-out (what end2end/demo-app/app.mjs uses). The demo
    /// then starts no app of its own.
    #[arg(long = "oidc-demo-app", value_name = "URL")]
    oidc_demo_app: Vec<String>,
    /// Start no demo app at all: neither the OpenID Connect apps nor the protected apps (as
    /// --no-oidc-apps --no-proxies).
    #[arg(long, conflicts_with = "oidc_demo_app")]
    no_demo_apps: bool,
    /// Start no OpenID Connect demo app. By default the demo starts two
    /// (end2end/demo-app/app.mjs, with Node and the npm packages `make setup` installs) on the
    /// next two ports: demo app A asks for the password and a texted code (acr twilio_sms),
    /// demo app B for the password only.
    #[arg(long, conflicts_with = "oidc_demo_app")]
    no_oidc_apps: bool,
    /// Start no protected apps. By default the demo starts a small app that shows who it is
    /// told is signed in, and nginx and Caddy in front of it (Debian's, as `make setup`
    /// installs them; each on a free port), asking Latchkey about every request:
    /// http://wiki.localhost:PORT (the password), http://vault.localhost:PORT (the password and
    /// a texted code) and http://admin.localhost:PORT (members of latchkey-admins only).
    /// Chromium resolves *.localhost to this machine by itself.
    #[arg(long)]
    no_proxies: bool,
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
    let apps = if cli.no_demo_apps || cli.no_oidc_apps {
        DemoApps::None
    } else if cli.oidc_demo_app.is_empty() {
        DemoApps::Start
    } else {
        DemoApps::Register(cli.oidc_demo_app)
    };
    let protect = !(cli.no_demo_apps || cli.no_proxies);
    match runtime.block_on(devkit::demo::run(&cli.listen, &cli.data_dir, apps, protect)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("latchkey-demo: {line}");
            }
            ExitCode::from(2)
        }
    }
}
