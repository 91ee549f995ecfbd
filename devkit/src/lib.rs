//! Throwaway real parts for the demo, the tests and the benchmark: an OpenLDAP server, PostgreSQL
//! databases, a Twilio stand-in, nginx and Caddy in front of a tiny app, and the demo itself. A
//! crate of its own so that none of it is in the `latchkey` binary; its binaries are
//! `latchkey-demo` (`make demo`, the end-to-end suite) and `twilio-standin` (the end-to-end
//! suite).

pub mod demo;
pub mod demo_apps;
/// One interface over OpenLDAP, Active Directory (Samba) and 389 Directory Server for the tests.
pub mod directories;
/// A throwaway 389 Directory Server (one instance per test, or one per test binary).
pub mod dirsrv;
pub mod postgres;
/// nginx and Caddy in front of an app, asking Latchkey about every request (forward auth).
pub mod proxies;
/// A throwaway Samba Active Directory domain controller, seeded like the other test directories.
pub mod samba;
pub mod slapd;
pub mod twilio_standin;
/// The app the forward-auth proxies protect: shows who the proxy said is signed in.
pub mod upstream;
