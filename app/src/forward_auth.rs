//! Where the browser goes on a forward-auth journey (`domain::forward_auth`): shared by
//! Latchkey's `/forward-auth` address (`server/src/http/forward_auth.rs`) and the sign-in page,
//! which resumes the journey waiting in the session once a sign-in's last step is done.
//! Server-only.

use crate::auth::{Browser, SESSION_FORWARD_KEY};
use crate::state::AppState;
use domain::authenticated::Authenticated;
use domain::client::Client;
use domain::forward_auth::service::{Journey, JourneyError, Next};

fn store_error(e: tower_sessions::session::Error) -> JourneyError {
    tracing::error!(error = %e, "session store failed");
    JourneyError::Unavailable
}

/// Decides `journey` for this browser and says where it goes: back to the app with a code,
/// or to the sign-in page (the journey waiting in the session, the code step started for a
/// step up).
pub async fn go(
    state: &AppState,
    browser: &Browser,
    client: &Client,
    user: Option<&Authenticated>,
    journey: &Journey,
    resumed: bool,
) -> Result<String, JourneyError> {
    let next = state.forward_auth.decide(journey, user, resumed, client).await;
    if !matches!(next, Ok(Next::SignIn | Next::StepUp)) {
        // Done with, either way.
        browser.session.remove_value(SESSION_FORWARD_KEY).await.map_err(store_error)?;
    }
    match next? {
        Next::ToApp(location) => Ok(location),
        next => {
            browser.session.insert(SESSION_FORWARD_KEY, journey).await.map_err(store_error)?;
            if let (Next::StepUp, Some(user)) = (next, user) {
                crate::oidc::step_up(state, browser, client, user).await;
            }
            Ok("/sign-in".to_owned())
        }
    }
}

/// After a sign-in (or a step up) completed: the journey waiting in the session, if any,
/// decided again. `None`: nothing was waiting.
pub async fn resume_waiting(
    state: &AppState,
    browser: &Browser,
    client: &Client,
    user: &Authenticated,
) -> Option<Result<String, JourneyError>> {
    let session = &browser.session;
    let journey = match session.get::<Journey>(SESSION_FORWARD_KEY).await {
        Ok(waiting) => waiting?,
        // Unreadable (a journey of an older release): gone.
        Err(e) => {
            tracing::info!(error = %e, "a waiting forward-auth journey does not read back");
            let _ = session.remove_value(SESSION_FORWARD_KEY).await;
            return Some(Err(JourneyError::Gone));
        }
    };
    Some(go(state, browser, client, Some(user), &journey, true).await)
}
