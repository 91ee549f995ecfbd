//! Administrator pages: people search, one person, the audit trail. Every server function here
//! asks the directory whether the caller is an administrator, every time; the navigation link
//! is only a convenience.

mod api;
#[cfg(feature = "ssr")]
pub mod export;

pub use api::*;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::form::{Card, DANGER, Field, INPUT, LINK, PRIMARY, Submit, refusal};
use crate::components::notice::notice_box;
use crate::components::time::{LocalTime, phone_dates};
use crate::i18n::{t, t_n};
use crate::pages::security::{
    AuthenticatorItem, RecoveryItem, app_dates, percent_encode as urlencode,
};

fn on_off(on: bool) -> &'static str {
    if on { t("admin.on") } else { t("admin.off") }
}

fn admin_nav() -> impl IntoView {
    view! {
        <nav aria-label=t("admin.title") class="flex gap-4 text-sm">
            <a href="/admin" class=LINK>{t("admin.people.title")}</a>
            <a href="/admin/audit" class=LINK>{t("admin.audit.title")}</a>
        </nav>
    }
}

#[component]
pub fn AdminPeoplePage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let page = move || query.read().get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(0);
    let data = Resource::new(move || (q(), page()), |(q, page)| load_people(q, page));
    view! {
        <Title text=t("admin.title") />
        <div class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{t("admin.people.title")}</h1>
            {admin_nav()}
            <Form method="GET" action="" attr:class="flex flex-wrap items-end gap-3" attr:role="search">
                <Field id="q" label=t("admin.search_label") class="grow">
                    <input id="q" name="q" type="search" minlength="2" maxlength="64" class=INPUT prop:value=q />
                </Field>
                <button type="submit" class=PRIMARY>{t("admin.search")}</button>
            </Form>
            <Transition fallback=|| view! { <p>{t("sign_in.working")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => people_table(v, q()).into_any(),
                        Err(e) => refusal(e),
                    }
                })}
            </Transition>
        </div>
    }
}

