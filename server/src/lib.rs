//! The `latchkey` binary's library: configuration, adapters (SQL, LDAP, SMS), HTTP assembly and
//! the commands. `main.rs` only parses the command line.

pub mod branding;
pub mod commands;
pub mod config;
pub mod db;
pub mod directory;
pub mod http;
pub mod ldap_transport;
pub mod metrics;
pub mod oidc_keys;
pub mod sealing;
pub mod services;
pub mod sms;
pub mod telemetry;

pub use http::build_app;
