-- 003_log_ids.sql: every table carries the id of the log its facts belong
-- to, so that separate logs (one per district, say) can later live in
-- separate databases or be distributed by log id. One log per deployment
-- ('default') is what vledgerd runs today; every existing row belongs to it.

ALTER TABLE organizations ADD COLUMN log_id text NOT NULL DEFAULT 'default';
ALTER TABLE tokens ADD COLUMN log_id text NOT NULL DEFAULT 'default';
ALTER TABLE idempotency_keys ADD COLUMN log_id text NOT NULL DEFAULT 'default';

CREATE INDEX organizations_log ON organizations (log_id, seq);
CREATE INDEX tokens_log ON tokens (log_id, seq);
