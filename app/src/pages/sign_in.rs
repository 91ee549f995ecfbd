//! The sign-in page: password, then (when 2-step sign-in applies) a phone, a code, or adding a
//! phone. One page shows whichever step the session's flow is at, so every step works as a plain
//! form post (the post redirects back here) and hydrated (the page reloads its data after each
//! action). Outcomes travel through the session as a notice, the same way for both.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{Deserialize, Serialize};

use crate::components::form::{
    Field, INPUT, LINK, PAGE_CARD, PRIMARY, SECONDARY, Submit, field_aria,
};
use crate::error::AppError;
use crate::i18n::{t, t_n};

/// Which step the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Password,
    ChoosePhone { phones: Vec<String> },
    Code { phone: String, enrolling: bool, other_phones: bool, resend_in: i64 },
    SendFailed { phone: String, enrolling: bool, other_phones: bool },
    EnrolNumber,
    SignedIn,
}

/// A message on the page, already worded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeView {
    pub id: String,
    pub text: String,
    pub error: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInView {
    pub step: Step,
    pub notice: Option<NoticeView>,
    /// The login the person typed before a refused password, so they need not type it again.
    #[serde(default)]
    pub login: String,
    pub code_length: u8,
    pub remember_days: u32,
}

/// A notice, worded (with the wait, when there is one).
#[cfg(feature = "ssr")]
pub(crate) fn notice_view(n: crate::domain::sign_in::Notice) -> NoticeView {
    let mut text = t(&n.id).to_owned();
    if let Some(secs) = n.retry_after {
        text = format!("{text} {}", crate::i18n::wait_text(secs));
    }
    NoticeView { id: n.id, text, error: n.error }
}

#[cfg(feature = "ssr")]
mod server {
    use secrecy::SecretString;

    use super::notice_view;
    use super::{SignInView, Step};
    use crate::auth::{
        SESSION_AUTH_KEY, SESSION_FLOW_KEY, client, current_user, session, session_error,
        set_notice, state, take_notice,
    };
    use crate::domain::sign_in::flow::State;
    use crate::domain::sign_in::{
        Authenticated, Notice, PasswordOutcome, SignInError, StepOutcome,
    };
    use crate::error::AppError;

    /// Longest password sent to the directory; longer ones are refused like a wrong one.
    const MAX_PASSWORD_CHARS: usize = 1024;

    pub async fn load() -> Result<SignInView, AppError> {
        let state = state();
        let session = session().await?;
        // Who is signed in first: a session ended elsewhere leaves a notice saying so.
        let signed_in = current_user(&session).await?.is_some();
        let mut notice = take_notice(&session).await?;
        let login = crate::auth::take::<String>(&session, crate::auth::SESSION_LOGIN_KEY)
            .await?
            .unwrap_or_default();
        let step = if signed_in {
            Step::SignedIn
        } else if let Some(flow_id) =
            session.get::<String>(SESSION_FLOW_KEY).await.map_err(session_error)?
        {
            let now = crate::auth::now_secs();
            match state.sign_in.view(&flow_id, now).await {
                Ok(Some(view)) => {
                    let other_phones = view.phones.len() > 1;
                    let phone_at = |i: usize| view.phones.get(i).cloned().unwrap_or_default();
                    match view.state {
                        State::ChoosePhone => Step::ChoosePhone { phones: view.phones.clone() },
                        State::CodeSent { phone } => Step::Code {
                            phone: phone_at(phone),
                            enrolling: false,
                            other_phones,
                            resend_in: view.resend_in,
                        },
                        State::SendFailed { phone } => Step::SendFailed {
                            phone: phone_at(phone),
                            enrolling: false,
                            other_phones,
                        },
                        State::EnrolNumber => Step::EnrolNumber,
                        State::EnrolCodeSent { number } => Step::Code {
                            phone: number.masked(),
                            enrolling: true,
                            other_phones: false,
                            resend_in: view.resend_in,
                        },
                        State::EnrolSendFailed { number } => Step::SendFailed {
                            phone: number.masked(),
                            enrolling: true,
                            other_phones: false,
                        },
                        State::Done => Step::Password,
                    }
                }
                Ok(None) => {
                    session.remove::<String>(SESSION_FLOW_KEY).await.map_err(session_error)?;
                    notice = notice.or(Some(Notice::error("sign_in.expired")));
                    Step::Password
                }
                Err(e) => {
                    notice = Some(e.notice());
                    Step::Password
                }
            }
        } else {
            Step::Password
        };
        Ok(SignInView {
            step,
            notice: notice.map(notice_view),
            login,
            code_length: state.sign_in.code_length(),
            remember_days: state.sign_in.settings().remember_browser_days,
        })
    }

