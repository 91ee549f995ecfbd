//! The floor: the directory work no sign-in can avoid — one search for the person as the service
//! account (on a kept-open connection, as any pool would) and one simple bind as the person on a
//! new connection — repeated as fast as possible by `concurrency` tasks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

use crate::signin::Person;
use crate::stats::Tally;

pub struct Target {
    pub url: String,
    pub base_dn: String,
    pub bind_dn: String,
    pub bind_password: String,
    /// The attributes Latchkey reads for a person.
    pub attrs: Vec<String>,
}

async fn connect(url: &str) -> Result<ldap3::Ldap, String> {
    let settings = LdapConnSettings::new().set_conn_timeout(Duration::from_secs(5));
    let (conn, ldap) =
        LdapConnAsync::with_settings(settings, url).await.map_err(|e| format!("connect: {e}"))?;
    ldap3::drive!(conn);
    Ok(ldap)
}

async fn one(service: &mut ldap3::Ldap, t: &Target, person: &Person) -> Result<(), String> {
    let filter = format!("(uid={})", ldap3::ldap_escape(&person.login));
    let (entries, _) = service
        .search(&t.base_dn, Scope::Subtree, &filter, t.attrs.clone())
        .await
        .and_then(ldap3::SearchResult::success)
        .map_err(|e| format!("search: {e}"))?;
    let entry = entries.into_iter().next().map(SearchEntry::construct).ok_or("search: no entry")?;
    let mut ldap = connect(&t.url).await?;
    ldap.simple_bind(&entry.dn, &person.password)
        .await
        .and_then(ldap3::LdapResult::success)
        .map_err(|e| format!("bind: {e}"))?;
    let _ = ldap.unbind().await;
    Ok(())
}

async fn worker(t: &Target, people: Vec<Person>, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut service = None;
    let mut i = 0;
    while Instant::now() < deadline {
        if service.is_none() {
            match connect(&t.url).await {
                Ok(mut ldap) => match ldap.simple_bind(&t.bind_dn, &t.bind_password).await {
                    Ok(r) if r.rc == 0 => service = Some(ldap),
                    other => tally.error(format!("service bind: {other:?}")),
                },
                Err(e) => tally.error(e),
            }
        }
        let Some(ldap) = service.as_mut() else { continue };
        let started = Instant::now();
        match one(ldap, t, &people[i % people.len()]).await {
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
    if let Some(mut ldap) = service {
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
