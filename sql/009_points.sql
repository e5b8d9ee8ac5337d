-- 009_points.sql: incentive points (积分).
--
-- Points are not stored as a running balance: they are computed from the
-- facts (approved, non-voided shifts; non-voided commendations) under the
-- policy that was in force when each was decided, minus redemptions. So the
-- totals follow every correction, and anyone holding the log and the
-- policies (each change is a points_policy_set entry) can recompute them.

CREATE TABLE points_policies (
	log_id         text NOT NULL DEFAULT 'default',
	version        integer NOT NULL,
	policy         jsonb NOT NULL,
	canonical      text NOT NULL,  -- the policy's RFC 8785 JSON, as in the log entry
	effective_time timestamptz NOT NULL DEFAULT now(),
	leaf_index     bigint NOT NULL,
	PRIMARY KEY (log_id, version)
);

CREATE TABLE points_redemptions (
	log_id       text NOT NULL DEFAULT 'default',
	id           text PRIMARY KEY,
	volunteer_id text NOT NULL REFERENCES volunteers (id),
	points       bigint NOT NULL CHECK (points > 0),
	reason       text NOT NULL,
	redeem_time  timestamptz NOT NULL DEFAULT now(),
	redeemed_by  text NOT NULL,
	leaf_index   bigint NOT NULL
);
CREATE INDEX points_redemptions_volunteer ON points_redemptions (volunteer_id);

-- The policy in force at `at` (the first one for anything older).
CREATE FUNCTION points_policy_at(at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT coalesce(
		(SELECT policy FROM points_policies WHERE effective_time <= at ORDER BY version DESC LIMIT 1),
		(SELECT policy FROM points_policies ORDER BY version LIMIT 1))
$$;

-- Points a volunteer has earned, from shifts and commendations.
CREATE FUNCTION points_earned(vol text) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT coalesce(sum(points), 0)::bigint FROM (
		SELECT floor(s.minutes * coalesce((pol->'pointsPerHour'->>s.category)::numeric,
		                                   (pol->'pointsPerHour'->>'default')::numeric, 0) / 60)
		       * CASE WHEN (pol->>'measuredOnly')::boolean AND s.source <> 'measured' THEN 0 ELSE 1 END AS points
		  FROM shifts s
		 CROSS JOIN LATERAL (SELECT points_policy_at(coalesce(s.decide_time, s.record_time)) AS pol) x
		 WHERE s.volunteer_id = vol AND s.status = 'approved' AND NOT s.voided
		UNION ALL
		SELECT coalesce((pol->'commendationBonus'->>c.level)::numeric, 0)
		  FROM commendations c
		 CROSS JOIN LATERAL (SELECT points_policy_at(c.award_time) AS pol) x
		 WHERE c.volunteer_id = vol AND NOT c.voided
	) accruals
$$;

-- The balance: earned minus redeemed. RedeemPoints refuses to take it
-- below zero, under a per-volunteer lock; a correction that removes points
-- already redeemed shows as 0 and is made good by later earnings.
CREATE FUNCTION points_balance(vol text) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT greatest(0, points_earned(vol)
	    - coalesce((SELECT sum(points) FROM points_redemptions WHERE volunteer_id = vol), 0))
$$;
