//! The security page's wire types and server functions: each runs one change for the signed-in
//! person through the security service and stores its outcome (a notice, the flow in progress,
//! a removal to confirm) in the session for the view to show.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::act;
use super::apps::{AuthenticatorItem, Enrolling};
use super::recovery::{RecoveryItem, ShownCodes};
use crate::components::notice::NoticeView;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneItem {
    pub key: String,
    pub label: String,
    pub masked: String,
    pub named: bool,
    pub preferred: bool,
    pub added_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// Latchkey proved it; an unverified number is shown as such, with a way to verify it.
    pub verified: bool,
    /// It may receive sign-in codes (verified, or the directory is trusted).
    pub usable: bool,
    /// A landline: codes by call only.
    #[serde(default)]
    pub voice_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserItem {
    pub id: String,
    pub description: String,
    pub created_at: i64,
    pub last_used_at: i64,
}

/// An app the person is signed in to through Latchkey (the security and admin pages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppItem {
    pub client_id: String,
    pub name: String,
    pub since: i64,
    pub last_used: i64,
    /// How strongly the sign-in proved it was the person, worded ("Password + code"); an acr
    /// Latchkey does not know is shown as it is.
    pub level: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityItem {
    pub at: i64,
    pub text: String,
    pub ip: String,
}

/// The small flow in progress on the page, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowStep {
    AddNumber,
    ReauthPassword,
    /// A code was sent to `phone`; `adding`: it is the new phone being added; `verifying`: it
    /// is a number in the directory being proved.
    Code {
        phone: String,
        adding: bool,
        verifying: bool,
        resend_in: i64,
        /// Texted or called, and which other way the phone offers.
        reach: crate::pages::sign_in::Reach,
    },
    SendFailed {
        phone: String,
        adding: bool,
        reach: crate::pages::sign_in::Reach,
    },
    /// Confirming it is you with a code from the authenticator app named `app`.
    AppCode {
        app: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalItem {
    pub key: String,
    pub label: String,
    pub turns_off_two_factor: bool,
    /// An authenticator app's (else a phone's).
    pub app: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    pub signed_in: bool,
    pub two_factor_on: bool,
    pub policy_required: bool,
    /// Second factors (phones that receive codes, apps) 2-step sign-in needs.
    pub min_credentials: u32,
    pub phones: Vec<PhoneItem>,
    /// `None` when authenticator apps are not offered (`policy.methods`).
    pub authenticators: Option<Vec<AuthenticatorItem>>,
    /// An app being added.
    pub enrolling: Option<Enrolling>,
    /// `None` when recovery codes are not offered.
    pub recovery: Option<RecoveryItem>,
    /// A set just made, shown this once.
    pub recovery_codes: Option<ShownCodes>,
    pub browsers: Vec<BrowserItem>,
    /// The apps signed in through Latchkey; `None` when no app is configured (no card then).
    pub apps: Option<Vec<AppItem>>,
    pub activity: Vec<ActivityItem>,
    pub older_than: Option<i64>,
    pub flow: Option<FlowStep>,
    pub removal: Option<RemovalItem>,
    /// (ISO region, calling code), the default first.
    pub regions: Vec<(String, u16)>,
    pub notice: Option<NoticeView>,
    pub code_length: u8,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::*;
    use crate::auth::{SESSION_AUTH_KEY, current_user, session, state};
    use crate::i18n::t;
    use crate::pages::security::act::{self, Ctx, Then};
    use crate::pages::security::{apps, recovery};
    use crate::state::AppState;
    use domain::security::{Flow, FlowKind, SecurityError, Step};
    use domain::{authenticated::Authenticated, notice::Notice};

    pub async fn load(older_than: Option<i64>) -> Result<SecurityView, AppError> {
        let state = state();
        let session = session().await?;
        let flash = crate::flash::flash().await?;
        // Read now, removed only once the page could be built: a notice is not lost to an
        // outage that stops the page from rendering.
        let notice = flash.peek().map(crate::pages::sign_in::notice_view);
        let Some(user) = current_user(&session).await? else {
            flash.take();
            crate::auth::return_here_after_sign_in(&session).await?;
            return Ok(SecurityView {
                signed_in: false,
                two_factor_on: false,
                policy_required: false,
                min_credentials: 0,
                phones: vec![],
                authenticators: None,
                enrolling: None,
                recovery: None,
                recovery_codes: None,
                browsers: vec![],
                apps: None,
                activity: vec![],
                older_than: None,
                flow: None,
                removal: None,
                regions: vec![],
                notice,
                code_length: 6,
            });
        };
        let now = crate::auth::now_secs();
        let security = &state.security;
        let overview = security.overview(&user, now, older_than).await.map_err(|e| {
            tracing::warn!(error = %e, "security page could not be read");
            AppError::unavailable()
        })?;
        let apps = app_items(&state, &user.user_id, now).await?;
        let methods = overview.methods;
        let enrolling =
            if methods.totp { apps::server::enrolling(&session, &user, now).await? } else { None };
        flash.take();
        // Taken only once the page can be built: the codes are shown exactly once.
        let recovery_codes = recovery::server::take_shown(&session, &user).await?;
        let flow: Option<Flow> = act::flow(&session).await.map_err(|_| AppError::unavailable())?;
        let resend_in = |f: &Flow| {
            f.last_sent_at
                .map(|at| (at + security.settings().resend_after_secs - now).max(0))
                .unwrap_or(0)
        };
        let calls = security.places_calls();
        let reach = |number: &domain::phone::E164, channel: domain::codes::Channel| {
            crate::pages::sign_in::Reach {
                called: channel == domain::codes::Channel::Call,
                takes_texts: number.takes_texts(),
                calls,
            }
        };
        let flow_step = flow.as_ref().and_then(|f| {
            let adding = f.kind == FlowKind::AddPhone;
            let verifying = f.kind == FlowKind::VerifyPhone;
            Some(match &f.step {
                // A verification is kept only once its text went out.
                Step::EnterNumber if verifying => return None,
                Step::EnterNumber => FlowStep::AddNumber,
                Step::Password => FlowStep::ReauthPassword,
                Step::CodeSent { number, channel } => FlowStep::Code {
                    phone: number.masked(),
                    adding,
                    verifying,
                    resend_in: resend_in(f),
                    reach: reach(number, *channel),
                },
                Step::SendFailed { number, channel } => FlowStep::SendFailed {
                    phone: number.masked(),
                    adding,
                    reach: reach(number, *channel),
                },
                Step::AppCode { app } => FlowStep::AppCode { app: app.name.clone() },
            })
        });
        let removal = act::removal(&session).await?;
        Ok(SecurityView {
            signed_in: true,
            two_factor_on: overview.two_factor_on,
            policy_required: overview.policy_required,
            min_credentials: overview.min_credentials,
            phones: overview
                .phones
                .into_iter()
                .map(|p| PhoneItem {
                    label: p.nickname.clone().unwrap_or_else(|| t("security.unnamed").to_owned()),
                    named: p.nickname.is_some(),
                    key: p.key,
                    masked: p.masked,
                    preferred: p.preferred,
                    added_at: p.added_at,
                    last_used_at: p.last_used_at,
                    verified: p.verified,
                    usable: p.usable,
                    voice_only: p.voice_only,
                })
                .collect(),
            authenticators: methods.totp.then(|| apps::server::items(overview.apps)),
            enrolling,
            recovery: methods.recovery_codes.then(|| recovery::server::item(overview.recovery)),
            recovery_codes,
            browsers: overview
                .browsers
                .into_iter()
                .map(|b| BrowserItem {
                    id: b.id,
                    description: b.description,
                    created_at: b.created_at,
                    last_used_at: b.last_used_at,
                })
                .collect(),
            apps,
            activity: overview
                .activity
                .into_iter()
                .map(|e| ActivityItem {
                    at: e.at,
                    text: crate::i18n::activity(&e.kind, &e.outcome),
                    ip: e.client_ip,
                })
                .collect(),
            older_than: overview.older_than,
            flow: flow_step,
            removal: removal.map(|(r, app)| RemovalItem {
                key: r.key,
                label: r.label,
                turns_off_two_factor: r.turns_off_two_factor,
                app,
            }),
            regions: security.picker(),
            notice,
            code_length: security.code_length(),
        })
    }

    /// The wording of an app sign-in's level: the acr's level, or the acr itself when Latchkey
    /// does not know it (a grant from before a configuration change, say).
    pub fn level_text(acr: &str) -> String {
        use domain::oidc::levels::Level;
        match Level::from_acr(acr) {
            Some(Level::Password) => t("apps.level.password").to_owned(),
            Some(Level::Code) => t("apps.level.code").to_owned(),
            None => acr.to_owned(),
        }
    }

    /// The apps `user_id` is signed in to; `None` when no app is configured at all.
    pub async fn app_items(
        state: &AppState,
        user_id: &domain::directory::UserId,
        now: i64,
    ) -> Result<Option<Vec<AppItem>>, AppError> {
        let oidc = &state.oidc;
        if !oidc.has_apps() {
            return Ok(None);
        }
        let apps = oidc.apps(user_id, now).await.map_err(|e| {
            tracing::warn!(error = %e, "app sessions could not be read");
            AppError::unavailable()
        })?;
        Ok(Some(
            apps.into_iter()
                .map(|a| AppItem {
                    level: level_text(&a.acr),
                    client_id: a.client_id,
                    name: a.name,
                    since: a.since,
                    last_used: a.last_used,
                })
                .collect(),
        ))
    }

    /// The person proved who they are again: the session says so (new id: a step up), then
    /// what they were doing continues.
    pub async fn reauthenticated(ctx: &Ctx) -> Result<Option<Notice>, SecurityError> {
        let mut user = ctx.user.clone();
        user.authenticated_at = ctx.client.now;
        let fail = |_| SecurityError::Unavailable;
        ctx.session.cycle_id().await.map_err(fail)?;
        ctx.session.insert(SESSION_AUTH_KEY, &user).await.map_err(fail)?;
        act::save_flow(&ctx.session, None).await?;
        let security = &state().security;
        let done = Some(Notice::info("security.reauth_done"));
        match act::take_then(&ctx.session).await? {
            Some(Then::AddPhone) => {
                act::save_flow(&ctx.session, Some(&Flow::new(FlowKind::AddPhone))).await?;
                Ok(done)
            }
            Some(Then::RemovePhone(key)) => {
                let plan = security.plan_removal(&ctx.client, &user, &key).await?;
                act::set_removal(&ctx.session, Some(&plan)).await?;
                Ok(done)
            }
            Some(Then::TwoFactorOff) => {
                let notice = security.set_two_factor(&ctx.client, &user, false).await?;
                act::keep_signed_in(ctx).await?;
                Ok(Some(notice))
            }
            Some(Then::VerifyPhone(key)) => verify_start(ctx, &user, &key).await,
            Some(Then::AddApp) => {
                apps::server::begin(ctx, &user).await?;
                Ok(done)
            }
            Some(Then::RemoveApp(id)) => {
                let plan = security.plan_app_removal(&ctx.client, &user, &id).await?;
                act::set_app_removal(&ctx.session, Some(&plan)).await?;
                Ok(done)
            }
            Some(Then::NewRecoveryCodes) => recovery::server::make(ctx, &user).await,
            None => Ok(done),
        }
    }

    /// Texts a code to the person's unverified phone `key` and keeps the verification in the
    /// session.
    pub async fn verify_start(
        ctx: &Ctx,
        user: &Authenticated,
        key: &str,
    ) -> Result<Option<Notice>, SecurityError> {
        let mut flow = None;
        let result = state().security.verify_start(&ctx.client, user, &mut flow, key).await;
        if flow.is_some() {
            act::clear_removals(&ctx.session).await?;
            act::save_flow(&ctx.session, flow.as_ref()).await?;
        }
        result.map(Some)
    }
}

#[server(endpoint = "security_view")]
pub async fn load_security(older_than: Option<i64>) -> Result<SecurityView, AppError> {
    server::load(older_than).await
}

#[server(endpoint = "security_add_start")]
pub async fn add_phone_start() -> Result<(), AppError> {
    use domain::security::{Flow, FlowKind, SecurityError};
    act::act(Some(act::Then::AddPhone), |ctx| async move {
        if !crate::auth::state().security.is_recent(&ctx.user, ctx.client.now) {
            return Err(SecurityError::ReauthRequired);
        }
        act::save_flow(&ctx.session, Some(&Flow::new(FlowKind::AddPhone))).await?;
        Ok(None)
    })
    .await
}

#[server(endpoint = "security_add_number")]
pub async fn add_phone_number(number: String, region: String) -> Result<(), AppError> {
    use domain::security::SecurityError;
    act::act(Some(act::Then::AddPhone), |ctx| async move {
        let mut flow = act::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let result = crate::auth::state()
            .security
            .add_number(&ctx.client, &ctx.user, &mut flow, &number, &region)
            .await;
        act::save_flow(&ctx.session, Some(&flow)).await?;
        result.map(Some)
    })
    .await
}

#[server(endpoint = "security_add_verify")]
pub async fn add_phone_verify(code: String, nickname: Option<String>) -> Result<(), AppError> {
    use domain::security::SecurityError;
    act::act(None, |ctx| async move {
        let mut flow = act::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let nickname = nickname.unwrap_or_default();
        let notice = crate::auth::state()
            .security
            .add_verify(&ctx.client, &ctx.user, &mut flow, &code, &nickname)
            .await?;
        act::save_flow(&ctx.session, None).await?;
        Ok(Some(notice))
    })
    .await
}

/// "Verify" on a number the directory holds but Latchkey never proved: a code is texted to it.
#[server(endpoint = "security_verify_start")]
pub async fn verify_phone_start(key: String) -> Result<(), AppError> {
    use domain::security::SecurityError;
    act::act(Some(act::Then::VerifyPhone(key.clone())), |ctx| async move {
        if !crate::auth::state().security.is_recent(&ctx.user, ctx.client.now) {
            return Err(SecurityError::ReauthRequired);
        }
        server::verify_start(&ctx, &ctx.user, &key).await
    })
    .await
}

#[server(endpoint = "security_verify_code")]
pub async fn verify_phone_code(code: String) -> Result<(), AppError> {
    use domain::security::SecurityError;
    act::act(None, |ctx| async move {
        let mut flow = act::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let notice = crate::auth::state()
            .security
            .verify_finish(&ctx.client, &ctx.user, &mut flow, &code)
            .await?;
        act::save_flow(&ctx.session, None).await?;
        Ok(Some(notice))
    })
    .await
}

/// "Send a new code" (`channel` none or `text`), "Call me instead" / "Call again" (`call`),
/// "Text me instead" (`text`); a landline is always called.
#[server(endpoint = "security_resend")]
pub async fn security_resend(channel: Option<String>) -> Result<(), AppError> {
    use domain::security::SecurityError;
    let channel = domain::codes::Channel::parse(channel.as_deref().unwrap_or_default());
    act::act(None, |ctx| async move {
        let mut flow = act::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let result =
            crate::auth::state().security.resend(&ctx.client, &ctx.user, &mut flow, channel).await;
        act::save_flow(&ctx.session, Some(&flow)).await?;
        result.map(Some)
    })
    .await
}

#[server(endpoint = "security_change_number")]
pub async fn security_change_number() -> Result<(), AppError> {
    use domain::security::SecurityError;
    act::act(None, |ctx| async move {
        let mut flow = act::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        crate::auth::state().security.change_number(&mut flow)?;
        act::save_flow(&ctx.session, Some(&flow)).await?;
        Ok(None)
    })
    .await
}

/// Abandons whatever flow or confirmation is open. Nothing was written yet, so nothing is undone.
#[server(endpoint = "security_cancel")]
pub async fn security_cancel() -> Result<(), AppError> {
    act::act(None, |ctx| async move {
        act::save_flow(&ctx.session, None).await?;
        act::clear_removals(&ctx.session).await?;
        super::apps::server::forget(&ctx.session).await?;
        Ok(None)
    })
    .await
}

#[server(endpoint = "security_reauth_password")]
pub async fn reauth_password(password: String) -> Result<(), AppError> {
    use domain::security::SecurityError;
    act::act(None, |ctx| async move {
        let mut flow = act::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let password = secrecy::SecretString::from(password);
        let result = crate::auth::state()
            .security
            .reauth_password(&ctx.client, &ctx.user, &mut flow, &password)
            .await;
        match result {
            Ok((true, _)) => server::reauthenticated(&ctx).await,
            Ok((false, notice)) => {
                act::save_flow(&ctx.session, Some(&flow)).await?;
                Ok(notice)
            }
            Err(e) => Err(e),
        }
    })
    .await
}

#[server(endpoint = "security_reauth_code")]
pub async fn reauth_code(code: String) -> Result<(), AppError> {
    use domain::security::SecurityError;
    act::act(None, |ctx| async move {
        let mut flow = act::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        crate::auth::state().security.reauth_code(&ctx.client, &ctx.user, &mut flow, &code).await?;
        server::reauthenticated(&ctx).await
    })
    .await
}

#[server(endpoint = "security_rename")]
pub async fn rename_phone(key: String, nickname: String) -> Result<(), AppError> {
    act::act(None, |ctx| async move {
        crate::auth::state()
            .security
            .rename(&ctx.client, &ctx.user, &key, &nickname)
            .await
            .map(Some)
    })
    .await
}

#[server(endpoint = "security_prefer")]
pub async fn prefer_phone(key: String) -> Result<(), AppError> {
    act::act(None, |ctx| async move {
        crate::auth::state().security.prefer(&ctx.client, &ctx.user, &key).await.map(Some)
    })
    .await
}

/// First click: what removing would do, for the person to confirm.
#[server(endpoint = "security_remove")]
pub async fn remove_phone(key: String) -> Result<(), AppError> {
    act::act(Some(act::Then::RemovePhone(key.clone())), |ctx| async move {
        let plan = crate::auth::state().security.plan_removal(&ctx.client, &ctx.user, &key).await?;
        act::set_removal(&ctx.session, Some(&plan)).await?;
        Ok(None)
    })
    .await
}

#[server(endpoint = "security_remove_confirm")]
pub async fn remove_phone_confirm(key: String) -> Result<(), AppError> {
    act::act(Some(act::Then::RemovePhone(key.clone())), |ctx| async move {
        let result = crate::auth::state().security.remove(&ctx.client, &ctx.user, &key).await;
        act::set_removal(&ctx.session, None).await?;
        let notice = result?;
        act::keep_signed_in(&ctx).await?;
        Ok(Some(notice))
    })
    .await
}

#[server(endpoint = "security_two_factor")]
pub async fn set_two_factor(on: String) -> Result<(), AppError> {
    let on = on == "on";
    let then = (!on).then_some(act::Then::TwoFactorOff);
    act::act(then, |ctx| async move {
        let notice =
            crate::auth::state().security.set_two_factor(&ctx.client, &ctx.user, on).await?;
        if !on {
            act::keep_signed_in(&ctx).await?;
        }
        Ok(Some(notice))
    })
    .await
}

/// "Sign out of all other browsers": every other session of the person ends at its next
/// request; this one is stamped with the new generation and stays signed in.
#[server(endpoint = "security_sign_out_others")]
pub async fn sign_out_others() -> Result<(), AppError> {
    use domain::security::SecurityError;
    act::act(None, |ctx| async move {
        let generation =
            crate::auth::state().security.sign_out_others(&ctx.client, &ctx.user).await?;
        let stamp = domain::sessions::Stamp { generation, checked_at: ctx.client.now };
        // The apps this browser reached stay signed in with it.
        crate::auth::state().oidc.kept_signed_in(&ctx.user, generation).await;
        crate::auth::stamp_session(&ctx.session, stamp)
            .await
            .map_err(|_| SecurityError::Unavailable)?;
        Ok(Some(domain::notice::Notice::info("security.sessions.signed_out_others")))
    })
    .await
}

/// One remembered browser (`id`), or all of them (no `id`). The person's app sessions end too:
/// a browser they no longer trust may have signed them in to any of them.
#[server(endpoint = "security_forget_browser")]
pub async fn forget_browser(id: Option<String>) -> Result<(), AppError> {
    act::act(None, |ctx| async move {
        let state = crate::auth::state();
        let notice = state.security.forget_browsers(&ctx.client, &ctx.user, id.as_deref()).await?;
        state
            .oidc
            .end_all(&ctx.user.user_id, &ctx.user.login, &ctx.client, "browsers_forgotten")
            .await;
        Ok(Some(notice))
    })
    .await
}

/// "Sign out of this app": the app's tokens for the person stop working at once; the app asks
/// them to sign in again.
#[server(endpoint = "security_app_sign_out")]
pub async fn sign_out_of_app(client_id: String) -> Result<(), AppError> {
    use domain::security::SecurityError;
    act::act(None, |ctx| async move {
        // Client ids are short; anything longer is no app of ours and not worth a query.
        let ended = client_id.len() <= 256
            && crate::auth::state()
                .oidc
                .sign_out_of_app(&ctx.user.user_id, &ctx.user.login, &client_id, &ctx.client)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "an app session could not be ended");
                    SecurityError::Unavailable
                })?;
        Ok(Some(domain::notice::Notice::info(if ended {
            "security.apps.signed_out"
        } else {
            "security.apps.not_signed_in"
        })))
    })
    .await
}
