use leptos::prelude::*;

use super::style::{HINT, LABEL};

/// `aria-invalid` and `aria-describedby` of a field: when the page's error (the element with id
/// `notice`) is about it, it is marked invalid and described by the error, then by its hint.
pub fn field_aria(
    invalid: bool,
    hint: Option<&'static str>,
) -> (Option<&'static str>, Option<String>) {
    let described = match (invalid, hint) {
        (true, Some(h)) => Some(format!("notice {h}")),
        (true, None) => Some("notice".to_owned()),
        (false, h) => h.map(str::to_owned),
    };
    (invalid.then_some("true"), described)
}

/// A label, the field itself (`children`, whose id is `id`; give it the attributes of
/// [`field_aria`]) and an optional hint under it, with the id `hint_id`.
#[component]
pub fn Field(
    #[prop(into)] id: String,
    label: &'static str,
    #[prop(optional)] hint: Option<(&'static str, &'static str)>,
    /// Classes of the wrapper (`grow` in a row of fields).
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <div class=(!class.is_empty()).then_some(class)>
            <label for=id class=LABEL>{label}</label>
            {children()}
            {hint.map(|(hint_id, text)| view! { <p id=hint_id class=HINT>{text}</p> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::field_aria;

    #[test]
    fn an_invalid_field_is_described_by_the_error_then_its_hint() {
        assert_eq!(field_aria(true, Some("h")), (Some("true"), Some("notice h".to_owned())));
        assert_eq!(field_aria(true, None), (Some("true"), Some("notice".to_owned())));
        assert_eq!(field_aria(false, Some("h")), (None, Some("h".to_owned())));
        assert_eq!(field_aria(false, None), (None, None));
    }
}
