-- 004_volunteers_shifts.sql: volunteers (personal data encrypted off the
-- log) and service shifts.
--
-- These tables are the current view that RPCs read; the log entries are the
-- record. Personal data lives only in volunteer_personal_data, sealed with
-- AES-256-GCM under a per-volunteer key that is itself wrapped by the
-- daemon's master key (services/crypto/pii.c). Erasure deletes that row:
-- without the key the data is gone, while the log and every total stay.

-- The shift overlap rule is an exclusion constraint over time ranges.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Which master key sealed this database's personal data: an HMAC of a fixed
-- label, so an instance started with another key refuses to run.
CREATE TABLE pii_key_check (
	log_id     text PRIMARY KEY DEFAULT 'default',
	check_hmac text NOT NULL
);

-- The district an organisation belongs to (itself for a district), or NULL.
CREATE FUNCTION org_district(org text) RETURNS text
LANGUAGE sql STABLE AS $$
	WITH RECURSIVE up (id, parent_id, kind) AS (
		SELECT id, parent_id, kind FROM organizations WHERE id = org
		UNION ALL
		SELECT o.id, o.parent_id, o.kind FROM organizations o JOIN up ON o.id = up.parent_id
	)
	SELECT id FROM up WHERE kind = 'district'
$$;

CREATE TABLE volunteers (
	log_id          text NOT NULL DEFAULT 'default',
	id              text PRIMARY KEY,
	seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	organization_id text NOT NULL REFERENCES organizations (id),
	skills          text[] NOT NULL DEFAULT '{}',
	commitment      text NOT NULL CHECK (length(commitment) = 64),
	-- Keyed hash of (district, identity number): finds a duplicate without
	-- decrypting anything. NULL when none was given, or after erasure.
	identity_index  text CHECK (length(identity_index) = 64),
	register_time   timestamptz NOT NULL DEFAULT now(),
	created_by      text NOT NULL,
	erase_time      timestamptz
);
CREATE UNIQUE INDEX volunteers_identity ON volunteers (identity_index) WHERE identity_index IS NOT NULL;
CREATE INDEX volunteers_organization ON volunteers (organization_id, seq);

CREATE TABLE volunteer_personal_data (
	log_id       text NOT NULL DEFAULT 'default',
	volunteer_id text PRIMARY KEY REFERENCES volunteers (id),
	wrapped_key  bytea NOT NULL,
	ciphertext   bytea NOT NULL
);

CREATE TABLE shifts (
	log_id          text NOT NULL DEFAULT 'default',
	id              text PRIMARY KEY,
	seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	volunteer_id    text NOT NULL REFERENCES volunteers (id),
	organization_id text NOT NULL REFERENCES organizations (id),
	category        text NOT NULL CHECK (category IN ('building_sweep', 'testing_site', 'supply_delivery',
	                    'elderly_care', 'disinfection', 'publicity', 'mediation', 'psychological_support', 'other')),
	start_time      timestamptz NOT NULL,
	end_time        timestamptz NOT NULL,
	minutes         integer NOT NULL CHECK (minutes >= 0),
	activity        text NOT NULL,
	place           text NOT NULL,
	grid            text NOT NULL DEFAULT '',
	beneficiary     text NOT NULL DEFAULT '',
	role            text NOT NULL DEFAULT '',
	note            text NOT NULL DEFAULT '',
	source          text NOT NULL CHECK (source IN ('entered', 'measured')),
	status          text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
	voided          boolean NOT NULL DEFAULT false,
	recorded_by     text NOT NULL,
	record_time     timestamptz NOT NULL DEFAULT now(),
	decided_by      text NOT NULL DEFAULT '',
	decide_time     timestamptz,
	reject_reason   text NOT NULL DEFAULT '',
	CHECK (end_time > start_time),
	-- No two live shifts of one volunteer overlap, whatever races happen
	-- above; RecordShift checks first to name the conflicting shift.
	EXCLUDE USING gist (volunteer_id WITH =, tstzrange(start_time, end_time) WITH &&)
		WHERE (status <> 'rejected' AND NOT voided)
);
CREATE INDEX shifts_volunteer ON shifts (volunteer_id, start_time);
CREATE INDEX shifts_organization ON shifts (organization_id, start_time);
