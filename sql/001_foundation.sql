-- 001_foundation.sql: organisations, access tokens and idempotency keys.
--
-- Applied by vledgerd at startup (services/store/migrate.c) inside one
-- transaction. Never edit an applied migration: add a new file.

-- The organisation tree: district > subdistrict > community > team.
-- Employers stand outside the tree (no parent). The tree rules themselves
-- (which kind may sit under which) are checked by AdminService, which can
-- name the offending field; the constraints here are the last line.
CREATE TABLE organizations (
	id          text PRIMARY KEY,
	seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,  -- creation order, for pagination
	name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	kind        text NOT NULL CHECK (kind IN ('district', 'subdistrict', 'community', 'team', 'employer')),
	parent_id   text REFERENCES organizations (id),
	create_time timestamptz NOT NULL DEFAULT now(),
	created_by  text NOT NULL,  -- token id
	CHECK ((kind IN ('district', 'employer')) = (parent_id IS NULL))
);
CREATE INDEX organizations_parent ON organizations (parent_id, seq);

-- True when org `child` is `ancestor` or lies below it. The tree is at most
-- four levels deep, so the walk up is short.
CREATE FUNCTION org_within(child text, ancestor text) RETURNS boolean
LANGUAGE sql STABLE AS $$
	WITH RECURSIVE up (id, parent_id) AS (
		SELECT id, parent_id FROM organizations WHERE id = child
		UNION ALL
		SELECT o.id, o.parent_id FROM organizations o JOIN up ON o.id = up.parent_id
	)
	SELECT EXISTS (SELECT 1 FROM up WHERE id = ancestor)
$$;

-- Bearer tokens. Only SHA-256 of the secret is kept; the secret is shown
-- once, to its creator.
CREATE TABLE tokens (
	id              text PRIMARY KEY,
	seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	secret_hash     bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
	organization_id text REFERENCES organizations (id),
	role            text NOT NULL CHECK (role IN ('admin', 'office', 'team_leader', 'employer', 'auditor')),
	description     text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
	create_time     timestamptz NOT NULL DEFAULT now(),
	expire_time     timestamptz,
	revoke_time     timestamptz,
	created_by      text REFERENCES tokens (id),  -- NULL only for the bootstrap token
	bootstrap       boolean NOT NULL DEFAULT false,
	CHECK (role IN ('admin', 'auditor') OR organization_id IS NOT NULL)
);
CREATE INDEX tokens_organization ON tokens (organization_id, seq);
-- At most one bootstrap admin token per database, even when several
-- vledgerd instances with different state directories start on it.
CREATE UNIQUE INDEX tokens_one_bootstrap ON tokens (bootstrap) WHERE bootstrap;

-- Idempotency keys of write RPCs: the first answer to (token, key), so a
-- retry gets it again instead of writing twice.
CREATE TABLE idempotency_keys (
	token_id     text NOT NULL REFERENCES tokens (id),
	key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
	procedure    text NOT NULL,
	request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
	response     bytea,  -- packed response; set in the same transaction
	create_time  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (token_id, key)
);
