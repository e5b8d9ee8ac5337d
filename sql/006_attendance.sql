-- 006_attendance.sql: measured hours. A check-in at the site opens a
-- record with the server's clock; the check-out closes it into a shift with
-- source 'measured'. A check-in left open past --max-shift-hours is closed
-- at that limit and the shift flagged `capped`.

ALTER TABLE shifts ADD COLUMN capped boolean NOT NULL DEFAULT false;

CREATE TABLE check_ins (
	log_id          text NOT NULL DEFAULT 'default',
	id              text PRIMARY KEY,
	volunteer_id    text NOT NULL REFERENCES volunteers (id),
	organization_id text NOT NULL REFERENCES organizations (id),
	category        text NOT NULL,
	activity        text NOT NULL,
	place           text NOT NULL,
	grid            text NOT NULL DEFAULT '',
	beneficiary     text NOT NULL DEFAULT '',
	role            text NOT NULL DEFAULT '',
	start_time      timestamptz NOT NULL DEFAULT now(),
	checked_in_by   text NOT NULL,
	shift_id        text REFERENCES shifts (id),  -- set by the check-out
	close_time      timestamptz
);
-- One open check-in per volunteer.
CREATE UNIQUE INDEX check_ins_open ON check_ins (volunteer_id) WHERE shift_id IS NULL;