    /// Signs the session in: a new session id (no fixation), stamped with the person's session
    /// generation, the person, the flow gone.
    async fn sign_in_session(
        session: &tower_sessions::Session,
        user: &Authenticated,
    ) -> Result<(), AppError> {
        let stamp = state()
            .sessions
            .stamp(&user.user_id, crate::auth::now_secs())
            .await
            .map_err(|_| AppError::unavailable())?;
        crate::auth::stamp_session(session, stamp).await?;
        session.remove::<String>(SESSION_FLOW_KEY).await.map_err(session_error)?;
        session.insert(SESSION_AUTH_KEY, user).await.map_err(session_error)?;
        leptos_axum::redirect("/");
        Ok(())
    }

    pub async fn password(username: String, password: String) -> Result<(), AppError> {
        let state = state();
        let session = session().await?;
        let client = client().await;
        let password = if password.chars().count() > MAX_PASSWORD_CHARS {
            SecretString::from(String::new())
        } else {
            SecretString::from(password)
        };
        let remembered = crate::auth::request_cookie(&state.session_policy.remember_cookie).await;
        // A new password attempt replaces any sign-in in progress or done in this session, and
        // starts clean: nothing the previous person left in this browser (a flow on the security
        // page, a change waiting for "confirm it is you", a notice) carries over to whoever signs
        // in now. The id is cycled when the password is accepted.
        if let Some(old) = session.get::<String>(SESSION_FLOW_KEY).await.map_err(session_error)? {
            let _ = state.sign_in.cancel(&old).await;
        }
        session.clear().await;
        match state.sign_in.password(&client, &username, &password, remembered.as_deref()).await {
            Ok(PasswordOutcome::SignedIn(user)) => {
                set_notice(&session, None).await?;
                sign_in_session(&session, &user).await
            }
            Ok(PasswordOutcome::SecondStep { flow_id, notice }) => {
                // The password step is a step up: a new session id from here on.
                session.cycle_id().await.map_err(session_error)?;
                session.insert(SESSION_FLOW_KEY, flow_id).await.map_err(session_error)?;
                set_notice(&session, notice).await
            }
            Err(e) => {
                let login: String = username.chars().take(128).collect();
                session
                    .insert(crate::auth::SESSION_LOGIN_KEY, login)
                    .await
                    .map_err(session_error)?;
                set_notice(&session, Some(e.notice())).await
            }
        }
    }

    /// Runs one step of the flow in the session and records what to tell the person.
    pub async fn step<F, Fut>(run: F) -> Result<(), AppError>
    where
        F: FnOnce(crate::domain::sign_in::Client, String) -> Fut,
        Fut: std::future::Future<Output = Result<Option<Notice>, SignInError>>,
    {
        let session = session().await?;
        let Some(flow_id) = session.get::<String>(SESSION_FLOW_KEY).await.map_err(session_error)?
        else {
            return set_notice(&session, Some(Notice::error("sign_in.expired"))).await;
        };
        let client = client().await;
        match run(client, flow_id).await {
            Ok(notice) => set_notice(&session, notice).await,
            Err(e) => {
                if e == SignInError::FlowExpired {
                    session.remove::<String>(SESSION_FLOW_KEY).await.map_err(session_error)?;
                }
                set_notice(&session, Some(e.notice())).await
            }
        }
    }

    pub async fn code(code: String, remember: bool) -> Result<(), AppError> {
        let state = state();
        let session = session().await?;
        let Some(flow_id) = session.get::<String>(SESSION_FLOW_KEY).await.map_err(session_error)?
        else {
            return set_notice(&session, Some(Notice::error("sign_in.expired"))).await;
        };
        let client = client().await;
        match state.sign_in.verify_code(&client, &flow_id, &code, remember).await {
            Ok(StepOutcome::SignedIn { user, remember }) => {
                if let Some(token) = remember {
                    set_remember_cookie(&state, &token.0);
                }
                set_notice(&session, None).await?;
                sign_in_session(&session, &user).await
            }
            Ok(StepOutcome::Continue(notice)) => set_notice(&session, notice).await,
            Err(e) => {
                if e == SignInError::FlowExpired {
                    session.remove::<String>(SESSION_FLOW_KEY).await.map_err(session_error)?;
                }
                set_notice(&session, Some(e.notice())).await
            }
        }
    }

