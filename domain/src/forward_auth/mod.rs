//! Forward authentication: a reverse proxy (nginx `auth_request`, Caddy `forward_auth`) asks,
//! for every request to an app that has no sign-in of its own, whether this browser may pass.
//!
//! - [`apps`]: the protected apps, and the addresses a check reads and writes (origins, return
//!   paths, Latchkey's paths on each app's host). Pure.
//! - [`service`]: the check, and the journey that gets a browser a cookie on the app's host while
//!   Latchkey's own cookie stays host-only: the app's host sets a state cookie and sends the
//!   browser to Latchkey; Latchkey signs the person in (or steps them up) and sends it back with
//!   a one-time code; the app's host exchanges the code, good only with that state cookie, for
//!   its own cookie, tied to the person's Latchkey sign-in as an OpenID Connect grant is.
//!
//! The server holds the HTTP side (`server/src/http/forward_auth.rs`): which proxy headers are
//! believed, the answers each proxy understands, the cookies.

pub mod apps;
pub mod service;
