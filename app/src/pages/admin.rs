//! Administrator pages: people search, one person, the audit trail. Every server function here
//! asks the directory whether the caller is an administrator, every time; the navigation link
//! is only a convenience.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::components::form::{CARD, Card, DANGER, Field, INPUT, LINK, PRIMARY, Submit};
use crate::components::notice::notice_box;
use crate::components::time::LocalTime;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::security::phone_dates;
use crate::pages::sign_in::NoticeView;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRowView {
    pub id: String,
    pub login: String,
    pub name: String,
    pub mail: String,
    pub two_factor_on: bool,
    pub phones: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeopleView {
    pub rows: Vec<PersonRowView>,
    pub has_more: bool,
    pub page: usize,
    pub notice: Option<NoticeView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminPhoneView {
    pub key: String,
    pub number: String,
    pub nickname: String,
    pub added_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// Latchkey proved it; an unverified number receives no sign-in codes.
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub actor: String,
    pub subject: String,
    pub outcome: String,
    pub detail: String,
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonView {
    pub id: String,
    pub login: String,
    pub name: String,
    pub mail: String,
    pub two_factor_on: bool,
    pub phones: Vec<AdminPhoneView>,
    pub browsers: Vec<(String, i64)>,
    pub activity: Vec<EventView>,
    pub second_step: SecondStepView,
    pub notice: Option<NoticeView>,
}

/// Whether the person's sign-in codes are locked after wrong codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecondStepView {
    Open,
    /// The short lock, ending by itself.
    Locked,
    /// Too many wrong codes since the last right one: only an administrator unlocks it.
    LockedUntilUnlocked,
}

impl SecondStepView {
    fn message_id(self) -> &'static str {
        match self {
            SecondStepView::Open => "admin.second_step.open",
            SecondStepView::Locked => "admin.second_step.locked",
            SecondStepView::LockedUntilUnlocked => "admin.second_step.locked_until_unlocked",
        }
    }

    /// For tests and styles: `open`, `locked`, `locked-until-unlocked`.
    fn attr(self) -> &'static str {
        match self {
            SecondStepView::Open => "open",
            SecondStepView::Locked => "locked",
            SecondStepView::LockedUntilUnlocked => "locked-until-unlocked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub events: Vec<EventView>,
    pub older_than: Option<i64>,
    pub notice: Option<NoticeView>,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::*;
    use crate::auth::{client, current_user, session, set_notice, state, take_notice};
    use crate::domain::admin::AdminError;
    use crate::domain::audit::StoredAuditEvent;
    use crate::domain::sign_in::Authenticated;
    use std::collections::HashMap;

    /// The signed-in administrator, or a refusal (403) that is audited.
    pub async fn admin(what: &str) -> Result<Authenticated, AppError> {
        let session = session().await?;
        let user = current_user(&session).await?;
        let client = client().await;
        match (state().admin.authorize(&client, user.as_ref(), what).await, user) {
            (Ok(()), Some(user)) => Ok(user),
            // authorize never admits an anonymous caller; refuse rather than trust that.
            (Ok(()), None) => Err(AppError::new("admin.forbidden")),
            (Err(e), _) => {
                if e == AdminError::Forbidden {
                    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                        response.set_status(axum::http::StatusCode::FORBIDDEN);
                    }
                    Err(AppError::new("admin.forbidden"))
                } else {
                    Err(AppError::unavailable())
                }
            }
        }
    }

    pub async fn notice() -> Result<Option<NoticeView>, AppError> {
        Ok(take_notice(&session().await?).await?.map(crate::pages::sign_in::notice_view))
    }

    /// The events as the tables show them: people by login where known (`subject_logins`).
    pub async fn event_views(events: Vec<StoredAuditEvent>) -> Vec<EventView> {
        let logins = state().admin.subject_logins(&events).await;
        events.into_iter().map(|e| event_view(e, &logins)).collect()
    }

    fn event_view(e: StoredAuditEvent, logins: &HashMap<String, String>) -> EventView {
        EventView {
            id: e.id,
            at: e.at,
            kind: e.kind,
            actor: e.login.unwrap_or_else(|| e.actor_id.unwrap_or_default()),
            subject: e
                .subject_id
                .map(|id| logins.get(&id).cloned().unwrap_or(id))
                .unwrap_or_default(),
            outcome: e.outcome,
            detail: e.detail.unwrap_or_default(),
            ip: e.client_ip,
        }
    }

    /// Runs a change as an administrator; its outcome becomes the page's notice.
    pub async fn change<F, Fut>(what: &str, run: F) -> Result<(), AppError>
    where
        F: FnOnce(crate::domain::sign_in::Client, Authenticated) -> Fut,
        Fut: std::future::Future<Output = Result<crate::domain::sign_in::Notice, AdminError>>,
    {
        let admin = admin(what).await?;
        let session = session().await?;
        let notice = match run(client().await, admin).await {
            Ok(n) => n,
            Err(e) => e.notice(),
        };
        set_notice(&session, Some(notice)).await
    }
}

#[server(endpoint = "admin_people")]
pub async fn load_people(q: String, page: usize) -> Result<PeopleView, AppError> {
    server::admin("people search").await?;
    let notice = server::notice().await?;
    if q.trim().is_empty() {
        return Ok(PeopleView { rows: vec![], has_more: false, page: 0, notice });
    }
    match crate::auth::state().admin.search(&q, page).await {
        Ok(found) => Ok(PeopleView {
            rows: found
                .rows
                .into_iter()
                .map(|r| PersonRowView {
                    id: r.id.0,
                    login: r.login,
                    name: r.name,
                    mail: r.mail.unwrap_or_default(),
                    two_factor_on: r.two_factor_on,
                    phones: r.phones,
                })
                .collect(),
            has_more: found.has_more,
            page,
            notice,
        }),
        Err(e) => Ok(PeopleView {
            rows: vec![],
            has_more: false,
            page,
            notice: Some(crate::pages::sign_in::notice_view(e.notice())),
        }),
    }
}

#[server(endpoint = "admin_person")]
pub async fn load_person(id: String) -> Result<PersonView, AppError> {
    server::admin("person view").await?;
    let notice = server::notice().await?;
    let person =
        crate::auth::state().admin.person(&id, crate::auth::now_secs()).await.map_err(|e| {
            AppError::new(if e == crate::domain::admin::AdminError::NoSuchPerson {
                "admin.no_such_person"
            } else {
                "error.unavailable"
            })
        })?;
    let lock = crate::auth::state()
        .admin
        .second_step(&person.id, crate::auth::now_secs())
        .await
        .map_err(|_| AppError::unavailable())?;
    let second_step = if lock.reset_required {
        SecondStepView::LockedUntilUnlocked
    } else if lock.is_locked() {
        SecondStepView::Locked
    } else {
        SecondStepView::Open
    };
    Ok(PersonView {
        id: person.id.0,
        login: person.login,
        name: person.name,
        mail: person.mail.unwrap_or_default(),
        two_factor_on: person.two_factor_on,
        phones: person
            .phones
            .into_iter()
            .map(|p| AdminPhoneView {
                key: p.key,
                number: p.number,
                nickname: p.nickname.unwrap_or_else(|| t("security.unnamed").to_owned()),
                added_at: p.added_at,
                last_used_at: p.last_used_at,
                verified: p.verified,
            })
            .collect(),
        browsers: person.browsers.into_iter().map(|b| (b.description, b.last_used_at)).collect(),
        activity: server::event_views(person.activity).await,
        second_step,
        notice,
    })
}

#[server(endpoint = "admin_remove_phone")]
pub async fn admin_remove_phone(
    id: String,
    key: String,
    reason: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    server::change("remove a phone", |client, admin| async move {
        crate::auth::state()
            .admin
            .remove_phone(&client, &admin, &id, &key, &reason, confirm.is_some())
            .await
    })
    .await
}

#[server(endpoint = "admin_reset")]
pub async fn admin_reset(
    id: String,
    reason: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    server::change("reset to password-only", |client, admin| async move {
        crate::auth::state().admin.reset(&client, &admin, &id, &reason, confirm.is_some()).await
    })
    .await
}

#[server(endpoint = "admin_unlock")]
pub async fn admin_unlock(
    id: String,
    reason: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    server::change("unlock sign-in codes", |client, admin| async move {
        crate::auth::state().admin.unlock(&client, &admin, &id, &reason, confirm.is_some()).await
    })
    .await
}

#[server(endpoint = "admin_audit")]
pub async fn load_audit(
    person: String,
    actor: String,
    kind: String,
    from: String,
    to: String,
    older_than: Option<i64>,
) -> Result<AuditView, AppError> {
    server::admin("audit trail").await?;
    let notice = server::notice().await?;
    let date = |s: &str| -> Result<Option<i64>, ()> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            crate::domain::admin::parse_date(s).map(Some).ok_or(())
        }
    };
    let (Ok(from), Ok(to)) = (date(&from), date(&to)) else {
        return Ok(AuditView {
            events: vec![],
            older_than: None,
            notice: Some(NoticeView {
                id: "admin.audit.bad_date".into(),
                text: t("admin.audit.bad_date").into(),
                error: true,
            }),
        });
    };
    const PAGE: u32 = 50;
    let query = crate::domain::admin::TrailQuery { person, actor, kind, from, to };
    match crate::auth::state().admin.trail(&query, older_than, PAGE + 1).await {
        Ok(mut events) => {
            let older = (events.len() > PAGE as usize).then(|| {
                events.truncate(PAGE as usize);
                events.last().map(|e| e.id)
            });
            Ok(AuditView {
                events: server::event_views(events).await,
                older_than: older.flatten(),
                notice,
            })
        }
        Err(e) => Ok(AuditView {
            events: vec![],
            older_than: None,
            notice: Some(crate::pages::sign_in::notice_view(e.notice())),
        }),
    }
}

