//! A person's factor records (2-step setting, phone metadata, verified numbers, apps, recovery
//! codes) in one statement, on either database: five tables, one `UNION ALL`, each row tagged
//! with the table it came from. The separate reads stay for the pages that need one table.

use async_trait::async_trait;
use domain::authenticator::{RecoveryStatus, StoredApp};
use domain::directory::UserId;
use domain::ports::{FactorRecords, FactorRecordsStore, Unavailable, VerifiedPhone};
use domain::security::PhoneSettings;

use super::Db;

/// Every branch has the same eight columns: a tag, three texts, three integers and a flag.
/// The first branch's casts give PostgreSQL the columns' types; SQLite takes them as written.
const FACTOR_RECORDS: &str = "\
SELECT 'u', CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
       CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), two_factor_enabled
  FROM user_settings WHERE user_id = $1
UNION ALL
SELECT 'p', number, nickname, NULL, added_at, last_used_at, NULL, preferred
  FROM phone_settings WHERE user_id = $1
UNION ALL
SELECT 'v', number, method, NULL, verified_at, NULL, NULL, FALSE
  FROM verified_phones WHERE user_id = $1
UNION ALL
SELECT 'a', id, name, sealed_secret, created_at, last_used_at, last_step, preferred
  FROM totp_credentials WHERE user_id = $1
UNION ALL
SELECT 'r', NULL, NULL, NULL, COUNT(*) - COUNT(used_at), MIN(created_at), MAX(used_at), FALSE
  FROM recovery_codes WHERE user_id = $1";

type Row = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    bool,
);

fn unavailable(e: impl Into<super::StoreError>) -> Unavailable {
    super::unavailable_in("factor_records", e)
}

/// A row that breaks the statement's own shape (a NULL where the table has NOT NULL): the
/// database is not the one the migrations made.
fn malformed(tag: &str) -> Unavailable {
    tracing::error!(tag, "factor records: a row without a required column");
    Unavailable { kind: "query" }
}

/// The records from the statement's rows, in the orders [`FactorRecords`] promises.
fn assemble(user_id: &UserId, rows: Vec<Row>) -> Result<FactorRecords, Unavailable> {
    let mut records = FactorRecords::default();
    for (tag, t1, t2, t3, n1, n2, n3, flag) in rows {
        match tag.as_str() {
            "u" => records.two_factor_on = flag,
            "p" => records.phones.push(PhoneSettings {
                number: t1.ok_or_else(|| malformed("p"))?,
                nickname: t2,
                preferred: flag,
                added_at: n1.ok_or_else(|| malformed("p"))?,
                last_used_at: n2,
            }),
            "v" => records.verified.push(VerifiedPhone {
                number: t1.ok_or_else(|| malformed("v"))?,
                method: t2.ok_or_else(|| malformed("v"))?,
                verified_at: n1.ok_or_else(|| malformed("v"))?,
            }),
            "a" => records.apps.push(StoredApp {
                id: t1.ok_or_else(|| malformed("a"))?,
                user_id: user_id.clone(),
                name: t2.ok_or_else(|| malformed("a"))?,
                sealed_secret: t3.ok_or_else(|| malformed("a"))?,
                created_at: n1.ok_or_else(|| malformed("a"))?,
                last_used_at: n2,
                last_step: n3.ok_or_else(|| malformed("a"))?,
                preferred: flag,
            }),
            "r" => {
                records.recovery = RecoveryStatus {
                    remaining: n1.and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                    created_at: n2,
                    last_used_at: n3,
                }
            }
            _ => return Err(malformed("unknown")),
        }
    }
    // Sorted here rather than in SQL: a UNION has one ORDER BY for all branches, and a byte
    // order is the same on both databases whatever PostgreSQL's collation.
    records.phones.sort_by(|a, b| (a.added_at, &a.number).cmp(&(b.added_at, &b.number)));
    records.verified.sort_by(|a, b| a.number.cmp(&b.number));
    records.apps.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(records)
}

#[async_trait]
impl FactorRecordsStore for Db {
    async fn factor_records(&self, user_id: &UserId) -> Result<FactorRecords, Unavailable> {
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(FACTOR_RECORDS).bind(user_id.as_str()).fetch_all(pool).await
        })
        .map_err(unavailable)?;
        assemble(user_id, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tag: &str) -> Row {
        (tag.to_owned(), None, None, None, None, None, None, false)
    }

    #[test]
    fn rows_come_back_sorted_and_a_person_with_none_has_defaults() {
        let id = UserId("u-1".to_owned());
        assert_eq!(assemble(&id, Vec::new()).unwrap(), FactorRecords::default());
        let phone = |n: &str, at| {
            ("p".to_owned(), Some(n.to_owned()), None, None, Some(at), None, None, false)
        };
        let rows = vec![phone("+3", 20), phone("+2", 10), phone("+1", 20)];
        let numbers: Vec<String> =
            assemble(&id, rows).unwrap().phones.into_iter().map(|p| p.number).collect();
        assert_eq!(numbers, ["+2", "+1", "+3"]);
    }

    #[test]
    fn a_row_missing_a_required_column_is_refused_not_defaulted() {
        let id = UserId("u-1".to_owned());
        for tag in ["p", "v", "a", "unknown"] {
            assert_eq!(assemble(&id, vec![row(tag)]).unwrap_err().kind, "query", "{tag}");
        }
        // The aggregate row has nothing required: a person without codes has none left.
        let r = assemble(&id, vec![row("r")]).unwrap();
        assert_eq!(r.recovery, RecoveryStatus::default());
    }
}
