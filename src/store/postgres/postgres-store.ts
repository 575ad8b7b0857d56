/**
 * The PostgreSQL implementation of {@link Store} (`pg` Pool): one cache and provenance store
 * shared by several machines. Tables live in the schema `durun` (migrations in
 * `./migrations/`), so the database can be shared with other applications.
 *
 * Writes: a batch is one statement, so one implicit transaction: a data-modifying CTE per
 * non-empty table, each inserting from `unnest()` of one array parameter per column (values and
 * tasks `ON CONFLICT DO NOTHING`; executions and cache entries upserted, calls and arguments
 * never replaced). Rows are sorted by key so that concurrent writers lock in the same order;
 * a deadlock or serialization failure is retried. Values and tasks this store wrote or read are
 * not written again.
 * Reads: every cache lookup batch is one statement, whatever its size.
 *
 * Opening is lazy: the constructor only parses the URL; connecting and migrating happen on the
 * first operation, and failures surface there as {@link StoreError}s that name host and port.
 */
import pg from "pg";
import { StoreError } from "../../errors.js";
import { decodeValue } from "../../values/codec.js";
import { newValueAndTaskRows, safeDecode, toCall, toExecution, toTask, type Row } from "../rows.js";
import { migrate } from "./migrate.js";
import { parseTarget, pgStoreError, type PgTarget } from "./pg-errors.js";
import type {
  CacheEntry,
  CacheEntryRow,
  CacheKey,
  CallDetail,
  CallRecord,
  ExecutionRecord,
  ExecutionRow,
  Store,
  StoreStats,
  TaskRecord,
  WriteBatch,
} from "../store.js";

/** How long connecting may take before the operation fails. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Attempts of a write that hit a deadlock or serialization failure. */
const WRITE_ATTEMPTS = 4;
/** deadlock_detected, serialization_failure. */
const RETRY_SQLSTATES = new Set(["40P01", "40001"]);


/** One table's part of the write statement: an INSERT from unnest() of typed column arrays. */
interface TableInsert {
  readonly table: string;
  readonly columns: readonly (readonly [name: string, type: string])[];
  readonly conflict: string;
}

const EXECUTIONS: TableInsert = {
  table: "durun.executions",
  columns: [
    ["id", "text"], ["task_name", "text"], ["args", "text"], ["description", "text"], ["status", "text"],
    ["started_at", "bigint"], ["ended_at", "bigint"], ["error", "text"], ["root_call_id", "text"], ["call_count", "integer"],
  ],
  conflict:
    "ON CONFLICT (id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at, error = excluded.error, root_call_id = excluded.root_call_id, call_count = excluded.call_count",
};
const TASKS: TableInsert = {
  table: "durun.tasks",
  columns: [["hash", "text"], ["name", "text"], ["namespace", "text"], ["full_name", "text"], ["source", "text"]],
  conflict: "ON CONFLICT DO NOTHING",
};
const VALUES: TableInsert = { table: "durun.stored_values", columns: [["hash", "text"], ["data", "text"]], conflict: "ON CONFLICT DO NOTHING" };
const CALLS: TableInsert = {
  table: "durun.calls",
  columns: [
    ["id", "text"], ["execution_id", "text"], ["parent_id", "text"], ["task_name", "text"], ["task_hash", "text"], ["args_hash", "text"],
    ["call_hash", "text"], ["result_hash", "text"], ["final_hash", "text"], ["status", "text"], ["started_at", "bigint"],
    ["ended_at", "bigint"], ["error", "text"], ["attempts", "integer"],
  ],
  conflict: "ON CONFLICT (id) DO NOTHING",
};
const ARGUMENTS: TableInsert = {
  table: "durun.arguments",
  columns: [["call_id", "text"], ["position", "integer"], ["value_hash", "text"], ["upstream_call_id", "text"]],
  conflict: "ON CONFLICT DO NOTHING",
};
const CACHE_ENTRIES: TableInsert = {
  table: "durun.cache_entries",
  columns: [
    ["task_hash", "text"], ["args_hash", "text"], ["task_name", "text"], ["result_hash", "text"], ["final_hash", "text"],
    ["call_hash", "text"], ["reached", "text"], ["created_at", "bigint"],
  ],
  conflict:
    "ON CONFLICT (task_hash, args_hash) DO UPDATE SET task_name = excluded.task_name, result_hash = excluded.result_hash, final_hash = excluded.final_hash, call_hash = excluded.call_hash, reached = excluded.reached, created_at = excluded.created_at",
};

