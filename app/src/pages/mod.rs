pub mod admin;
pub mod demo_phone;
pub mod home;
pub mod not_found;
pub mod security;
pub mod sign_in;
pub mod status;
