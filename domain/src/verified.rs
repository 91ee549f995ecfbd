//! Which of a person's directory numbers are second factors.
//!
//! The phone attribute can be written by other tools, and on some directories (Active Directory
//! by default) by the person themselves: a value there proves nothing. A number becomes a
//! factor once Latchkey has proved it (a code texted to it was typed back) or an operator vouched
//! for it (`latchkey phones mark-verified`); only such numbers receive sign-in codes, unless
//! `policy.trust_unverified_directory_phones` says to trust the directory as it stands.

use std::sync::Arc;

use super::directory::{Person, UserId};
use super::phone::E164;
use super::ports::{Unavailable, VerifiedBy, VerifiedPhone, VerifiedPhones};

/// The verified-number records and the rule that decides which numbers count.
#[derive(Clone)]
pub struct PhoneTrust {
    store: Arc<dyn VerifiedPhones>,
    trust_directory: bool,
}

impl std::fmt::Debug for PhoneTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneTrust").field("trust_directory", &self.trust_directory).finish()
    }
}

/// A person's numbers, each with whether Latchkey verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneStatus {
    pub number: E164,
    pub verified: bool,
    /// May receive sign-in codes: verified, or every number when the directory is trusted.
    pub usable: bool,
}

impl PhoneTrust {
    /// `trust_directory`: `policy.trust_unverified_directory_phones` (false by default).
    pub fn new(store: Arc<dyn VerifiedPhones>, trust_directory: bool) -> Self {
        Self { store, trust_directory }
    }

    pub fn trusts_directory(&self) -> bool {
        self.trust_directory
    }

    /// The records, as stored.
    pub async fn records(&self, user_id: &UserId) -> Result<Vec<VerifiedPhone>, Unavailable> {
        self.store.verified_phones(user_id).await
    }

    fn status_of(person: &Person, records: &[VerifiedPhone], trust: bool) -> Vec<PhoneStatus> {
        person
            .phones
            .iter()
            .map(|n| {
                let verified = records.iter().any(|r| r.number == n.as_str());
                PhoneStatus { number: n.clone(), verified, usable: verified || trust }
            })
            .collect()
    }

    /// The numbers that may receive sign-in codes, in directory order. An unverified number is
    /// not a phone here at all: a person with only unverified numbers signs in as one with none.
    pub async fn usable(&self, person: &Person) -> Result<Vec<E164>, Unavailable> {
        if self.trust_directory || person.phones.is_empty() {
            return Ok(person.phones.clone());
        }
        Ok(self.usable_of(person, &self.records(&person.id).await?))
    }

    /// [`Self::usable`], given the person's records already read.
    pub fn usable_of(&self, person: &Person, records: &[VerifiedPhone]) -> Vec<E164> {
        Self::status_of(person, records, self.trust_directory)
            .into_iter()
            .filter(|s| s.usable)
            .map(|s| s.number)
            .collect()
    }

    pub async fn is_usable(&self, person: &Person, number: &E164) -> Result<bool, Unavailable> {
        Ok(self.usable(person).await?.contains(number))
    }

    /// Records that `number` was proved (or vouched for) now.
    pub async fn record(
        &self,
        user_id: &UserId,
        number: &E164,
        by: VerifiedBy,
        now: i64,
    ) -> Result<(), Unavailable> {
        self.store.mark_verified(user_id, number, by, now).await
    }

    /// Forgets the record of a removed number: if some tool writes it back, it is unproved again.
    pub async fn forget(&self, user_id: &UserId, number: &E164) -> Result<(), Unavailable> {
        self.store.forget_verified(user_id, number.as_str()).await
    }

    /// Forgets records of numbers no longer in the person's entry (removed by another tool),
    /// except those made at or after `since` (a number being added right now is written to the
    /// directory before it is recorded, and `person` may have been read before that).
    pub async fn prune(
        &self,
        person: &Person,
        records: &[VerifiedPhone],
        since: i64,
    ) -> Result<(), Unavailable> {
        for r in records {
            let gone = !person.phones.iter().any(|n| n.as_str() == r.number);
            if gone && r.verified_at < since {
                self.store.forget_verified(&person.id, &r.number).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(phones: &[&str]) -> Person {
        Person {
            id: UserId("u".into()),
            dn: "uid=u".into(),
            login: "u".into(),
            display_name: "U".into(),
            mail: None,
            phones: phones
                .iter()
                .map(|p| crate::phone::PhonePolicy::from_directory(p).expect("valid"))
                .collect(),
            language: None,
        }
    }

    fn record(number: &str) -> VerifiedPhone {
        VerifiedPhone { number: number.into(), verified_at: 1, method: "verify".into() }
    }

    #[test]
    fn only_verified_numbers_are_usable_unless_the_directory_is_trusted() {
        let p = person(&["+12015550123", "+12015550124"]);
        let records = [record("+12015550124"), record("+12015550999")];
        let strict = PhoneTrust::status_of(&p, &records, false);
        assert_eq!(
            strict.iter().map(|s| (s.verified, s.usable)).collect::<Vec<_>>(),
            vec![(false, false), (true, true)]
        );
        let trusting = PhoneTrust::status_of(&p, &records, true);
        assert_eq!(
            trusting.iter().map(|s| (s.verified, s.usable)).collect::<Vec<_>>(),
            vec![(false, true), (true, true)],
            "trusted, but still said to be unverified"
        );
    }
}
