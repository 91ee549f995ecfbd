//! The form and layout pieces every page is built from — cards, buttons by role, fields with
//! their label, hint and error, the confirmation block — so a style changes here, once.

mod card;
mod confirm;
mod field;
pub mod style;

pub use crate::components::button::Submit;
pub use card::{Card, refusal};
pub use confirm::Confirm;
pub use field::{Field, field_aria};
pub use style::{CARD, DANGER, INPUT, LABEL, LINK, PAGE_CARD, PRIMARY, SECONDARY};
