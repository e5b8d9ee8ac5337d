-- 005_feedback.sql: feedback tickets and the feedback given with them.

-- One-time tickets; only SHA-256 of the code is kept (the codes can be
-- derived again for an idempotent retry, see services/crypto/pii.c).
CREATE TABLE feedback_tickets (
	log_id      text NOT NULL DEFAULT 'default',
	ticket_hash bytea PRIMARY KEY CHECK (length(ticket_hash) = 32),
	shift_id    text NOT NULL REFERENCES shifts (id),
	issue_time  timestamptz NOT NULL DEFAULT now(),
	expire_time timestamptz NOT NULL,
	used_time   timestamptz
);
CREATE INDEX feedback_tickets_shift ON feedback_tickets (shift_id);

-- The comment stays here, off the log (it is free text from the public and
-- may name people); the log entry holds its SHA-256.
CREATE TABLE feedback (
	log_id      text NOT NULL DEFAULT 'default',
	id          text PRIMARY KEY,
	shift_id    text NOT NULL REFERENCES shifts (id),
	rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
	comment     text NOT NULL DEFAULT '',
	tags        text[] NOT NULL DEFAULT '{}',
	submit_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_shift ON feedback (shift_id);
