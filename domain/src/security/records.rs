//! What the security page keeps in SQL about a person's phones and remembered browsers.

/// A phone's metadata as stored (the number itself lives in the directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneSettings {
    pub number: String,
    pub nickname: Option<String>,
    pub preferred: bool,
    pub added_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedBrowser {
    pub id: String,
    pub description: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}
