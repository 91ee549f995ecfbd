//! The sign-in page's wire types and server functions: each reads the session, calls the
//! sign-in service and stores the outcome (the session's flow, a notice) for the view to show.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::components::notice::NoticeView;
use crate::error::AppError;

/// Which step the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Password,
    /// "Use another way": the person's phones (masked), apps (by name), recovery codes.
    ChooseMethod {
        phones: Vec<String>,
        /// Per phone: a landline, offered a call only.
        voice_only: Vec<bool>,
        /// Whether calls can be placed (a phone that takes texts is offered a call too).
        calls: bool,
        apps: Vec<String>,
        recovery: bool,
    },
    Code {
        phone: String,
        enrolling: bool,
        other_ways: bool,
        resend_in: i64,
        /// How the code went: [`Reach`].
        reach: Reach,
    },
    SendFailed {
        phone: String,
        enrolling: bool,
        other_ways: bool,
        reach: Reach,
    },
    AppCode {
        app: String,
        other_ways: bool,
    },
    RecoveryCode {
        other_ways: bool,
    },
    EnrolNumber,
    SignedIn,
}

/// How a code step's code went out and which other ways the phone offers: "call me instead"
/// after a text (when calls can be placed), "text me instead" after a call (when the phone
/// takes texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    /// The code was spoken by a call (else texted).
    pub called: bool,
    pub takes_texts: bool,
    pub calls: bool,
}

impl Reach {
    /// The form value of a send by the same way, and of the other way (if offered).
    pub fn same(self) -> &'static str {
        if self.called { "call" } else { "text" }
    }

    pub fn other(self) -> Option<&'static str> {
        match (self.called, self.takes_texts, self.calls) {
            (true, true, _) => Some("text"),
            (false, true, true) => Some("call"),
            _ => None,
        }
    }

    /// The button for the other way, when offered: (form value, catalog id of its label,
    /// `data-testid`), the same on the sign-in and security pages.
    pub fn other_button(self) -> Option<(&'static str, &'static str, &'static str)> {
        self.other().map(|channel| match channel {
            "call" => (channel, "sign_in.code.call_instead", "call-instead"),
            _ => (channel, "sign_in.code.text_instead", "text-instead"),
        })
    }
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
pub(crate) fn notice_view(n: domain::notice::Notice) -> NoticeView {
    let mut text = crate::i18n::t(&n.id).to_owned();
    if let Some(count) = n.count {
        text = text.replace("{n}", &count.to_string());
    }
    if let Some(secs) = n.retry_after {
        text = format!("{text} {}", crate::i18n::wait_text(secs));
    }
    NoticeView { id: n.id, text, error: n.error }
}

#[cfg(feature = "ssr")]
mod server {
    use secrecy::SecretString;

    use super::notice_view;
    use super::{Reach, SignInView, Step};
    use crate::auth::{
        Browser, SESSION_AUTH_KEY, browser, client, current_user, session_error, state,
    };
    use crate::error::AppError;
    use domain::codes::Channel;
    use domain::sign_in::flow::State;
    use domain::{
        authenticated::Authenticated,
        notice::Notice,
        sign_in::{PasswordOutcome, SignInError, StepOutcome},
    };

    /// Longest password sent to the directory; longer ones are refused like a wrong one.
    const MAX_PASSWORD_CHARS: usize = 1024;

