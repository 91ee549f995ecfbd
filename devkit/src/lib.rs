//! Throwaway real parts for the demo, the tests and the benchmark: an OpenLDAP server, PostgreSQL
//! databases, a Twilio stand-in, and the demo itself. A crate of its own so that none of it is in
//! the `latchkey` binary; its binaries are `latchkey-demo` (`make demo`, the end-to-end suite)
//! and `twilio-standin` (the end-to-end suite).

pub mod demo;
pub mod demo_apps;
pub mod postgres;
pub mod slapd;
pub mod twilio_standin;
