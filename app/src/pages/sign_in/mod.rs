//! The sign-in page: password, then (when 2-step sign-in applies) the person's preferred way
//! (a texted code, an authenticator app's code) with "use another way" (every phone, app and
//! recovery codes), or adding a phone. One page shows whichever step the session's flow is at, so every step works as a plain
//! form post (the post redirects back here) and hydrated (the page reloads its data after each
//! action). Outcomes travel through the session as a notice, the same way for both.

mod api;

#[cfg(feature = "ssr")]
pub(crate) use api::notice_view;
pub use api::*;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::components::form::{
    Field, INPUT, LINK, PAGE_CARD, PRIMARY, SECONDARY, Submit, field_aria,
};
use crate::i18n::{Words, t, t_n};

crate::components::actions::page_actions! {
    /// Every action the page can take; any of them finishing reloads the page's data.
    struct Actions {
        password: SubmitPassword,
        choose: ChoosePhone,
        choose_app: ChooseApp,
        choose_recovery: ChooseRecovery,
        resend: ResendCode,
        another: UseAnotherWay,
        code: SubmitCode,
        enrol: SubmitEnrolNumber,
        change_number: ChangeNumber,
        cancel: CancelSignIn,
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let actions = Actions::new();
    let view_data = Resource::new(move || actions.versions(), |_| load_sign_in());

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
    view! {
        <div id="notice" tabindex="-1" role=role class=format!("mb-4 {class}") data-notice=id>{text}</div>
        <crate::components::islands::FocusAfterAnswer />
    }
}

fn render_step(v: SignInView, actions: Actions) -> impl IntoView {
    let notice = v.notice.clone().map(|n| view! { <Alert text=n.text error=n.error id=n.id /> });
    // An error is about the step's first field: marked invalid, described by the notice, focused.
    let invalid = v.notice.as_ref().is_some_and(|n| n.error);
    let body = match v.step {
        Step::Password => password_form(actions, invalid, v.login.clone()).into_any(),
        Step::ChooseMethod { phones, voice_only, calls, apps, recovery } => {
            let phones = phone_ways(phones, &voice_only, calls);
            choose_method_view(phones, apps, recovery, actions).into_any()
        }
        Step::Code { phone, enrolling, other_ways, resend_in, reach } => {
            let lengths = (v.code_length, v.remember_days);
            code_form(lengths, phone, (enrolling, other_ways, invalid), (resend_in, reach), actions)
                .into_any()
        }
        Step::SendFailed { phone, enrolling, other_ways, reach } => {
            send_failed_view(phone, enrolling, other_ways, reach, actions).into_any()
        }
        Step::AppCode { app, other_ways } => {
            typed_code_form(TypedCode::App(app), other_ways, (invalid, v.remember_days), actions)
                .into_any()
        }
        Step::RecoveryCode { other_ways } => {
            typed_code_form(TypedCode::Recovery, other_ways, (invalid, v.remember_days), actions)
                .into_any()
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

/// [`SECONDARY`], full width, the arrow at the end.
const WAY_BUTTON: &str = "flex w-full items-center justify-between rounded-lg px-3 py-2 text-sm font-medium text-accent-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-accent-600 disabled:opacity-60 dark:text-accent-300 dark:ring-slate-700 dark:hover:bg-slate-800";

/// One way to reach a phone on the chooser: (index of the phone, masked number, a call, a
/// landline).
type PhoneWay = (usize, String, bool, bool);

/// A text to each phone that takes texts and, when calls can be placed, a call to it too; a
/// call only to a landline.
fn phone_ways(phones: Vec<String>, voice_only: &[bool], calls: bool) -> Vec<PhoneWay> {
    let mut ways = Vec::new();
    for (i, phone) in phones.into_iter().enumerate() {
        let landline = voice_only.get(i).copied().unwrap_or(false);
        if !landline {
            ways.push((i, phone.clone(), false, false));
        }
        if landline || calls {
            ways.push((i, phone, true, landline));
        }
    }
    ways
}

/// "Use another way": every way the person has, preferred first: a text or a call to each
/// phone (a landline says so: it gets calls only), each app by name, a recovery code.
fn choose_method_view(
    phones: Vec<PhoneWay>,
    apps: Vec<String>,
    recovery: bool,
    actions: Actions,
) -> impl IntoView {
    let phone_items = phones.into_iter().map({
        move |(i, phone, call, landline)| {
            let (way, channel, verb) = if call {
                ("call", "call", t("sign_in.choose.call"))
            } else {
                ("phone", "text", t("sign_in.choose.send"))
            };
            let landline_note = landline.then(|| {
                view! {
                    " " <span class="text-xs font-normal text-slate-500 dark:text-slate-400" data-landline="">
                        "(" {t("sign_in.choose.landline")} ")"
                    </span>
                }
            });
            view! {
                <li>
                    <ActionForm action=actions.choose>
                        <input type="hidden" name="phone" value=i.to_string() />
                        <input type="hidden" name="channel" value=channel />
                        <button type="submit" class=WAY_BUTTON data-way=way
                            data-testid=format!("choose-{channel}-{i}")
                            disabled=move || actions.choose.pending().get()>
                            <span>{verb} " " <span class="font-mono">{phone}</span>{landline_note}</span>
                            <span aria-hidden="true">"→"</span>
                        </button>
                    </ActionForm>
                </li>
            }
        }
    });
    let app_items = apps.into_iter().enumerate().map({
        move |(i, app)| {
            view! {
                <li>
                    <ActionForm action=actions.choose_app>
                        <input type="hidden" name="app" value=i.to_string() />
                        <button type="submit" class=WAY_BUTTON data-way="app"
                            disabled=move || actions.choose_app.pending().get()>
                            <span>{t("sign_in.choose.app")} " " <span class="font-medium">{app}</span></span>
                            <span aria-hidden="true">"→"</span>
                        </button>
                    </ActionForm>
                </li>
            }
        }
    });
    let recovery_item = recovery.then(|| {
        view! {
            <li>
                <ActionForm action=actions.choose_recovery>
                    <button type="submit" class=WAY_BUTTON data-way="recovery"
                        disabled=move || actions.choose_recovery.pending().get()>
                        <span>{t("sign_in.choose.recovery")}</span>
                        <span aria-hidden="true">"→"</span>
                    </button>
                </ActionForm>
            </li>
        }
    });
    view! {
        {step_heading(t("sign_in.choose.title"))}
        <p class="mt-1 mb-6 text-sm text-slate-600 dark:text-slate-300">{t("sign_in.choose.intro")}</p>
        <ul class="space-y-2" data-step="choose-method">
            {phone_items.collect_view()}
            {app_items.collect_view()}
            {recovery_item}
        </ul>
        {cancel_form(actions)}
    }
}

/// A code the person types from something they hold: an authenticator app, or a recovery code.
enum TypedCode {
    App(String),
    Recovery,
}

fn typed_code_form(
    kind: TypedCode,
    other_ways: bool,
    (invalid, remember_days): (bool, u32),
    actions: Actions,
) -> impl IntoView {
    let (aria_invalid, described) = field_aria(invalid, None);
    let (title, intro, step, label) = match &kind {
        TypedCode::App(app) => (
            t("sign_in.app.title"),
            t("sign_in.app.intro").replace("{app}", app),
            "app-code",
            t("sign_in.app.label"),
        ),
        TypedCode::Recovery => (
            t("sign_in.recovery.title"),
            t("sign_in.recovery.intro").to_owned(),
            "recovery-code",
            t("sign_in.recovery.label"),
        ),
    };
    let is_app = matches!(kind, TypedCode::App(_));
    view! {
        {step_heading(title)}
        <p class="mt-1 mb-6 text-sm text-slate-600 dark:text-slate-300">{intro}</p>
        <ActionForm action=actions.code attr:class="space-y-4" attr:data-step=step>
            <Field id="code" label=label>
                {if is_app {
                    view! {
                        <input id="code" name="code" type="text" required autofocus
                            autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 \\-]*"
                            maxlength="10" aria-invalid=aria_invalid aria-describedby=described.clone()
                            class=format!("{INPUT} font-mono text-lg tracking-widest") />
                    }
                    .into_any()
                } else {
                    view! {
                        <input id="code" name="code" type="text" required autofocus
                            autocomplete="one-time-code" autocapitalize="characters" spellcheck="false"
                            maxlength="40" aria-invalid=aria_invalid aria-describedby=described.clone()
                            class=format!("{INPUT} font-mono text-lg tracking-widest uppercase") />
                    }
                    .into_any()
                }}
            </Field>
            {remember_box(remember_days)}
            <Submit pending=actions.code.pending() class=format!("{PRIMARY} w-full")>{t("sign_in.code.submit")}</Submit>
        </ActionForm>
        <div class="mt-4 flex flex-wrap gap-2">{another_way_button(other_ways, actions)}</div>
        {cancel_form(actions)}
    }
}

fn remember_box(remember_days: u32) -> impl IntoView {
    view! {
        <div class="flex items-start gap-2">
            <input id="remember" name="remember" type="checkbox" value="on"
                class="mt-1 h-4 w-4 rounded border-slate-300 text-accent-600 focus:ring-accent-600" />
            <div>
                <label for="remember" class="text-sm font-medium">{t_n("sign_in.code.remember", remember_days)}</label>
                <p class="text-xs text-slate-500 dark:text-slate-400">{t("sign_in.code.remember_hint")}</p>
            </div>
        </div>
    }
}

fn another_way_button(other_ways: bool, actions: Actions) -> Option<impl IntoView> {
    other_ways.then(|| {
        view! {
            <ActionForm action=actions.another>
                <Submit pending=actions.another.pending() class=SECONDARY>{t("sign_in.code.other_way")}</Submit>
            </ActionForm>
        }
    })
}

fn code_form(
    (code_length, remember_days): (u8, u32),
    phone: String,
    (enrolling, other_ways, invalid): (bool, bool, bool),
    (resend_in, reach): (i64, Reach),
    actions: Actions,
) -> impl IntoView {
    let (aria_invalid, described) = field_aria(invalid, None);
    let title = if enrolling { t("enrol.title") } else { t("sign_in.code.title") };
    let (intro, label) = if reach.called {
        (t("sign_in.code.intro_call"), t("sign_in.code.label_call"))
    } else {
        (t("sign_in.code.intro"), t("sign_in.code.label"))
    };
    view! {
        {step_heading(title)}
        <p class="mt-1 mb-6 text-sm text-slate-600 dark:text-slate-300" data-channel=reach.same()>
            {intro} " " <span class="font-mono font-medium" data-testid="code-phone">{phone}</span>"."
        </p>
        <ActionForm action=actions.code attr:class="space-y-4" attr:data-step="code">
            <Field id="code" label=label>
                <input id="code" name="code" type="text" required autofocus
                    autocomplete="one-time-code" inputmode="numeric"
                    pattern="[0-9 \\-]*" maxlength=(usize::from(code_length) + 4).to_string()
                    aria-invalid=aria_invalid aria-describedby=described
                    class=format!("{INPUT} font-mono text-lg tracking-widest") />
            </Field>
            <Show when=move || !enrolling>{remember_box(remember_days)}</Show>
            <Submit pending=actions.code.pending() class=format!("{PRIMARY} w-full")>{t("sign_in.code.submit")}</Submit>
        </ActionForm>
        <div class="mt-4 flex flex-wrap gap-2">
            {resend_buttons(reach, resend_in, actions)}
            {switch_phone_buttons(enrolling, other_ways, actions)}
        </div>
        {cancel_form(actions)}
    }
}

/// "Send a new code" and, when calls can be placed, "Call me instead" after a text; "Call
/// again" and, when the phone takes texts, "Text me instead" after a call. Each waits for the
/// same cooldown (the flow's, per number): plain forms, the server answering with the wait
/// when it is too early.
fn resend_buttons(reach: Reach, resend_in: i64, actions: Actions) -> impl IntoView {
    let button = move |channel: &'static str, same: bool| {
        let (label, label_in, testid) = match (channel, same) {
            ("call", true) => {
                ("sign_in.code.call_again", "sign_in.code.call_again_in", "call-again")
            }
            ("call", false) => {
                ("sign_in.code.call_instead", "sign_in.code.call_instead_in", "call-instead")
            }
            (_, true) => ("sign_in.code.resend", "sign_in.code.resend_in", "resend"),
            (_, false) => {
                ("sign_in.code.text_instead", "sign_in.code.text_instead_in", "text-instead")
            }
        };
        view! {
            <ActionForm action=actions.resend>
                <input type="hidden" name="channel" value=channel />
                <ResendButton resend_in words=Words::of(&[label, label_in])
                    label=label.to_owned() label_in=label_in.to_owned() testid=testid.to_owned() />
            </ActionForm>
        }
    };
    view! {
        {button(reach.same(), true)}
        {reach.other().map(|other| button(other, false))}
    }
}

/// "Use a different number" while enrolling, "Use another way" with several ways.
fn switch_phone_buttons(enrolling: bool, other_ways: bool, actions: Actions) -> Option<AnyView> {
    if enrolling {
        Some(
            view! {
                <ActionForm action=actions.change_number>
                    <Submit pending=actions.change_number.pending() class=SECONDARY>{t("enrol.change_number")}</Submit>
                </ActionForm>
            }
            .into_any(),
        )
    } else {
        another_way_button(other_ways, actions).map(IntoAny::into_any)
    }
}

fn send_failed_view(
    phone: String,
    enrolling: bool,
    other_ways: bool,
    reach: Reach,
    actions: Actions,
) -> impl IntoView {
    let title = if reach.called {
        t("sign_in.send_failed.title_call")
    } else {
        t("sign_in.send_failed.title")
    };
    // The other way (a call after a failed text, a text after a failed call) is worth a try.
    let other = reach.other_button().map(|(channel, label, testid)| {
        let label = t(label);
        view! {
            <ActionForm action=actions.resend>
                <input type="hidden" name="channel" value=channel />
                <Submit pending=actions.resend.pending() class=SECONDARY attr:data-testid=testid>{label}</Submit>
            </ActionForm>
        }
    });
    view! {
        {step_heading(title)}
        <p class="mt-1 mb-6 text-sm text-slate-600 dark:text-slate-300" data-step="send-failed">
            <span class="font-mono font-medium">{phone}</span>
        </p>
        <div class="flex flex-wrap gap-2">
            <ActionForm action=actions.resend>
                <input type="hidden" name="channel" value=reach.same() />
                <Submit pending=actions.resend.pending() class=SECONDARY>{t("sign_in.send_failed.retry")}</Submit>
            </ActionForm>
            {other}
            {switch_phone_buttons(enrolling, other_ways, actions)}
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

/// "Send a new code" (or "Call me instead", …: `label`, `label_in` with `{n}` seconds, both
/// in `words`), counting down the seconds until the server would send one. Without
/// JavaScript the button stays usable and the server answers with the wait if it is too early.
#[island]
fn ResendButton(
    resend_in: i64,
    words: Words,
    label: String,
    label_in: String,
    testid: String,
) -> impl IntoView {
    let (remaining, set_remaining) = signal(resend_in);
    let (awake, set_awake) = signal(false);
    Effect::new(move |_| {
        crate::components::islands::mark_hydrated();
        set_awake.set(true);
        if let Ok(handle) = set_interval_with_handle(
            move || set_remaining.update(|r| *r = (*r - 1).max(0)),
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let waiting = move || awake.get() && remaining.get() > 0;
    let text = move || {
        let r = remaining.get();
        if r > 0 { words.get_n(&label_in, r) } else { words.get(&label) }
    };
    view! {
        <button type="submit" class=SECONDARY data-testid=testid
            disabled=waiting>
            <span aria-live="polite">{text}</span>
        </button>
    }
}
