-- 010_points_cap_expiry.sql: the optional cap and expiry of points, as
-- time banks use them.
--
-- A policy may say "cap": N (a balance never exceeds N: points earned
-- beyond it are not kept) and "expiryMonths": M (points expire M months
-- after they were earned; redemptions spend the oldest points first). Both
-- come from the policy in force when the points were earned. That needs
-- the events in order, so the balance is replayed here rather than summed:
-- accruals (approved, non-voided shifts; non-voided commendations) and
-- redemptions, oldest first. A correction that removes points already spent
-- cannot take the balance below zero.

CREATE OR REPLACE FUNCTION points_balance(vol text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
	ev       record;
	pol      jsonb;
	amounts  bigint[] := '{}';       -- what is left of each lot, oldest first
	expiries timestamptz[] := '{}';  -- when each lot expires
	balance  bigint := 0;
	cap      bigint;
	months   integer;
	take     bigint;
	need     bigint;
	i        integer;
BEGIN
	FOR ev IN
		SELECT at, points, kind FROM (
			SELECT coalesce(s.decide_time, s.record_time) AS at,
			       floor(s.minutes * coalesce((p->'pointsPerHour'->>s.category)::numeric,
			                                  (p->'pointsPerHour'->>'default')::numeric, 0) / 60)
			       * CASE WHEN (p->>'measuredOnly')::boolean AND s.source <> 'measured' THEN 0 ELSE 1 END AS points,
			       0 AS kind
			  FROM shifts s
			 CROSS JOIN LATERAL (SELECT points_policy_at(coalesce(s.decide_time, s.record_time)) AS p) x
			 WHERE s.volunteer_id = vol AND s.status = 'approved' AND NOT s.voided
			UNION ALL
			SELECT c.award_time, coalesce((p->'commendationBonus'->>c.level)::numeric, 0), 0
			  FROM commendations c
			 CROSS JOIN LATERAL (SELECT points_policy_at(c.award_time) AS p) x
			 WHERE c.volunteer_id = vol AND NOT c.voided
			UNION ALL
			SELECT r.redeem_time, r.points, 1 FROM points_redemptions r WHERE r.volunteer_id = vol
		) events
		ORDER BY at, kind  -- at the same instant, earn before spending
	LOOP
		-- Lots that expired by now go first.
		FOR i IN 1 .. coalesce(array_length(amounts, 1), 0) LOOP
			IF amounts[i] > 0 AND expiries[i] <= ev.at THEN
				balance := balance - amounts[i];
				amounts[i] := 0;
			END IF;
		END LOOP;
		IF ev.kind = 0 THEN
			pol := points_policy_at(ev.at);
			cap := coalesce((pol->>'cap')::bigint, 0);
			months := coalesce((pol->>'expiryMonths')::integer, 0);
			take := ev.points;
			IF cap > 0 THEN
				take := least(take, greatest(0, cap - balance));
			END IF;
			IF take > 0 THEN
				amounts := amounts || take;
				expiries := expiries || CASE WHEN months > 0 THEN ev.at + make_interval(months => months)
				                             ELSE 'infinity'::timestamptz END;
				balance := balance + take;
			END IF;
		ELSE
			need := ev.points;
			FOR i IN 1 .. coalesce(array_length(amounts, 1), 0) LOOP
				EXIT WHEN need = 0;
				take := least(amounts[i], need);
				amounts[i] := amounts[i] - take;
				need := need - take;
				balance := balance - take;
			END LOOP;
		END IF;
	END LOOP;
	FOR i IN 1 .. coalesce(array_length(amounts, 1), 0) LOOP
		IF amounts[i] > 0 AND expiries[i] <= now() THEN
			balance := balance - amounts[i];
		END IF;
	END LOOP;
	RETURN greatest(balance, 0);
END
$$;
