/**
 * The cache and provenance store: the one narrow interface between the scheduler and a database.
 *
 * Terminology:
 * - *execution*: one `scheduler.run(expr)`; its calls form a tree through `parentId`.
 * - *call*: one evaluation of a task on resolved arguments. `taskHash` identifies the code,
 *   `argsHash` the arguments, `resultHash` the value the body returned (often an expression),
 *   `callHash` the call together with the calls its result reached.
 * - *value*: any stored value, by its hash (sha256 of its canonical encoding, or a content hash).
 * - *cache entry*: task hash + args hash → recorded result (and final result, and the tasks
 *   reached below), written only for successful calls.
 * - *upstream call*: for an argument, the call that produced its value.
 *
 * The scheduler only talks to this interface; `sqlite/` implements it (and `postgres/` will).
 * Writes arrive in batches ({@link WriteBatch}) that an implementation applies in one
 * transaction; reads are async so that a networked database fits.
 */

/** Status of a recorded call. */
export const CallStatus = { done: "done", failed: "failed", cached: "cached" } as const;
/** Status of a recorded call: `"done"` (ran), `"failed"`, or `"cached"` (reused). */
export type CallStatus = (typeof CallStatus)[keyof typeof CallStatus];

/** Status of a recorded execution. */
export type ExecutionStatus = "running" | "done" | "failed";

/**
 * One recorded call.
 *
 * @example
 * const { calls } = await scheduler.db.getCallGraph(scheduler.lastExecutionId!);
 * for (const c of calls) console.log(c.taskName, c.status, c.parentId);
 */
export interface CallRecord {
  readonly id: string;
  readonly executionId: string;
  /** The call whose result contained this call, or `null` for the root. */
  readonly parentId: string | null;
  readonly taskName: string;
  readonly taskHash: string;
  readonly argsHash: string;
  /** `null` for failed calls. */
  readonly callHash: string | null;
  readonly status: CallStatus;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  /** Hash of the value the body returned (or the reused one); `null` for failed calls. */
  readonly resultHash: string | null;
  /** Hash of the fully evaluated result; `null` for failed calls. */
  readonly finalHash: string | null;
  /** Error text (`name: message`) of a failed call. */
  readonly error: string | null;
  /** How many times the body ran (0 when cached). */
  readonly attempts: number;
}

/**
 * One recorded execution (`scheduler.run`).
 *
 * @example
 * const [latest] = await scheduler.db.listExecutions({ limit: 1 });
 */
export interface ExecutionRecord {
  readonly id: string;
  /** The root task's full name (or a short description of the root expression). */
  readonly taskName: string;
  /** The root arguments as short text. */
  readonly args: string;
  readonly description: string | null;
  readonly status: ExecutionStatus;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  readonly error: string | null;
  /** The root call, when the root expression was a task call. */
  readonly rootCallId: string | null;
  readonly callCount: number;
}

/** A recorded task definition. */
export interface TaskRecord {
  readonly hash: string;
  readonly name: string;
  readonly namespace: string | null;
  readonly fullName: string;
  readonly source: string;
}

/** One argument of a recorded call. */
export interface ArgumentRecord {
  /** Position of the argument (0-based). */
  readonly position: number;
  readonly valueHash: string;
  /** The call that produced this argument value, if it came from an expression. */
  readonly upstreamCallId: string | null;
  /** The decoded value (`undefined` if it could not be decoded). */
  readonly value: unknown;
}

/** A call with its arguments, result and the source of its task (for `durun log <call>`). */
export interface CallDetail extends CallRecord {
  readonly args: readonly ArgumentRecord[];
  /** The decoded result (`undefined` for failed calls). */
  readonly result: unknown;
  readonly task: TaskRecord | null;
}

/** A task reached below a call: full name, hash, and the version override (if any). */
/**
 * A task reached below a call: its full name and hash, and `0` when that call ran with
 * `cache: false` (set on the call with `t.options()`; such a call runs in every run, so the final
 * result above it cannot be reused whole).
 */
export type ReachedTask = readonly [fullName: string, hash: string, uncached?: 0];

/** A cache entry as read back. */
export interface CacheEntry {
  readonly taskHash: string;
  readonly argsHash: string;
  readonly resultHash: string;
  /** Encoded recorded result (what the body returned). */
  readonly resultText: string;
  readonly finalHash: string;
  /** Encoded final result, or `null` if not stored. */
  readonly finalText: string | null;
  readonly callHash: string;
  /**
   * Tasks reached below the call (JSON array of {@link ReachedTask}), parsed lazily; `""`
   * when the call reached no task but its own.
   */
  readonly reachedText: string;
}

