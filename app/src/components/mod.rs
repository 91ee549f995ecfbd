pub mod actions;
pub mod button;
pub mod form;
pub mod islands;
pub mod layout;
pub mod notice;
pub mod qr;
pub mod time;
