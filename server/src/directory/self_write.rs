//! Whether people may write their own phone attribute (`latchkey check`), read from each
//! flavour's own access control: OpenLDAP's `olcAccess` rules in `cn=config`, Active
//! Directory's security descriptors, 389-ds's `aci` attributes.

use ldap3::{Scope, SearchEntry};

use ldap3::controls::RawControl;

use super::{LdapDirectory, guid_string, rc_text, values_of};
use crate::config::Flavour;

/// Whether people may write their own phone attribute, as far as the service account can see
/// (`latchkey check`): where they may, a number someone typed in themselves could become a
/// second factor if the directory's numbers were trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfWrite {
    /// This access rule lets people write their own phone attribute.
    Allowed(String),
    /// The access rules seen do not.
    NotAllowed,
    /// The service account cannot tell (why).
    Unknown(String),
}

impl LdapDirectory {
    /// Whether people may write their own phone attribute, by the access control of the
    /// configured flavour, as far as the service account may read it.
    pub async fn phone_self_write(&self) -> SelfWrite {
        match self.cfg.flavour {
            Flavour::OpenLdap => self.openldap_phone_self_write().await,
            Flavour::ActiveDirectory => self.ad_phone_self_write().await,
            Flavour::Dirsrv389 => self.ds389_phone_self_write().await,
        }
    }

    /// Reads OpenLDAP's access rules (`olcAccess` of the database holding `base_dn`, then of the
    /// frontend, in `cn=config`) and evaluates them for a person writing their own phone
    /// attribute. A service account that may not read `cn=config` gives [`SelfWrite::Unknown`].
    async fn openldap_phone_self_write(&self) -> SelfWrite {
        let mut ldap = match self.service_connection().await {
            Ok(ldap) => ldap,
            Err(e) => return SelfWrite::Unknown(e.to_string()),
        };
        let found = ldap
            .with_timeout(self.timeout())
            .search(
                "cn=config",
                Scope::OneLevel,
                "(objectClass=olcDatabaseConfig)",
                vec!["olcDatabase", "olcSuffix", "olcAccess"],
            )
            .await;
        let _ = ldap.unbind().await;
        let entries = match found {
            Ok(ldap3::SearchResult(entries, result)) if result.rc == 0 && !entries.is_empty() => {
                entries.into_iter().map(SearchEntry::construct).collect::<Vec<_>>()
            }
            Ok(ldap3::SearchResult(_, result)) if result.rc != 0 && result.rc != 32 => {
                return SelfWrite::Unknown(format!(
                    "reading OpenLDAP's access rules in cn=config failed (result {}: {})",
                    result.rc,
                    rc_text(result.rc)
                ));
            }
            Ok(_) => {
                return SelfWrite::Unknown(
                    "the service account cannot read OpenLDAP's access rules (cn=config), and other directories are not asked".into(),
                );
            }
            Err(e) => return SelfWrite::Unknown(self.op_error(e).to_string()),
        };
        let values = |e: &SearchEntry, attr: &str| e.attrs.get(attr).cloned().unwrap_or_default();
        let base = normalise_dn(&self.cfg.base_dn);
        let holding = entries.iter().find(|e| {
            values(e, "olcSuffix").iter().any(|suffix| {
                let suffix = normalise_dn(suffix);
                base == suffix || base.ends_with(&format!(",{suffix}"))
            })
        });
        let Some(database) = holding else {
            return SelfWrite::Unknown(format!(
                "no database in cn=config holds {}",
                self.cfg.base_dn
            ));
        };
        let frontend = entries.iter().find(|e| {
            values(e, "olcDatabase").iter().any(|d| d.to_ascii_lowercase().ends_with("frontend"))
        });
        // The frontend's rules apply after the database's own.
        let mut rules = values(database, "olcAccess");
        rules.extend(frontend.map(|f| values(f, "olcAccess")).unwrap_or_default());
        match openldap_self_write_rule(&rules, &self.cfg.phone_attribute, &self.cfg.base_dn) {
            Some(rule) => SelfWrite::Allowed(rule),
            None => SelfWrite::NotAllowed,
        }
    }
}

