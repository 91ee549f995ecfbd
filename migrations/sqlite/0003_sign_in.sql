-- Sign-in flows between the password and the code: the person as read at the password step
-- (JSON), the state machine's state (JSON), and a version for optimistic concurrency.
CREATE TABLE sign_in_flows (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    person TEXT NOT NULL,
    state TEXT NOT NULL,
    last_sent_at INTEGER,
    version INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sign_in_flows_expires_at ON sign_in_flows (expires_at);

-- Failed passwords per login (as typed) and per client IP, and the wait they lead to.
CREATE TABLE login_failures (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    blocked_until INTEGER
);

-- "Remember this browser": only an HMAC of the cookie's secret is kept.
CREATE TABLE trusted_browsers (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX trusted_browsers_user ON trusted_browsers (user_id);

-- What the directory does not hold about a phone: nickname, preference, dates. Keyed by the
-- person's stable id and the E.164 number; a number in the directory without a row is "Unnamed".
CREATE TABLE phone_settings (
    user_id TEXT NOT NULL,
    number TEXT NOT NULL,
    nickname TEXT,
    preferred BOOLEAN NOT NULL DEFAULT FALSE,
    added_at INTEGER NOT NULL,
    last_used_at INTEGER,
    PRIMARY KEY (user_id, number)
);

-- Security events: who, when, from where, what happened. Append-only.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT,
    login TEXT,
    subject_id TEXT,
    client_ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_events_actor ON audit_events (actor_id, at);
CREATE INDEX audit_events_subject ON audit_events (subject_id, at);
CREATE INDEX audit_events_at ON audit_events (at);