/** Key of a cache lookup. */
export interface CacheKey {
  readonly taskHash: string;
  readonly argsHash: string;
}

/** Rows to write, grouped by table; applied in one transaction. */
export interface WriteBatch {
  executions: ExecutionRow[];
  tasks: TaskRecord[];
  values: ValueRow[];
  calls: CallRow[];
  arguments: ArgumentRow[];
  cacheEntries: CacheEntryRow[];
}

/** An execution row (inserted, or updated when its id exists). */
export interface ExecutionRow {
  id: string;
  taskName: string;
  args: string;
  description: string | null;
  status: ExecutionStatus;
  startedAt: number;
  endedAt: number | null;
  error: string | null;
  rootCallId: string | null;
  callCount: number;
}

/** A value row (ignored when the hash exists). */
export interface ValueRow {
  hash: string;
  text: string;
}

/** A call row. Times are epoch milliseconds. */
export interface CallRow {
  id: string;
  executionId: string;
  parentId: string | null;
  taskName: string;
  taskHash: string;
  argsHash: string;
  callHash: string | null;
  resultHash: string | null;
  finalHash: string | null;
  status: CallStatus;
  startedAt: number;
  endedAt: number;
  error: string | null;
  attempts: number;
}

/** An argument row. */
export interface ArgumentRow {
  callId: string;
  position: number;
  valueHash: string;
  upstreamCallId: string | null;
}

/** A cache entry row (replaces an existing entry with the same key). */
export interface CacheEntryRow {
  taskHash: string;
  argsHash: string;
  taskName: string;
  resultHash: string;
  finalHash: string;
  callHash: string;
  /** JSON array of {@link ReachedTask}, or `""` when the call reached no task but its own. */
  reachedText: string;
  createdAt: number;
}

/** Counters for benchmarks. */
export interface StoreStats {
  /** SQL statements executed since the store was opened. */
  statements: number;
}

/**
 * The cache and provenance store behind `scheduler.db`.
 *
 * @example
 * const [exec] = await scheduler.db.listExecutions({ limit: 1 });
 * const graph = await scheduler.db.getCallGraph(exec!.id);
 * const detail = await scheduler.db.getCall(graph.calls[0]!.id);
 */
export interface Store {
  /** Where the store lives (a path, `:memory:` or a URL without password). */
  readonly location: string;
  /** Counters (SQL statements executed). */
  readonly stats: StoreStats;

  /** Applies a batch of rows in one transaction. */
  write(batch: WriteBatch): Promise<void>;
  /** Cache entries for many keys at once; `undefined` where there is none. */
  lookupCache(keys: readonly CacheKey[]): Promise<(CacheEntry | undefined)[]>;
  /** Task hashes of cache entries recorded for a task name and args hash (for dryrun reasons). */
  findCacheTaskHashes(taskName: string, argsHash: string): Promise<string[]>;
  /** True when a value with this hash is stored. */
  hasValue(hash: string): Promise<boolean>;

  /** Recent executions, newest first. @default limit 20 */
  listExecutions(options?: { limit?: number }): Promise<ExecutionRecord[]>;
  /** One execution, or `undefined`. Accepts a unique id prefix. */
  getExecution(id: string): Promise<ExecutionRecord | undefined>;
  /** Every call of an execution, in start order. */
  getCallGraph(executionId: string): Promise<{ calls: CallRecord[] }>;
  /** One call with arguments (and their upstream calls), result and task source. Accepts a unique id prefix. */
  getCall(id: string): Promise<CallDetail | undefined>;
  /** A stored value, decoded; `undefined` when unknown. */
  getValue(hash: string): Promise<unknown>;
  /** A stored value's encoded text; `undefined` when unknown. */
  getValueText(hash: string): Promise<string | undefined>;
  /** A recorded task definition, by task hash. */
  getTask(hash: string): Promise<TaskRecord | undefined>;

  /** Releases the database. */
  close(): Promise<void>;
}

/** An empty write batch. */
export function emptyBatch(): WriteBatch {
  return { executions: [], tasks: [], values: [], calls: [], arguments: [], cacheEntries: [] };
}