/// A DN compared loosely: lower case, no spaces around separators.
fn normalise_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.split('=').map(str::trim).collect::<Vec<_>>().join("="))
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase()
}

/// Splits an access rule into words, keeping quoted values (`dn.exact="cn=a, dc=b"`) whole.
fn acl_words(rule: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in rule.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Whether an access level or privilege string lets its holder write.
fn acl_grants_write(access: &str) -> Option<bool> {
    let access = access.to_ascii_lowercase();
    match access.as_str() {
        "none" | "disclose" | "auth" | "compare" | "search" | "read" => Some(false),
        "write" | "add" | "delete" | "manage" => Some(true),
        _ => match access.strip_prefix(['=', '+']) {
            Some(privileges) => Some(privileges.contains(['w', 'a', 'z', 'm'])),
            None if access.starts_with('-') => Some(false),
            None => None,
        },
    }
}

/// Evaluates OpenLDAP access rules as slapd does for a person writing their own phone
/// attribute under `base_dn`: the first rule whose target covers the attribute decides, and in
/// it the first `by` clause that matches the person (`self`, `users`, `*`). Returns the rule
/// when it grants write. Targets it cannot judge (regular expressions, filters) are assumed to
/// cover, so the answer errs towards a warning.
fn openldap_self_write_rule(rules: &[String], phone: &str, base_dn: &str) -> Option<String> {
    let base = normalise_dn(base_dn);
    for raw in rules {
        // "{0}to …": the ordering prefix.
        let rule = match raw.strip_prefix('{').and_then(|r| r.split_once('}')) {
            Some((_, rest)) => rest.trim(),
            None => raw.trim(),
        };
        let words = acl_words(rule);
        let Some(("to", rest)) = words.split_first().map(|(first, rest)| (first.as_str(), rest))
        else {
            continue;
        };
        let by_at = rest.iter().position(|w| w == "by").unwrap_or(rest.len());
        let (what, clauses) = rest.split_at(by_at);
        let covers = what.iter().all(|w| {
            let (key, value) = w.split_once('=').unwrap_or((w.as_str(), ""));
            let value = value.trim_matches('"');
            let key = key.to_ascii_lowercase();
            match key.as_str() {
                "*" => true,
                "attrs" | "attr" => {
                    let list = value.split_once(' ').map_or(value, |(l, _)| l);
                    let named = list
                        .split(',')
                        .any(|a| a.eq_ignore_ascii_case(phone) || a.starts_with('@') || a == "*");
                    if list.starts_with('!') { !named } else { named }
                }
                "dn.exact" | "dn.base" | "dn.baseobject" => false,
                "dn" | "dn.subtree" | "dn.sub" | "dn.children" | "dn.one" | "dn.onelevel" => {
                    let target = normalise_dn(value);
                    value == "*"
                        || base == target
                        || base.ends_with(&format!(",{target}"))
                        || target.ends_with(&format!(",{base}"))
                }
                // val=, dn.regex, filter=, …: cannot judge here; assume it covers.
                _ => true,
            }
        });
        if !covers {
            continue;
        }
        for clause in clauses.split(|w| w == "by").filter(|c| !c.is_empty()) {
            let who = clause[0].to_ascii_lowercase();
            if !matches!(who.as_str(), "self" | "users" | "*") {
                continue;
            }
            let grants = clause[1..].iter().find_map(|w| acl_grants_write(w)).unwrap_or(false);
            return grants.then(|| raw.clone());
        }
        // No clause matched: slapd's implicit "by * none".
        return None;
    }
    None
}

/// Active Directory's `LDAP_SERVER_SD_FLAGS_OID`: ask for the DACL only, which any reader of
/// the entry may see (the owner and SACL need more rights).
const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";
/// `SEQUENCE { INTEGER 4 }`: DACL_SECURITY_INFORMATION.
const SD_FLAGS_DACL: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x04];

