-- Send limits as counters (issue 19; domain/src/codes/counters.rs): one row per limit key
-- ('c:' a number's cooldown, 'n:' a number, 'u:' a person, 'i:' a client IP, 'g' everyone)
-- and bucket (the start of a tenth of the limit's window, Unix seconds). A send reads at most
-- eleven rows per key and adds one to the newest, so its cost no longer grows with the texts
-- sent or with the limits, as counting rows of sms_sends did.
CREATE TABLE send_counters (
    counter TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    sends BIGINT NOT NULL,
    PRIMARY KEY (counter, bucket)
);
-- For retention, which deletes buckets older than the longest window.
CREATE INDEX send_counters_bucket ON send_counters (bucket);

-- The texts of the last day carry over, so an upgrade does not hand out fresh allowances.
-- Bucket widths: 60 s for a number's ten minutes, 360 s for an IP's hour, 8640 s for a day,
-- the cooldown to the second (its default: a minute).
INSERT INTO send_counters (counter, bucket, sends)
SELECT 'c:' || number, sent_at, COUNT(*) FROM sms_sends
WHERE NOT failed AND NOT notice AND sent_at > CAST(extract(epoch FROM now()) AS BIGINT) - 60 GROUP BY 1, 2;
INSERT INTO send_counters (counter, bucket, sends)
SELECT 'n:' || number, sent_at / 60 * 60, COUNT(*) FROM sms_sends
WHERE NOT failed AND sent_at > CAST(extract(epoch FROM now()) AS BIGINT) - 600 GROUP BY 1, 2;
INSERT INTO send_counters (counter, bucket, sends)
SELECT 'u:' || user_id, sent_at / 8640 * 8640, COUNT(*) FROM sms_sends
WHERE NOT failed AND sent_at > CAST(extract(epoch FROM now()) AS BIGINT) - 86400 GROUP BY 1, 2;
INSERT INTO send_counters (counter, bucket, sends)
SELECT 'i:' || client_ip, sent_at / 360 * 360, COUNT(*) FROM sms_sends
WHERE NOT notice AND sent_at > CAST(extract(epoch FROM now()) AS BIGINT) - 3600 GROUP BY 1, 2;
INSERT INTO send_counters (counter, bucket, sends)
SELECT 'g', sent_at / 8640 * 8640, COUNT(*) FROM sms_sends
WHERE sent_at > CAST(extract(epoch FROM now()) AS BIGINT) - 86400 GROUP BY 2;

DROP TABLE sms_sends;