/**
 * Builds the one write statement: a CTE per table with rows, parameters as column arrays.
 * Returns `undefined` when there is nothing to write.
 */
function writeStatement(parts: readonly (readonly [TableInsert, readonly unknown[][]])[]): { text: string; values: unknown[][] } | undefined {
  const ctes: string[] = [];
  const values: unknown[][] = [];
  for (const [spec, rows] of parts) {
    if (rows.length === 0) continue;
    const args = spec.columns.map(([, type], i) => {
      values.push(rows.map((r) => noNul(r[i] ?? null)));
      return `$${values.length}::${type}[]`;
    });
    const names = spec.columns.map(([name]) => name).join(", ");
    ctes.push(`w${ctes.length} AS (INSERT INTO ${spec.table} (${names}) SELECT * FROM unnest(${args.join(", ")}) ${spec.conflict})`);
  }
  if (ctes.length === 0) return undefined;
  return { text: `WITH ${ctes.join(",\n")} SELECT 1`, values };
}

/**
 * PostgreSQL text cannot hold U+0000 (SQLite can): free text (an error message, an argument
 * description, a task's source) has it replaced by U+FFFD. Encoded values never contain it.
 */
function noNul(v: unknown): unknown {
  return typeof v === "string" && v.includes("\0") ? v.replaceAll("\0", "\uFFFD") : v;
}

/** The last row for each key, sorted by key (one row per key: an upsert may touch a row once per statement). */
function lastByKey<T>(rows: readonly T[], key: (row: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of rows) m.set(key(r), r);
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
}

function byFirst(a: unknown[], b: unknown[]): number {
  const x = a[0] as string;
  const y = b[0] as string;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** A `postgres://` or `postgresql://` URL (anything `pg` accepts as a connection string). */
  readonly url: string;
  /**
   * Connections in the pool.
   * @default 10
   */
  readonly maxConnections?: number;
  /**
   * How long connecting may take before an operation fails with a StoreError.
   * @default 5000
   */
  readonly connectTimeoutMs?: number;
}

/**
 * The PostgreSQL store. The schema `durun` is created and migrated on first use (safe when
 * several processes start at once).
 *
 * @example
 * const store = new PostgresStore({ url: "postgres://me@db.internal:5432/durun" });
 * await store.listExecutions({ limit: 5 });
 * await store.close();
 */
