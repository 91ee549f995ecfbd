//! Throwaway real parts for the demo and the tests: an OpenLDAP server, a PostgreSQL database.
//! Compiled into the binary because `latchkey demo` uses them; nothing here runs in `serve`.

pub mod demo;
pub mod postgres;
pub mod slapd;
pub mod twilio_standin;
