//! The security page: 2-step sign-in, phones, remembered browsers, recent activity. Every action
//! is a form posting to a server function; the outcome travels through the session as a notice,
//! so the page reads the same with JavaScript disabled (redirect back) and hydrated (refetch).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::form::{
    CARD, Card, Confirm, DANGER, Field, INPUT, LINK, PRIMARY, SECONDARY, Submit, field_aria,
};
use crate::components::notice::notice_box;
use crate::components::time::LocalTime;
use crate::error::AppError;
use crate::i18n::{t, t_n};
use crate::pages::sign_in::NoticeView;

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserItem {
    pub id: String,
    pub description: String,
    pub created_at: i64,
    pub last_used_at: i64,
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
    },
    SendFailed {
        phone: String,
        adding: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalItem {
    pub key: String,
    pub label: String,
    pub turns_off_two_factor: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    pub signed_in: bool,
    pub two_factor_on: bool,
    pub policy_required: bool,
    pub min_phones: u32,
    pub phones: Vec<PhoneItem>,
    pub browsers: Vec<BrowserItem>,
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
mod server {
    use serde::{Deserialize, Serialize};
    use tower_sessions::Session;

    use super::*;
    use crate::auth::{
        SESSION_AUTH_KEY, client, current_user, session, session_error, set_notice, state,
        take_notice,
    };
    use crate::domain::security::{Flow, FlowKind, SecurityError, Step};
    use crate::domain::sign_in::{Authenticated, Client, Notice};

    const FLOW_KEY: &str = "latchkey.security.flow";
    const REMOVAL_KEY: &str = "latchkey.security.removal";
    const THEN_KEY: &str = "latchkey.security.then";

    /// What to do once the person has confirmed it is them.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Then {
        AddPhone,
        RemovePhone(String),
        TwoFactorOff,
        /// Verify the phone with this key.
        VerifyPhone(String),
    }

    pub struct Ctx {
        pub session: Session,
        pub client: Client,
        pub user: Authenticated,
    }

    pub async fn load(older_than: Option<i64>) -> Result<SecurityView, AppError> {
        let state = state();
        let session = session().await?;
        // Read now, removed only once the page could be built: a notice is not lost to an
        // outage that stops the page from rendering.
        let notice: Option<crate::domain::sign_in::Notice> =
            session.get(crate::auth::SESSION_NOTICE_KEY).await.map_err(session_error)?;
        let notice = notice.map(crate::pages::sign_in::notice_view);
        let Some(user) = current_user(&session).await? else {
            take_notice(&session).await?;
            return Ok(SecurityView {
                signed_in: false,
                two_factor_on: false,
                policy_required: false,
                min_phones: 0,
                phones: vec![],
                browsers: vec![],
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
        take_notice(&session).await?;
        let flow: Option<Flow> = session.get(FLOW_KEY).await.map_err(session_error)?;
        let resend_in = |f: &Flow| {
            f.last_sent_at
                .map(|at| (at + security.settings().resend_after_secs - now).max(0))
                .unwrap_or(0)
        };
        let flow_step = flow.as_ref().and_then(|f| {
            let adding = f.kind == FlowKind::AddPhone;
            let verifying = f.kind == FlowKind::VerifyPhone;
            Some(match &f.step {
                // A verification is kept only once its text went out.
                Step::EnterNumber if verifying => return None,
                Step::EnterNumber => FlowStep::AddNumber,
                Step::Password => FlowStep::ReauthPassword,
                Step::CodeSent { number } => FlowStep::Code {
                    phone: number.masked(),
                    adding,
                    verifying,
                    resend_in: resend_in(f),
                },
                Step::SendFailed { number } => {
                    FlowStep::SendFailed { phone: number.masked(), adding }
                }
            })
        });
        let removal: Option<crate::domain::security::RemovalPlan> =
            session.get(REMOVAL_KEY).await.map_err(session_error)?;
        Ok(SecurityView {
            signed_in: true,
            two_factor_on: overview.two_factor_on,
            policy_required: overview.policy_required,
            min_phones: overview.min_phones,
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
                })
                .collect(),
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
            removal: removal.map(|r| RemovalItem {
                key: r.key,
                label: r.label,
                turns_off_two_factor: r.turns_off_two_factor,
            }),
            regions: security.picker(),
            notice,
            code_length: security.code_length(),
        })
    }

    /// Runs an action for the signed-in person and stores its outcome as the page's notice. A
    /// change that needs a recent sign-in starts "confirm it's you" and remembers `then`.
    pub async fn act<F, Fut>(then: Option<Then>, run: F) -> Result<(), AppError>
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: std::future::Future<Output = Result<Option<Notice>, SecurityError>>,
    {
        let session = session().await?;
        let Some(user) = current_user(&session).await? else {
            set_notice(&session, Some(Notice::error("security.sign_in_first"))).await?;
            leptos_axum::redirect("/sign-in");
            return Ok(());
        };
        let client = client().await;
        let ctx = Ctx { session: session.clone(), client, user };
        match run(ctx).await {
            Ok(notice) => set_notice(&session, notice).await,
            Err(SecurityError::ReauthRequired) => {
                session
                    .insert(FLOW_KEY, Flow::new(FlowKind::Reauth))
                    .await
                    .map_err(session_error)?;
                match then {
                    Some(then) => session.insert(THEN_KEY, then).await.map_err(session_error)?,
                    None => {
                        session.remove::<Then>(THEN_KEY).await.map_err(session_error)?;
                    }
                }
                set_notice(&session, Some(SecurityError::ReauthRequired.notice())).await
            }
            Err(e) => set_notice(&session, Some(e.notice())).await,
        }
    }

    pub async fn flow(session: &Session) -> Result<Option<Flow>, SecurityError> {
        session.get(FLOW_KEY).await.map_err(|e| {
            tracing::error!(error = %e, "session store failed");
            SecurityError::Unavailable
        })
    }

    pub async fn save_flow(session: &Session, flow: Option<&Flow>) -> Result<(), SecurityError> {
        let result = match flow {
            Some(f) => session.insert(FLOW_KEY, f).await,
            None => session.remove::<Flow>(FLOW_KEY).await.map(|_| ()),
        };
        result.map_err(|e| {
            tracing::error!(error = %e, "session store failed");
            SecurityError::Unavailable
        })
    }

    pub async fn set_removal(
        session: &Session,
        plan: Option<&crate::domain::security::RemovalPlan>,
    ) -> Result<(), SecurityError> {
        let result = match plan {
            Some(p) => session.insert(REMOVAL_KEY, p).await,
            None => session
                .remove::<crate::domain::security::RemovalPlan>(REMOVAL_KEY)
                .await
                .map(|_| ()),
        };
        result.map_err(|_| SecurityError::Unavailable)
    }

    /// After an action of this session ended the person's other sessions (a phone removed,
    /// 2-step sign-in off): this one stays signed in.
    pub async fn keep_signed_in(ctx: &Ctx) -> Result<(), SecurityError> {
        crate::auth::keep_signed_in(&ctx.session, &ctx.user)
            .await
            .map_err(|_| SecurityError::Unavailable)
    }

    /// The person proved who they are again: the session says so (new id: a step up), then
    /// what they were doing continues.
    pub async fn reauthenticated(ctx: &Ctx) -> Result<Option<Notice>, SecurityError> {
        let mut user = ctx.user.clone();
        user.authenticated_at = ctx.client.now;
        let fail = |_| SecurityError::Unavailable;
        ctx.session.cycle_id().await.map_err(fail)?;
        ctx.session.insert(SESSION_AUTH_KEY, &user).await.map_err(fail)?;
        save_flow(&ctx.session, None).await?;
        let then: Option<Then> = ctx.session.remove(THEN_KEY).await.map_err(fail)?;
        let security = &state().security;
        match then {
            Some(Then::AddPhone) => {
                save_flow(&ctx.session, Some(&Flow::new(FlowKind::AddPhone))).await?;
                Ok(Some(Notice::info("security.reauth_done")))
            }
            Some(Then::RemovePhone(key)) => {
                let plan = security.plan_removal(&ctx.client, &user, &key).await?;
                set_removal(&ctx.session, Some(&plan)).await?;
                Ok(Some(Notice::info("security.reauth_done")))
            }
            Some(Then::TwoFactorOff) => {
                let notice = security.set_two_factor(&ctx.client, &user, false).await?;
                keep_signed_in(ctx).await?;
                Ok(Some(notice))
            }
            Some(Then::VerifyPhone(key)) => verify_start(ctx, &user, &key).await,
            None => Ok(Some(Notice::info("security.reauth_done"))),
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
            set_removal(&ctx.session, None).await?;
            save_flow(&ctx.session, flow.as_ref()).await?;
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
    use crate::domain::security::{Flow, FlowKind, SecurityError};
    server::act(Some(server::Then::AddPhone), |ctx| async move {
        if !crate::auth::state().security.is_recent(&ctx.user, ctx.client.now) {
            return Err(SecurityError::ReauthRequired);
        }
        server::save_flow(&ctx.session, Some(&Flow::new(FlowKind::AddPhone))).await?;
        Ok(None)
    })
    .await
}

#[server(endpoint = "security_add_number")]
pub async fn add_phone_number(number: String, region: String) -> Result<(), AppError> {
    use crate::domain::security::SecurityError;
    server::act(Some(server::Then::AddPhone), |ctx| async move {
        let mut flow = server::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let result = crate::auth::state()
            .security
            .add_number(&ctx.client, &ctx.user, &mut flow, &number, &region)
            .await;
        server::save_flow(&ctx.session, Some(&flow)).await?;
        result.map(Some)
    })
    .await
}

#[server(endpoint = "security_add_verify")]
pub async fn add_phone_verify(code: String, nickname: Option<String>) -> Result<(), AppError> {
    use crate::domain::security::SecurityError;
    server::act(None, |ctx| async move {
        let mut flow = server::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let nickname = nickname.unwrap_or_default();
        let notice = crate::auth::state()
            .security
            .add_verify(&ctx.client, &ctx.user, &mut flow, &code, &nickname)
            .await?;
        server::save_flow(&ctx.session, None).await?;
        Ok(Some(notice))
    })
    .await
}

/// "Verify" on a number the directory holds but Latchkey never proved: a code is texted to it.
#[server(endpoint = "security_verify_start")]
pub async fn verify_phone_start(key: String) -> Result<(), AppError> {
    use crate::domain::security::SecurityError;
    server::act(Some(server::Then::VerifyPhone(key.clone())), |ctx| async move {
        if !crate::auth::state().security.is_recent(&ctx.user, ctx.client.now) {
            return Err(SecurityError::ReauthRequired);
        }
        server::verify_start(&ctx, &ctx.user, &key).await
    })
    .await
}

#[server(endpoint = "security_verify_code")]
pub async fn verify_phone_code(code: String) -> Result<(), AppError> {
    use crate::domain::security::SecurityError;
    server::act(None, |ctx| async move {
        let mut flow = server::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let notice = crate::auth::state()
            .security
            .verify_finish(&ctx.client, &ctx.user, &mut flow, &code)
            .await?;
        server::save_flow(&ctx.session, None).await?;
        Ok(Some(notice))
    })
    .await
}

#[server(endpoint = "security_resend")]
pub async fn security_resend() -> Result<(), AppError> {
    use crate::domain::security::SecurityError;
    server::act(None, |ctx| async move {
        let mut flow = server::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let result = crate::auth::state().security.resend(&ctx.client, &ctx.user, &mut flow).await;
        server::save_flow(&ctx.session, Some(&flow)).await?;
        result.map(Some)
    })
    .await
}

#[server(endpoint = "security_change_number")]
pub async fn security_change_number() -> Result<(), AppError> {
    use crate::domain::security::SecurityError;
    server::act(None, |ctx| async move {
        let mut flow = server::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        crate::auth::state().security.change_number(&mut flow)?;
        server::save_flow(&ctx.session, Some(&flow)).await?;
        Ok(None)
    })
    .await
}

/// Abandons whatever flow or confirmation is open. Nothing was written yet, so nothing is undone.
#[server(endpoint = "security_cancel")]
pub async fn security_cancel() -> Result<(), AppError> {
    server::act(None, |ctx| async move {
        server::save_flow(&ctx.session, None).await?;
        server::set_removal(&ctx.session, None).await?;
        Ok(None)
    })
    .await
}

#[server(endpoint = "security_reauth_password")]
pub async fn reauth_password(password: String) -> Result<(), AppError> {
    use crate::domain::security::SecurityError;
    server::act(None, |ctx| async move {
        let mut flow = server::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        let password = secrecy::SecretString::from(password);
        let result = crate::auth::state()
            .security
            .reauth_password(&ctx.client, &ctx.user, &mut flow, &password)
            .await;
        match result {
            Ok((true, _)) => server::reauthenticated(&ctx).await,
            Ok((false, notice)) => {
                server::save_flow(&ctx.session, Some(&flow)).await?;
                Ok(notice)
            }
            Err(e) => Err(e),
        }
    })
    .await
}

#[server(endpoint = "security_reauth_code")]
pub async fn reauth_code(code: String) -> Result<(), AppError> {
    use crate::domain::security::SecurityError;
    server::act(None, |ctx| async move {
        let mut flow = server::flow(&ctx.session).await?.ok_or(SecurityError::OutOfOrder)?;
        crate::auth::state().security.reauth_code(&ctx.client, &ctx.user, &mut flow, &code).await?;
        server::reauthenticated(&ctx).await
    })
    .await
}

#[server(endpoint = "security_rename")]
pub async fn rename_phone(key: String, nickname: String) -> Result<(), AppError> {
    server::act(None, |ctx| async move {
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
    server::act(None, |ctx| async move {
        crate::auth::state().security.prefer(&ctx.client, &ctx.user, &key).await.map(Some)
    })
    .await
}

/// First click: what removing would do, for the person to confirm.
#[server(endpoint = "security_remove")]
pub async fn remove_phone(key: String) -> Result<(), AppError> {
    server::act(Some(server::Then::RemovePhone(key.clone())), |ctx| async move {
        let plan = crate::auth::state().security.plan_removal(&ctx.client, &ctx.user, &key).await?;
        server::set_removal(&ctx.session, Some(&plan)).await?;
        Ok(None)
    })
    .await
}

#[server(endpoint = "security_remove_confirm")]
pub async fn remove_phone_confirm(key: String) -> Result<(), AppError> {
    server::act(Some(server::Then::RemovePhone(key.clone())), |ctx| async move {
        let result = crate::auth::state().security.remove(&ctx.client, &ctx.user, &key).await;
        server::set_removal(&ctx.session, None).await?;
        let notice = result?;
        server::keep_signed_in(&ctx).await?;
        Ok(Some(notice))
    })
    .await
}

#[server(endpoint = "security_two_factor")]
pub async fn set_two_factor(on: String) -> Result<(), AppError> {
    let on = on == "on";
    let then = (!on).then_some(server::Then::TwoFactorOff);
    server::act(then, |ctx| async move {
        let notice =
            crate::auth::state().security.set_two_factor(&ctx.client, &ctx.user, on).await?;
        if !on {
            server::keep_signed_in(&ctx).await?;
        }
        Ok(Some(notice))
    })
    .await
}

/// "Sign out of all other browsers": every other session of the person ends at its next
/// request; this one is stamped with the new generation and stays signed in.
#[server(endpoint = "security_sign_out_others")]
pub async fn sign_out_others() -> Result<(), AppError> {
    use crate::domain::security::SecurityError;
    server::act(None, |ctx| async move {
        let generation =
            crate::auth::state().security.sign_out_others(&ctx.client, &ctx.user).await?;
        let stamp = crate::domain::sessions::Stamp { generation, checked_at: ctx.client.now };
        crate::auth::stamp_session(&ctx.session, stamp)
            .await
            .map_err(|_| SecurityError::Unavailable)?;
        Ok(Some(crate::domain::sign_in::Notice::info("security.sessions.signed_out_others")))
    })
    .await
}

/// One remembered browser (`id`), or all of them (no `id`).
#[server(endpoint = "security_forget_browser")]
pub async fn forget_browser(id: Option<String>) -> Result<(), AppError> {
    server::act(None, |ctx| async move {
        crate::auth::state()
            .security
            .forget_browsers(&ctx.client, &ctx.user, id.as_deref())
            .await
            .map(Some)
    })
    .await
}

#[derive(Clone, Copy)]
struct Actions {
    add_start: ServerAction<AddPhoneStart>,
    add_number: ServerAction<AddPhoneNumber>,
    add_verify: ServerAction<AddPhoneVerify>,
    resend: ServerAction<SecurityResend>,
    change_number: ServerAction<SecurityChangeNumber>,
    cancel: ServerAction<SecurityCancel>,
    reauth_password: ServerAction<ReauthPassword>,
    reauth_code: ServerAction<ReauthCode>,
    rename: ServerAction<RenamePhone>,
    prefer: ServerAction<PreferPhone>,
    remove: ServerAction<RemovePhone>,
    remove_confirm: ServerAction<RemovePhoneConfirm>,
    two_factor: ServerAction<SetTwoFactor>,
    forget: ServerAction<ForgetBrowser>,
    verify_start: ServerAction<VerifyPhoneStart>,
    verify_code: ServerAction<VerifyPhoneCode>,
    sign_out_others: ServerAction<SignOutOthers>,
}

impl Actions {
    fn new() -> Self {
        Self {
            add_start: ServerAction::new(),
            add_number: ServerAction::new(),
            add_verify: ServerAction::new(),
            resend: ServerAction::new(),
            change_number: ServerAction::new(),
            cancel: ServerAction::new(),
            reauth_password: ServerAction::new(),
            reauth_code: ServerAction::new(),
            rename: ServerAction::new(),
            prefer: ServerAction::new(),
            remove: ServerAction::new(),
            remove_confirm: ServerAction::new(),
            two_factor: ServerAction::new(),
            forget: ServerAction::new(),
            verify_start: ServerAction::new(),
            verify_code: ServerAction::new(),
            sign_out_others: ServerAction::new(),
        }
    }

    fn versions(&self) -> usize {
        self.add_start.version().get()
            + self.add_number.version().get()
            + self.add_verify.version().get()
            + self.resend.version().get()
            + self.change_number.version().get()
            + self.cancel.version().get()
            + self.reauth_password.version().get()
            + self.reauth_code.version().get()
            + self.rename.version().get()
            + self.prefer.version().get()
            + self.remove.version().get()
            + self.remove_confirm.version().get()
            + self.two_factor.version().get()
            + self.forget.version().get()
            + self.verify_start.version().get()
            + self.verify_code.version().get()
            + self.sign_out_others.version().get()
    }
}

#[component]
pub fn SecurityPage() -> impl IntoView {
    let actions = Actions::new();
    let query = use_query_map();
    let older_than = move || query.read().get("older_than").and_then(|v| v.parse::<i64>().ok());
    let data = Resource::new(
        move || (actions.versions(), older_than()),
        |(_, older)| load_security(older),
    );
    crate::components::focus::focus_after_answer(move || {
        data.get().is_some() && actions.versions() > 0
    });
    view! {
        <Title text=t("security.title") />
        <div class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{t("security.title")}</h1>
            <Transition fallback=|| view! { <p>{t("sign_in.working")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) if v.signed_in => render(v, actions).into_any(),
                        Ok(_) => view! {
                            <p class=CARD data-testid="security-signed-out">
                                {t("security.sign_in_first")} " "
                                <a href="/sign-in" class=LINK>{t("nav.sign_in")}</a>
                            </p>
                        }
                        .into_any(),
                        Err(e) => view! { <p role="alert" class=CARD data-notice=e.id.clone()>{e.text()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

fn render(v: SecurityView, a: Actions) -> impl IntoView {
    let flow = v.flow.clone().map(|f| flow_panel(f, &v, a));
    let removal = v.removal.clone().map(|r| removal_panel(r, a));
    view! {
        {notice_box(v.notice.clone())}
        {flow}
        {removal}
        {two_factor_card(&v, a)}
        {phones_card(&v, a)}
        {browsers_card(&v, a)}
        {sessions_card(a)}
        {activity_card(&v)}
    }
}

fn cancel_button(a: Actions) -> impl IntoView {
    view! {
        <ActionForm action=a.cancel>
            <Submit pending=a.cancel.pending() class=SECONDARY>{t("security.cancel")}</Submit>
        </ActionForm>
    }
}

fn flow_panel(f: FlowStep, v: &SecurityView, a: Actions) -> AnyView {
    // An error while a flow is open is about its field: marked, described by the notice, and
    // focused; otherwise the flow's first field takes the focus.
    let invalid = v.notice.as_ref().is_some_and(|n| n.error);
    let (aria_invalid, described) = field_aria(invalid, None);
    let regions = v.regions.clone();
    let code_length = v.code_length;
    let body = match f {
        FlowStep::ReauthPassword => view! {
            <h2 class="text-lg font-semibold">{t("security.reauth.title")}</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{t("security.reauth.intro")}</p>
            <ActionForm action=a.reauth_password attr:class="mt-4 flex flex-wrap items-end gap-3" attr:data-step="reauth-password">
                <Field id="reauth-password" label=t("sign_in.password") class="grow">
                    <input id="reauth-password" name="password" type="password" required autocomplete="current-password" class=INPUT
                        autofocus=true aria-invalid=aria_invalid aria-describedby=described.clone() />
                </Field>
                <Submit pending=a.reauth_password.pending() class=PRIMARY>{t("security.reauth.submit")}</Submit>
            </ActionForm>
        }
        .into_any(),
        FlowStep::AddNumber => view! {
            <h2 class="text-lg font-semibold">{t("security.add.title")}</h2>
            <ActionForm action=a.add_number attr:class="mt-4 grid gap-3 sm:grid-cols-[10rem_1fr_auto] sm:items-end" attr:data-step="add-number">
                <Field id="region" label=t("security.add.country")>
                    <select id="region" name="region" class=INPUT autofocus=!invalid>
                        {regions
                            .into_iter()
                            .map(|(code, calling)| view! { <option value=code.clone()>{format!("{code} +{calling}")}</option> })
                            .collect_view()}
                    </select>
                </Field>
                <Field id="number" label=t("enrol.number")>
                    <input id="number" name="number" type="tel" required autocomplete="tel" maxlength="40" class=INPUT
                        autofocus=invalid aria-invalid=aria_invalid aria-describedby=described.clone() />
                </Field>
                <Submit pending=a.add_number.pending() class=PRIMARY>{t("enrol.send")}</Submit>
            </ActionForm>
        }
        .into_any(),
        FlowStep::Code { phone, adding, verifying, resend_in } => {
            let nickname_default =
                t_n("security.add.nickname_default", &phone[phone.len().saturating_sub(4)..]);
            let (form_action_add, title) = if adding {
                (true, t("security.add.code_title"))
            } else if verifying {
                (false, t("security.verify.title"))
            } else {
                (false, t("security.reauth.title"))
            };
            let code_input = view! {
                <Field id="security-code" label=t("sign_in.code.label")>
                    <input id="security-code" name="code" type="text" required autocomplete="one-time-code"
                        inputmode="numeric" pattern="[0-9 \\-]*" maxlength=(usize::from(code_length) + 4).to_string()
                        autofocus=true aria-invalid=aria_invalid aria-describedby=described.clone()
                        class=format!("{INPUT} font-mono tracking-widest") />
                </Field>
            };
            let form = if form_action_add {
                view! {
                    <ActionForm action=a.add_verify attr:class="mt-4 grid gap-3 sm:grid-cols-[12rem_1fr_auto] sm:items-end" attr:data-step="add-code">
                        {code_input}
                        <Field id="nickname" label=t("security.add.nickname")>
                            <input id="nickname" name="nickname" type="text" maxlength="40" placeholder=nickname_default class=INPUT />
                        </Field>
                        <Submit pending=a.add_verify.pending() class=PRIMARY>{t("security.add.finish")}</Submit>
                    </ActionForm>
                }
                .into_any()
            } else if verifying {
                view! {
                    <ActionForm action=a.verify_code attr:class="mt-4 flex flex-wrap items-end gap-3" attr:data-step="verify-code">
                        {code_input}
                        <Submit pending=a.verify_code.pending() class=PRIMARY>{t("security.verify.submit")}</Submit>
                    </ActionForm>
                }
                .into_any()
            } else {
                view! {
                    <ActionForm action=a.reauth_code attr:class="mt-4 flex flex-wrap items-end gap-3" attr:data-step="reauth-code">
                        {code_input}
                        <Submit pending=a.reauth_code.pending() class=PRIMARY>{t("sign_in.code.submit")}</Submit>
                    </ActionForm>
                }
                .into_any()
            };
            view! {
                <h2 class="text-lg font-semibold">{title}</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">
                    {t("sign_in.code.intro")} " " <span class="font-mono">{phone}</span>"."
                </p>
                {form}
                <div class="mt-3 flex flex-wrap gap-2">
                    <ActionForm action=a.resend>
                        <Submit pending=a.resend.pending() class=SECONDARY attr:data-resend-in=resend_in.to_string()>{t("sign_in.code.resend")}</Submit>
                    </ActionForm>
                    {adding.then(|| view! {
                        <ActionForm action=a.change_number>
                            <Submit pending=a.change_number.pending() class=SECONDARY>{t("enrol.change_number")}</Submit>
                        </ActionForm>
                    })}
                </div>
            }
            .into_any()
        }
        FlowStep::SendFailed { phone, adding } => view! {
            <h2 class="text-lg font-semibold">{t("sign_in.send_failed.title")}</h2>
            <p class="mt-1 text-sm font-mono" data-step="security-send-failed">{phone}</p>
            <div class="mt-3 flex flex-wrap gap-2">
                <ActionForm action=a.resend>
                    <Submit pending=a.resend.pending() class=SECONDARY>{t("sign_in.send_failed.retry")}</Submit>
                </ActionForm>
                {adding.then(|| view! {
                    <ActionForm action=a.change_number>
                        <Submit pending=a.change_number.pending() class=SECONDARY>{t("enrol.change_number")}</Submit>
                    </ActionForm>
                })}
            </div>
        }
        .into_any(),
    };
    view! {
        <Card labelled_by="flow-title" extra="ring-2 ring-accent-500">
            <span id="flow-title" class="sr-only">{t("security.in_progress")}</span>
            {body}
            <div class="mt-4 border-t border-slate-200 pt-3 dark:border-slate-800">{cancel_button(a)}</div>
        </Card>
    }
    .into_any()
}

fn removal_panel(r: RemovalItem, a: Actions) -> impl IntoView {
    let title = t_n("security.remove.title", &r.label);
    let text = if r.turns_off_two_factor {
        t("security.remove.turns_off")
    } else {
        t("security.remove.text")
    };
    view! {
        <Confirm id="remove" title=title text=text step="confirm-remove">
            <ActionForm action=a.remove_confirm>
                <input type="hidden" name="key" value=r.key />
                <Submit pending=a.remove_confirm.pending() class=DANGER>{t("security.remove.confirm")}</Submit>
            </ActionForm>
            // The safe choice has the focus, as in any confirmation dialog.
            <ActionForm action=a.cancel>
                <Submit pending=a.cancel.pending() class=SECONDARY attr:autofocus=true>{t("security.cancel")}</Submit>
            </ActionForm>
        </Confirm>
    }
}

fn two_factor_card(v: &SecurityView, a: Actions) -> AnyView {
    let on = v.two_factor_on;
    // Unverified numbers are not phones for signing in.
    let can_turn_on = v.phones.iter().filter(|p| p.usable).count() as u32 >= v.min_phones;
    let required = v.policy_required;
    view! {
        <Card labelled_by="two-factor-title">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <div>
                    <h2 id="two-factor-title" class="text-lg font-semibold">{t("security.two_factor.title")}</h2>
                    <p class="text-sm text-slate-600 dark:text-slate-300" data-two-factor=if on { "on" } else { "off" }>
                        {if on { t("security.two_factor.on") } else { t("security.two_factor.off") }}
                    </p>
                </div>
                {match (on, required) {
                    (true, true) => view! { <p class="text-sm text-slate-600 dark:text-slate-400">{t("security.two_factor.required")}</p> }.into_any(),
                    (true, false) => view! {
                        <ActionForm action=a.two_factor>
                            <input type="hidden" name="on" value="off" />
                            <Submit pending=a.two_factor.pending() class=DANGER>{t("security.two_factor.turn_off")}</Submit>
                        </ActionForm>
                    }
                    .into_any(),
                    (false, _) if can_turn_on => view! {
                        <ActionForm action=a.two_factor>
                            <input type="hidden" name="on" value="on" />
                            <Submit pending=a.two_factor.pending() class=PRIMARY>{t("security.two_factor.turn_on")}</Submit>
                        </ActionForm>
                    }
                    .into_any(),
                    (false, _) => view! { <p class="text-sm text-slate-600 dark:text-slate-400">{t("security.two_factor.needs_phone")}</p> }.into_any(),
                }}
            </div>
        </Card>
    }
    .into_any()
}

fn phones_card(v: &SecurityView, a: Actions) -> AnyView {
    let phones = v.phones.clone();
    let adding = v.flow.is_some();
    view! {
        <Card labelled_by="phones-title">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h2 id="phones-title" class="text-lg font-semibold">{t("security.phones.title")}</h2>
                {(!adding).then(|| view! {
                    <ActionForm action=a.add_start>
                        <Submit pending=a.add_start.pending() class=PRIMARY>{t("security.add.button")}</Submit>
                    </ActionForm>
                })}
            </div>
            {if phones.is_empty() {
                view! { <p class="mt-3 text-sm text-slate-600 dark:text-slate-300">{t("security.phones.none")}</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-3 divide-y divide-slate-200 dark:divide-slate-800" data-testid="phones">
                        {phones.into_iter().map(|p| phone_row(p, a)).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </Card>
    }
    .into_any()
}

fn phone_row(p: PhoneItem, a: Actions) -> impl IntoView {
    let key = p.key.clone();
    let rename_id = format!("rename-{key}");
    let dates = phone_dates(p.added_at, p.last_used_at);
    view! {
        <li class="py-3" data-phone=p.masked.clone()>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <div>
                    <span class="font-medium" data-testid="phone-label">{p.label.clone()}</span>
                    " " <span class="font-mono text-sm text-slate-600 dark:text-slate-300">{p.masked.clone()}</span>
                    {p.preferred.then(|| view! {
                        <span class="ml-2 rounded-full bg-accent-50 px-2 py-0.5 text-xs font-medium text-accent-700 dark:bg-accent-950 dark:text-accent-300" data-testid="preferred">{t("security.preferred")}</span>
                    })}
                    {(!p.verified).then(|| view! {
                        <span class="ml-2 rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 dark:bg-amber-950 dark:text-amber-200" data-testid="not-verified">{t("security.not_verified")}</span>
                    })}
                    <p class="text-xs text-slate-500 dark:text-slate-400">{dates}</p>
                    {(!p.verified).then(|| view! {
                        <p class="text-xs text-slate-600 dark:text-slate-300">{t("security.not_verified.text")}</p>
                    })}
                </div>
                <div class="flex flex-wrap items-center gap-2">
                    {(!p.verified).then(|| {
                        let key = key.clone();
                        view! {
                            <ActionForm action=a.verify_start>
                                <input type="hidden" name="key" value=key />
                                <Submit pending=a.verify_start.pending() class=PRIMARY attr:data-action="verify-phone">{t("security.verify.button")}</Submit>
                            </ActionForm>
                        }
                    })}
                    {(!p.preferred).then(|| {
                        let key = key.clone();
                        view! {
                            <ActionForm action=a.prefer>
                                <input type="hidden" name="key" value=key />
                                <Submit pending=a.prefer.pending() class=SECONDARY>{t("security.make_preferred")}</Submit>
                            </ActionForm>
                        }
                    })}
                    <ActionForm action=a.remove>
                        <input type="hidden" name="key" value=p.key.clone() />
                        <Submit pending=a.remove.pending() class=DANGER>{t("security.remove.button")}</Submit>
                    </ActionForm>
                </div>
            </div>
            <ActionForm action=a.rename attr:class="mt-2 flex flex-wrap items-end gap-2">
                <input type="hidden" name="key" value=key />
                <label class="sr-only" for=rename_id.clone()>{t("security.rename.label")}</label>
                <input id=rename_id name="nickname" type="text" maxlength="40"
                    value=if p.named { p.label.clone() } else { String::new() }
                    placeholder=t("security.rename.label") class=format!("{INPUT} max-w-xs py-1 text-sm") />
                <Submit pending=a.rename.pending() class=SECONDARY>{t("security.rename.button")}</Submit>
            </ActionForm>
        </li>
    }
}

fn browsers_card(v: &SecurityView, a: Actions) -> AnyView {
    let browsers = v.browsers.clone();
    let any = !browsers.is_empty();
    view! {
        <Card labelled_by="browsers-title">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h2 id="browsers-title" class="text-lg font-semibold">{t("security.browsers.title")}</h2>
                {any.then(|| view! {
                    <ActionForm action=a.forget>
                        <Submit pending=a.forget.pending() class=DANGER>{t("security.browsers.forget_all")}</Submit>
                    </ActionForm>
                })}
            </div>
            {if any {
                view! {
                    <ul class="mt-3 divide-y divide-slate-200 dark:divide-slate-800" data-testid="browsers">
                        {browsers.into_iter().map(|b| view! {
                            <li class="flex flex-wrap items-center justify-between gap-2 py-3">
                                <div>
                                    <span class="font-medium">{b.description.clone()}</span>
                                    <p class="text-xs text-slate-500 dark:text-slate-400">
                                        {phone_dates(Some(b.created_at), Some(b.last_used_at))}
                                    </p>
                                </div>
                                <ActionForm action=a.forget>
                                    <input type="hidden" name="id" value=b.id.clone() />
                                    <Submit pending=a.forget.pending() class=SECONDARY>{t("security.browsers.forget")}</Submit>
                                </ActionForm>
                            </li>
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            } else {
                view! { <p class="mt-3 text-sm text-slate-600 dark:text-slate-300">{t("security.browsers.none")}</p> }.into_any()
            }}
        </Card>
    }
    .into_any()
}

/// "Sign out of all other browsers".
fn sessions_card(a: Actions) -> AnyView {
    view! {
        <Card labelled_by="sessions-title">
            <h2 id="sessions-title" class="text-lg font-semibold">{t("security.sessions.title")}</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{t("security.sessions.text")}</p>
            <ActionForm action=a.sign_out_others attr:class="mt-3">
                <Submit pending=a.sign_out_others.pending() class=DANGER attr:data-action="sign-out-others">
                    {t("security.sessions.sign_out_others")}
                </Submit>
            </ActionForm>
        </Card>
    }
    .into_any()
}

fn activity_card(v: &SecurityView) -> AnyView {
    let items = v.activity.clone();
    let older = v.older_than;
    let empty = items.is_empty();
    view! {
        <Card labelled_by="activity-title">
            <h2 id="activity-title" class="text-lg font-semibold">{t("security.activity.title")}</h2>
            {empty.then(|| view! { <p class="mt-3 text-sm text-slate-600 dark:text-slate-300">{t("security.activity.none")}</p> })}
            <ul class="mt-3 space-y-2 text-sm" data-testid="activity">
                {items.into_iter().map(|e| view! {
                    <li class="flex flex-wrap justify-between gap-2">
                        <span>{e.text}</span>
                        <span class="text-slate-500 dark:text-slate-400"><LocalTime unix_ms=e.at * 1000 /> " · " {e.ip}</span>
                    </li>
                }).collect_view()}
            </ul>
            {older.map(|id| view! {
                <a href=format!("/security?older_than={id}") class=format!("mt-3 inline-block text-sm {LINK}")>
                    {t("security.activity.older")}
                </a>
            })}
        </Card>
    }
    .into_any()
}

/// "Added … · last used …" (or "never used") under a phone or a remembered browser, here and on
/// the admin pages.
pub(crate) fn phone_dates(added_at: Option<i64>, last_used_at: Option<i64>) -> impl IntoView {
    view! {
        {t("security.added")} " "
        {match added_at {
            Some(at) => view! { <LocalTime unix_ms=at * 1000 /> }.into_any(),
            None => "—".into_any(),
        }}
        " · "
        {match last_used_at {
            Some(at) => view! { {t("security.last_used")} " " <LocalTime unix_ms=at * 1000 /> }.into_any(),
            None => t("security.never_used").into_any(),
        }}
    }
}
