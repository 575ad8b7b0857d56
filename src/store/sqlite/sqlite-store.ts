/**
 * The SQLite implementation of {@link Store} (better-sqlite3, WAL). The default store: a file
 * `.durun/durun.db` in the working directory, no server.
 *
 * Writes: one transaction per batch, multi-row INSERT statements of up to {@link CHUNK} rows,
 * values deduplicated in memory (a value this store wrote or read is not written again).
 * Reads: prepared statements; cache lookups take many keys per statement.
 * Cache entries are found by one 32-byte `cache_key` (cache-key.ts, migration 0002).
 */
import { accessSync, constants, mkdirSync, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { StoreError } from "../../errors.js";
import { decodeValue } from "../../values/codec.js";
import { newValueAndTaskRows, safeDecode, toCall, toExecution, toTask, type Row } from "../rows.js";
import { cacheKey } from "./cache-key.js";
import { migrate, NotDurunDatabaseError } from "./migrate.js";
import type {
  CacheEntry,
  CacheKey,
  CallDetail,
  CallRow,
  CallRecord,
  ExecutionRecord,
  Store,
  StoreStats,
  TaskRecord,
  WriteBatch,
} from "../store.js";

/** Rows per multi-row INSERT statement. */
const CHUNK = 100;
/** Keys per cache lookup statement. */
const LOOKUP_CHUNK = 200;


interface TableSpec {
  readonly sql: (n: number) => string;
  readonly width: number;
}

function insertSql(table: string, columns: readonly string[], conflict: string): (n: number) => string {
  const one = `(${columns.map(() => "?").join(",")})`;
  return (n) => `INSERT INTO ${table} (${columns.join(",")}) VALUES ${Array.from({ length: n }, () => one).join(",")} ${conflict}`;
}

const EXECUTION_COLUMNS = ["id", "task_name", "args", "description", "status", "started_at", "ended_at", "error", "root_call_id", "call_count"];
const TABLES = {
  executions: {
    width: EXECUTION_COLUMNS.length,
    sql: insertSql(
      "executions",
      EXECUTION_COLUMNS,
      "ON CONFLICT (id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at, error = excluded.error, root_call_id = excluded.root_call_id, call_count = excluded.call_count",
    ),
  },
  tasks: { width: 5, sql: insertSql("tasks", ["hash", "name", "namespace", "full_name", "source"], "ON CONFLICT DO NOTHING") },
  values: { width: 2, sql: insertSql("stored_values", ["hash", "data"], "ON CONFLICT DO NOTHING") },
  calls: {
    width: 14,
    sql: insertSql(
      "calls",
      ["id", "execution_id", "parent_id", "task_name", "task_hash", "args_hash", "call_hash", "result_hash", "final_hash", "status", "started_at", "ended_at", "error", "attempts"],
      "ON CONFLICT DO NOTHING",
    ),
  },
  arguments: {
    width: 4,
    sql: insertSql("arguments", ["call_seq", "position", "value_hash", "upstream_call_id"], "ON CONFLICT DO NOTHING"),
  },
  cacheEntries: {
    width: 9,
    sql: insertSql(
      "cache_entries",
      ["cache_key", "task_hash", "args_hash", "task_name", "result_hash", "final_hash", "call_hash", "reached", "created_at"],
      "ON CONFLICT (cache_key) DO UPDATE SET result_hash = excluded.result_hash, final_hash = excluded.final_hash, call_hash = excluded.call_hash, reached = excluded.reached, created_at = excluded.created_at",
    ),
  },
} satisfies Record<keyof WriteBatch, TableSpec>;

const CORRUPT_CODES = new Set(["SQLITE_NOTADB", "SQLITE_CORRUPT"]);

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** A file path or `":memory:"`. */
  readonly path: string;
}

/**
 * The SQLite store. Opening creates the parent folder and the schema; a file that is not a durun
 * database is refused with a StoreError that says what to do.
 *
 * @example
 * const store = new SqliteStore({ path: ".durun/durun.db" });
 * await store.listExecutions({ limit: 5 });
 * await store.close();
 */
/** `statSync`, or undefined when nothing is there (ENOENT, or ENOTDIR under a file). */
function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}

/**
 * Creates the missing directories above `file`: walks up to the nearest existing ancestor,
 * checks that it is a writable directory, then makes each level without `recursive` (which on
 * Node 20 loops forever on ENOENT under /proc). Throws naming the directory at fault.
 */
