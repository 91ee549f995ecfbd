-- Retention (server/src/db/retention.rs) deletes password-throttle counts older than the longest
-- throttle window, a batch at a time. Without this index each batch would scan the table, which
-- is largest exactly when someone is guessing at many logins.
CREATE INDEX login_failures_last_failure_at ON login_failures (last_failure_at);