impl LdapDirectory {
    /// Reads the DACL of one person's entry and the phone attribute's schema GUIDs (its own and
    /// its property set's), and looks for an ACE that lets the person (SELF), everyone or every
    /// signed-in account write it. Active Directory's default for users lets SELF write the
    /// Personal Information property set.
    async fn ad_phone_self_write(&self) -> SelfWrite {
        let mut ldap = match self.service_connection().await {
            Ok(ldap) => ldap,
            Err(e) => return SelfWrite::Unknown(e.to_string()),
        };
        let outcome = self.ad_self_write_with(&mut ldap).await;
        let _ = ldap.unbind().await;
        outcome.unwrap_or_else(SelfWrite::Unknown)
    }

    async fn ad_self_write_with(&self, ldap: &mut ldap3::Ldap) -> Result<SelfWrite, String> {
        let timeout = self.timeout();
        let failed = |what: &str, e: ldap3::LdapError| format!("reading {what} failed: {e}");
        let first = |result: ldap3::SearchResult| -> Option<SearchEntry> {
            result.0.into_iter().next().map(SearchEntry::construct)
        };
        let dse = ldap
            .with_timeout(timeout)
            .search("", Scope::Base, "(objectClass=*)", vec!["schemaNamingContext"])
            .await
            .map_err(|e| failed("the root DSE", e))?;
        let schema = first(dse)
            .and_then(|e| values_of(&e, "schemaNamingContext").and_then(|v| v.first()).cloned())
            .ok_or("the root DSE names no schemaNamingContext")?;
        let phone = &self.cfg.phone_attribute;
        let filter = format!("(lDAPDisplayName={})", ldap3::ldap_escape(phone));
        let found = ldap
            .with_timeout(timeout)
            .search(
                &schema,
                Scope::OneLevel,
                &filter,
                vec!["schemaIDGUID", "attributeSecurityGUID"],
            )
            .await
            .map_err(|e| failed("the schema", e))?;
        let attribute =
            first(found).ok_or_else(|| format!("the schema has no attribute {phone}"))?;
        let guids: Vec<[u8; 16]> = ["schemaIDGUID", "attributeSecurityGUID"]
            .iter()
            .filter_map(|name| {
                attribute
                    .bin_attrs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.first())
                    .and_then(|bytes| <[u8; 16]>::try_from(bytes.as_slice()).ok())
            })
            .collect();
        if guids.is_empty() {
            return Err(format!("the schema entry of {phone} has no readable schemaIDGUID"));
        }
        let filter = format!("({}=*)", self.cfg.login_attribute);
        let found = ldap
            .with_timeout(timeout)
            .with_controls(RawControl {
                ctype: SD_FLAGS_OID.into(),
                crit: true,
                val: Some(SD_FLAGS_DACL.to_vec()),
            })
            .with_search_options(ldap3::SearchOptions::new().sizelimit(1))
            .search(&self.cfg.base_dn, Scope::Subtree, &filter, vec!["nTSecurityDescriptor"])
            .await
            .map_err(|e| failed("a person's security descriptor", e))?;
        let person = first(found).ok_or("no person under base_dn to read the access of")?;
        let sd = person
            .bin_attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("nTSecurityDescriptor"))
            .and_then(|(_, v)| v.first())
            .ok_or("the service account cannot read people's nTSecurityDescriptor")?;
        match ad_self_write_ace(sd, &guids)? {
            Some(ace) => Ok(SelfWrite::Allowed(format!("{ace} on {}", person.dn))),
            None => Ok(SelfWrite::NotAllowed),
        }
    }

    /// Reads the `aci` values of `base_dn` and of every entry above it (389-ds ACIs apply to the
    /// subtree below them) and looks for one that lets people write their own phone attribute.
    async fn ds389_phone_self_write(&self) -> SelfWrite {
        let mut ldap = match self.service_connection().await {
            Ok(ldap) => ldap,
            Err(e) => return SelfWrite::Unknown(e.to_string()),
        };
        let mut acis = Vec::new();
        let mut dn = self.cfg.base_dn.trim().to_owned();
        while !dn.is_empty() {
            let found = ldap
                .with_timeout(self.timeout())
                .search(&dn, Scope::Base, "(objectClass=*)", vec!["aci"])
                .await;
            if let Ok(ldap3::SearchResult(entries, _)) = found {
                for entry in entries.into_iter().map(SearchEntry::construct) {
                    acis.extend(values_of(&entry, "aci").cloned().unwrap_or_default());
                }
            }
            dn = dn.split_once(',').map(|(_, parent)| parent.trim().to_owned()).unwrap_or_default();
        }
        let _ = ldap.unbind().await;
        if acis.is_empty() {
            return SelfWrite::Unknown(
                "the service account reads no aci above the people (grant it read on the aci attribute to check)".into(),
            );
        }
        match acis.iter().find(|aci| ds389_aci_lets_people_write(aci, &self.cfg.phone_attribute)) {
            Some(aci) => SelfWrite::Allowed(aci.clone()),
            None => SelfWrite::NotAllowed,
        }
    }
}

