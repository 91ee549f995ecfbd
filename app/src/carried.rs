//! A value that travels in a cookie of its own rather than in the session: what the browser
//! brought, and what the request made of it. A layer of the server's router reads the cookie
//! into the request's [`Carried`] and writes back only what the request changed, so a request
//! that only reads it sends no `Set-Cookie`. Used for the notice of the next page view
//! ([`crate::flash`]) and the sign-in in progress ([`crate::flow`]). Server-only.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::{Extensions, HeaderValue, request::Parts};

/// One cookie carried this way: its name, how a value the browser brought is read, and the
/// `Set-Cookie` line for a value (`None`: remove the cookie).
pub trait CarriedCookie: Send + Sync + 'static {
    type Value: Clone + PartialEq + Send + Sync + 'static;

    fn name(&self) -> &'static str;

    /// The value in the browser's `cookie`, or `None` (logged) if it is not usable.
    fn open(&self, cookie: &str, now: i64) -> Option<Self::Value>;

    fn header(&self, value: Option<&Self::Value>, now: i64) -> Option<HeaderValue>;
}

/// A `Set-Cookie` line for a cookie of this kind: `HttpOnly` and `SameSite=Lax` like the
/// session's, for every path, `Secure` over https (`max_age` 0 removes it).
pub fn cookie_line(name: &str, value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let line = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&line).ok()
}

/// This request's value of one cookie.
#[derive(Clone)]
pub struct Carried<T>(Arc<Mutex<State<T>>>);

struct State<T> {
    value: Option<T>,
    /// The browser sent the cookie (whether or not its value was usable).
    brought: bool,
    changed: bool,
}

impl<T> Default for Carried<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(State { value: None, brought: false, changed: false })))
    }
}

impl<T: Clone + PartialEq> Carried<T> {
    /// The value of a request that brought `value` (`brought`: it sent the cookie at all, so a
    /// cookie whose value was not usable is removed too).
    pub fn brought(value: Option<T>, brought: bool) -> Self {
        let changed = brought && value.is_none();
        Self(Arc::new(Mutex::new(State { value, brought, changed })))
    }

    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value, left in place.
    pub fn peek(&self) -> Option<T> {
        self.state().value.clone()
    }

    /// The value, taken: the response removes the cookie.
    pub fn take(&self) -> Option<T> {
        let mut state = self.state();
        let value = state.value.take();
        state.changed |= value.is_some();
        value
    }

    /// What the cookie holds from this response on (`None`: nothing).
    pub fn set(&self, value: Option<T>) {
        let mut state = self.state();
        if state.value != value {
            state.value = value;
            state.changed = true;
        }
    }

    /// The `Set-Cookie` the response carries for `cookie`, if the request changed the value.
    pub fn set_cookie<C: CarriedCookie<Value = T>>(
        &self,
        cookie: &C,
        now: i64,
    ) -> Option<HeaderValue> {
        self.outcome().and_then(|value| cookie.header(value.as_ref(), now))
    }

    /// What the response must do with the cookie: `None` nothing, `Some(None)` remove it,
    /// `Some(Some(value))` set it.
    fn outcome(&self) -> Option<Option<T>> {
        let state = self.state();
        match (&state.value, state.changed) {
            (_, false) => None,
            // Set and taken within one request, or nothing to remove: nothing to send.
            (None, true) if !state.brought => None,
            (value, true) => Some(value.clone()),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Carried<T> {
    /// The request's value among its `extensions`, where the cookie's layer always puts it
    /// (missing only if the router were built without the layer: logged).
    pub fn of(extensions: &Extensions) -> Option<Self> {
        let carried = extensions.get::<Self>().cloned();
        if carried.is_none() {
            tracing::error!(
                cookie = std::any::type_name::<T>(),
                "cookie layer missing from the request"
            );
        }
        carried
    }
}

/// For axum handlers outside Leptos (the OpenID Connect endpoints, forward authentication, the
/// audit export).
impl<S: Send + Sync, T: Clone + Send + Sync + 'static> axum::extract::FromRequestParts<S>
    for Carried<T>
{
    type Rejection = axum::http::StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::of(&parts.extensions).ok_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The request's value of cookie `T`, for server functions and pages.
pub async fn carried<T: Clone + Send + Sync + 'static>()
-> Result<Carried<T>, crate::error::AppError> {
    crate::auth::with_request(|parts| Carried::<T>::of(&parts.extensions))
        .flatten()
        .ok_or_else(crate::error::AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::Carried;

    #[test]
    fn a_request_that_changes_nothing_sends_nothing() {
        assert_eq!(Carried::<u8>::brought(None, false).outcome(), None);
        let waiting = Carried::brought(Some(1u8), true);
        assert_eq!(waiting.peek(), Some(1));
        assert_eq!(waiting.outcome(), None, "peeked, not taken: it stays");
        let same = Carried::brought(Some(1u8), true);
        same.set(Some(1));
        assert_eq!(same.outcome(), None);
        let nothing = Carried::<u8>::default();
        nothing.set(None);
        assert_eq!(nothing.take(), None);
        assert_eq!(nothing.outcome(), None, "no cookie to remove");
    }

    #[test]
    fn a_value_set_is_sent_and_one_taken_or_unusable_is_removed() {
        let set = Carried::<u8>::default();
        set.set(Some(2));
        assert_eq!(set.outcome(), Some(Some(2)));
        let replaced = Carried::brought(Some(1u8), true);
        replaced.set(Some(2));
        assert_eq!(replaced.outcome(), Some(Some(2)));
        let taken = Carried::brought(Some(1u8), true);
        assert_eq!(taken.take(), Some(1));
        assert_eq!(taken.take(), None, "once");
        assert_eq!(taken.outcome(), Some(None));
        assert_eq!(Carried::<u8>::brought(None, true).outcome(), Some(None), "unusable: removed");
        // Set and taken within one request: nothing to send.
        let within = Carried::<u8>::default();
        within.set(Some(3));
        assert_eq!(within.take(), Some(3));
        assert_eq!(within.outcome(), None);
    }
}
