-- Issue 19: a typed code is counted, compared and marked used by one statement. The attempt
-- that used a code is recorded beside when, so that of two parallel right guesses only the
-- one that made the change takes it as its own (RETURNING shows the row after the update).
ALTER TABLE otp_codes ADD COLUMN used_attempt INTEGER;
