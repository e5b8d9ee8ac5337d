-- 014_org_functions_plpgsql.sql: org_within() and org_district() in
-- PL/pgSQL, same arguments, same answers.
--
-- Why: as LANGUAGE sql functions with a recursive CTE they cannot be inlined,
-- and PostgreSQL parses and plans the body of such a function on every call
-- from a new statement. org_within() runs in the scope check of nearly every
-- write by an office token (twice per recorded shift); a profile of the
-- append benchmark showed the parser and node-tree reader among PostgreSQL's
-- busiest functions. PL/pgSQL keeps each statement's plan for the session.
-- Both stay STABLE: they read with the calling statement's snapshot.

CREATE OR REPLACE FUNCTION org_within(child text, ancestor text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN EXISTS (
		WITH RECURSIVE up (id, parent_id) AS (
			SELECT o.id, o.parent_id FROM organizations o WHERE o.id = child
			UNION ALL
			SELECT o.id, o.parent_id FROM organizations o JOIN up ON o.id = up.parent_id
		)
		SELECT 1 FROM up WHERE up.id = ancestor);
END
$$;

CREATE OR REPLACE FUNCTION org_district(org text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (
		WITH RECURSIVE up (id, parent_id, kind) AS (
			SELECT o.id, o.parent_id, o.kind FROM organizations o WHERE o.id = org
			UNION ALL
			SELECT o.id, o.parent_id, o.kind FROM organizations o JOIN up ON o.id = up.parent_id
		)
		SELECT up.id FROM up WHERE up.kind = 'district' LIMIT 1);
END
$$;
