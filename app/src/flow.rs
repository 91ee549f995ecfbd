//! The sign-in in progress (its flow's id) travels in a cookie of its own, not in the session
//! (issue 19): a browser between the password and the code has no session row, so the password
//! step stores nothing and the code step creates the signed-in session once instead of cycling
//! one. The server's cookie layer (`server/src/http/middleware/carried.rs`) reads the cookie
//! into the request's [`SignInFlow`] and writes back what the request changed. Every password
//! step sets it anew (a new random id: one planted or seen before is worth nothing after it);
//! the last step, "cancel", a new password and signing out remove it. Server-only.

use axum::http::HeaderValue;

use crate::carried::{Carried, CarriedCookie, cookie_line};

/// A flow's id, as the browser's cookie or a step set it.
#[derive(Clone, PartialEq, Eq)]
pub struct FlowId(pub String);

/// This request's sign-in flow.
pub type SignInFlow = Carried<FlowId>;

/// The flow cookie's name and lifetime.
#[derive(Clone)]
pub struct FlowCookie {
    /// `__Host-latchkey-flow` over https (nobody on a sibling subdomain can plant one),
    /// `latchkey-flow` otherwise.
    pub name: &'static str,
    pub secure: bool,
    /// A flow's lifetime: the cookie goes when the flow it names can no longer go on.
    pub max_age_secs: i64,
}

impl FlowCookie {
    pub fn new(secure: bool, max_age_secs: i64) -> Self {
        let name = if secure { "__Host-latchkey-flow" } else { "latchkey-flow" };
        Self { name, secure, max_age_secs }
    }
}

impl CarriedCookie for FlowCookie {
    type Value = FlowId;

    fn name(&self) -> &'static str {
        self.name
    }

    /// Only what has the form of a flow's id is ever looked up.
    fn open(&self, cookie: &str, _now: i64) -> Option<FlowId> {
        let usable = domain::sign_in::is_flow_id(cookie);
        if !usable {
            tracing::info!("a flow cookie that is no flow's id was ignored");
        }
        usable.then(|| FlowId(cookie.to_owned()))
    }

    /// For the flow's lifetime: the cookie goes when the flow it names can no longer go on.
    fn header(&self, flow: Option<&FlowId>, _now: i64) -> Option<HeaderValue> {
        match flow {
            Some(FlowId(id)) => cookie_line(self.name, id, self.max_age_secs, self.secure),
            None => cookie_line(self.name, "", 0, self.secure),
        }
    }
}

impl Carried<FlowId> {
    /// The flow's id, if a flow is in progress in this browser.
    pub fn id(&self) -> Option<String> {
        self.peek().map(|FlowId(id)| id)
    }

    /// Ends the flow here (the response removes the cookie); its id, if there was one.
    pub fn end(&self) -> Option<String> {
        self.take().map(|FlowId(id)| id)
    }

    /// A new flow from this response on.
    pub fn start(&self, id: String) {
        self.set(Some(FlowId(id)));
    }

    /// Ends the sign-in in progress here, if there is one, and deletes it, so that nobody can
    /// go on with it (a sign-out, "cancel", a new password). `Err` only if the flow could not
    /// be deleted (it then expires with its lifetime).
    pub async fn cancel(
        &self,
        sign_in: &domain::sign_in::SignInService,
    ) -> Result<(), domain::sign_in::SignInError> {
        match self.end() {
            Some(id) => sign_in.cancel(&id).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn line(flow: &SignInFlow, cookie: &FlowCookie) -> Option<String> {
        flow.set_cookie(cookie, 0).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn a_flow_started_is_a_host_only_cookie_for_the_flows_lifetime() {
        let cookie = FlowCookie::new(true, 900);
        let flow = SignInFlow::default();
        flow.start(ID.to_owned());
        assert_eq!(
            line(&flow, &cookie).as_deref(),
            Some(
                "__Host-latchkey-flow=0123456789abcdef0123456789abcdef; Path=/; HttpOnly; SameSite=Lax; Max-Age=900; Secure"
            )
        );
        let plain = FlowCookie::new(false, 900);
        let line = line(&flow, &plain).unwrap();
        assert!(line.starts_with("latchkey-flow=0123") && !line.contains("Secure"), "{line}");
    }

    #[test]
    fn a_flow_ended_or_a_cookie_that_is_no_flow_id_is_removed() {
        let cookie = FlowCookie::new(true, 900);
        let removal = "__Host-latchkey-flow=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure";
        let brought = SignInFlow::brought(cookie.open(ID, 0), true);
        assert_eq!(brought.id().as_deref(), Some(ID));
        assert_eq!(line(&brought, &cookie), None, "read, not changed: nothing sent");
        assert_eq!(brought.end().as_deref(), Some(ID));
        assert_eq!(line(&brought, &cookie).as_deref(), Some(removal));
        for planted in ["x", "0123456789ABCDEF0123456789ABCDEF", "'; DROP TABLE sign_in_flows --"] {
            let flow = SignInFlow::brought(cookie.open(planted, 0), true);
            assert_eq!(flow.id(), None, "{planted}");
            assert_eq!(line(&flow, &cookie).as_deref(), Some(removal), "{planted}");
        }
    }
}