/// Well-known SIDs whose write access reaches a person's own entry: SELF (S-1-5-10), Everyone
/// (S-1-1-0) and Authenticated Users (S-1-5-11).
fn who_of(sid: &[u8]) -> Option<&'static str> {
    match sid {
        [1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0] => Some("SELF"),
        [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0] => Some("Everyone"),
        [1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0] => Some("Authenticated Users"),
        _ => None,
    }
}

/// Rights that include writing properties: ADS_RIGHT_DS_WRITE_PROP, GENERIC_WRITE, GENERIC_ALL.
const WRITE_RIGHTS: u32 = 0x20 | 0x4000_0000 | 0x1000_0000;

/// Looks through a self-relative security descriptor's DACL for an allow ACE that applies to
/// the entry itself and lets SELF, Everyone or Authenticated Users write a property whose GUID
/// is one of `guids` (or every property). Returns it described (`SELF may write 77b5b886-…`).
/// Deny ACEs are not weighed: the answer errs towards a warning.
fn ad_self_write_ace(sd: &[u8], guids: &[[u8; 16]]) -> Result<Option<String>, String> {
    let bad = || "the security descriptor is malformed".to_owned();
    let u16_at = |b: &[u8], i: usize| b.get(i..i + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
    let u32_at =
        |b: &[u8], i: usize| b.get(i..i + 4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
    let dacl_at = u32_at(sd, 16).ok_or_else(bad)? as usize;
    if dacl_at == 0 {
        // No DACL: everyone may do everything.
        return Ok(Some("a missing DACL (everyone may write)".into()));
    }
    let count = u16_at(sd, dacl_at + 4).ok_or_else(bad)?;
    let mut at = dacl_at + 8;
    for _ in 0..count {
        let (kind, flags) = (*sd.get(at).ok_or_else(bad)?, *sd.get(at + 1).ok_or_else(bad)?);
        let size = usize::from(u16_at(sd, at + 2).ok_or_else(bad)?);
        let ace = sd.get(at..at + size).filter(|_| size >= 8).ok_or_else(bad)?;
        at += size;
        // INHERIT_ONLY: for the entries below, not this one.
        if flags & 0x08 != 0 {
            continue;
        }
        let mask = u32_at(ace, 4).ok_or_else(bad)?;
        let (object, sid) = match kind {
            // ACCESS_ALLOWED_ACE: every property.
            0x00 => (None, &ace[8..]),
            // ACCESS_ALLOWED_OBJECT_ACE: flags say whether an object type follows.
            0x05 => {
                let object_flags = u32_at(ace, 8).ok_or_else(bad)?;
                let mut rest = 12;
                let object = if object_flags & 1 != 0 {
                    let guid = ace.get(rest..rest + 16).ok_or_else(bad)?;
                    rest += 16;
                    Some(guid)
                } else {
                    None
                };
                if object_flags & 2 != 0 {
                    rest += 16;
                }
                (object, ace.get(rest..).ok_or_else(bad)?)
            }
            _ => continue,
        };
        let Some(who) = sid.get(..12).and_then(who_of) else {
            continue;
        };
        if mask & WRITE_RIGHTS == 0 {
            continue;
        }
        match object {
            None => return Ok(Some(format!("{who} may write every attribute"))),
            Some(guid) if guids.iter().any(|g| g.as_slice() == guid) => {
                let name = guid_string(guid).unwrap_or_default();
                return Ok(Some(format!("{who} may write property (set) {name}")));
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

/// Whether a 389-ds ACI allows writing `phone` to people themselves (`ldap:///self`), to
/// everyone (`ldap:///anyone`) or to every signed-in account (`ldap:///all`). Parts it cannot
/// judge (a `target`, a filter) are assumed to cover, so the answer errs towards a warning.
fn ds389_aci_lets_people_write(aci: &str, phone: &str) -> bool {
    let lower = aci.to_ascii_lowercase();
    let phone = phone.to_ascii_lowercase();
    // (targetattr = "a || b") or (targetattr != "…"); none: every attribute.
    let covers = match lower.find("targetattr") {
        None => true,
        Some(at) => {
            let rest = lower[at + "targetattr".len()..].trim_start();
            let (negated, rest) = match rest.strip_prefix("!=") {
                Some(rest) => (true, rest),
                None => (false, rest.strip_prefix('=').unwrap_or(rest)),
            };
            let listed = rest
                .trim_start()
                .strip_prefix('"')
                .and_then(|r| r.split_once('"'))
                .map(|(list, _)| list.split("||").any(|a| a.trim() == phone || a.trim() == "*"))
                .unwrap_or(true);
            listed != negated
        }
    };
    let allows_write = lower.split("allow").skip(1).any(|after| {
        after.trim_start().strip_prefix('(').and_then(|r| r.split_once(')')).is_some_and(
            |(rights, _)| rights.split(',').any(|r| matches!(r.trim(), "write" | "all")),
        )
    });
    let people = ["ldap:///self", "ldap:///anyone", "ldap:///all"].iter().any(|who| {
        lower.contains(&format!("userdn=\"{who}\""))
            || lower.contains(&format!("userdn = \"{who}\""))
    });
    covers && allows_write && people
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_openldap_rule_that_lets_people_write_their_own_phone() {
        let base = "ou=people,dc=example,dc=org";
        let rules = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let devkit = rules(&[
            "{0}to attrs=userPassword by self write by anonymous auth by * none",
            "{1}to attrs=mobile by dn.exact=\"cn=latchkey,ou=services,dc=example,dc=org\" write by self read by users read by * none",
            "{2}to * by users read by * none",
        ]);
        assert_eq!(openldap_self_write_rule(&devkit, "mobile", base), None);
        let mut open = devkit.clone();
        open[1] = open[1].replace("by self read", "by self write");
        assert_eq!(openldap_self_write_rule(&open, "mobile", base), Some(open[1].clone()));
        // Another phone attribute falls to the catch-all rule.
        assert_eq!(openldap_self_write_rule(&open, "telephoneNumber", base), None);
        let everything = rules(&["{0}to * by self write by * read"]);
        assert!(openldap_self_write_rule(&everything, "mobile", base).is_some());
        let users = rules(&["to attrs=cn,mobile by users =wrscx"]);
        assert!(openldap_self_write_rule(&users, "mobile", base).is_some());
        let elsewhere = rules(&[
            "to dn.subtree=\"ou=staff,dc=example,dc=org\" by self write",
            "to * by self read",
        ]);
        assert_eq!(openldap_self_write_rule(&elsewhere, "mobile", base), None);
        let above = rules(&["to dn.subtree=\"dc=example,dc=org\" attrs=mobile by self write"]);
        assert!(openldap_self_write_rule(&above, "mobile", base).is_some());
        let first_by_wins = rules(&["to * by users read by self write"]);
        assert_eq!(openldap_self_write_rule(&first_by_wins, "mobile", base), None);
        assert_eq!(openldap_self_write_rule(&[], "mobile", base), None);
    }

    #[test]
    fn reads_389_acis_for_self_write_on_the_phone() {
        // What dscreate's sample entries carry.
        let common = r#"(targetattr="carLicense || description || displayName || mobile || telephoneNumber")(version 3.0; acl "Enable self write for common attributes"; allow (write) userdn="ldap:///self";)"#;
        assert!(ds389_aci_lets_people_write(common, "mobile"));
        assert!(ds389_aci_lets_people_write(common, "MOBILE"));
        assert!(!ds389_aci_lets_people_write(common, "otherMobile"));
        let service = r#"(targetattr="mobile")(version 3.0; acl "latchkey writes phones"; allow (write) userdn="ldap:///uid=latchkey,ou=services,dc=lk389,dc=test";)"#;
        assert!(!ds389_aci_lets_people_write(service, "mobile"));
        let read = r#"(targetattr="*")(version 3.0; acl "self read"; allow (read, search, compare) userdn="ldap:///self";)"#;
        assert!(!ds389_aci_lets_people_write(read, "mobile"));
        let all_but = r#"(targetattr != "userPassword")(version 3.0; acl "x"; allow (all) userdn = "ldap:///all";)"#;
        assert!(ds389_aci_lets_people_write(all_but, "mobile"));
        let all_but_phone = r#"(targetattr != "mobile || userPassword")(version 3.0; acl "x"; allow (all) userdn="ldap:///self";)"#;
        assert!(!ds389_aci_lets_people_write(all_but_phone, "mobile"));
    }

    /// A self-relative security descriptor with a DACL of the given ACEs.
    fn descriptor(aces: &[Vec<u8>]) -> Vec<u8> {
        let mut sd = vec![1, 0, 0x04, 0x80];
        sd.extend(0u32.to_le_bytes()); // owner
        sd.extend(0u32.to_le_bytes()); // group
        sd.extend(0u32.to_le_bytes()); // SACL
        sd.extend(20u32.to_le_bytes()); // DACL right after the header
        let body: Vec<u8> = aces.concat();
        sd.extend([2, 0]);
        sd.extend(u16::try_from(8 + body.len()).unwrap().to_le_bytes());
        sd.extend(u16::try_from(aces.len()).unwrap().to_le_bytes());
        sd.extend([0, 0]);
        sd.extend(body);
        sd
    }

    fn object_ace(flags: u8, mask: u32, guid: [u8; 16], sid: &[u8]) -> Vec<u8> {
        let mut ace = vec![0x05, flags, 0, 0];
        ace.extend(mask.to_le_bytes());
        ace.extend(1u32.to_le_bytes());
        ace.extend(guid);
        ace.extend(sid);
        let size = u16::try_from(ace.len()).unwrap().to_le_bytes();
        ace[2..4].copy_from_slice(&size);
        ace
    }

    const SELF: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0];
    const SOMEONE: [u8; 16] = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0];

    #[test]
    fn reads_active_directory_descriptors_for_self_write_on_the_phone() {
        let personal_information = [7u8; 16];
        let phone = [9u8; 16];
        let other = [3u8; 16];
        let guids = [phone, personal_information];
        // AD's default: SELF may read and write Personal Information (RPWP = 0x30).
        let sd = descriptor(&[object_ace(0, 0x30, personal_information, &SELF)]);
        let found = ad_self_write_ace(&sd, &guids).unwrap().expect("self write");
        assert!(found.starts_with("SELF may write"), "{found}");
        // Read only, another property, another principal, or only for entries below: not.
        for ace in [
            object_ace(0, 0x10, phone, &SELF),
            object_ace(0, 0x30, other, &SELF),
            object_ace(0, 0x30, phone, &SOMEONE),
            object_ace(0x08, 0x30, phone, &SELF),
        ] {
            assert_eq!(ad_self_write_ace(&descriptor(&[ace]), &guids).unwrap(), None);
        }
        // Truncated input is an error, never a panic.
        let sd = descriptor(&[object_ace(0, 0x30, phone, &SELF)]);
        for cut in 0..sd.len() {
            let _ = ad_self_write_ace(&sd[..cut], &guids);
        }
    }
}
