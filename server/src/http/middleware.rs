//! The middleware every request passes through, one per file. `build_app` (`http.rs`) stacks
//! them, with the stock tower-http layers (body limit, timeout, trace, catch-panic), in the
//! order documented there.

pub mod body_deadline;
pub mod carried;
pub mod cross_site;
pub mod panic_page;
pub mod security_headers;
pub mod session;
pub mod turns;
pub mod unreadable_400;
