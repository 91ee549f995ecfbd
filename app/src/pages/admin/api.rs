//! The administrator pages' wire types and server functions. Each asks the directory whether
//! the caller is an administrator (`server::admin`), every time, before it reads or changes
//! anything; a change's outcome becomes the page's notice.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::notice::NoticeView;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::i18n::t;
use crate::pages::security::{AppItem, AuthenticatorItem, RecoveryItem};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRowView {
    pub id: String,
    pub login: String,
    pub name: String,
    pub mail: String,
    pub two_factor_on: bool,
    pub phones: usize,
    /// Authenticator apps.
    pub apps: u32,
    /// Unused recovery codes.
    pub recovery_codes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeopleView {
    pub rows: Vec<PersonRowView>,
    pub has_more: bool,
    pub page: usize,
    pub notice: Option<NoticeView>,
    /// The apps that sign people in through Latchkey, as configured.
    pub apps: Vec<ConfiguredAppView>,
}

/// A configured app (`[[oidc.clients]]`) as administrators see it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfiguredAppView {
    pub id: String,
    pub name: String,
    /// It authenticates with a secret (else a public client, with PKCE).
    pub confidential: bool,
    pub redirect_uris: Vec<String>,
    /// The level it gets when it asks for none, worded, and the acr as configured; `None`: the
    /// server's default.
    pub default_acr: Option<(String, String)>,
    /// Empty: everyone may use it.
    pub allowed_groups: Vec<String>,
    pub refresh_tokens: bool,
    pub remembered_satisfies_code: bool,
    /// Behind a proxy (`[[forward_auth.apps]]`): `redirect_uris` holds its origin and
    /// `default_acr` the level it requires.
    pub proxied: bool,
    /// A proxied app's limit on the sign-in's age, in seconds.
    pub max_age_secs: Option<i64>,
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
    pub authenticators: Vec<AuthenticatorItem>,
    pub recovery: RecoveryItem,
    pub browsers: Vec<(String, i64)>,
    /// The apps the person is signed in to; `None` when no app is configured.
    pub apps: Option<Vec<AppItem>>,
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
    pub(super) fn message_id(self) -> &'static str {
        match self {
            SecondStepView::Open => "admin.second_step.open",
            SecondStepView::Locked => "admin.second_step.locked",
            SecondStepView::LockedUntilUnlocked => "admin.second_step.locked_until_unlocked",
        }
    }

    /// For tests and styles: `open`, `locked`, `locked-until-unlocked`.
    pub(super) fn attr(self) -> &'static str {
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
    use crate::auth::{client, current_user, session, state};
    use domain::admin::AdminError;
    use domain::audit::StoredAuditEvent;
    use domain::authenticated::Authenticated;
    use std::collections::HashMap;

    /// The signed-in administrator, or a refusal (403) that is audited.
    pub async fn admin(what: &str) -> Result<Authenticated, AppError> {
        let session = session().await?;
        let user = current_user(&session).await?;
        if user.is_none() {
            crate::auth::return_here_after_sign_in(&session).await?;
        }
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

    /// The status page's caller may see it: an administrator by the directory's word, as on
    /// every administrator page (a refusal is the same 403, audited or counted the same way).
    /// While the directory does not answer, which is often why an operator opens the page, by
    /// its word at sign-in, which the session keeps: the page changes nothing and says only
    /// whether two dependencies answer, and it must be able to say that the directory does not.
    pub async fn operator(what: &str) -> Result<(), AppError> {
        match admin(what).await {
            Err(e) if e == AppError::unavailable() => {
                match current_user(&session().await?).await? {
                    Some(user) if user.is_admin => Ok(()),
                    _ => Err(e),
                }
            }
            other => other.map(|_| ()),
        }
    }

    pub async fn notice() -> Result<Option<NoticeView>, AppError> {
        Ok(crate::flash::flash().await?.take().map(crate::pages::sign_in::notice_view))
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

    /// The configured apps, for the people page.
    pub fn configured_apps() -> Vec<ConfiguredAppView> {
        use crate::pages::security::server::level_text;
        state()
            .oidc
            .clients()
            .map(|c| ConfiguredAppView {
                id: c.id.clone(),
                name: c.name.clone(),
                confidential: c.confidential,
                redirect_uris: c.redirect_uris.clone(),
                default_acr: c.default_acr.as_ref().map(|acr| (level_text(acr), acr.clone())),
                allowed_groups: c.allowed_groups.clone(),
                refresh_tokens: c.refresh_tokens,
                remembered_satisfies_code: c.remembered_satisfies_code,
                proxied: false,
                max_age_secs: None,
            })
            .chain(state().forward_auth.apps().map(|a| ConfiguredAppView {
                id: a.id.clone(),
                name: a.name.clone(),
                confidential: false,
                redirect_uris: vec![a.origin.clone()],
                default_acr: Some((level_text(a.level.acr()), a.level.acr().to_owned())),
                allowed_groups: a.allowed_groups.clone(),
                refresh_tokens: false,
                remembered_satisfies_code: a.remembered_satisfies_code,
                proxied: true,
                max_age_secs: a.max_age_secs,
            }))
            .collect()
    }

    /// After an administrator's change to a person's credentials: the person's app sessions
    /// end now (the new session generation would refuse their tokens at next use anyway; this
    /// makes the pages true at once).
    pub async fn end_app_sessions(client: &domain::client::Client, id: &str, why: &str) {
        let state = state();
        // The login goes in the audit trail beside the id; the id stands in for it if the
        // directory does not answer now.
        let (user_id, login) = match state.admin.person(id, client.now).await {
            Ok(p) => (p.id, p.login),
            Err(_) => (domain::directory::UserId(id.to_owned()), id.to_owned()),
        };
        state.oidc.end_all(&user_id, &login, client, why).await;
    }

    /// Runs a change as an administrator; its outcome becomes the page's notice.
    pub async fn change<F, Fut>(what: &str, run: F) -> Result<(), AppError>
    where
        F: FnOnce(domain::client::Client, Authenticated) -> Fut,
        Fut: std::future::Future<Output = Result<domain::notice::Notice, AdminError>>,
    {
        let admin = admin(what).await?;
        let flash = crate::flash::flash().await?;
        let notice = match run(client().await, admin).await {
            Ok(n) => n,
            Err(e) => e.notice(),
        };
        flash.set(Some(notice));
        Ok(())
    }
}

#[server(endpoint = "admin_people")]
pub async fn load_people(q: String, page: usize) -> Result<PeopleView, AppError> {
    server::admin("people search").await?;
    let notice = server::notice().await?;
    let apps = server::configured_apps();
    if q.trim().is_empty() {
        return Ok(PeopleView { rows: vec![], has_more: false, page: 0, notice, apps });
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
                    apps: r.apps,
                    recovery_codes: r.recovery_codes,
                })
                .collect(),
            has_more: found.has_more,
            page,
            notice,
            apps,
        }),
        Err(e) => Ok(PeopleView {
            rows: vec![],
            has_more: false,
            page,
            notice: Some(crate::pages::sign_in::notice_view(e.notice())),
            apps,
        }),
    }
}