    fn set_remember_cookie(state: &crate::domain::AppState, token: &str) {
        use tower_sessions::cookie::{Cookie, SameSite, time::Duration};
        let days = i64::from(state.sign_in.settings().remember_browser_days);
        let cookie =
            Cookie::build((state.session_policy.remember_cookie.clone(), token.to_owned()))
                .path("/")
                .http_only(true)
                .secure(state.session_policy.secure_cookies)
                .same_site(SameSite::Lax)
                .max_age(Duration::days(days))
                .build();
        crate::auth::set_cookie(&cookie);
    }

    pub async fn cancel() -> Result<(), AppError> {
        let state = state();
        let session = session().await?;
        if let Some(flow_id) =
            session.remove::<String>(SESSION_FLOW_KEY).await.map_err(session_error)?
        {
            state.sign_in.cancel(&flow_id).await.map_err(|_| AppError::unavailable())?;
        }
        set_notice(&session, None).await
    }

    pub async fn sign_out() -> Result<(), AppError> {
        let state = state();
        let session = session().await?;
        if let Some(user) = current_user(&session).await? {
            state.sign_in.sign_out(&client().await, &user).await;
        }
        // A new, empty session: nothing of the old one survives, not even its id.
        session.flush().await.map_err(session_error)?;
        set_notice(&session, Some(Notice::info("sign_in.signed_out"))).await?;
        leptos_axum::redirect("/sign-in");
        Ok(())
    }
}

#[server(endpoint = "sign_in_view")]
pub async fn load_sign_in() -> Result<SignInView, AppError> {
    server::load().await
}

#[server(endpoint = "sign_in_password")]
pub async fn submit_password(username: String, password: String) -> Result<(), AppError> {
    server::password(username, password).await
}

#[server(endpoint = "sign_in_choose_phone")]
pub async fn choose_phone(phone: usize) -> Result<(), AppError> {
    let s = crate::auth::state();
    server::step(|client, flow| async move { s.sign_in.choose_phone(&client, &flow, phone).await })
        .await
}

#[server(endpoint = "sign_in_resend")]
pub async fn resend_code() -> Result<(), AppError> {
    let s = crate::auth::state();
    server::step(|client, flow| async move { s.sign_in.resend(&client, &flow).await }).await
}

#[server(endpoint = "sign_in_another_phone")]
pub async fn use_another_phone() -> Result<(), AppError> {
    let s = crate::auth::state();
    server::step(|client, flow| async move {
        s.sign_in.use_another_phone(&client, &flow).await.map(|()| None)
    })
    .await
}

#[server(endpoint = "sign_in_code")]
pub async fn submit_code(code: String, remember: Option<String>) -> Result<(), AppError> {
    server::code(code, remember.is_some()).await
}

#[server(endpoint = "sign_in_enrol_number")]
pub async fn submit_enrol_number(number: String) -> Result<(), AppError> {
    let s = crate::auth::state();
    server::step(
        |client, flow| async move { s.sign_in.enrol_number(&client, &flow, &number).await },
    )
    .await
}

#[server(endpoint = "sign_in_change_number")]
pub async fn change_number() -> Result<(), AppError> {
    let s = crate::auth::state();
    server::step(|client, flow| async move {
        s.sign_in.change_number(&client, &flow).await.map(|()| None)
    })
    .await
}

#[server(endpoint = "sign_in_cancel")]
pub async fn cancel_sign_in() -> Result<(), AppError> {
    server::cancel().await
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    server::sign_out().await
}

/// Every action the page can take; any of them finishing reloads the page's data.
#[derive(Clone, Copy)]
struct Actions {
    password: ServerAction<SubmitPassword>,
    choose: ServerAction<ChoosePhone>,
    resend: ServerAction<ResendCode>,
    another: ServerAction<UseAnotherPhone>,
    code: ServerAction<SubmitCode>,
    enrol: ServerAction<SubmitEnrolNumber>,
    change_number: ServerAction<ChangeNumber>,
    cancel: ServerAction<CancelSignIn>,
}

