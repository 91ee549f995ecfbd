-- Security notices are texts too: they count against the per-number, per-person and global
-- limits like codes, but neither start nor wait for a number's cooldown and do not count
-- against the client's IP (server/src/db/codes.rs says why).
ALTER TABLE sms_sends ADD COLUMN notice BOOLEAN NOT NULL DEFAULT FALSE;

-- Wrong codes since the person's last right one, across the short locks (NIST SP 800-63B-4
-- caps consecutive failures at 100), and when that cap locked the second step until an
-- administrator unlocks it (NULL: it did not).
ALTER TABLE second_step_failures ADD COLUMN since_success INTEGER NOT NULL DEFAULT 0;
ALTER TABLE second_step_failures ADD COLUMN reset_required_at INTEGER;
UPDATE second_step_failures SET since_success = consecutive;