#[server(endpoint = "admin_person")]
pub async fn load_person(id: String) -> Result<PersonView, AppError> {
    // Before the first wait: a render that ends while this still runs takes the context away.
    let state = crate::auth::state();
    server::admin("person view").await?;
    let notice = server::notice().await?;
    let person = state.admin.person(&id, crate::auth::now_secs()).await.map_err(|e| {
        AppError::new(if e == domain::admin::AdminError::NoSuchPerson {
            "admin.no_such_person"
        } else {
            "error.unavailable"
        })
    })?;
    let lock = state
        .admin
        .second_step(&person.id, crate::auth::now_secs())
        .await
        .map_err(|_| AppError::unavailable())?;
    let apps =
        crate::pages::security::server::app_items(&state, &person.id, crate::auth::now_secs())
            .await?;
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
        authenticators: crate::pages::security::apps_server::items(person.apps),
        recovery: crate::pages::security::recovery_server::item(person.recovery),
        browsers: person.browsers.into_iter().map(|b| (b.description, b.last_used_at)).collect(),
        apps,
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
        let notice = crate::auth::state()
            .admin
            .remove_phone(&client, &admin, &id, &key, &reason, confirm.is_some())
            .await?;
        server::end_app_sessions(&client, &id, "admin_phone_removed").await;
        Ok(notice)
    })
    .await
}

#[server(endpoint = "admin_remove_app")]
pub async fn admin_remove_app(
    id: String,
    app_id: String,
    reason: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    server::change("remove an authenticator app", |client, admin| async move {
        let notice = crate::auth::state()
            .admin
            .remove_app(&client, &admin, &id, &app_id, &reason, confirm.is_some())
            .await?;
        // A session that saw the app's code ends with it.
        server::end_app_sessions(&client, &id, "admin_app_removed").await;
        Ok(notice)
    })
    .await
}

#[server(endpoint = "admin_void_recovery_codes")]
pub async fn admin_void_recovery_codes(
    id: String,
    reason: String,
    confirm: Option<String>,
) -> Result<(), AppError> {
    server::change("void recovery codes", |client, admin| async move {
        crate::auth::state()
            .admin
            .remove_recovery_codes(&client, &admin, &id, &reason, confirm.is_some())
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
        let notice = crate::auth::state()
            .admin
            .reset(&client, &admin, &id, &reason, confirm.is_some())
            .await?;
        server::end_app_sessions(&client, &id, "admin_reset").await;
        Ok(notice)
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
            domain::admin::parse_date(s).map(Some).ok_or(())
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
    let query = domain::admin::TrailQuery { person, actor, kind, from, to };
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