impl Actions {
    fn new() -> Self {
        Self {
            password: ServerAction::new(),
            choose: ServerAction::new(),
            resend: ServerAction::new(),
            another: ServerAction::new(),
            code: ServerAction::new(),
            enrol: ServerAction::new(),
            change_number: ServerAction::new(),
            cancel: ServerAction::new(),
        }
    }

    fn versions(&self) -> [usize; 8] {
        [
            self.password.version().get(),
            self.choose.version().get(),
            self.resend.version().get(),
            self.another.version().get(),
            self.code.version().get(),
            self.enrol.version().get(),
            self.change_number.version().get(),
            self.cancel.version().get(),
        ]
    }

    fn pending(&self) -> bool {
        self.password.pending().get()
            || self.choose.pending().get()
            || self.resend.pending().get()
            || self.another.pending().get()
            || self.code.pending().get()
            || self.enrol.pending().get()
            || self.change_number.pending().get()
            || self.cancel.pending().get()
    }

    /// A failure of the request itself (network, server error), which the session's notice
    /// cannot carry.
    fn transport_error(&self) -> Option<AppError> {
        fn err<T>(v: Option<Result<T, AppError>>) -> Option<AppError> {
            v.and_then(Result::err)
        }
        err(self.password.value().get())
            .or_else(|| err(self.choose.value().get()))
            .or_else(|| err(self.resend.value().get()))
            .or_else(|| err(self.another.value().get()))
            .or_else(|| err(self.code.value().get()))
            .or_else(|| err(self.enrol.value().get()))
            .or_else(|| err(self.change_number.value().get()))
            .or_else(|| err(self.cancel.value().get()))
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let actions = Actions::new();
    let view_data = Resource::new(move || actions.versions(), |_| load_sign_in());
    crate::components::focus::focus_after_answer(move || {
        view_data.get().is_some() && actions.versions().iter().any(|v| *v > 0)
    });

    view! {
        <Title text=t("sign_in.title") />
        <section class=format!("mx-auto max-w-md {PAGE_CARD}") aria-busy=move || actions.pending().to_string()>
            <Transition fallback=|| view! { <p>{t("sign_in.working")}</p> }>
                {move || {
                    view_data
                        .get()
                        .map(|result| match result {
                            Ok(v) => render_step(v, actions).into_any(),
                            Err(e) => view! { <Alert text=e.text().to_owned() error=true /> }.into_any(),
                        })
                }}
            </Transition>
            {move || actions.transport_error().map(|e| view! { <Alert text=e.text().to_owned() error=true /> })}
        </section>
    }
}

#[component]
fn Alert(text: String, error: bool, #[prop(optional)] id: String) -> impl IntoView {
    let (role, class) = crate::components::notice::notice_style(error);
    // `notice` is what an invalid field's aria-describedby names; focusable for the focus mover.
    view! { <div id="notice" tabindex="-1" role=role class=format!("mb-4 {class}") data-notice=id>{text}</div> }
}

fn render_step(v: SignInView, actions: Actions) -> impl IntoView {
    let notice = v.notice.clone().map(|n| view! { <Alert text=n.text error=n.error id=n.id /> });
    // An error is about the step's first field: marked invalid, described by the notice, focused.
    let invalid = v.notice.as_ref().is_some_and(|n| n.error);
    let body = match v.step {
        Step::Password => password_form(actions, invalid, v.login.clone()).into_any(),
        Step::ChoosePhone { phones } => choose_phone_view(phones, actions).into_any(),
        Step::Code { phone, enrolling, other_phones, resend_in } => {
            let lengths = (v.code_length, v.remember_days);
            code_form(lengths, phone, (enrolling, other_phones, invalid), resend_in, actions)
                .into_any()
        }
        Step::SendFailed { phone, enrolling, other_phones } => {
            send_failed_view(phone, enrolling, other_phones, actions).into_any()
        }
        Step::EnrolNumber => enrol_form(actions, invalid).into_any(),
        // Hydrated, the router moves on; without JavaScript, a link does.
        Step::SignedIn => view! {
            <Redirect path="/" />
            <p data-step="signed-in">
                {t("sign_in.already")} " "
                <a href="/" class=LINK>{t("not_found.back")}</a>
            </p>
        }
        .into_any(),
    };
    view! { {notice} {body} }
}

fn password_form(actions: Actions, invalid: bool, login: String) -> impl IntoView {
    let (aria_invalid, described) = field_aria(invalid, None);
    let busy = move || actions.password.pending().get();
    view! {
        <h1 class="text-2xl font-semibold tracking-tight">{t("sign_in.title")}</h1>
        <p class="mt-1 mb-6 text-sm text-slate-600 dark:text-slate-300">{t("sign_in.intro")}</p>
        <ActionForm action=actions.password attr:class="space-y-4" attr:data-step="password">
            <Field id="username" label=t("sign_in.username")>
                <input id="username" name="username" type="text" required autocomplete="username"
                    autocapitalize="none" spellcheck="false" maxlength="128" class=INPUT value=login
                    aria-invalid=aria_invalid aria-describedby=described autofocus=invalid />
            </Field>
            <Field id="password" label=t("sign_in.password")>
                <input id="password" name="password" type="password" required
                    autocomplete="current-password" class=INPUT />
            </Field>
            <Submit pending=actions.password.pending() class=format!("{PRIMARY} w-full")>
                {move || if busy() { t("sign_in.submitting") } else { t("sign_in.submit") }}
            </Submit>
        </ActionForm>
    }
}

fn step_heading(title: &'static str) -> impl IntoView {
    view! {
        <p class="text-sm font-medium text-accent-700 dark:text-accent-300">{t("sign_in.step_two")}</p>
        <h1 class="mt-1 text-2xl font-semibold tracking-tight">{title}</h1>
    }
}

fn cancel_form(actions: Actions) -> impl IntoView {
    view! {
        <ActionForm action=actions.cancel attr:class="mt-6 border-t border-slate-200 pt-4 dark:border-slate-800">
            <button type="submit" class="text-sm font-medium text-slate-600 underline hover:text-slate-900 dark:text-slate-300 dark:hover:text-white">
                {t("sign_in.cancel")}
            </button>
        </ActionForm>
    }
}

fn choose_phone_view(phones: Vec<String>, actions: Actions) -> impl IntoView {
    view! {
        {step_heading(t("sign_in.choose.title"))}
        <p class="mt-1 mb-6 text-sm text-slate-600 dark:text-slate-300">{t("sign_in.choose.intro")}</p>
        <ul class="space-y-2" data-step="choose-phone">
            {phones
                .into_iter()
                .enumerate()
                .map(|(i, phone)| {
                    view! {
                        <li>
                            <ActionForm action=actions.choose>
                                <input type="hidden" name="phone" value=i.to_string() />
                                <button type="submit" class=format!("{SECONDARY} w-full justify-between")
                                    disabled=move || actions.choose.pending().get()>
                                    <span>{t("sign_in.choose.send")} " " <span class="font-mono">{phone}</span></span>
                                    <span aria-hidden="true">"→"</span>
                                </button>
                            </ActionForm>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        {cancel_form(actions)}
    }
}

fn code_form(
    (code_length, remember_days): (u8, u32),
    phone: String,
    (enrolling, other_phones, invalid): (bool, bool, bool),
    resend_in: i64,
    actions: Actions,
) -> impl IntoView {
    let (aria_invalid, described) = field_aria(invalid, None);
    let title = if enrolling { t("enrol.title") } else { t("sign_in.code.title") };
    // The countdown only runs once hydrated; without JavaScript the button stays usable and
    // the server answers with the wait if it comes too early.
    let (remaining, set_remaining) = signal(resend_in);
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| {
        set_hydrated.set(true);
        if let Ok(handle) = set_interval_with_handle(
            move || set_remaining.update(|r| *r = (*r - 1).max(0)),
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let resend_label = move || {
        let r = remaining.get();
        if r > 0 { t_n("sign_in.code.resend_in", r) } else { t("sign_in.code.resend").to_owned() }
    };
    view! {
        {step_heading(title)}
        <p class="mt-1 mb-6 text-sm text-slate-600 dark:text-slate-300">
            {t("sign_in.code.intro")} " " <span class="font-mono font-medium" data-testid="code-phone">{phone}</span>"."
        </p>
        <ActionForm action=actions.code attr:class="space-y-4" attr:data-step="code">
            <Field id="code" label=t("sign_in.code.label")>
                <input id="code" name="code" type="text" required autofocus
                    autocomplete="one-time-code" inputmode="numeric"
                    pattern="[0-9 \\-]*" maxlength=(usize::from(code_length) + 4).to_string()
                    aria-invalid=aria_invalid aria-describedby=described
                    class=format!("{INPUT} font-mono text-lg tracking-widest") />
            </Field>
            <Show when=move || !enrolling>
                <div class="flex items-start gap-2">
                    <input id="remember" name="remember" type="checkbox" value="on"
                        class="mt-1 h-4 w-4 rounded border-slate-300 text-accent-600 focus:ring-accent-600" />
                    <div>
                        <label for="remember" class="text-sm font-medium">{t_n("sign_in.code.remember", remember_days)}</label>
                        <p class="text-xs text-slate-500 dark:text-slate-400">{t("sign_in.code.remember_hint")}</p>
                    </div>
                </div>
            </Show>
            <Submit pending=actions.code.pending() class=format!("{PRIMARY} w-full")>{t("sign_in.code.submit")}</Submit>
        </ActionForm>
        <div class="mt-4 flex flex-wrap gap-2">
            <ActionForm action=actions.resend>
                <button type="submit" class=SECONDARY data-testid="resend"
                    disabled=move || actions.resend.pending().get() || (hydrated.get() && remaining.get() > 0)>
                    <span aria-live="polite">{resend_label}</span>
                </button>
            </ActionForm>
            {switch_phone_buttons(enrolling, other_phones, actions)}
        </div>
        {cancel_form(actions)}
    }
}

/// "Use a different number" while enrolling, "Use another phone" with several phones.
fn switch_phone_buttons(enrolling: bool, other_phones: bool, actions: Actions) -> Option<AnyView> {
    if enrolling {
        Some(
            view! {
                <ActionForm action=actions.change_number>
                    <Submit pending=actions.change_number.pending() class=SECONDARY>{t("enrol.change_number")}</Submit>
                </ActionForm>
            }
            .into_any(),
        )
    } else if other_phones {
        Some(
            view! {
                <ActionForm action=actions.another>
                    <Submit pending=actions.another.pending() class=SECONDARY>{t("sign_in.code.other_phone")}</Submit>
                </ActionForm>
            }
            .into_any(),
        )
    } else {
        None
    }
}

fn send_failed_view(
    phone: String,
    enrolling: bool,
    other_phones: bool,
    actions: Actions,
) -> impl IntoView {
    view! {
        {step_heading(t("sign_in.send_failed.title"))}
        <p class="mt-1 mb-6 text-sm text-slate-600 dark:text-slate-300" data-step="send-failed">
            <span class="font-mono font-medium">{phone}</span>
        </p>
        <div class="flex flex-wrap gap-2">
            <ActionForm action=actions.resend>
                <Submit pending=actions.resend.pending() class=SECONDARY>{t("sign_in.send_failed.retry")}</Submit>
            </ActionForm>
            {switch_phone_buttons(enrolling, other_phones, actions)}
        </div>
        {cancel_form(actions)}
    }
}

fn enrol_form(actions: Actions, invalid: bool) -> impl IntoView {
    let (aria_invalid, described) = field_aria(invalid, Some("number-hint"));
    view! {
        {step_heading(t("enrol.title"))}
        <p class="mt-1 mb-6 text-sm text-slate-600 dark:text-slate-300">{t("enrol.intro")}</p>
        <ActionForm action=actions.enrol attr:class="space-y-4" attr:data-step="enrol-number">
            <Field id="number" label=t("enrol.number") hint=("number-hint", t("enrol.number_hint"))>
                <input id="number" name="number" type="tel" required autocomplete="tel"
                    maxlength="40" aria-invalid=aria_invalid aria-describedby=described
                    autofocus=invalid class=INPUT />
            </Field>
            <Submit pending=actions.enrol.pending() class=format!("{PRIMARY} w-full")>{t("enrol.send")}</Submit>
        </ActionForm>
        {cancel_form(actions)}
    }
}
