-- One-time codes, stored only as an HMAC digest. The newest code of a flow and purpose is the
-- one that verifies; attempts are counted before comparing.
CREATE TABLE otp_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flow_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    user_id TEXT NOT NULL,
    number TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER
);
CREATE INDEX otp_codes_flow ON otp_codes (flow_id, purpose);
CREATE INDEX otp_codes_expires_at ON otp_codes (expires_at);

-- Every text sent (or tried), for the send limits that all instances share.
CREATE TABLE sms_sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    number TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    failed BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sms_sends_number ON sms_sends (number, sent_at);
CREATE INDEX sms_sends_user ON sms_sends (user_id, sent_at);
CREATE INDEX sms_sends_ip ON sms_sends (client_ip, sent_at);
CREATE INDEX sms_sends_sent_at ON sms_sends (sent_at);

-- Consecutive wrong codes per person, and the lock they lead to. A new code does not reset it.
CREATE TABLE second_step_failures (
    user_id TEXT PRIMARY KEY NOT NULL,
    consecutive INTEGER NOT NULL,
    locked_until INTEGER
);
