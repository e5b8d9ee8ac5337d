-- 007_commendations.sql: commendations awarded to volunteers.

CREATE TABLE commendations (
	log_id            text NOT NULL DEFAULT 'default',
	id                text PRIMARY KEY,
	seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	volunteer_id      text NOT NULL REFERENCES volunteers (id),
	organization_id   text NOT NULL REFERENCES organizations (id),  -- the awarding organisation
	level             text NOT NULL CHECK (level IN ('team', 'community', 'subdistrict', 'district', 'city')),
	title             text NOT NULL,
	citation          text NOT NULL DEFAULT '',
	related_shift_ids text[] NOT NULL DEFAULT '{}',
	award_time        timestamptz NOT NULL DEFAULT now(),
	awarded_by        text NOT NULL,
	voided            boolean NOT NULL DEFAULT false,
	void_reason       text NOT NULL DEFAULT ''
);
CREATE INDEX commendations_volunteer ON commendations (volunteer_id, award_time);
