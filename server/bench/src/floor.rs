//! The floor: the directory work no sign-in can avoid — one search for the person as the service
//! account and one simple bind as the person, each on a kept-open connection of its own, as any
//! pool would — repeated as fast as possible by `concurrency` tasks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

use crate::signin::Person;
use crate::stats::Tally;

pub struct Target {
    pub url: String,
    /// How to connect (TLS or not).
    pub settings: LdapConnSettings,
    pub base_dn: String,
    pub bind_dn: String,
    pub bind_password: String,
    /// The attributes Latchkey reads for a person.
    pub attrs: Vec<String>,
}

async fn connect(t: &Target) -> Result<ldap3::Ldap, String> {
    let (conn, ldap) = LdapConnAsync::with_settings(t.settings.clone(), &t.url)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    ldap3::drive!(conn);
    Ok(ldap)
}

async fn one(
    service: &mut ldap3::Ldap,
    binder: &mut Option<ldap3::Ldap>,
    t: &Target,
    person: &Person,
) -> Result<(), String> {
    let filter = format!("(uid={})", ldap3::ldap_escape(&person.login));
    let (entries, _) = service
        .search(&t.base_dn, Scope::Subtree, &filter, t.attrs.clone())
        .await
        .and_then(ldap3::SearchResult::success)
        .map_err(|e| format!("search: {e}"))?;
    let entry = entries.into_iter().next().map(SearchEntry::construct).ok_or("search: no entry")?;
    let ldap = match binder {
        Some(ldap) => ldap,
        None => binder.insert(connect(t).await?),
    };
    let outcome = ldap.simple_bind(&entry.dn, &person.password).await;
    if outcome.is_err() {
        *binder = None;
    }
    outcome.and_then(ldap3::LdapResult::success).map(|_| ()).map_err(|e| format!("bind: {e}"))
}

async fn worker(t: &Target, people: Vec<Person>, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut service = None;
    let mut binder = None;
    let mut i = 0;
    while Instant::now() < deadline {
        if service.is_none() {
            match connect(t).await {
                Ok(mut ldap) => match ldap.simple_bind(&t.bind_dn, &t.bind_password).await {
                    Ok(r) if r.rc == 0 => service = Some(ldap),
                    other => tally.error(format!("service bind: {other:?}")),
                },
                Err(e) => tally.error(e),
            }
        }
        let Some(ldap) = service.as_mut() else { continue };
        let started = Instant::now();
        match one(ldap, &mut binder, t, &people[i % people.len()]).await {
            Ok(()) => {
                tally.sample("floor", started.elapsed());
                tally.completed += 1;
            }
            Err(e) => {
                tally.error(e);
                service = None;
            }
        }
        i += 1;
    }
    for mut ldap in [service, binder].into_iter().flatten() {
        let _ = ldap.unbind().await;
    }
    tally
}

/// Runs the floor for `secs` with `concurrency` tasks, each over its own share of `people`.
/// Returns the tally and the seconds it took.
pub async fn run(
    t: &Arc<Target>,
    people: &[Person],
    concurrency: usize,
    secs: f64,
) -> (Tally, f64) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let handles: Vec<_> = crate::shares(people, concurrency)
        .into_iter()
        .map(|share| {
            let t = t.clone();
            tokio::spawn(async move { worker(&t, share, deadline).await })
        })
        .collect();
    let mut total = Tally::default();
    for h in handles {
        total.merge(h.await.expect("floor worker"));
    }
    (total, started.elapsed().as_secs_f64())
}
