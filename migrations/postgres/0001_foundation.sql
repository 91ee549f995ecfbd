-- Sessions, in the shape tower-sessions-sqlx-store reads and writes (table name set in code).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data BYTEA NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry_date ON sessions (expiry_date);

-- Per-person settings that are not directory data, keyed by the directory's stable user id.
CREATE TABLE user_settings (
    user_id TEXT PRIMARY KEY NOT NULL,
    two_factor_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL
);

-- Texts the demo SMS provider delivered to the demo phone page. Empty unless the demo provider
-- is in use.
CREATE TABLE demo_texts (
    id BIGSERIAL PRIMARY KEY,
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