export class PostgresStore implements Store {
  readonly location: string;
  readonly stats: StoreStats = { statements: 0 };
  readonly #target: PgTarget;
  readonly #pool: pg.Pool;
  readonly #knownValues = new Set<string>();
  readonly #knownTasks = new Set<string>();
  readonly #connectTimeoutMs: number;
  #opening: Promise<void> | undefined;
  #openFailure: { error: StoreError; at: number } | undefined;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    this.#target = parseTarget(options.url);
    this.location = this.#target.location;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      application_name: "durun",
    });
    // An idle connection that breaks (server restart) must not crash the process; the next
    // query reconnects or fails with a StoreError.
    this.#pool.on("error", () => undefined);
  }

  /**
   * Connects and migrates once. A failed attempt is retried by a later operation, but not
   * within the connect timeout of the failure: a run against an unreachable server fails once,
   * not once per operation.
   */
  #open(): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError(`the store ${this.location} is closed`));
    const failed = this.#openFailure;
    if (failed !== undefined && Date.now() - failed.at < this.#connectTimeoutMs) return Promise.reject(failed.error);
    this.#opening ??= migrate(this.#pool).then(
      (n) => {
        this.stats.statements += n;
        this.#openFailure = undefined;
      },
      (e: unknown) => {
        const error = pgStoreError(e, this.#target, "opening");
        this.#opening = undefined;
        this.#openFailure = { error, at: Date.now() };
        throw error;
      },
    );
    return this.#opening;
  }

  async #query<T extends Row>(doing: string, text: string, values?: unknown[]): Promise<T[]> {
    await this.#open();
    this.stats.statements++;
    try {
      return (await this.#pool.query<T>(text, values)).rows;
    } catch (e) {
      throw pgStoreError(e, this.#target, doing);
    }
  }

  async write(batch: WriteBatch): Promise<void> {
    await this.#open();
    const { values, tasks } = newValueAndTaskRows(batch, this.#knownValues, this.#knownTasks);
    values.sort(byFirst);
    tasks.sort(byFirst);
    const statement = writeStatement([
      [EXECUTIONS, lastByKey(batch.executions, (e) => e.id).map(executionColumns)],
      [TASKS, tasks],
      [VALUES, values],
      [CALLS, batch.calls.map((c) => [
        c.id, c.executionId, c.parentId, c.taskName, c.taskHash, c.argsHash, c.callHash, c.resultHash, c.finalHash,
        c.status, c.startedAt, c.endedAt, c.error, c.attempts,
      ])],
      [ARGUMENTS, batch.arguments.map((a) => [a.callId, a.position, a.valueHash, a.upstreamCallId])],
      [CACHE_ENTRIES, lastByKey(batch.cacheEntries, (c) => `${c.taskHash}\0${c.argsHash}`).map(cacheColumns)],
    ]);
    if (statement === undefined) return;
    for (let attempt = 1; ; attempt++) {
      this.stats.statements++;
      try {
        await this.#pool.query(statement.text, statement.values);
        return;
      } catch (e) {
        if (attempt < WRITE_ATTEMPTS && RETRY_SQLSTATES.has(String((e as { code?: unknown }).code))) continue;
        // Nothing was written: forget what we thought was.
        for (const v of values) this.#knownValues.delete(v[0] as string);
        for (const t of tasks) this.#knownTasks.delete(t[0] as string);
        throw pgStoreError(e, this.#target, "writing to");
      }
    }
  }

  async lookupCache(keys: readonly CacheKey[]): Promise<(CacheEntry | undefined)[]> {
    if (keys.length === 0) {
      await this.#open();
      return [];
    }
    const rows = await this.#query(
      "reading the cache of",
      `SELECT c.task_hash, c.args_hash, c.result_hash, c.final_hash, c.call_hash, c.reached,
              r.data AS result_text, f.data AS final_text
         FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS k(task_hash, args_hash)) k
         JOIN durun.cache_entries c ON c.task_hash = k.task_hash AND c.args_hash = k.args_hash
         JOIN durun.stored_values r ON r.hash = c.result_hash
         LEFT JOIN durun.stored_values f ON f.hash = c.final_hash`,
      [keys.map((k) => k.taskHash), keys.map((k) => k.argsHash)],
    );
    const found = new Map<string, CacheEntry>();
    for (const r of rows) {
      const entry: CacheEntry = {
        taskHash: r.task_hash as string,
        argsHash: r.args_hash as string,
        resultHash: r.result_hash as string,
        resultText: r.result_text as string,
        finalHash: r.final_hash as string,
        finalText: (r.final_text as string | null) ?? null,
        callHash: r.call_hash as string,
        reachedText: r.reached as string,
      };
      found.set(`${entry.taskHash}\0${entry.argsHash}`, entry);
      this.#knownValues.add(entry.resultHash);
      if (entry.finalText !== null) this.#knownValues.add(entry.finalHash);
    }
    return keys.map((k) => found.get(`${k.taskHash}\0${k.argsHash}`));
  }

  async findCacheTaskHashes(taskName: string, argsHash: string): Promise<string[]> {
    const rows = await this.#query<{ task_hash: string }>(
      "reading the cache of",
      "SELECT task_hash FROM durun.cache_entries WHERE task_name = $1 AND args_hash = $2",
      [taskName, argsHash],
    );
    return rows.map((r) => r.task_hash);
  }

  async hasValue(hash: string): Promise<boolean> {
    if (this.#knownValues.has(hash)) return true;
    const rows = await this.#query("reading from", "SELECT 1 AS x FROM durun.stored_values WHERE hash = $1", [hash]);
    if (rows.length > 0) this.#knownValues.add(hash);
    return rows.length > 0;
  }

  async listExecutions(options: { limit?: number } = {}): Promise<ExecutionRecord[]> {
    const limit = options.limit ?? 20;
    const rows = await this.#query("reading from", "SELECT * FROM durun.executions ORDER BY started_at DESC, seq DESC LIMIT $1", [limit]);
    return rows.map(toExecution);
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    const row = await this.#byIdOrPrefix("durun.executions", id);
    return row && toExecution(row);
  }

  /** The row whose id is `id`, else the only row whose id starts with `id`, in one statement. */
  async #byIdOrPrefix(table: string, id: string): Promise<Row | undefined> {
    if (id === "") return undefined;
    // Ids are COLLATE "C", so the prefix match is a range scan of the primary key, cut at 2.
    const rows = await this.#query(
      "reading from",
      `SELECT *, true AS exact FROM ${table} WHERE id = $2
       UNION ALL
       (SELECT *, false AS exact FROM ${table} WHERE id LIKE $1 ESCAPE '\\' AND id <> $2 LIMIT 2)`,
      [`${escapeLike(id)}%`, id],
    );
    const exact = rows.find((r) => r.exact === true);
    if (exact !== undefined) return exact;
    return rows.length === 1 ? rows[0] : undefined;
  }

  async getCallGraph(executionId: string): Promise<{ calls: CallRecord[] }> {
    const sql = "SELECT * FROM durun.calls WHERE execution_id = $1 ORDER BY started_at, seq";
    let rows = await this.#query("reading from", sql, [executionId]);
    if (rows.length === 0) {
      const exec = await this.getExecution(executionId);
      if (exec !== undefined && exec.id !== executionId) rows = await this.#query("reading from", sql, [exec.id]);
    }
    return { calls: rows.map(toCall) };
  }

  async getCall(id: string): Promise<CallDetail | undefined> {
    const row = await this.#byIdOrPrefix("durun.calls", id);
    if (row === undefined) return undefined;
    const call = toCall(row);
    const [args, extra] = await Promise.all([
      this.#query(
        "reading from",
        `SELECT a.position, a.value_hash, a.upstream_call_id, v.data
           FROM durun.arguments a LEFT JOIN durun.stored_values v ON v.hash = a.value_hash
          WHERE a.call_id = $1 ORDER BY a.position`,
        [call.id],
      ),
      this.#query(
        "reading from",
        `SELECT (SELECT data FROM durun.stored_values WHERE hash = $1) AS result_text, t.*
           FROM (SELECT 1) one LEFT JOIN durun.tasks t ON t.hash = $2`,
        [call.resultHash, call.taskHash],
      ),
    ]);
    const e = extra[0];
    return {
      ...call,
      args: args.map((a) => ({
        position: a.position as number,
        valueHash: a.value_hash as string,
        upstreamCallId: (a.upstream_call_id as string | null) ?? null,
        value: safeDecode((a.data as string | null) ?? null),
      })),
      result: safeDecode((e?.result_text as string | null | undefined) ?? null),
      task: e !== undefined && e.hash !== null && e.hash !== undefined ? toTask(e) : null,
    };
  }

  async getValue(hash: string): Promise<unknown> {
    const text = await this.getValueText(hash);
    return text === undefined ? undefined : decodeValue(text);
  }

  async getValueText(hash: string): Promise<string | undefined> {
    const rows = await this.#query<{ data: string }>("reading from", "SELECT data FROM durun.stored_values WHERE hash = $1", [hash]);
    return rows[0]?.data;
  }

  async getTask(hash: string): Promise<TaskRecord | undefined> {
    const rows = await this.#query("reading from", "SELECT * FROM durun.tasks WHERE hash = $1", [hash]);
    return rows[0] && toTask(rows[0]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#opening?.catch(() => undefined);
    await this.#pool.end();
  }
}

function executionColumns(e: ExecutionRow): unknown[] {
  return [e.id, e.taskName, e.args, e.description, e.status, e.startedAt, e.endedAt, e.error, e.rootCallId, e.callCount];
}

function cacheColumns(c: CacheEntryRow): unknown[] {
  return [c.taskHash, c.argsHash, c.taskName, c.resultHash, c.finalHash, c.callHash, c.reachedText, c.createdAt];
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}





