-- durun SQLite schema, version 1: executions, calls, values, tasks, arguments, cache entries.
-- Append-only: never edit a shipped migration; add 0002-*.sql instead.

CREATE TABLE executions (
  id            TEXT PRIMARY KEY,
  task_name     TEXT NOT NULL,
  args          TEXT NOT NULL,
  description   TEXT,
  status        TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  ended_at      INTEGER,
  error         TEXT,
  root_call_id  TEXT,
  call_count    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX executions_started ON executions (started_at);

CREATE TABLE tasks (
  hash       TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  namespace  TEXT,
  full_name  TEXT NOT NULL,
  source     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE stored_values (
  hash  TEXT PRIMARY KEY,
  data  TEXT NOT NULL
) WITHOUT ROWID;

-- Calls and their arguments are stored in insertion order (seq): ids are random, so keying the
-- big tables by id would scatter every write across the B-tree.
CREATE TABLE calls (
  seq           INTEGER PRIMARY KEY,
  id            TEXT NOT NULL UNIQUE,
  execution_id  TEXT NOT NULL,
  parent_id     TEXT,
  task_name     TEXT NOT NULL,
  task_hash     TEXT NOT NULL,
  args_hash     TEXT NOT NULL,
  call_hash     TEXT,
  result_hash   TEXT,
  final_hash    TEXT,
  status        TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  ended_at      INTEGER,
  error         TEXT,
  attempts      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX calls_execution ON calls (execution_id, started_at);

-- One row per argument of a call (call_seq = calls.seq); upstream_call_id names the call that
-- produced the value.
CREATE TABLE arguments (
  call_seq          INTEGER NOT NULL,
  position          INTEGER NOT NULL,
  value_hash        TEXT NOT NULL,
  upstream_call_id  TEXT,
  PRIMARY KEY (call_seq, position)
) WITHOUT ROWID;

-- reached: JSON array of [task full name, task hash] reached below the call; '' when the call
-- reached no task but its own.
CREATE TABLE cache_entries (
  task_hash    TEXT NOT NULL,
  args_hash    TEXT NOT NULL,
  task_name    TEXT NOT NULL,
  result_hash  TEXT NOT NULL,
  final_hash   TEXT NOT NULL,
  call_hash    TEXT NOT NULL,
  reached      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (task_hash, args_hash)
) WITHOUT ROWID;
