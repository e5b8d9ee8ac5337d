-- 002_log.sql: the transparent log (RFC 6962 Merkle tree, C2SP checkpoints).
--
-- Every table is keyed by log_id so that separate logs can later live in
-- separate databases or be distributed by log id. Every log table is
-- append-only twice over: the triggers below raise on UPDATE, DELETE and
-- TRUNCATE, and in production the daemon's role has no UPDATE, DELETE or
-- TRUNCATE privilege on them (see sql/README.md for the role setup).
--
-- The append path (services/log/log_store.c), in one transaction with the
-- write it records:
--   lock the log's row in `logs` (FOR UPDATE: one writer per log, across
--   every vledgerd process on this database) -> next leaf index = stored
--   size -> insert the entry and its leaf hash -> insert the hashes of the
--   subtrees the new leaf completes -> sign and insert the new checkpoint.
-- Append and proofs cost O(log n) row reads at any size.

CREATE TABLE logs (
	log_id      text PRIMARY KEY,
	origin      text NOT NULL,  -- the checkpoint origin line and key name
	create_time timestamptz NOT NULL DEFAULT now()
);

-- One row per entry. leaf_index is the order of commit, without gaps.
CREATE TABLE log_entries (
	log_id      text NOT NULL REFERENCES logs (log_id),
	leaf_index  bigint NOT NULL CHECK (leaf_index >= 0),
	kind        text NOT NULL,
	entry       bytea NOT NULL CHECK (length(entry) BETWEEN 2 AND 65535),
	leaf_hash   bytea NOT NULL CHECK (length(leaf_hash) = 32),
	PRIMARY KEY (log_id, leaf_index)
);

-- The hash of every complete subtree: (level, node_index) covers leaves
-- [node_index * 2^level, (node_index + 1) * 2^level). Level 0 holds the
-- leaf hashes. Tiles (C2SP tlog-tiles) are ranges of one level that is a
-- multiple of 8; proofs and roots combine O(log n) of these rows.
CREATE TABLE log_nodes (
	log_id      text NOT NULL REFERENCES logs (log_id),
	level       smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
	node_index  bigint NOT NULL CHECK (node_index >= 0),
	hash        bytea NOT NULL CHECK (length(hash) = 32),
	PRIMARY KEY (log_id, level, node_index)
);

-- Every checkpoint ever published, as the signed note served to clients.
CREATE TABLE log_checkpoints (
	log_id      text NOT NULL REFERENCES logs (log_id),
	tree_size   bigint NOT NULL CHECK (tree_size >= 0),
	root_hash   bytea NOT NULL CHECK (length(root_hash) = 32),
	note        text NOT NULL,
	create_time timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (log_id, tree_size)
);

CREATE FUNCTION log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
		USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER logs_append_only BEFORE UPDATE OR DELETE ON logs
	FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER logs_no_truncate BEFORE TRUNCATE ON logs
	FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_entries_append_only BEFORE UPDATE OR DELETE ON log_entries
	FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
	FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_nodes_append_only BEFORE UPDATE OR DELETE ON log_nodes
	FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_nodes_no_truncate BEFORE TRUNCATE ON log_nodes
	FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
	FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
