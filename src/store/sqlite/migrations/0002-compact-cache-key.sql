-- durun SQLite schema, version 2: cache_entries keyed by one compact key.
-- Append-only: never edit a shipped migration; add 0003-*.sql instead.
--
-- Version 1 stored cache_entries WITHOUT ROWID under (task_hash, args_hash): two random
-- 64-character hex keys, so every insert landed the whole ~450-byte row on a random page of a
-- large B-tree. Now the rows are appended in rowid order and only a small index entry, the
-- 32-byte cache_key = sha256(task_hash || NUL || args_hash) (durun_cache_key(), registered by
-- migrate.ts), goes to a random position.

CREATE TABLE cache_entries_v2 (
  id           INTEGER PRIMARY KEY,
  cache_key    BLOB NOT NULL,
  task_hash    TEXT NOT NULL,
  args_hash    TEXT NOT NULL,
  task_name    TEXT NOT NULL,
  result_hash  TEXT NOT NULL,
  final_hash   TEXT NOT NULL,
  call_hash    TEXT NOT NULL,
  reached      TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);

INSERT INTO cache_entries_v2 (cache_key, task_hash, args_hash, task_name, result_hash, final_hash, call_hash, reached, created_at)
  SELECT durun_cache_key(task_hash, args_hash), task_hash, args_hash, task_name, result_hash, final_hash, call_hash, reached, created_at
    FROM cache_entries
   ORDER BY created_at;

DROP TABLE cache_entries;
ALTER TABLE cache_entries_v2 RENAME TO cache_entries;
CREATE UNIQUE INDEX cache_entries_key ON cache_entries (cache_key);