    pub async fn load() -> Result<SignInView, AppError> {
        let state = state();
        let browser = browser().await?;
        let session = &browser.session;
        // Who is signed in first: a session ended elsewhere leaves a notice saying so.
        let signed_in = current_user(session).await?.is_some();
        let login = crate::auth::take::<String>(session, crate::auth::SESSION_LOGIN_KEY)
            .await?
            .unwrap_or_default();
        let mut app_waiting = false;
        for key in [crate::auth::SESSION_OIDC_REQUEST_KEY, crate::auth::SESSION_FORWARD_KEY] {
            app_waiting |= session.get_value(key).await.map_err(session_error)?.is_some();
        }
        // Signed in and done here: a notice the sign-in left ("recovery codes left") is for the
        // page it went on to, which a hydrated sign-in page reloading its data must not take.
        let flow = browser.flow.id();
        let done = signed_in && !app_waiting && flow.is_none();
        let mut notice = if done { None } else { browser.flash.take() };
        // A flow first: a signed-in person an app asked for more (a step up) is in one.
        let step = if let Some(flow_id) = flow {
            let now = crate::auth::now_secs();
            match state.sign_in.view(&flow_id, now).await {
                Ok(Some(view)) => {
                    let other_ways =
                        view.phones.len() + view.apps.len() + usize::from(view.recovery) > 1;
                    let phone_at = |i: usize| view.phones.get(i).cloned().unwrap_or_default();
                    let reach = |channel: Channel, takes_texts: bool| Reach {
                        called: channel == Channel::Call,
                        takes_texts,
                        calls: view.calls,
                    };
                    let texts_at = |i: usize| !view.voice_only.get(i).copied().unwrap_or(false);
                    match view.state {
                        State::ChooseMethod => Step::ChooseMethod {
                            phones: view.phones.clone(),
                            voice_only: view.voice_only.clone(),
                            calls: view.calls,
                            apps: view.apps.clone(),
                            recovery: view.recovery,
                        },
                        State::CodeSent { phone, channel } => Step::Code {
                            phone: phone_at(phone),
                            enrolling: false,
                            other_ways,
                            resend_in: view.resend_in,
                            reach: reach(channel, texts_at(phone)),
                        },
                        State::SendFailed { phone, channel } => Step::SendFailed {
                            phone: phone_at(phone),
                            enrolling: false,
                            other_ways,
                            reach: reach(channel, texts_at(phone)),
                        },
                        State::AppCode { app } => Step::AppCode {
                            app: view.apps.get(app).cloned().unwrap_or_default(),
                            other_ways,
                        },
                        State::RecoveryCode => Step::RecoveryCode { other_ways },
                        State::EnrolNumber => Step::EnrolNumber,
                        State::EnrolCodeSent { number, channel } => Step::Code {
                            phone: number.masked(),
                            enrolling: true,
                            other_ways: false,
                            resend_in: view.resend_in,
                            reach: reach(channel, number.takes_texts()),
                        },
                        State::EnrolSendFailed { number, channel } => Step::SendFailed {
                            phone: number.masked(),
                            enrolling: true,
                            other_ways: false,
                            reach: reach(channel, number.takes_texts()),
                        },
                        State::Done => Step::Password,
                    }
                }
                Ok(None) => {
                    browser.flow.end();
                    notice = notice.or(Some(Notice::error("sign_in.expired")));
                    if signed_in { Step::SignedIn } else { Step::Password }
                }
                Err(e) => {
                    notice = Some(e.notice());
                    if signed_in { Step::SignedIn } else { Step::Password }
                }
            }
        } else if signed_in && !app_waiting {
            Step::SignedIn
        } else {
            // An app asked for a new sign-in (prompt=login, max_age): the password again.
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
    /// Then back to the app whose request waits in the session, if one does.
    async fn sign_in_session(
        browser: &Browser,
        user: &Authenticated,
        client: &domain::client::Client,
    ) -> Result<(), AppError> {
        let state = state();
        let (session, flash) = (&browser.session, &browser.flash);
        let stamp = state
            .sessions
            .stamp(&user.user_id, crate::auth::now_secs())
            .await
            .map_err(|_| AppError::unavailable())?;
        crate::auth::stamp_session(session, stamp).await?;
        browser.flow.end();
        session.insert(SESSION_AUTH_KEY, user).await.map_err(session_error)?;
        let to = match crate::oidc::resume_waiting(&state, browser, client, user).await {
            None => {
                match crate::forward_auth::resume_waiting(&state, browser, client, user).await {
                    // Where the person was going before signing in, if it was a page of ours.
                    None => crate::auth::take::<String>(session, crate::auth::SESSION_RETURN_KEY)
                        .await?
                        .filter(|path| crate::auth::is_local_page(path))
                        .unwrap_or_else(|| "/".to_owned()),
                    Some(Ok(location)) => location,
                    Some(Err(e)) => {
                        tracing::info!(error = %e, "the forward-auth journey waiting for this sign-in cannot go on");
                        flash.set(Some(Notice::error(forward_auth_notice(&e))));
                        "/".to_owned()
                    }
                }
            }
            Some(Ok(location)) => location,
            Some(Err(e)) => {
                tracing::info!(error = %e, "the app request waiting for this sign-in is gone");
                flash.set(Some(Notice::error("oidc.request_gone")));
                "/".to_owned()
            }
        };
        leptos_axum::redirect(&to);
        Ok(())
    }

    /// What the person is told when the app they were signing in to (behind a proxy) cannot
    /// be reached after all.
    fn forward_auth_notice(e: &domain::forward_auth::service::JourneyError) -> messages::MessageId {
        use domain::forward_auth::service::JourneyError;
        match e {
            JourneyError::NotAllowed { .. } => "forward_auth.not_allowed",
            JourneyError::NoSecondFactor { .. } => "forward_auth.no_second_factor",
            JourneyError::Unavailable => "error.unavailable",
            _ => "forward_auth.gone",
        }
    }

    pub async fn password(username: String, password: String) -> Result<(), AppError> {
        let state = state();
        let browser = browser().await?;
        let (session, flash) = (&browser.session, &browser.flash);
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
        // in now, and the sign-in in progress here ends (a store that fails leaves it to
        // expire; its cookie goes either way).
        let _ = browser.flow.cancel(&state.sign_in).await;
        // Where the sign-in goes on to (an app's waiting request, a page of ours) is all that
        // carries over.
        let mut carried = Vec::new();
        for key in [
            crate::auth::SESSION_OIDC_REQUEST_KEY,
            crate::auth::SESSION_FORWARD_KEY,
            crate::auth::SESSION_RETURN_KEY,
        ] {
            if let Some(value) = session.get_value(key).await.map_err(session_error)? {
                carried.push((key, value));
            }
        }
        let carries = !carried.is_empty();
        session.clear().await;
        for (key, value) in carried {
            session.insert(key, value).await.map_err(session_error)?;
        }
        match state.sign_in.password(&client, &username, &password, remembered.as_deref()).await {
            Ok(PasswordOutcome::SignedIn(user)) => {
                flash.set(None);
                sign_in_session(&browser, &user, &client).await
            }
            Ok(PasswordOutcome::SecondStep { flow_id, notice }) => {
                // The flow is the browser's in a cookie of its own, a new one. A stored session
                // is not needed until the last step signs it in: one that only carries where
                // the sign-in goes on to gets a new id (as a step up), an emptied one goes. A
                // session not stored yet (`id` none: no cookie, or one naming no session) stays
                // unstored: the last step stores it under a new id.
                if session.id().is_some() {
                    if carries {
                        session.cycle_id().await.map_err(session_error)?;
                    } else {
                        session.flush().await.map_err(session_error)?;
                    }
                }
                browser.flow.start(flow_id);
                flash.set(notice);
                Ok(())
            }
            Err(e) => {
                let login: String = username.chars().take(128).collect();
                session
                    .insert(crate::auth::SESSION_LOGIN_KEY, login)
                    .await
                    .map_err(session_error)?;
                flash.set(Some(e.notice()));
                Ok(())
            }
        }
    }

    /// Runs one step of the flow in the session and records what to tell the person.
    pub async fn step<F, Fut>(run: F) -> Result<(), AppError>
    where
        F: FnOnce(domain::client::Client, String) -> Fut,
        Fut: std::future::Future<Output = Result<Option<Notice>, SignInError>>,
    {
        let browser = browser().await?;
        let Some(flow_id) = browser.flow.id() else {
            browser.flash.set(Some(Notice::error("sign_in.expired")));
            return Ok(());
        };
        let client = client().await;
        match run(client, flow_id).await {
            Ok(notice) => {
                browser.flash.set(notice);
                Ok(())
            }
            Err(e) => {
                if e == SignInError::FlowExpired {
                    browser.flow.end();
                }
                browser.flash.set(Some(e.notice()));
                Ok(())
            }
        }
    }

    pub async fn code(code: String, remember: bool) -> Result<(), AppError> {
        let state = state();
        let browser = browser().await?;
        let (session, flash) = (&browser.session, &browser.flash);
        let Some(flow_id) = browser.flow.id() else {
            flash.set(Some(Notice::error("sign_in.expired")));
            return Ok(());
        };
        let client = client().await;
        match state.sign_in.verify_code(&client, &flow_id, &code, remember).await {
            Ok(StepOutcome::SignedIn { user, remember, notice }) => {
                if let Some(token) = remember {
                    set_remember_cookie(&state, &token.0);
                }
                // A recovery code used: the security page says how many are left and makes
                // new ones (unless an app or a page was waiting).
                if user.method == domain::authenticated::AuthMethod::PasswordAndRecoveryCode
                    && session
                        .get_value(crate::auth::SESSION_RETURN_KEY)
                        .await
                        .map_err(session_error)?
                        .is_none()
                {
                    session
                        .insert(crate::auth::SESSION_RETURN_KEY, "/security")
                        .await
                        .map_err(session_error)?;
                }
                flash.set(notice);
                sign_in_session(&browser, &user, &client).await
            }
            Ok(StepOutcome::Continue(notice)) => {
                flash.set(notice);
                Ok(())
            }
            Err(e) => {
                if e == SignInError::FlowExpired {
                    browser.flow.end();
                }
                flash.set(Some(e.notice()));
                Ok(())
            }
        }
    }

    fn set_remember_cookie(state: &crate::state::AppState, token: &str) {
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
        let browser = browser().await?;
        browser.flow.cancel(&state.sign_in).await.map_err(|_| AppError::unavailable())?;
        browser.flash.set(None);
        Ok(())
    }

    pub async fn sign_out() -> Result<(), AppError> {
        let state = state();
        let browser = browser().await?;
        if let Some(user) = current_user(&browser.session).await? {
            let client = client().await;
            // The apps this sign-in reached end with it.
            state.oidc.signed_out(&user, &client).await;
            state.sign_in.sign_out(&client, &user).await;
        }
        // A step up in progress ends with the sign-in it would have raised.
        browser.flow.cancel(&state.sign_in).await.map_err(|_| AppError::unavailable())?;
        // A new, empty session: nothing of the old one survives, not even its id.
        browser.session.flush().await.map_err(session_error)?;
        browser.flash.set(Some(Notice::info("sign_in.signed_out")));
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

/// `channel`: `call` for a voice call, anything else (or none) a text; a landline is called.
#[server(endpoint = "sign_in_choose_phone")]
pub async fn choose_phone(phone: usize, channel: Option<String>) -> Result<(), AppError> {
    let s = crate::auth::state();
    let channel = domain::codes::Channel::parse(channel.as_deref().unwrap_or_default());
    server::step(|client, flow| async move {
        s.sign_in.choose_phone(&client, &flow, phone, channel).await
    })
    .await
}

/// "Send a new code" (`channel` none or `text`), "Call me instead" / "Call again" (`call`),
/// "Text me instead" (`text`).
#[server(endpoint = "sign_in_resend")]
pub async fn resend_code(channel: Option<String>) -> Result<(), AppError> {
    let s = crate::auth::state();
    let channel = domain::codes::Channel::parse(channel.as_deref().unwrap_or_default());
    server::step(|client, flow| async move { s.sign_in.resend(&client, &flow, channel).await })
        .await
}

#[server(endpoint = "sign_in_another_way")]
pub async fn use_another_way() -> Result<(), AppError> {
    let s = crate::auth::state();
    server::step(|client, flow| async move {
        s.sign_in.use_another_way(&client, &flow).await.map(|()| None)
    })
    .await
}

#[server(endpoint = "sign_in_choose_app")]
pub async fn choose_app(app: usize) -> Result<(), AppError> {
    let s = crate::auth::state();
    server::step(|client, flow| async move {
        s.sign_in.choose_app(&client, &flow, app).await.map(|()| None)
    })
    .await
}

#[server(endpoint = "sign_in_choose_recovery")]
pub async fn choose_recovery() -> Result<(), AppError> {
    let s = crate::auth::state();
    server::step(|client, flow| async move {
        s.sign_in.choose_recovery(&client, &flow).await.map(|()| None)
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
