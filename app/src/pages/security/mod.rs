//! The security page: 2-step sign-in, phones, authenticator apps, recovery codes, remembered
//! browsers, recent activity. Every action is a form posting to a server function; the outcome
//! travels through the session as a notice, so the page reads the same with JavaScript disabled
//! (redirect back) and hydrated (refetch).

#[cfg(feature = "ssr")]
mod act;
mod api;
mod apps;
mod recovery;

pub use api::*;
pub use apps::AuthenticatorItem;
pub use recovery::{RecoveryItem, percent_encode};
/// The administrators' person page shows apps and recovery codes as this page does.
#[cfg(feature = "ssr")]
pub(crate) use {apps::server as apps_server, recovery::server as recovery_server};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use apps::{AppActions, authenticators_card, enrolment_panel};
use recovery::{RecoveryActions, codes_panel, recovery_card};

use crate::components::form::{
    CARD, Card, Confirm, DANGER, Field, INPUT, LINK, PRIMARY, SECONDARY, Submit, field_aria,
    refusal,
};
use crate::components::islands::RenameFocus;
use crate::components::notice::notice_box;
use crate::components::time::{LocalTime, phone_dates};
use crate::i18n::{t, t_n};

crate::components::actions::page_actions! {
    /// Every action the page can take; any of them finishing reloads the page's data.
    struct Actions {
        add_start: AddPhoneStart,
        add_number: AddPhoneNumber,
        add_verify: AddPhoneVerify,
        resend: SecurityResend,
        change_number: SecurityChangeNumber,
        cancel: SecurityCancel,
        reauth_password: ReauthPassword,
        reauth_code: ReauthCode,
        rename: RenamePhone,
        prefer: PreferPhone,
        remove: RemovePhone,
        remove_confirm: RemovePhoneConfirm,
        two_factor: SetTwoFactor,
        forget: ForgetBrowser,
        verify_start: VerifyPhoneStart,
        verify_code: VerifyPhoneCode,
        sign_out_others: SignOutOthers,
        app_sign_out: SignOutOfApp,
    }
}

#[component]
pub fn SecurityPage() -> impl IntoView {
    let actions = Actions::new();
    let (app_actions, recovery_actions) = (AppActions::create(), RecoveryActions::create());
    let versions =
        move || actions.versions() + app_actions.finished() + recovery_actions.finished();
    let query = use_query_map();
    let older_than = move || query.read().get("older_than").and_then(|v| v.parse::<i64>().ok());
    let data = Resource::new(move || (versions(), older_than()), |(_, older)| load_security(older));
    view! {
        <Title text=t("security.title") />
        <div class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight print:hidden">{t("security.title")}</h1>
            <Transition fallback=|| view! { <p>{t("sign_in.working")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) if v.signed_in => {
                            render(v, actions, app_actions, recovery_actions).into_any()
                        }
                        Ok(_) => view! {
                            <p class=CARD data-testid="security-signed-out">
                                {t("security.sign_in_first")} " "
                                <a href="/sign-in" class=LINK>{t("nav.sign_in")}</a>
                            </p>
                        }
                        .into_any(),
                        Err(e) => refusal(e),
                    }
                })}
            </Transition>
        </div>
    }
}

