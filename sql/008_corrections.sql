-- 008_corrections.sql: corrections and the per-subject index of entries.
--
-- A correction never edits the log: VoidEntry and AmendShift append entries,
-- and these tables are the current view that totals read. shift_history is
-- the list of everything that happened to a shift, in order.

ALTER TABLE feedback ADD COLUMN voided boolean NOT NULL DEFAULT false;

CREATE TABLE shift_history (
	log_id      text NOT NULL DEFAULT 'default',
	shift_id    text NOT NULL REFERENCES shifts (id),
	seq         bigint GENERATED ALWAYS AS IDENTITY,
	kind        text NOT NULL CHECK (kind IN ('recorded', 'approved', 'rejected', 'amended', 'voided')),
	time        timestamptz NOT NULL DEFAULT now(),
	actor       text NOT NULL,
	reason      text NOT NULL DEFAULT '',
	changes     jsonb NOT NULL DEFAULT '{}',  -- for 'amended': {"field": {"from": …, "to": …}}
	leaf_index  bigint NOT NULL,
	PRIMARY KEY (shift_id, seq)
);

-- Which volunteer and organisation each entry concerns, for ListEntries:
-- newest first by leaf index, which never changes once written, so pages are
-- stable while entries are appended.
CREATE TABLE entry_subjects (
	log_id          text NOT NULL DEFAULT 'default',
	leaf_index      bigint NOT NULL,
	kind            text NOT NULL,
	time            timestamptz NOT NULL DEFAULT now(),
	volunteer_id    text,
	organization_id text,
	PRIMARY KEY (log_id, leaf_index)
);
CREATE INDEX entry_subjects_volunteer ON entry_subjects (volunteer_id, leaf_index DESC) WHERE volunteer_id IS NOT NULL;
CREATE INDEX entry_subjects_organization ON entry_subjects (organization_id, leaf_index DESC)
	WHERE organization_id IS NOT NULL;

-- Entries and shift events written before this migration.
INSERT INTO entry_subjects (log_id, leaf_index, kind, time, volunteer_id, organization_id)
SELECT l.log_id, l.leaf_index, l.kind, (j.e->>'time')::timestamptz,
       coalesce(j.e->'volunteer'->>'id', j.e->'shift'->>'volunteerId', s.volunteer_id),
       coalesce(j.e->'organization'->>'id', j.e->'volunteer'->>'organizationId', j.e->'shift'->>'organizationId',
                j.e->'token'->>'organizationId', s.organization_id)
  FROM log_entries l
 CROSS JOIN LATERAL (SELECT convert_from(l.entry, 'UTF8')::jsonb AS e) j
  LEFT JOIN shifts s ON s.id = coalesce(j.e->'shift'->>'id', j.e->'feedback'->>'shiftId');

INSERT INTO shift_history (shift_id, kind, time, actor, reason, leaf_index)
SELECT j.e->'shift'->>'id', replace(l.kind, 'shift_', ''), (j.e->>'time')::timestamptz, j.e->>'actor',
       coalesce(j.e->>'reason', ''), l.leaf_index
  FROM log_entries l
 CROSS JOIN LATERAL (SELECT convert_from(l.entry, 'UTF8')::jsonb AS e) j
 WHERE l.kind IN ('shift_recorded', 'shift_approved', 'shift_rejected')
 ORDER BY l.leaf_index;
