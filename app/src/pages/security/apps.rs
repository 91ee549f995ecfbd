//! Authenticator apps on the security page: adding one (a secret shown as a QR code and as text,
//! proved by one of its codes), renaming, preferring and removing. The secret being added stays
//! sealed in the session until the person types a right code, or for ten minutes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::form::{
    Card, Confirm, DANGER, Field, INPUT, PRIMARY, SECONDARY, Submit, field_aria,
};
use crate::components::qr::qr_code;
use crate::components::time::phone_dates;
use crate::error::AppError;
use crate::i18n::{t, t_n};

/// An authenticator app of the person (the security page, and the administrators' person page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatorItem {
    pub id: String,
    pub name: String,
    pub preferred: bool,
    pub added_at: i64,
    pub last_used_at: Option<i64>,
}

/// An app being added: what the person scans or types into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolling {
    /// The `otpauth://` URI as an inline SVG QR code.
    pub qr_svg: String,
    /// The secret in base32, in groups of four.
    pub secret: String,
    /// The name typed before a wrong code, to fill in again.
    pub name: String,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use serde::{Deserialize, Serialize};
    use tower_sessions::Session;

    use super::{AuthenticatorItem, Enrolling};
    use crate::auth::{SESSION_APP_ENROLMENT_KEY, session_error, state, take};
    use crate::error::AppError;
    use crate::pages::security::act::{Ctx, clear_removals, save_flow, unavailable};
    use domain::authenticated::Authenticated;
    use domain::security::{AppView, SecurityError};

    /// How long a started enrolment waits for its code: long enough to install an app, short
    /// enough that a secret left on an unattended screen goes stale.
    const ENROLMENT_TTL_SECS: i64 = 600;

    /// The enrolment in the session: the secret sealed to the person.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub(super) struct Pending {
        pub sealed: String,
        pub started_at: i64,
        #[serde(default)]
        pub name: String,
    }

    pub fn items(apps: Vec<AppView>) -> Vec<AuthenticatorItem> {
        apps.into_iter()
            .map(|a| AuthenticatorItem {
                id: a.id,
                name: a.name,
                preferred: a.preferred,
                added_at: a.added_at,
                last_used_at: a.last_used_at,
            })
            .collect()
    }

    /// Starts adding an app (the person signed in recently): a new secret in the session, in
    /// place of any other step open on the page.
    pub async fn begin(ctx: &Ctx, user: &Authenticated) -> Result<(), SecurityError> {
        let now = ctx.client.now;
        let enrolment = state().security.start_app(user, now)?;
        save_flow(&ctx.session, None).await?;
        clear_removals(&ctx.session).await?;
        let pending = Pending { sealed: enrolment.sealed, started_at: now, name: String::new() };
        save(&ctx.session, Some(&pending)).await
    }

    /// No app being added any more.
    pub async fn forget(session: &Session) -> Result<(), SecurityError> {
        save(session, None).await
    }

    pub(super) async fn save(
        session: &Session,
        pending: Option<&Pending>,
    ) -> Result<(), SecurityError> {
        match pending {
            Some(p) => session.insert(SESSION_APP_ENROLMENT_KEY, p).await.map_err(unavailable),
            None => take::<Pending>(session, SESSION_APP_ENROLMENT_KEY)
                .await
                .map(|_| ())
                .map_err(|_| SecurityError::Unavailable),
        }
    }

    /// The enrolment in progress, unless it is older than its ten minutes (then forgotten).
    pub(super) async fn pending(session: &Session, now: i64) -> Result<Option<Pending>, AppError> {
        let pending: Option<Pending> =
            session.get(SESSION_APP_ENROLMENT_KEY).await.map_err(session_error)?;
        match pending {
            Some(p) if now.saturating_sub(p.started_at) <= ENROLMENT_TTL_SECS => Ok(Some(p)),
            Some(_) => {
                take::<Pending>(session, SESSION_APP_ENROLMENT_KEY).await?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// What the page shows of the enrolment in progress; one that no longer opens (keys
    /// rotated, another person's) is forgotten.
    pub async fn enrolling(
        session: &Session,
        user: &Authenticated,
        now: i64,
    ) -> Result<Option<Enrolling>, AppError> {
        let Some(p) = pending(session, now).await? else {
            return Ok(None);
        };
        let Ok(e) = state().security.resume_app(user, &p.sealed) else {
            take::<Pending>(session, SESSION_APP_ENROLMENT_KEY).await?;
            return Ok(None);
        };
        let label = crate::i18n::t("security.authenticator.qr_label");
        let Some(qr_svg) = crate::components::qr::svg(&e.uri, label) else {
            tracing::error!("an authenticator app's URI does not fit a QR code");
            return Err(AppError::internal());
        };
        Ok(Some(Enrolling { qr_svg, secret: e.grouped, name: p.name }))
    }
}

#[server(endpoint = "security_app_start")]
pub async fn app_start() -> Result<(), AppError> {
    use super::act::{Then, act};
    act(Some(Then::AddApp), |ctx| async move {
        server::begin(&ctx, &ctx.user).await?;
        Ok(None)
    })
    .await
}

/// The code proving the app: right, the app is added; wrong, the enrolment stays for another go.
#[server(endpoint = "security_app_finish")]
pub async fn app_finish(name: Option<String>, code: String) -> Result<(), AppError> {
    use domain::notice::Notice;
    use domain::security::SecurityError;
    super::act::act(None, |ctx| async move {
        let now = ctx.client.now;
        let pending =
            server::pending(&ctx.session, now).await.map_err(|_| SecurityError::Unavailable)?;
        let Some(mut pending) = pending else {
            return Ok(Some(Notice::error("security.authenticator.expired")));
        };
        let name = name.unwrap_or_default();
        let result = crate::auth::state()
            .security
            .finish_app(&ctx.client, &ctx.user, &pending.sealed, &name, &code)
            .await;
        match result {
            Ok(notice) => {
                server::save(&ctx.session, None).await?;
                Ok(Some(notice))
            }
            // It can never succeed: the enrolment is over.
            Err(e @ (SecurityError::OutOfOrder | SecurityError::TooManyApps)) => {
                server::save(&ctx.session, None).await?;
                Err(e)
            }
            Err(e) => {
                pending.name = name.chars().take(domain::authenticator::MAX_APP_NAME).collect();
                server::save(&ctx.session, Some(&pending)).await?;
                Err(e)
            }
        }
    })
    .await
}

/// Abandons adding an app or removing one. Nothing was written yet, so nothing is undone.
#[server(endpoint = "security_app_cancel")]
pub async fn app_cancel() -> Result<(), AppError> {
    super::act::act(None, |ctx| async move {
        server::save(&ctx.session, None).await?;
        super::act::set_app_removal(&ctx.session, None).await?;
        Ok(None)
    })
    .await
}

#[server(endpoint = "security_app_rename")]
pub async fn app_rename(id: String, name: String) -> Result<(), AppError> {
    super::act::act(None, |ctx| async move {
        crate::auth::state().security.rename_app(&ctx.client, &ctx.user, &id, &name).await.map(Some)
    })
    .await
}

#[server(endpoint = "security_app_prefer")]
pub async fn app_prefer(id: String) -> Result<(), AppError> {
    super::act::act(None, |ctx| async move {
        crate::auth::state().security.prefer_app(&ctx.client, &ctx.user, &id).await.map(Some)
    })
    .await
}

/// First click: what removing would do, for the person to confirm.
#[server(endpoint = "security_app_remove")]
pub async fn app_remove(id: String) -> Result<(), AppError> {
    use super::act::{Then, act, set_app_removal};
    act(Some(Then::RemoveApp(id.clone())), |ctx| async move {
        let security = &crate::auth::state().security;
        let plan = security.plan_app_removal(&ctx.client, &ctx.user, &id).await?;
        set_app_removal(&ctx.session, Some(&plan)).await?;
        Ok(None)
    })
    .await
}

#[server(endpoint = "security_app_remove_confirm")]
pub async fn app_remove_confirm(id: String) -> Result<(), AppError> {
    use super::act::{Then, act, keep_signed_in, set_app_removal};
    act(Some(Then::RemoveApp(id.clone())), |ctx| async move {
        let result = crate::auth::state().security.remove_app(&ctx.client, &ctx.user, &id).await;
        set_app_removal(&ctx.session, None).await?;
        let notice = result?;
        // The removal ended the person's other sessions; this one goes on.
        keep_signed_in(&ctx).await?;
        Ok(Some(notice))
    })
    .await
}

crate::components::actions::page_actions! {
    /// The apps' actions; any of them finishing reloads the security page.
    pub(super) struct AppActions {
        start: AppStart,
        finish: AppFinish,
        cancel: AppCancel,
        rename: AppRename,
        prefer: AppPrefer,
        remove: AppRemove,
        remove_confirm: AppRemoveConfirm,
    }
}

impl AppActions {
    pub(super) fn create() -> Self {
        Self::new()
    }

    /// Changes whenever one of them finishes.
    pub(super) fn finished(&self) -> usize {
        self.versions()
    }
}

/// "Authenticator apps": each app with its name form, "Make preferred" and "Remove".
pub(super) fn authenticators_card(
    apps: Vec<AuthenticatorItem>,
    enrolling: bool,
    a: AppActions,
) -> AnyView {
    view! {
        <Card labelled_by="authenticators-title">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <h2 id="authenticators-title" class="text-lg font-semibold">{t("security.authenticator.title")}</h2>
                {(!enrolling).then(|| view! {
                    <ActionForm action=a.start>
                        <Submit pending=a.start.pending() class=PRIMARY attr:data-action="add-authenticator">
                            {t("security.authenticator.add")}
                        </Submit>
                    </ActionForm>
                })}
            </div>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{t("security.authenticator.text")}</p>
            {if apps.is_empty() {
                view! {
                    <p class="mt-3 text-sm text-slate-600 dark:text-slate-300" data-testid="authenticators-none">
                        {t("security.authenticator.none")}
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <ul class="mt-3 divide-y divide-slate-200 dark:divide-slate-800" data-testid="authenticators">
                        {apps.into_iter().map(|app| app_row(app, a)).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </Card>
    }
    .into_any()
}

fn app_row(app: AuthenticatorItem, a: AppActions) -> impl IntoView {
    let rename_id = format!("rename-app-{}", app.id);
    let (id, name) = (app.id.clone(), app.name.clone());
    let (remove_id, button_name) = (app.id.clone(), app.name.clone());
    view! {
        <li class="py-3" data-authenticator=app.id>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <div>
                    <span class="font-medium" data-testid="authenticator-name">{app.name}</span>
                    {app.preferred.then(|| view! {
                        <span class="ml-2 rounded-full bg-accent-50 px-2 py-0.5 text-xs font-medium text-accent-700 dark:bg-accent-950 dark:text-accent-300" data-testid="preferred">{t("security.preferred")}</span>
                    })}
                    <p class="text-xs text-slate-500 dark:text-slate-400">{phone_dates(Some(app.added_at), app.last_used_at)}</p>
                </div>
                <div class="flex flex-wrap items-center gap-2">
                    {(!app.preferred).then(|| {
                        let id = id.clone();
                        view! {
                            <ActionForm action=a.prefer>
                                <input type="hidden" name="id" value=id />
                                <Submit pending=a.prefer.pending() class=SECONDARY attr:data-action="prefer-authenticator">
                                    {t("security.make_preferred")}
                                </Submit>
                            </ActionForm>
                        }
                    })}
                    <ActionForm action=a.remove>
                        <input type="hidden" name="id" value=remove_id />
                        <Submit pending=a.remove.pending() class=DANGER attr:data-action="remove-authenticator">
                            {t("security.remove.button")}
                            // Which app, for a screen reader going from button to button.
                            <span class="sr-only">" (" {button_name} ")"</span>
                        </Submit>
                    </ActionForm>
                </div>
            </div>
            {super::rename_disclosure(name.clone(), view! {
                <ActionForm action=a.rename attr:class="mt-2 flex flex-wrap items-end gap-2">
                    <input type="hidden" name="id" value=id />
                    <label class="text-sm" for=rename_id.clone()>{t("security.rename.label")}</label>
                    <input id=rename_id name="name" type="text" maxlength="40" value=name
                        class=format!("{INPUT} max-w-xs py-1 text-sm") />
                    <Submit pending=a.rename.pending() class=SECONDARY>{t("security.rename.button")}</Submit>
                    {super::rename_cancel()}
                </ActionForm>
            })}
        </li>
    }
}

/// Adding an app: the QR code and the secret as text, then its name and one of its codes.
/// `invalid`: the page's error is about the code typed.
pub(super) fn enrolment_panel(e: Enrolling, invalid: bool, a: AppActions) -> AnyView {
    let (aria_invalid, described) = field_aria(invalid, None);
    let secret = e.secret.replace(' ', "");
    view! {
        <Card labelled_by="enrol-app-title" extra="ring-2 ring-accent-500">
            <h2 id="enrol-app-title" class="text-lg font-semibold">{t("security.authenticator.add")}</h2>
            <div class="mt-3 flex flex-wrap items-start gap-6" data-step="enrol-app">
                {qr_code(e.qr_svg)}
                <div class="min-w-[14rem] flex-1 space-y-2 text-sm">
                    <p>{t("security.authenticator.scan")}</p>
                    <p class="text-slate-600 dark:text-slate-300">{t("security.authenticator.manual")}</p>
                    // Selectable as one piece; read out group by group.
                    <code class="block break-words rounded bg-slate-100 px-3 py-2 font-mono text-base tracking-wider text-slate-900 select-all dark:bg-slate-800 dark:text-white"
                        data-secret=secret>{e.secret}</code>
                </div>
            </div>
            <ActionForm action=a.finish attr:class="mt-4 grid gap-3 sm:grid-cols-[1fr_12rem_auto] sm:items-end" attr:data-step="enrol-app-code">
                <Field id="app-name" label=t("security.authenticator.name")>
                    <input id="app-name" name="name" type="text" maxlength="40" value=e.name class=INPUT autofocus=!invalid />
                </Field>
                <Field id="app-code" label=t("security.authenticator.code")>
                    <input id="app-code" name="code" type="text" required autocomplete="one-time-code"
                        inputmode="numeric" pattern="[0-9 ]*" maxlength="8"
                        autofocus=invalid aria-invalid=aria_invalid aria-describedby=described
                        class=format!("{INPUT} font-mono tracking-widest") />
                </Field>
                <Submit pending=a.finish.pending() class=PRIMARY>{t("security.authenticator.finish")}</Submit>
            </ActionForm>
            <div class="mt-4 border-t border-slate-200 pt-3 dark:border-slate-800">
                <ActionForm action=a.cancel>
                    <Submit pending=a.cancel.pending() class=SECONDARY>{t("security.cancel")}</Submit>
                </ActionForm>
            </div>
        </Card>
    }
    .into_any()
}

/// "Remove …?" for an app: says when it turns 2-step sign-in off.
pub(super) fn removal_panel(id: String, name: String, turns_off: bool, a: AppActions) -> AnyView {
    let text = if turns_off {
        t("security.authenticator.remove_turns_off")
    } else {
        t("security.authenticator.remove_text")
    };
    view! {
        <Confirm id="remove-app" title=t_n("security.remove.title", &name) text=text step="confirm-remove-app">
            <ActionForm action=a.remove_confirm>
                <input type="hidden" name="id" value=id />
                <Submit pending=a.remove_confirm.pending() class=DANGER>{t("security.authenticator.remove_confirm")}</Submit>
            </ActionForm>
            // The safe choice has the focus, as in any confirmation dialog.
            <ActionForm action=a.cancel>
                <Submit pending=a.cancel.pending() class=SECONDARY attr:autofocus=true>{t("security.cancel")}</Submit>
            </ActionForm>
        </Confirm>
    }
    .into_any()
}