fn people_table(v: PeopleView, q: String) -> impl IntoView {
    let searched = !q.trim().is_empty();
    let page = v.page;
    let link = move |p: usize| format!("/admin?q={}&page={p}", urlencode(&q));
    view! {
        {notice_box(v.notice)}
        {(searched && v.rows.is_empty()).then(|| view! { <p>{t("admin.people.empty")}</p> })}
        {(!v.rows.is_empty()).then(|| view! {
            // A narrow screen scrolls the table, not the page; focusable so keys scroll it too.
            <div class="overflow-x-auto" tabindex="0" role="region" aria-label=t("admin.people.title")>
            <table class="w-full text-left text-sm" data-testid="people">
                <thead>
                    <tr class="border-b border-slate-200 dark:border-slate-800">
                        <th scope="col" class="py-2">{t("admin.uid")}</th>
                        <th scope="col">{t("admin.name")}</th>
                        <th scope="col" class="hidden sm:table-cell">{t("admin.mail")}</th>
                        <th scope="col">{t("admin.two_factor")}</th>
                        <th scope="col">{t("admin.people.phones")}</th>
                        <th scope="col">{t("admin.people.apps")}</th>
                        <th scope="col">{t("admin.people.recovery_codes")}</th>
                    </tr>
                </thead>
                <tbody>
                    {v.rows.into_iter().map(|r| view! {
                        <tr class="border-b border-slate-100 dark:border-slate-800" data-login=r.login.clone()>
                            <td class="py-2"><a href=format!("/admin/person/{}", urlencode(&r.id)) class=LINK>{r.login.clone()}</a></td>
                            <td>{r.name}</td>
                            <td class="hidden sm:table-cell">{r.mail}</td>
                            <td>{on_off(r.two_factor_on)}</td>
                            <td data-phones=r.phones.to_string()>{r.phones}</td>
                            <td data-apps=r.apps.to_string()>{r.apps}</td>
                            <td data-recovery-codes=r.recovery_codes.to_string()>{r.recovery_codes}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        })}
        <div class="flex gap-4 text-sm">
            {(page > 0).then(|| view! { <a href=link(page - 1) class=LINK>{t("admin.previous")}</a> })}
            {v.has_more.then(|| view! { <a href=link(page + 1) class=LINK rel="next">{t("admin.next")}</a> })}
        </div>
        {configured_apps(v.apps)}
    }
}

/// The apps configured to sign people in through Latchkey (`[[oidc.clients]]`, and
/// `[[forward_auth.apps]]` behind a proxy), never a secret.
fn configured_apps(apps: Vec<ConfiguredAppView>) -> impl IntoView {
    let row = |label: &'static str, value: AnyView| {
        view! {
            <div class="sm:flex sm:gap-2">
                <dt class="font-medium text-slate-700 dark:text-slate-300">{label}</dt>
                <dd class="break-all">{value}</dd>
            </div>
        }
    };
    let yes_no = |yes: bool| if yes { t("admin.apps.yes") } else { t("admin.apps.no") }.into_any();
    let list = |items: Vec<String>| {
        view! { <span class="font-mono text-xs">{items.join(" ")}</span> }.into_any()
    };
    view! {
        <Card labelled_by="configured-apps">
            <h2 id="configured-apps" class="text-lg font-semibold">{t("admin.apps.title")}</h2>
            {apps.is_empty().then(|| view! { <p class="mt-2 text-sm">{t("admin.apps.none")}</p> })}
            <ul class="mt-2 divide-y divide-slate-200 text-sm dark:divide-slate-800" data-testid="configured-apps">
                {apps.into_iter().map(|c| {
                    let kind = if c.proxied {
                        t("admin.apps.proxied")
                    } else if c.confidential {
                        t("admin.apps.confidential")
                    } else {
                        t("admin.apps.public")
                    };
                    let default_acr = match c.default_acr {
                        Some((level, acr)) => view! {
                            {level} " " <span class="font-mono text-xs">"(" {acr} ")"</span>
                        }
                        .into_any(),
                        None => t("admin.apps.server_default").into_any(),
                    };
                    let groups = if c.allowed_groups.is_empty() {
                        t("admin.apps.everyone").into_any()
                    } else {
                        list(c.allowed_groups)
                    };
                    view! {
                        <li class="py-3" data-client=c.id.clone()>
                            <p>
                                <span class="font-medium">{c.name}</span> " "
                                <span class="font-mono text-xs text-slate-600 dark:text-slate-400">{c.id.clone()}</span>
                                " · " {kind}
                            </p>
                            <dl class="mt-1 space-y-1">
                                {if c.proxied {
                                    let max_age = match c.max_age_secs {
                                        Some(secs) => t_n("admin.apps.max_age_minutes", (secs + 59) / 60).into_any(),
                                        None => t("admin.apps.max_age_none").into_any(),
                                    };
                                    view! {
                                        {row(t("admin.apps.address"), list(c.redirect_uris))}
                                        {row(t("admin.apps.level"), default_acr)}
                                        {row(t("admin.apps.allowed_groups"), groups)}
                                        {row(t("admin.apps.max_age"), max_age)}
                                        {row(t("admin.apps.remembered_counts"), yes_no(c.remembered_satisfies_code))}
                                    }
                                    .into_any()
                                } else {
                                    view! {
                                        {row(t("admin.apps.redirect_uris"), list(c.redirect_uris))}
                                        {row(t("admin.apps.default_acr"), default_acr)}
                                        {row(t("admin.apps.allowed_groups"), groups)}
                                        {row(t("admin.apps.refresh_tokens"), yes_no(c.refresh_tokens))}
                                        {row(t("admin.apps.remembered_counts"), yes_no(c.remembered_satisfies_code))}
                                    }
                                    .into_any()
                                }}
                            </dl>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Card>
    }
}

crate::components::actions::page_actions! {
    /// Every action of a person's page; any of them finishing reloads the person.
    struct PersonActions {
        remove: AdminRemovePhone,
        remove_app: AdminRemoveApp,
        void_codes: AdminVoidRecoveryCodes,
        reset: AdminReset,
        unlock: AdminUnlock,
    }
}

#[component]
pub fn AdminPersonPage() -> impl IntoView {
    let params = use_params_map();
    let actions = PersonActions::new();
    let id = move || params.read().get("id").unwrap_or_default();
    let data = Resource::new(move || (id(), actions.versions()), |(id, _)| load_person(id));
    view! {
        <Title text=t("admin.title") />
        <div class="space-y-6">
            {admin_nav()}
            <Transition fallback=|| view! { <p>{t("sign_in.working")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => person_view(v, actions).into_any(),
                        Err(e) => refusal(e),
                    }
                })}
            </Transition>
        </div>
    }
}

fn reason_fields(prefix: &str) -> AnyView {
    let reason_id = format!("{prefix}-reason");
    let confirm_id = format!("{prefix}-confirm");
    view! {
        <Field id=reason_id.clone() label=t("admin.reason") class="grow">
            <input id=reason_id name="reason" type="text" required maxlength="500" class=INPUT />
        </Field>
        <div class="flex items-center gap-2">
            <input id=confirm_id.clone() name="confirm" type="checkbox" value="yes" required class="h-4 w-4" />
            <label for=confirm_id class="text-sm">{t("admin.confirm")}</label>
        </div>
    }
    .into_any()
}

fn person_view(v: PersonView, actions: PersonActions) -> impl IntoView {
    let PersonActions { remove, reset, unlock, .. } = actions;
    let id = v.id.clone();
    let unlock_id = v.id.clone();
    view! {
        <h1 class="text-2xl font-semibold tracking-tight">{v.name.clone()} " (" {v.login.clone()} ")"</h1>
        {notice_box(v.notice.clone())}
        <Card>
            <p>{t("admin.mail")} ": " {v.mail.clone()}</p>
            <p data-two-factor=if v.two_factor_on { "on" } else { "off" }>
                {t("admin.two_factor")} ": " {on_off(v.two_factor_on)}
            </p>
            <p data-second-step=v.second_step.attr()>
                {t("admin.second_step")} ": " {t(v.second_step.message_id())}
            </p>
            {(v.second_step != SecondStepView::Open).then(move || view! {
                <p class="mt-3 text-sm text-slate-600 dark:text-slate-300">{t("admin.unlock_intro")}</p>
                <ActionForm action=unlock attr:class="mt-3 flex flex-wrap items-end gap-3">
                    <input type="hidden" name="id" value=unlock_id />
                    {reason_fields("unlock")}
                    <Submit pending=unlock.pending() class=PRIMARY>{t("admin.unlock")}</Submit>
                </ActionForm>
            })}
        </Card>
        <Card labelled_by="admin-phones">
            <h2 id="admin-phones" class="text-lg font-semibold">{t("security.phones.title")}</h2>
            <ul class="mt-3 divide-y divide-slate-200 dark:divide-slate-800" data-testid="admin-phones">
                {v.phones.into_iter().map(|p| {
                    let prefix = format!("remove-{}", p.key);
                    let id = id.clone();
                    view! {
                        <li class="py-3" data-number=p.number.clone() data-verified=if p.verified { "yes" } else { "no" }>
                            <p>
                                <span class="font-medium">{p.nickname.clone()}</span> " " <span class="font-mono">{p.number.clone()}</span> " "
                                {if p.verified {
                                    view! { <span class="text-xs text-slate-600 dark:text-slate-300">{t("security.verified")}</span> }.into_any()
                                } else {
                                    view! { <span class="rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 dark:bg-amber-950 dark:text-amber-200">{t("security.not_verified")}</span> }.into_any()
                                }}
                            </p>
                            <p class="text-xs text-slate-500 dark:text-slate-400">
                                {phone_dates(p.added_at, p.last_used_at)}
                            </p>
                            <ActionForm action=remove attr:class="mt-2 flex flex-wrap items-end gap-3">
                                <input type="hidden" name="id" value=id />
                                <input type="hidden" name="key" value=p.key.clone() />
                                {reason_fields(&prefix)}
                                <Submit pending=remove.pending() class=DANGER>{t("admin.remove_phone")}</Submit>
                            </ActionForm>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Card>
        {authenticators_card(v.id.clone(), v.authenticators, actions)}
        {recovery_card(v.id.clone(), v.recovery, actions)}
        <Card labelled_by="admin-reset">
            <h2 id="admin-reset" class="text-lg font-semibold">{t("admin.reset")}</h2>
            <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{t("admin.reset_intro")}</p>
            <ActionForm action=reset attr:class="mt-3 flex flex-wrap items-end gap-3">
                <input type="hidden" name="id" value=v.id.clone() />
                {reason_fields("reset")}
                <Submit pending=reset.pending() class=DANGER>{t("admin.reset")}</Submit>
            </ActionForm>
        </Card>
        <Card>
            <h2 class="text-lg font-semibold">{t("admin.browsers")}</h2>
            {v.browsers.is_empty().then(|| view! { <p class="mt-2 text-sm">{t("security.browsers.none")}</p> })}
            <ul class="mt-2 text-sm">
                {v.browsers.into_iter().map(|(d, at)| view! { <li>{d} " · " {t("security.last_used")} " " <LocalTime unix_ms=at * 1000 /></li> }).collect_view()}
            </ul>
        </Card>
        {v.apps.map(|apps| view! {
            <Card labelled_by="admin-apps">
                <h2 id="admin-apps" class="text-lg font-semibold">{t("admin.person_apps")}</h2>
                {apps.is_empty().then(|| view! { <p class="mt-2 text-sm" data-testid="admin-apps-none">{t("admin.person_apps.none")}</p> })}
                <ul class="mt-2 text-sm" data-testid="admin-apps">
                    {apps.into_iter().map(|app| view! {
                        <li class="py-1" data-app=app.client_id.clone()>
                            <span class="font-medium">{app.name}</span> " · "
                            <span data-testid="app-level">{app.level}</span> " · "
                            <span class="text-slate-600 dark:text-slate-400">{app_dates(app.since, app.last_used)}</span>
                        </li>
                    }).collect_view()}
                </ul>
            </Card>
        })}
        <Card>
            <h2 class="text-lg font-semibold">{t("admin.recent_activity")}</h2>
            {events_table(v.activity)}
        </Card>
    }
}

/// The person's authenticator apps, each with "Remove" (a reason, and sure).
fn authenticators_card(
    id: String,
    apps: Vec<AuthenticatorItem>,
    a: PersonActions,
) -> impl IntoView {
    view! {
        <Card labelled_by="admin-authenticators">
            <h2 id="admin-authenticators" class="text-lg font-semibold">{t("security.authenticator.title")}</h2>
            {apps.is_empty().then(|| view! { <p class="mt-2 text-sm" data-testid="admin-authenticators-none">{t("admin.authenticators.none")}</p> })}
            <ul class="mt-3 divide-y divide-slate-200 dark:divide-slate-800" data-testid="admin-authenticators">
                {apps.into_iter().map(|app| {
                    let prefix = format!("remove-app-{}", app.id);
                    let (id, app_id) = (id.clone(), app.id.clone());
                    view! {
                        <li class="py-3" data-authenticator=app.id>
                            <p>
                                <span class="font-medium">{app.name}</span>
                                {app.preferred.then(|| view! { " · " {t("security.preferred")} })}
                            </p>
                            <p class="text-xs text-slate-500 dark:text-slate-400">{phone_dates(Some(app.added_at), app.last_used_at)}</p>
                            <ActionForm action=a.remove_app attr:class="mt-2 flex flex-wrap items-end gap-3">
                                <input type="hidden" name="id" value=id />
                                <input type="hidden" name="app_id" value=app_id />
                                {reason_fields(&prefix)}
                                <Submit pending=a.remove_app.pending() class=DANGER>{t("admin.authenticators.remove")}</Submit>
                            </ActionForm>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Card>
    }
}

/// How many recovery codes the person has left, and "Void recovery codes" while any are.
fn recovery_card(id: String, r: RecoveryItem, a: PersonActions) -> impl IntoView {
    view! {
        <Card labelled_by="admin-recovery">
            <h2 id="admin-recovery" class="text-lg font-semibold">{t("security.recovery.title")}</h2>
            <p class="mt-2 text-sm" data-recovery-remaining=r.remaining.to_string()>
                {match r.created_at {
                    Some(at) => view! {
                        {t_n("security.recovery.left", r.remaining)}
                        " · " {t("security.recovery.made_on")} " " <LocalTime unix_ms=at * 1000 />
                    }
                    .into_any(),
                    None => t("admin.recovery.none").into_any(),
                }}
            </p>
            {(r.remaining > 0).then(|| view! {
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-300">{t("admin.recovery.void_intro")}</p>
                <ActionForm action=a.void_codes attr:class="mt-3 flex flex-wrap items-end gap-3">
                    <input type="hidden" name="id" value=id />
                    {reason_fields("void-codes")}
                    <Submit pending=a.void_codes.pending() class=DANGER>{t("admin.recovery.void")}</Submit>
                </ActionForm>
            })}
        </Card>
    }
}

fn events_table(events: Vec<EventView>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="mt-2 text-sm">{t("admin.audit.none")}</p> }.into_any();
    }
    view! {
        <div class="mt-2 overflow-x-auto" tabindex="0" role="region" aria-label=t("admin.recent_activity")>
        <table class="w-full text-left text-sm" data-testid="events">
            <thead>
                <tr class="border-b border-slate-200 dark:border-slate-800">
                    <th scope="col" class="py-1 pr-3">{t("admin.events.when")}</th>
                    <th scope="col" class="pr-3">{t("admin.events.kind")}</th>
                    <th scope="col" class="pr-3">{t("admin.events.outcome")}</th>
                    <th scope="col" class="pr-3">{t("admin.events.actor")}</th>
                    <th scope="col" class="pr-3">{t("admin.events.subject")}</th>
                    <th scope="col" class="pr-3">{t("admin.events.detail")}</th>
                    <th scope="col">{t("admin.events.ip")}</th>
                </tr>
            </thead>
            <tbody>
                {events.into_iter().map(|e| view! {
                    <tr class="border-b border-slate-100 dark:border-slate-800" data-kind=e.kind.clone()>
                        <td class="py-1 pr-3 whitespace-nowrap"><LocalTime unix_ms=e.at * 1000 /></td>
                        <td class="pr-3">
                            {crate::i18n::activity(&e.kind, &e.outcome)}
                            <span class="block font-mono text-xs text-slate-600 dark:text-slate-400">{e.kind.clone()}</span>
                        </td>
                        <td class="pr-3 font-mono text-xs">{e.outcome}</td>
                        <td class="pr-3">{e.actor}</td>
                        <td class="pr-3">{e.subject}</td>
                        <td class="pr-3">{e.detail}</td>
                        <td>{e.ip}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let query = use_query_map();
    let field = move |name: &'static str| move || query.read().get(name).unwrap_or_default();
    let older = move || query.read().get("older_than").and_then(|v| v.parse::<i64>().ok());
    let data = Resource::new(
        move || {
            (
                field("person")(),
                field("actor")(),
                field("kind")(),
                field("from")(),
                field("to")(),
                older(),
            )
        },
        |(p, a, k, f, t, o)| load_audit(p, a, k, f, t, o),
    );
    let filters = move || {
        ["person", "actor", "kind", "from", "to"]
            .iter()
            .map(|n| format!("{n}={}", urlencode(&query.read().get(n).unwrap_or_default())))
            .collect::<Vec<_>>()
            .join("&")
    };
    view! {
        <Title text=t("admin.audit.title") />
        <div class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{t("admin.audit.title")}</h1>
            {admin_nav()}
            <Form method="GET" action="" attr:class="grid gap-3 sm:grid-cols-5 sm:items-end">
                {[("person", t("admin.audit.person")), ("actor", t("admin.audit.actor")), ("kind", t("admin.audit.kind")), ("from", t("admin.audit.from")), ("to", t("admin.audit.to"))]
                    .into_iter()
                    .map(|(name, label)| view! {
                        <Field id=format!("f-{name}") label=label>
                            <input id=format!("f-{name}") name=name type="text" maxlength="64" class=INPUT prop:value=field(name) />
                        </Field>
                    })
                    .collect_view()}
                <button type="submit" class=PRIMARY>{t("admin.audit.filter")}</button>
            </Form>
            <a href=move || format!("/admin/audit.csv?{}", filters()) class=LINK download="latchkey-audit.csv">{t("admin.audit.csv")}</a>
            <Transition fallback=|| view! { <p>{t("sign_in.working")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => {
                            let more = v.older_than.map(|id| format!("/admin/audit?{}&older_than={id}", filters()));
                            view! {
                                {notice_box(v.notice)}
                                {events_table(v.events)}
                                {more.map(|href| view! { <a href=href class=LINK>{t("admin.audit.older")}</a> })}
                            }
                            .into_any()
                        }
                        Err(e) => refusal(e),
                    }
                })}
            </Transition>
        </div>
    }
}