fn refusal(e: AppError) -> AnyView {
    view! { <p role="alert" class=CARD data-notice=e.id.clone()>{e.text()}</p> }.into_any()
}

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
                    </tr>
                </thead>
                <tbody>
                    {v.rows.into_iter().map(|r| view! {
                        <tr class="border-b border-slate-100 dark:border-slate-800" data-login=r.login.clone()>
                            <td class="py-2"><a href=format!("/admin/person/{}", urlencode(&r.id)) class=LINK>{r.login.clone()}</a></td>
                            <td>{r.name}</td>
                            <td class="hidden sm:table-cell">{r.mail}</td>
                            <td>{on_off(r.two_factor_on)}</td>
                            <td>{r.phones}</td>
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
    }
}

/// Percent-encodes a query or path value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn AdminPersonPage() -> impl IntoView {
    let params = use_params_map();
    let remove = ServerAction::<AdminRemovePhone>::new();
    let reset = ServerAction::<AdminReset>::new();
    let unlock = ServerAction::<AdminUnlock>::new();
    let id = move || params.read().get("id").unwrap_or_default();
    let data = Resource::new(
        move || (id(), remove.version().get(), reset.version().get(), unlock.version().get()),
        |(id, _, _, _)| load_person(id),
    );
    crate::components::focus::focus_after_answer(move || {
        data.get().is_some()
            && remove.version().get() + reset.version().get() + unlock.version().get() > 0
    });
    view! {
        <Title text=t("admin.title") />
        <div class="space-y-6">
            {admin_nav()}
            <Transition fallback=|| view! { <p>{t("sign_in.working")}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => person_view(v, remove, reset, unlock).into_any(),
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

fn person_view(
    v: PersonView,
    remove: ServerAction<AdminRemovePhone>,
    reset: ServerAction<AdminReset>,
    unlock: ServerAction<AdminUnlock>,
) -> impl IntoView {
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
        <Card>
            <h2 class="text-lg font-semibold">{t("admin.recent_activity")}</h2>
            {events_table(v.activity)}
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
