pub mod actions;
pub mod button;
pub mod focus;
pub mod form;
pub mod layout;
pub mod notice;
pub mod qr;
pub mod time;
