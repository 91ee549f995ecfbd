//! A page's actions, declared once. `page_actions!` takes one list of `field: ServerFnType`
//! and builds the struct of `ServerAction`s with what a page asks of them all together: build
//! them, reload when any finishes, show that one is on the network, report a failed request.
//! Adding an action to a page is one line in its list.

/// `page_actions! { struct Actions { password: SubmitPassword, … } }` declares a `Copy` struct
/// of `ServerAction`s with `new()`, `versions()` (the sum of their versions: it changes whenever
/// one finishes), `pending()` (any on the network) and `transport_error()` (the first failed
/// request, which the session's notice cannot carry).
macro_rules! page_actions {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($field:ident: $action:ty),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy)]
        $vis struct $name {
            $($field: leptos::prelude::ServerAction<$action>,)+
        }

        #[allow(dead_code, reason = "each page uses what it needs of these")]
        impl $name {
            fn new() -> Self {
                Self { $($field: leptos::prelude::ServerAction::new(),)+ }
            }

            fn versions(&self) -> usize {
                0 $(+ self.$field.version().get())+
            }

            fn pending(&self) -> bool {
                false $(|| self.$field.pending().get())+
            }

            fn transport_error(&self) -> Option<$crate::error::AppError> {
                None $(.or_else(|| self.$field.value().get().and_then(Result::err)))+
            }
        }
    };
}

pub(crate) use page_actions;
