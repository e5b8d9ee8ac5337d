-- 012_recognition.sql: volunteer tokens and employer recognition with the
-- volunteer's consent (RecognitionService).
--
-- A share grant is the volunteer's consent: an employer (or any employer)
-- may see what it includes, for its period, until it expires or is
-- revoked. Its share code is a bearer secret like a token's: only its
-- SHA-256 is kept. Grants, revocations and each employer's lookup are log
-- entries (share_granted, share_revoked, share_accessed); these tables are
-- the current view the RPCs read, with the leaf index of each fact.

-- ROLE_VOLUNTEER tokens act for one volunteer; their organisation is the
-- volunteer's, so the office check of 001 (organization_id IS NOT NULL for
-- every role but admin and auditor) still holds.
ALTER TABLE tokens ADD COLUMN volunteer_id text REFERENCES volunteers (id);
ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
	CHECK (role IN ('admin', 'office', 'team_leader', 'employer', 'auditor', 'volunteer'));
ALTER TABLE tokens ADD CONSTRAINT tokens_volunteer_check CHECK ((role = 'volunteer') = (volunteer_id IS NOT NULL));
CREATE INDEX tokens_volunteer ON tokens (volunteer_id) WHERE volunteer_id IS NOT NULL;

CREATE TABLE share_grants (
	log_id                   text NOT NULL DEFAULT 'default',
	id                       text PRIMARY KEY,
	seq                      bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	-- SHA-256 of the share code "VLS-XXXX-XXXX-XXXX-XXXX-XXXX" (upper case,
	-- with its hyphens); the code itself is shown once and never stored.
	code_hash                bytea NOT NULL UNIQUE CHECK (length(code_hash) = 32),
	volunteer_id             text NOT NULL REFERENCES volunteers (id),
	employer_organization_id text REFERENCES organizations (id),  -- NULL: any employer
	period_from              timestamptz NOT NULL,
	period_to                timestamptz NOT NULL,
	expire_time              timestamptz NOT NULL,
	include                  text[] NOT NULL CHECK (cardinality(include) BETWEEN 1 AND 3
		AND include <@ ARRAY['hours', 'feedback', 'commendations']::text[]),
	create_time              timestamptz NOT NULL DEFAULT now(),
	created_by               text NOT NULL REFERENCES tokens (id),
	leaf_index               bigint NOT NULL,  -- the share_granted entry
	revoke_time              timestamptz,
	revoked_by               text REFERENCES tokens (id),
	revoke_leaf_index        bigint,           -- the share_revoked entry
	CHECK (period_from < period_to),
	CHECK ((revoke_time IS NULL) = (revoked_by IS NULL) AND (revoke_time IS NULL) = (revoke_leaf_index IS NULL))
);
CREATE INDEX share_grants_volunteer ON share_grants (volunteer_id, seq);

-- Every successful lookup of a grant by an employer token, for
-- ListAccesses (newest first by seq).
CREATE TABLE share_accesses (
	log_id                   text NOT NULL DEFAULT 'default',
	seq                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	grant_id                 text NOT NULL REFERENCES share_grants (id),
	volunteer_id             text NOT NULL REFERENCES volunteers (id),
	employer_organization_id text NOT NULL REFERENCES organizations (id),
	token_id                 text NOT NULL REFERENCES tokens (id),
	access_time              timestamptz NOT NULL DEFAULT now(),
	leaf_index               bigint NOT NULL   -- the share_accessed entry
);
CREATE INDEX share_accesses_volunteer ON share_accesses (volunteer_id, seq);