fn render(v: SecurityView, a: Actions, aa: AppActions, ra: RecoveryActions) -> AnyView {
    // A new set of recovery codes has the page to itself until the person has saved it (and a
    // printout holds nothing else).
    if let Some(codes) = v.recovery_codes.clone() {
        return view! {
            <div class="print:hidden">{notice_box(v.notice.clone())}</div>
            {codes_panel(codes, ra)}
        }
        .into_any();
    }
    let invalid = v.notice.as_ref().is_some_and(|n| n.error);
    let flow = v.flow.clone().map(|f| flow_panel(f, &v, a));
    let enrolment = v.enrolling.clone().map(|e| enrolment_panel(e, invalid, aa));
    let removal = v.removal.clone().map(|r| {
        if r.app {
            apps::removal_panel(r.key, r.label, r.turns_off_two_factor, aa)
        } else {
            removal_panel(r, a).into_any()
        }
    });
    let authenticators =
        v.authenticators.clone().map(|list| authenticators_card(list, v.enrolling.is_some(), aa));
    view! {
        {notice_box(v.notice.clone())}
        {flow}
        {enrolment}
        {removal}
        {two_factor_card(&v, a)}
        {phones_card(&v, a)}
        {authenticators}
        {v.recovery.map(|r| recovery_card(r, ra))}
        {browsers_card(&v, a)}
        {sessions_card(a)}
        {apps_card(&v, a)}
        {activity_card(&v)}
        // Moves the focus into a "Rename" field opened and back (phones and apps).
        <RenameFocus />
    }
    .into_any()
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
        FlowStep::Code { phone, adding, verifying, resend_in, reach } => {
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
                <Field id="security-code" label=if reach.called { t("sign_in.code.label_call") } else { t("sign_in.code.label") }>
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
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-300" data-channel=reach.same()>
                    {if reach.called { t("sign_in.code.intro_call") } else { t("sign_in.code.intro") }}
                    " " <span class="font-mono">{phone}</span>"."
                </p>
                {form}
                <div class="mt-3 flex flex-wrap gap-2">
                    {resend_forms(a, reach, Some(resend_in))}
                    {adding.then(|| view! {
                        <ActionForm action=a.change_number>
                            <Submit pending=a.change_number.pending() class=SECONDARY>{t("enrol.change_number")}</Submit>
                        </ActionForm>
                    })}
                </div>
            }
            .into_any()
        }
        FlowStep::AppCode { app } => view! {
            <h2 class="text-lg font-semibold">{t("security.reauth.title")}</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{t("sign_in.app.intro").replace("{app}", &app)}</p>
            <ActionForm action=a.reauth_code attr:class="mt-4 flex flex-wrap items-end gap-3" attr:data-step="reauth-app-code">
                <Field id="security-code" label=t("sign_in.app.label")>
                    <input id="security-code" name="code" type="text" required autocomplete="one-time-code"
                        inputmode="numeric" pattern="[0-9 ]*" maxlength="8"
                        autofocus=true aria-invalid=aria_invalid aria-describedby=described.clone()
                        class=format!("{INPUT} font-mono tracking-widest") />
                </Field>
                <Submit pending=a.reauth_code.pending() class=PRIMARY>{t("sign_in.code.submit")}</Submit>
            </ActionForm>
        }
        .into_any(),
        FlowStep::SendFailed { phone, adding, reach } => view! {
            <h2 class="text-lg font-semibold">
                {if reach.called { t("sign_in.send_failed.title_call") } else { t("sign_in.send_failed.title") }}
            </h2>
            <p class="mt-1 text-sm font-mono" data-step="security-send-failed">{phone}</p>
            <div class="mt-3 flex flex-wrap gap-2">
                {resend_forms(a, reach, None)}
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

/// The code step's sends, plain forms (the server answers with the wait when it is too
/// early): the same way again ("Send a new code", "Call again"; "Try again" after a failure,
/// `resend_in` `None`) and the other way the phone offers ("Call me instead" when calls can be
/// placed, "Text me instead" when the phone takes texts).
fn resend_forms(
    a: Actions,
    reach: crate::pages::sign_in::Reach,
    resend_in: Option<i64>,
) -> impl IntoView {
    let same = reach.same();
    let (label, testid) = match (resend_in, reach.called) {
        (None, _) => (t("sign_in.send_failed.retry"), "resend"),
        (Some(_), true) => (t("sign_in.code.call_again"), "call-again"),
        (Some(_), false) => (t("sign_in.code.resend"), "resend"),
    };
    let wait = resend_in.unwrap_or(0).to_string();
    let other_wait = wait.clone();
    let other = reach.other_button().map(move |(channel, label, testid)| {
        let label = t(label);
        view! {
            <ActionForm action=a.resend>
                <input type="hidden" name="channel" value=channel />
                <Submit pending=a.resend.pending() class=SECONDARY attr:data-testid=testid attr:data-resend-in=other_wait>{label}</Submit>
            </ActionForm>
        }
    });
    view! {
        <ActionForm action=a.resend>
            <input type="hidden" name="channel" value=same />
            <Submit pending=a.resend.pending() class=SECONDARY attr:data-testid=testid attr:data-resend-in=wait>{label}</Submit>
        </ActionForm>
        {other}
    }
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
    // Unverified numbers are not phones for signing in; recovery codes are no second factor.
    let apps = v.authenticators.as_ref().map_or(0, Vec::len);
    let factors = v.phones.iter().filter(|p| p.usable).count() + apps;
    let can_turn_on = factors as u32 >= v.min_credentials;
    let needs = match (v.authenticators.is_some(), v.min_credentials) {
        (true, n) => t_n("security.two_factor.needs_factors", n),
        (false, ..=1) => t("security.two_factor.needs_phone").to_owned(),
        (false, n) => t_n("security.two_factor.needs_phones", n),
    };
    let (required, min) = (v.policy_required, v.min_credentials);
    view! {
        <Card labelled_by="two-factor-title">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <div>
                    <h2 id="two-factor-title" class="text-lg font-semibold">{t("security.two_factor.title")}</h2>
                    <p class="text-sm text-slate-600 dark:text-slate-300" data-two-factor=if on { "on" } else { "off" }>
                        {match (on, apps > 0) {
                            (true, true) => t("security.two_factor.on_with_apps"),
                            (true, false) => t("security.two_factor.on"),
                            (false, _) => t("security.two_factor.off"),
                        }}
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
                    (false, _) => view! {
                        <p class="text-sm text-slate-600 dark:text-slate-400" data-needs=min.to_string()>{needs}</p>
                    }
                    .into_any(),
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
                    {p.voice_only.then(|| view! {
                        <span class="ml-2 rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-700 dark:bg-slate-800 dark:text-slate-200" data-testid="landline">{t("security.landline")}</span>
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
            {rename_disclosure(p.label.clone(), view! {
                <ActionForm action=a.rename attr:class="mt-2 flex flex-wrap items-end gap-2">
                    <input type="hidden" name="key" value=key />
                    <label class="text-sm" for=rename_id.clone()>{t("security.rename.label")}</label>
                    <input id=rename_id name="nickname" type="text" maxlength="40"
                        value=if p.named { p.label.clone() } else { String::new() }
                        class=format!("{INPUT} max-w-xs py-1 text-sm") />
                    <Submit pending=a.rename.pending() class=SECONDARY>{t("security.rename.button")}</Submit>
                    {rename_cancel()}
                </ActionForm>
            })}
        </li>
    }
}

/// "Rename" for one phone or app: its name field opens in place, for it only, under a
/// `<details>` (no JavaScript needed); awake, the page's [`RenameFocus`] island moves the focus
/// into the field and back. `form` holds the field and ends with [`rename_cancel`].
pub(super) fn rename_disclosure(name: String, form: impl IntoView) -> impl IntoView {
    view! {
        <details class="mt-2" data-rename>
            <summary class=format!("{SECONDARY} cursor-pointer list-none [&::-webkit-details-marker]:hidden")
                data-action="rename" aria-label=format!("{} {name}", t("security.rename.open"))>
                {t("security.rename.open")}
            </summary>
            {form}
        </details>
    }
}

/// Closes a [`rename_disclosure`]: shown only once the island can act on it.
pub(super) fn rename_cancel() -> impl IntoView {
    view! { <button type="button" hidden data-rename-cancel class=SECONDARY>{t("security.cancel")}</button> }
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

/// "Signed in since … · last used …" under an app, on the security and admin pages.
pub(crate) fn app_dates(since: i64, last_used: i64) -> impl IntoView {
    view! {
        {t("apps.since")} " " <LocalTime unix_ms=since * 1000 />
        " · " {t("security.last_used")} " " <LocalTime unix_ms=last_used * 1000 />
    }
}

/// "Apps you are signed in to", each with "Sign out of this app"; no card when no app is
/// configured.
fn apps_card(v: &SecurityView, a: Actions) -> Option<AnyView> {
    let apps = v.apps.clone()?;
    Some(
        view! {
            <Card labelled_by="apps-title">
                <h2 id="apps-title" class="text-lg font-semibold">{t("security.apps.title")}</h2>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{t("security.apps.text")}</p>
                {if apps.is_empty() {
                    view! { <p class="mt-3 text-sm text-slate-600 dark:text-slate-300" data-testid="apps-none">{t("security.apps.none")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-3 divide-y divide-slate-200 dark:divide-slate-800" data-testid="apps">
                            {apps.into_iter().map(|app| {
                                let client_id = app.client_id.clone();
                                let name = app.name.clone();
                                view! {
                                    <li class="flex flex-wrap items-center justify-between gap-2 py-3" data-app=app.client_id>
                                        <div>
                                            <span class="font-medium">{app.name.clone()}</span>
                                            " " <span class="rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-700 dark:bg-slate-800 dark:text-slate-200" data-testid="app-level">{app.level.clone()}</span>
                                            <p class="text-xs text-slate-500 dark:text-slate-400">{app_dates(app.since, app.last_used)}</p>
                                        </div>
                                        <ActionForm action=a.app_sign_out>
                                            <input type="hidden" name="client_id" value=client_id />
                                            <Submit pending=a.app_sign_out.pending() class=DANGER attr:data-action="sign-out-of-app">
                                                {t("security.apps.sign_out")}
                                                // Which app, for a screen reader going from button to button.
                                                <span class="sr-only">" (" {name} ")"</span>
                                            </Submit>
                                        </ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
            </Card>
        }
        .into_any(),
    )
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
