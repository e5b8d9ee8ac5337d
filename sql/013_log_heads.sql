-- 013_log_heads.sql: the head of each log (its size and the right edge of
-- its tree) in one row, so that an append learns everything it needs in
-- the statement that takes the writer's lock.
--
-- Why a row: in READ COMMITTED, `SELECT ... FOR UPDATE` that waited for
-- another writer returns the row as that writer committed it, while any
-- other table is still read with the snapshot taken before the wait. With
-- the size and right edge in the locked row, an append is two statements
-- (lock-and-read the head; insert entry, nodes, checkpoint and the new head)
-- instead of four, and the lock is held that much shorter.
--
-- The head is derived data: right_edge is the concatenation, highest level
-- first, of the hashes of the complete subtrees whose sizes are the set bits
-- of tree_size (the nodes (k, (tree_size >> k) - 1) of log_nodes), so an
-- append can compute the new root and its inclusion proof without reading
-- log_nodes. vledgerd --verify-storage checks it against log_nodes.
-- tree_size counts stored entries; it may run ahead of the latest
-- checkpoint only after an interrupted bulk load (bench/bulkload.c).
--
-- Unlike the log tables this row changes with every append: it is the one
-- log table the daemon's role may UPDATE (sql/README.md).

CREATE TABLE log_heads (
	log_id     text PRIMARY KEY REFERENCES logs (log_id),
	tree_size  bigint NOT NULL CHECK (tree_size >= 0),
	right_edge bytea NOT NULL CHECK (length(right_edge) % 32 = 0 AND length(right_edge) <= 32 * 63)
);

INSERT INTO log_heads (log_id, tree_size, right_edge)
SELECT l.log_id, s.n,
       coalesce((SELECT string_agg(n.hash, ''::bytea ORDER BY b.k DESC)
                   FROM generate_series(0, 62) AS b (k)
                   JOIN log_nodes n ON n.log_id = l.log_id AND n.level = b.k AND n.node_index = (s.n >> b.k) - 1
                  WHERE (s.n >> b.k) & 1 = 1), ''::bytea)
  FROM logs l
 CROSS JOIN LATERAL (SELECT coalesce(max(e.leaf_index) + 1, 0) AS n
                       FROM log_entries e WHERE e.log_id = l.log_id) AS s;
