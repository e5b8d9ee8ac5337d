-- 015_record_shift_checks.sql: RecordShift's checks for a whole batch of
-- requests in one statement (services/records/record_shift.c).
--
-- Why: RecordShift requests are sequenced into batches that commit as one
-- transaction with one log append and one checkpoint signature. Run one by
-- one, its checks (idempotency key, organisation, volunteer, the caller's
-- reach, the volunteer's lock, overlapping shifts and check-ins) are about
-- ten statements per request; here they are one call per batch of two
-- set-wise statements and one lock per volunteer, whose plans the server
-- keeps for the session.
--
-- Arguments are parallel arrays, one element per request. The caller's
-- reach comes from vledgerd as p_scopes[i]: 'any' (admin), 'within' (an
-- office: the organisation and the volunteer's organisation must be at or
-- below p_scope_orgs[i]), 'same' (a team leader: both must be
-- p_scope_orgs[i]), anything else refuses. The answer has one row per
-- request: ord (1-based), a verdict and its details:
--   replay             the key was used for this same request: replay holds
--                      the stored response
--   key_reused         the key was used for another request (or one that
--                      stored no response)
--   no_organization, organization_kind, no_volunteer, organization_scope,
--   volunteer_scope    the request is refused as named
--   overlap            d1 = the shift it overlaps, d2/d3 = its start/end
--   checkin_overlap    d1 = the open check-in, d2 = its start
--   raced              it repeats an earlier request's key in this batch
--                      (vledgerd never sends that): run it again
--   ok                 checked, volunteer locked: insert it
-- The function writes nothing but the volunteers' locks, so a refused
-- request leaves nothing behind. The keys of the requests that go ahead are
-- stored with their answers, last, by record_shift_answers() below. The
-- order of the checks, and so which refusal a request with several faults
-- gets, is that of the one-request checks in shift_service.c
-- (records_reach_check and the overlap checks).
-- Volunteers are locked in the order of their lock keys, so batches that
-- share volunteers cannot deadlock; the keys are those of
-- records_lock_volunteer().

CREATE FUNCTION record_shift_checks(
	p_tokens text[], p_keys text[], p_procedure text, p_hashes bytea[],
	p_scopes text[], p_scope_orgs text[],
	p_volunteers text[], p_orgs text[], p_starts timestamptz[], p_ends timestamptz[])
RETURNS TABLE (ord int, verdict text, d1 text, d2 text, d3 text, replay bytea)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
	n int := coalesce(array_length(p_tokens, 1), 0);
	v text[];
	r bytea[];
	x1 text[];
	x2 text[];
	x3 text[];
	lock_key bigint;
BEGIN
	IF n = 0 THEN
		RETURN;
	END IF;

	-- Keys already used (the stored answer again, or a refusal), then the
	-- organisation, the volunteer and the caller's reach over both. A batch
	-- names few organisations: org_within() runs once per distinct pair.
	WITH u AS (
		SELECT w.*, row_number() OVER (PARTITION BY w.t, w.y ORDER BY w.i) > 1 AS repeat
		  FROM unnest(p_tokens, p_keys, p_hashes, p_scopes, p_scope_orgs, p_volunteers, p_orgs)
		       WITH ORDINALITY AS w (t, y, h, scope, sorg, vol, org, i)),
	j AS (
		SELECT u.*, k.token_id AS k_token, k.procedure AS k_procedure, k.request_hash AS k_hash,
		       k.response AS k_response, o.id AS o_id, o.kind AS o_kind, vo.id AS vo_id,
		       vo.organization_id AS vo_org
		  FROM u
		  LEFT JOIN idempotency_keys k ON k.token_id = u.t AND k.key = u.y
		  LEFT JOIN organizations o ON o.id = u.org
		  LEFT JOIN volunteers vo ON vo.id = u.vol),
	reach AS MATERIALIZED (
		SELECT p.child, p.ancestor, org_within(p.child, p.ancestor) AS within
		  FROM (SELECT j.org AS child, j.sorg AS ancestor FROM j WHERE j.scope = 'within'
		        UNION
		        SELECT j.vo_org, j.sorg FROM j WHERE j.scope = 'within' AND j.vo_org IS NOT NULL) AS p)
	SELECT array_agg(CASE
	         WHEN j.repeat THEN 'raced'
	         WHEN j.k_token IS NOT NULL THEN
	           CASE WHEN j.k_procedure = p_procedure AND j.k_hash = j.h AND j.k_response IS NOT NULL
	                THEN 'replay' ELSE 'key_reused' END
	         WHEN j.o_id IS NULL THEN 'no_organization'
	         WHEN j.o_kind NOT IN ('team', 'community') THEN 'organization_kind'
	         WHEN j.vo_id IS NULL THEN 'no_volunteer'
	         WHEN j.scope = 'any' THEN 'ok'
	         WHEN j.scope = 'within' THEN
	           CASE WHEN NOT ro.within THEN 'organization_scope'
	                WHEN NOT rv.within THEN 'volunteer_scope' ELSE 'ok' END
	         WHEN j.scope = 'same' THEN
	           CASE WHEN j.org <> j.sorg THEN 'organization_scope'
	                WHEN j.vo_org <> j.sorg THEN 'volunteer_scope' ELSE 'ok' END
	         ELSE 'organization_scope' END ORDER BY j.i),
	       array_agg(CASE WHEN NOT j.repeat AND j.k_procedure = p_procedure AND j.k_hash = j.h
	                      THEN j.k_response END ORDER BY j.i)
	  INTO v, r
	  FROM j
	  LEFT JOIN reach ro ON ro.child = j.org AND ro.ancestor = j.sorg
	  LEFT JOIN reach rv ON rv.child = j.vo_org AND rv.ancestor = j.sorg;

	-- One volunteer's shifts change one at a time (records_lock_volunteer).
	FOR lock_key IN
		SELECT DISTINCT hashtextextended('shift:' || p_volunteers[j], 0)
		  FROM generate_subscripts(p_volunteers, 1) AS j WHERE v[j] = 'ok' ORDER BY 1
	LOOP
		PERFORM pg_advisory_xact_lock(lock_key);
	END LOOP;

	-- Now that nothing can change them: the keys again (a request with the
	-- same key for the same volunteer may have been running in another
	-- process, which held the volunteer's lock until it committed: its
	-- stored answer is this request's), then overlapping shifts and open
	-- check-ins.
	SELECT array_agg(CASE WHEN v[u.i] <> 'ok' THEN v[u.i]
	                      WHEN k.token_id IS NOT NULL THEN
	                        CASE WHEN k.procedure = p_procedure AND k.request_hash = u.h AND k.response IS NOT NULL
	                             THEN 'replay' ELSE 'key_reused' END
	                      WHEN s.id IS NOT NULL THEN 'overlap'
	                      WHEN c.id IS NOT NULL THEN 'checkin_overlap' ELSE 'ok' END ORDER BY u.i),
	       array_agg(CASE WHEN v[u.i] = 'ok' AND k.procedure = p_procedure AND k.request_hash = u.h
	                      THEN k.response ELSE r[u.i] END ORDER BY u.i),
	       array_agg(coalesce(s.id, c.id) ORDER BY u.i),
	       array_agg(coalesce(s.start_text, c.start_text) ORDER BY u.i),
	       array_agg(s.end_text ORDER BY u.i)
	  INTO v, r, x1, x2, x3
	  FROM unnest(p_tokens, p_keys, p_hashes, p_volunteers, p_starts, p_ends) WITH ORDINALITY AS u (t, y, h, vol, st, en, i)
	  LEFT JOIN idempotency_keys k ON v[u.i] = 'ok' AND k.token_id = u.t AND k.key = u.y
	  LEFT JOIN LATERAL (
	        SELECT sh.id, to_char(sh.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS start_text,
	               to_char(sh.end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS end_text
	          FROM shifts sh
	         WHERE v[u.i] = 'ok' AND k.token_id IS NULL AND sh.volunteer_id = u.vol AND sh.status <> 'rejected'
	           AND NOT sh.voided AND tstzrange(sh.start_time, sh.end_time) && tstzrange(u.st, u.en) LIMIT 1) AS s ON true
	  LEFT JOIN LATERAL (
	        SELECT ci.id, to_char(ci.start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS start_text
	          FROM check_ins ci
	         WHERE v[u.i] = 'ok' AND k.token_id IS NULL AND s.id IS NULL AND ci.volunteer_id = u.vol
	           AND ci.shift_id IS NULL AND ci.start_time < u.en LIMIT 1) AS c ON true;

	RETURN QUERY SELECT i::int, v[i], x1[i], x2[i], x3[i], r[i] FROM generate_subscripts(v, 1) AS i ORDER BY i;
END
$$;

-- The keys and answers of a batch's recorded shifts, in the same
-- transaction as the shifts. A key that another transaction (another
-- vledgerd: one process never runs two requests with one key at once)
-- stored since record_shift_checks() looked fails the whole batch with
-- serialization_failure: vledgerd runs its requests again, each alone, and
-- the one with that key then finds the stored answer. Nothing is recorded
-- twice.
CREATE FUNCTION record_shift_answers(
	p_tokens text[], p_keys text[], p_procedure text, p_hashes bytea[], p_responses bytea[])
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	stored int;
BEGIN
	INSERT INTO idempotency_keys (token_id, key, procedure, request_hash, response)
	SELECT u.t, u.y, p_procedure, u.h, u.r FROM unnest(p_tokens, p_keys, p_hashes, p_responses) AS u (t, y, h, r)
	ON CONFLICT (token_id, key) DO NOTHING;
	GET DIAGNOSTICS stored = ROW_COUNT;
	IF stored <> coalesce(array_length(p_tokens, 1), 0) THEN
		RAISE EXCEPTION 'idempotencyKey: used by a concurrent request; the batch runs again'
			USING ERRCODE = 'serialization_failure';
	END IF;
END
$$;