function createParentDirs(file: string): void {
  const missing: string[] = [];
  let dir = dirname(file);
  let st = statOrUndefined(dir);
  while (st === undefined) {
    missing.push(dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`no existing directory above ${file}`);
    dir = up;
    st = statOrUndefined(dir);
  }
  if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  if (missing.length === 0) return;
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new Error(`the directory ${dir} is not writable`);
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    const d = missing[i]!;
    try {
      mkdirSync(d);
    } catch (e) {
      // Made meanwhile by another process: fine if it is a directory.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || statOrUndefined(d)?.isDirectory() !== true) throw e;
    }
  }
}

export class SqliteStore implements Store {
  readonly location: string;
  readonly stats: StoreStats = { statements: 0 };
  readonly #db: Database.Database;
  readonly #insertCache = new Map<string, Database.Statement>();
  readonly #lookupCache = new Map<number, Database.Statement>();
  readonly #knownValues = new Set<string>();
  readonly #knownTasks = new Set<string>();
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    const memory = options.path === ":memory:";
    const path = memory ? ":memory:" : resolve(options.path);
    this.location = path;
    if (!memory) {
      try {
        createParentDirs(path);
      } catch (e) {
        throw new StoreError(`cannot create the database ${path}: ${errorText(e)}; pass --db <other path>`, { cause: e });
      }
    }
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (e) {
      throw new StoreError(`cannot open the database ${path}: ${errorText(e)}; pass --db <other path>`, { cause: e });
    }
    try {
      if (!memory) db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("busy_timeout = 5000");
      // 48 MB of page cache: value and cache-entry keys are hashes (random), so B-trees larger
      // than the cache thrash; more costs memory that a 100,000-call run needs.
      db.pragma("cache_size = -49152");
      // Checkpoint every ~40 MB of WAL instead of 4 MB: fewer copies of hot index pages.
      db.pragma("wal_autocheckpoint = 10000");
      this.stats.statements += 5;
      this.stats.statements += migrate(db);
    } catch (e) {
      db.close();
      const code = (e as { code?: unknown }).code;
      if (e instanceof NotDurunDatabaseError || (typeof code === "string" && CORRUPT_CODES.has(code))) {
        throw new StoreError(
          `database file ${path} is not a durun database or is corrupt (${errorText(e)}); move it away or pass --db <other path>`,
          { cause: e },
        );
      }
      throw new StoreError(`cannot open the database ${path}: ${errorText(e)}; pass --db <other path>`, { cause: e });
    }
    this.#db = db;
  }

  #check(): void {
    if (this.#closed) throw new StoreError(`the store ${this.location} is closed`);
  }

  #insert(table: keyof WriteBatch, n: number): Database.Statement {
    const key = `${table}:${n}`;
    let st = this.#insertCache.get(key);
    if (!st) {
      st = this.#db.prepare(TABLES[table].sql(n));
      this.#insertCache.set(key, st);
    }
    return st;
  }

  #insertRows(table: keyof WriteBatch, rows: readonly unknown[][]): void {
    this.#insertEach(table, rows, (row, params) => {
      for (const v of row) params.push(v);
    });
  }

  /** Multi-row INSERTs of `items`, each turned into its column values by `fill` (no array per row). */
  #insertEach<T>(table: keyof WriteBatch, items: readonly T[], fill: (item: T, params: unknown[]) => void): void {
    for (let i = 0; i < items.length; i += CHUNK) {
      const chunk = items.length - i >= CHUNK ? CHUNK : items.length - i;
      const params: unknown[] = [];
      for (let j = i; j < i + chunk; j++) fill(items[j]!, params);
      this.#insert(table, chunk).run(params);
      this.stats.statements++;
    }
  }

  /**
   * Inserts call rows; returns id → seq of the rows inserted. `seq` is the rowid: a multi-row
   * INSERT that inserted every row gave them consecutive seqs ending at the last insert rowid, so
   * no RETURNING rows need to be built; when some row already existed (ON CONFLICT DO NOTHING),
   * the seqs of that chunk are read back by `#seqOf` (one SELECT per call id) when needed.
   */
  #insertCalls(calls: readonly CallRow[]): Map<string, number> {
    const seqs = new Map<string, number>();
    for (let i = 0; i < calls.length; i += CHUNK) {
      const chunk = calls.length - i >= CHUNK ? CHUNK : calls.length - i;
      const params: unknown[] = [];
      for (let j = i; j < i + chunk; j++) {
        const c = calls[j]!;
        params.push(
          c.id, c.executionId, c.parentId, c.taskName, c.taskHash, c.argsHash, c.callHash, c.resultHash, c.finalHash,
          c.status, c.startedAt, c.endedAt, c.error, c.attempts,
        );
      }
      const info = this.#insert("calls", chunk).run(params);
      this.stats.statements++;
      if (info.changes === chunk) {
        let seq = Number(info.lastInsertRowid) - chunk + 1;
        for (let j = i; j < i + chunk; j++) seqs.set(calls[j]!.id, seq++);
      }
    }
    return seqs;
  }

  /** The seq of a call: written in this batch, or read back (an argument of an earlier call). */
  #seqOf(callId: string, seqs: Map<string, number>): number {
    let seq = seqs.get(callId);
    if (seq === undefined) {
      const row = this.#db.prepare("SELECT seq FROM calls WHERE id = ?").get(callId) as { seq: number } | undefined;
      this.stats.statements++;
      if (row === undefined) throw new Error(`an argument refers to call ${callId}, which is not recorded`);
      seq = row.seq;
      seqs.set(callId, seq);
    }
    return seq;
  }

  async write(batch: WriteBatch): Promise<void> {
    this.#check();
    const { values, tasks } = newValueAndTaskRows(batch, this.#knownValues, this.#knownTasks);
    try {
      this.#db.transaction(() => {
        this.#insertRows(
          "executions",
          batch.executions.map((e) => [e.id, e.taskName, e.args, e.description, e.status, e.startedAt, e.endedAt, e.error, e.rootCallId, e.callCount]),
        );
        this.#insertRows("tasks", tasks);
        this.#insertRows("values", values);
        // Calls first: their seq numbers key the argument rows.
        const seqs = this.#insertCalls(batch.calls);
        this.#insertEach("arguments", batch.arguments, (a, p) => {
          p.push(this.#seqOf(a.callId, seqs), a.position, a.valueHash, a.upstreamCallId);
        });
        this.#insertEach("cacheEntries", batch.cacheEntries, (c, p) => {
          p.push(cacheKey(c.taskHash, c.argsHash), c.taskHash, c.argsHash, c.taskName, c.resultHash, c.finalHash, c.callHash, c.reachedText, c.createdAt);
        });
      })();
      this.stats.statements += 2; // BEGIN, COMMIT
    } catch (e) {
      // The transaction rolled back: forget what we thought was written.
      for (const v of values) this.#knownValues.delete(v[0] as string);
      for (const t of tasks) this.#knownTasks.delete(t[0] as string);
      throw new StoreError(`writing to ${this.location} failed: ${errorText(e)}`, { cause: e });
    }
  }

  /** Lookups of `n` cache keys (the unique index on cache_key). */
  #lookupStatement(n: number): Database.Statement {
    let st = this.#lookupCache.get(n);
    if (!st) {
      // The final result is read only when it differs from the recorded one (a result that was
      // an expression); columns come back as arrays (`raw`), in this order.
      st = this.#db
        .prepare(
          `SELECT c.task_hash, c.args_hash, c.result_hash, c.final_hash, c.call_hash, c.reached, r.data,
                  CASE WHEN c.final_hash = c.result_hash THEN NULL
                       ELSE (SELECT f.data FROM stored_values f WHERE f.hash = c.final_hash) END
             FROM cache_entries c
             JOIN stored_values r ON r.hash = c.result_hash
            WHERE c.cache_key IN (${Array.from({ length: n }, () => "?").join(",")})`,
        )
        .raw(true);
      this.#lookupCache.set(n, st);
    }
    return st;
  }

  async lookupCache(keys: readonly CacheKey[]): Promise<(CacheEntry | undefined)[]> {
    this.#check();
    // Distinct keys: task hash → args hash → entry, and the cache key of each.
    const byTask = new Map<string, Map<string, CacheEntry | undefined>>();
    const wanted: Buffer[] = [];
    for (const k of keys) {
      let m = byTask.get(k.taskHash);
      if (m === undefined) byTask.set(k.taskHash, (m = new Map()));
      if (m.has(k.argsHash)) continue;
      m.set(k.argsHash, undefined);
      wanted.push(cacheKey(k.taskHash, k.argsHash));
    }
    for (let i = 0; i < wanted.length; i += LOOKUP_CHUNK) {
      const chunk = wanted.length - i >= LOOKUP_CHUNK ? LOOKUP_CHUNK : wanted.length - i;
      const rows = this.#lookupStatement(chunk).all(wanted.slice(i, i + chunk)) as [string, string, string, string, string, string, string, string | null][];
      this.stats.statements++;
      for (const r of rows) {
        const found = byTask.get(r[0]);
        if (found === undefined || !found.has(r[1])) continue; // not asked for (a key collision)
        const resultText = r[6];
        found.set(r[1], {
          taskHash: r[0],
          argsHash: r[1],
          resultHash: r[2],
          resultText,
          finalHash: r[3],
          finalText: r[3] === r[2] ? resultText : r[7],
          callHash: r[4],
          reachedText: r[5],
        });
      }
    }
    return keys.map((k) => byTask.get(k.taskHash)!.get(k.argsHash));
  }

  #get<T>(sql: string, ...params: unknown[]): T | undefined {
    this.#check();
    this.stats.statements++;
    return this.#db.prepare(sql).get(...params) as T | undefined;
  }

  #all<T>(sql: string, ...params: unknown[]): T[] {
    this.#check();
    this.stats.statements++;
    return this.#db.prepare(sql).all(...params) as T[];
  }

  async findCacheTaskHashes(taskName: string, argsHash: string): Promise<string[]> {
    return this.#all<{ task_hash: string }>("SELECT task_hash FROM cache_entries WHERE task_name = ? AND args_hash = ?", taskName, argsHash).map(
      (r) => r.task_hash,
    );
  }

  async hasValue(hash: string): Promise<boolean> {
    if (this.#knownValues.has(hash)) return true;
    return this.#get("SELECT 1 AS x FROM stored_values WHERE hash = ?", hash) !== undefined;
  }

  async listExecutions(options: { limit?: number } = {}): Promise<ExecutionRecord[]> {
    const limit = options.limit ?? 20;
    return this.#all<Row>("SELECT * FROM executions ORDER BY started_at DESC, rowid DESC LIMIT ?", limit).map(toExecution);
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    const exact = this.#get<Row>("SELECT * FROM executions WHERE id = ?", id);
    if (exact) return toExecution(exact);
    if (id === "") return undefined;
    const rows = this.#all<Row>("SELECT * FROM executions WHERE id >= ? AND id < ? LIMIT 2", id, `${id}\uffff`);
    return rows.length === 1 ? toExecution(rows[0]!) : undefined;
  }

  async getCallGraph(executionId: string): Promise<{ calls: CallRecord[] }> {
    const exec = await this.getExecution(executionId);
    const id = exec?.id ?? executionId;
    return { calls: this.#all<Row>("SELECT * FROM calls WHERE execution_id = ? ORDER BY started_at, seq", id).map(toCall) };
  }

  async getCall(id: string): Promise<CallDetail | undefined> {
    let row = this.#get<Row>("SELECT * FROM calls WHERE id = ?", id);
    if (!row) {
      // A prefix, as a range over the unique index on id (LIKE would scan the table).
      const rows = id === "" ? [] : this.#all<Row>("SELECT * FROM calls WHERE id >= ? AND id < ? LIMIT 2", id, `${id}\uffff`);
      if (rows.length !== 1) return undefined;
      row = rows[0]!;
    }
    const call = toCall(row);
    const args = this.#all<Row>(
      "SELECT a.position, a.value_hash, a.upstream_call_id, v.data FROM arguments a LEFT JOIN stored_values v ON v.hash = a.value_hash WHERE a.call_seq = ? ORDER BY a.position",
      row.seq,
    ).map((a) => ({
      position: a.position as number,
      valueHash: a.value_hash as string,
      upstreamCallId: (a.upstream_call_id as string | null) ?? null,
      value: safeDecode(a.data as string | null),
    }));
    const resultText = call.resultHash ? await this.getValueText(call.resultHash) : undefined;
    return { ...call, args, result: safeDecode(resultText ?? null), task: (await this.getTask(call.taskHash)) ?? null };
  }

  async getValue(hash: string): Promise<unknown> {
    const text = await this.getValueText(hash);
    return text === undefined ? undefined : decodeValue(text);
  }

  async getValueText(hash: string): Promise<string | undefined> {
    return this.#get<{ data: string }>("SELECT data FROM stored_values WHERE hash = ?", hash)?.data;
  }

  async getTask(hash: string): Promise<TaskRecord | undefined> {
    const r = this.#get<Row>("SELECT * FROM tasks WHERE hash = ?", hash);
    return r && toTask(r);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}



