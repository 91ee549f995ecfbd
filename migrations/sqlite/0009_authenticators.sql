-- Second factors beside phones (issue 18).
--
-- Authenticator apps (RFC 6238 TOTP). The secret must be read back to verify codes, so it is
-- sealed (AES-256-GCM under a key derived from security.hmac_keys, bound to the person and the
-- app), never stored in the clear. last_step is the newest time step (Unix seconds / 30)
-- accepted: a code of that step or an older one is refused (replay), checked and moved in one
-- UPDATE. preferred: at most one second factor per person is preferred, across this table and
-- phone_settings (both written in one transaction).
CREATE TABLE totp_credentials (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    last_step INTEGER NOT NULL,
    preferred BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX totp_credentials_user ON totp_credentials (user_id);

-- Recovery codes: keyed hashes only (HMAC-SHA256 under the newest of security.hmac_keys), one
-- row per code, used_at set in the statement that checks it was unset (single use).
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, digest)
);
