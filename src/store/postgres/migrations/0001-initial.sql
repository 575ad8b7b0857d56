-- durun PostgreSQL schema, version 1: executions, calls, values, tasks, arguments, cache entries.
-- Everything lives in the schema "durun", so the database can be shared with other applications.
-- Append-only: never edit a shipped migration; add 0002-*.sql instead.
-- Times are epoch milliseconds (bigint), as in the SQLite store. Ids use COLLATE "C" so that
-- id-prefix lookups (LIKE 'abc%') can use the primary key index. `seq` keeps insertion order
-- as the tie-breaker of equal start times (SQLite's rowid).

CREATE TABLE durun.executions (
  id            text COLLATE "C" PRIMARY KEY,
  seq           bigint GENERATED ALWAYS AS IDENTITY,
  task_name     text NOT NULL,
  args          text NOT NULL,
  description   text,
  status        text NOT NULL,
  started_at    bigint NOT NULL,
  ended_at      bigint,
  error         text,
  root_call_id  text,
  call_count    integer NOT NULL DEFAULT 0
);
CREATE INDEX executions_started ON durun.executions (started_at DESC, seq DESC);

CREATE TABLE durun.tasks (
  hash       text COLLATE "C" PRIMARY KEY,
  name       text NOT NULL,
  namespace  text,
  full_name  text NOT NULL,
  source     text NOT NULL
);

CREATE TABLE durun.stored_values (
  hash  text COLLATE "C" PRIMARY KEY,
  data  text NOT NULL
);

CREATE TABLE durun.calls (
  id            text COLLATE "C" PRIMARY KEY,
  seq           bigint GENERATED ALWAYS AS IDENTITY,
  execution_id  text COLLATE "C" NOT NULL,
  parent_id     text,
  task_name     text NOT NULL,
  task_hash     text NOT NULL,
  args_hash     text NOT NULL,
  call_hash     text,
  result_hash   text,
  final_hash    text,
  status        text NOT NULL,
  started_at    bigint NOT NULL,
  ended_at      bigint,
  error         text,
  attempts      integer NOT NULL DEFAULT 0
);
CREATE INDEX calls_execution ON durun.calls (execution_id, started_at, seq);
CREATE INDEX calls_parent ON durun.calls (parent_id);

CREATE TABLE durun.arguments (
  call_id           text COLLATE "C" NOT NULL,
  position          integer NOT NULL,
  value_hash        text NOT NULL,
  upstream_call_id  text,
  PRIMARY KEY (call_id, position)
);
CREATE INDEX arguments_upstream ON durun.arguments (upstream_call_id) WHERE upstream_call_id IS NOT NULL;

CREATE TABLE durun.cache_entries (
  task_hash    text COLLATE "C" NOT NULL,
  args_hash    text COLLATE "C" NOT NULL,
  task_name    text NOT NULL,
  result_hash  text NOT NULL,
  final_hash   text NOT NULL,
  call_hash    text NOT NULL,
  reached      text NOT NULL,
  created_at   bigint NOT NULL,
  PRIMARY KEY (task_hash, args_hash)
);
CREATE INDEX cache_entries_name ON durun.cache_entries (task_name, args_hash);
