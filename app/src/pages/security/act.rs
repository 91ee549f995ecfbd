//! How every change on the security page runs (server-only): for the signed-in person, its
//! outcome stored as the page's notice, a change that needs a recent sign-in turned into
//! "confirm it's you" that remembers what to do next. Also the small state the page keeps in the
//! session between posts: the flow in progress and the removal to confirm.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::auth::{current_user, session, session_error};
use crate::error::AppError;
use domain::security::{Flow, FlowKind, RemovalPlan, SecurityError};
use domain::{authenticated::Authenticated, client::Client, notice::Notice};

const FLOW_KEY: &str = "latchkey.security.flow";
const REMOVAL_KEY: &str = "latchkey.security.removal";
/// An authenticator app's removal to confirm (a key of its own: the phone's holds no kind).
const APP_REMOVAL_KEY: &str = "latchkey.security.app_removal";
const THEN_KEY: &str = "latchkey.security.then";

/// What to do once the person has confirmed it is them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Then {
    AddPhone,
    RemovePhone(String),
    TwoFactorOff,
    /// Verify the phone with this key.
    VerifyPhone(String),
    AddApp,
    /// Remove the authenticator app with this id.
    RemoveApp(String),
    NewRecoveryCodes,
}

pub struct Ctx {
    pub session: Session,
    pub client: Client,
    pub user: Authenticated,
}

/// Runs an action for the signed-in person and stores its outcome as the page's notice. A
/// change that needs a recent sign-in starts "confirm it's you" and remembers `then`.
pub async fn act<F, Fut>(then: Option<Then>, run: F) -> Result<(), AppError>
where
    F: FnOnce(Ctx) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Notice>, SecurityError>>,
{
    let session = session().await?;
    let flash = crate::flash::flash().await?;
    let Some(user) = current_user(&session).await? else {
        flash.set(Some(Notice::error("security.sign_in_first")));
        leptos_axum::redirect("/sign-in");
        return Ok(());
    };
    let client = crate::auth::client().await;
    let ctx = Ctx { session: session.clone(), client, user };
    match run(ctx).await {
        Ok(notice) => {
            flash.set(notice);
            Ok(())
        }
        Err(SecurityError::ReauthRequired) => {
            session.insert(FLOW_KEY, Flow::new(FlowKind::Reauth)).await.map_err(session_error)?;
            match then {
                Some(then) => session.insert(THEN_KEY, then).await.map_err(session_error)?,
                None => {
                    session.remove::<Then>(THEN_KEY).await.map_err(session_error)?;
                }
            }
            flash.set(Some(SecurityError::ReauthRequired.notice()));
            Ok(())
        }
        Err(e) => {
            flash.set(Some(e.notice()));
            Ok(())
        }
    }
}

/// A session read or write failed, as the domain's error.
pub fn unavailable(e: tower_sessions::session::Error) -> SecurityError {
    tracing::error!(error = %e, "session store failed");
    SecurityError::Unavailable
}

pub async fn flow(session: &Session) -> Result<Option<Flow>, SecurityError> {
    session.get(FLOW_KEY).await.map_err(unavailable)
}

pub async fn save_flow(session: &Session, flow: Option<&Flow>) -> Result<(), SecurityError> {
    let result = match flow {
        Some(f) => session.insert(FLOW_KEY, f).await,
        None => session.remove::<Flow>(FLOW_KEY).await.map(|_| ()),
    };
    result.map_err(unavailable)
}

/// What to do after "confirm it's you", taken.
pub async fn take_then(session: &Session) -> Result<Option<Then>, SecurityError> {
    session.remove(THEN_KEY).await.map_err(unavailable)
}

/// The removal to confirm, and whether it is an authenticator app's (else a phone's).
pub async fn removal(session: &Session) -> Result<Option<(RemovalPlan, bool)>, AppError> {
    let phone: Option<RemovalPlan> = session.get(REMOVAL_KEY).await.map_err(session_error)?;
    if let Some(plan) = phone {
        return Ok(Some((plan, false)));
    }
    let app: Option<RemovalPlan> = session.get(APP_REMOVAL_KEY).await.map_err(session_error)?;
    Ok(app.map(|plan| (plan, true)))
}

/// Asks to confirm removing a phone; one removal is asked about at a time.
pub async fn set_removal(
    session: &Session,
    plan: Option<&RemovalPlan>,
) -> Result<(), SecurityError> {
    set_removal_at(session, REMOVAL_KEY, APP_REMOVAL_KEY, plan).await
}

/// Asks to confirm removing an authenticator app.
pub async fn set_app_removal(
    session: &Session,
    plan: Option<&RemovalPlan>,
) -> Result<(), SecurityError> {
    set_removal_at(session, APP_REMOVAL_KEY, REMOVAL_KEY, plan).await
}

async fn set_removal_at(
    session: &Session,
    key: &str,
    other: &str,
    plan: Option<&RemovalPlan>,
) -> Result<(), SecurityError> {
    match plan {
        Some(p) => {
            session.remove::<RemovalPlan>(other).await.map_err(unavailable)?;
            session.insert(key, p).await.map_err(unavailable)
        }
        None => session.remove::<RemovalPlan>(key).await.map(|_| ()).map_err(unavailable),
    }
}

/// No removal to confirm any more, of either kind.
pub async fn clear_removals(session: &Session) -> Result<(), SecurityError> {
    set_removal(session, None).await?;
    set_app_removal(session, None).await
}

/// After an action of this session ended the person's other sessions (a phone removed,
/// 2-step sign-in off): this one stays signed in.
pub async fn keep_signed_in(ctx: &Ctx) -> Result<(), SecurityError> {
    crate::auth::keep_signed_in(&ctx.session, &ctx.user)
        .await
        .map_err(|_| SecurityError::Unavailable)
}
