//! Where the browser goes after the OpenID Connect provider decided (`domain::oidc::provider`):
//! shared by the authorization endpoint (`server/src/http/oidc.rs`) and the sign-in page, which
//! resumes the request waiting in the session once the last step of a sign-in is done.
//! Server-only.

use domain::client::Client;
use domain::oidc::provider::{Next, PageError};

use crate::auth::{Browser, SESSION_LOGIN_KEY, SESSION_OIDC_REQUEST_KEY};
use crate::state::AppState;

/// Where the browser goes for `next` (the session updated on the way); shared with the
/// sign-in page, which resumes a waiting request when a sign-in completes.
pub async fn next_location(
    state: &AppState,
    browser: &Browser,
    client: &Client,
    user: Option<&domain::authenticated::Authenticated>,
    next: Next,
) -> Result<String, PageError> {
    let session = &browser.session;
    let store_error = |e: tower_sessions::session::Error| {
        tracing::error!(error = %e, "session store failed");
        PageError::Unavailable
    };
    match next {
        Next::ToApp(location) => {
            let _ =
                session.remove::<String>(SESSION_OIDC_REQUEST_KEY).await.map_err(store_error)?;
            Ok(location)
        }
        Next::SignIn { request_id, login_hint } => {
            session.insert(SESSION_OIDC_REQUEST_KEY, request_id).await.map_err(store_error)?;
            if let Some(hint) = login_hint {
                session.insert(SESSION_LOGIN_KEY, hint).await.map_err(store_error)?;
            }
            Ok("/sign-in".to_owned())
        }
        Next::StepUp { request_id, .. } => {
            let user = user.ok_or(PageError::RequestGone)?;
            session.insert(SESSION_OIDC_REQUEST_KEY, request_id).await.map_err(store_error)?;
            step_up(state, browser, client, user).await;
            Ok("/sign-in".to_owned())
        }
    }
}

/// Starts the code step for a signed-in person an app wants more of (OpenID Connect or
/// forward auth): the flow in the browser, or a notice saying why there is none.
pub async fn step_up(
    state: &AppState,
    browser: &Browser,
    client: &Client,
    user: &domain::authenticated::Authenticated,
) {
    match state.sign_in.step_up(client, user).await {
        Ok((flow_id, notice)) => {
            browser.flow.start(flow_id);
            if notice.is_some() {
                browser.flash.set(notice);
            }
        }
        Err(e) => browser.flash.set(Some(e.notice())),
    }
}

/// After a sign-in (or a step up) completed: the app request waiting in the session, if any,
/// decided again now that the person is signed in. `None`: nothing was waiting.
pub async fn resume_waiting(
    state: &AppState,
    browser: &Browser,
    client: &Client,
    user: &domain::authenticated::Authenticated,
) -> Option<Result<String, PageError>> {
    let session = &browser.session;
    let waiting = match session.get::<String>(SESSION_OIDC_REQUEST_KEY).await {
        Ok(waiting) => waiting?,
        Err(e) => {
            tracing::error!(error = %e, "session store failed");
            return Some(Err(PageError::Unavailable));
        }
    };
    let next = match state.oidc.resume(&waiting, Some(user), client).await {
        Ok(next) => next,
        Err(e) => {
            let _ = session.remove::<String>(SESSION_OIDC_REQUEST_KEY).await;
            return Some(Err(e));
        }
    };
    Some(next_location(state, browser, client, Some(user), next).await)
}
