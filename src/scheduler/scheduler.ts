/**
 * The scheduler: evaluates lazy expressions with automatic parallelism, reuses cached calls,
 * and records every call in the provenance store.
 */
import { randomUUID } from "node:crypto";
import { StoreError, UsageError } from "../errors.js";
import { describeValue, type Expression } from "../tasks/expression.js";
import { isExpressionValue } from "../tasks/registry.js";
import { registerTaskCodecs } from "../tasks/codecs.js";
import type { Resolved } from "../tasks/types.js";
import type { Executor, ExecutorConfig } from "../executors/executor.js";
import { InlineExecutor } from "../executors/inline.js";
import { ThreadsExecutor } from "../executors/threads.js";
import { openStore } from "../store/open-store.js";
import type { Store } from "../store/store.js";
import { Limiter } from "./limiter.js";
import { RecordBuffer } from "./record-buffer.js";
import { Run, type SchedulerEvent } from "./run.js";

export type { SchedulerEvent } from "./run.js";
export type { ExecutorConfig } from "../executors/executor.js";

registerTaskCodecs();

/**
 * Options of {@link Scheduler}.
 *
 * @example
 * new Scheduler({ db: "sqlite:/tmp/cache.db", maxConcurrency: 8, limits: { gpu: 1 } });
 */
export interface SchedulerOptions {
  /**
   * The cache and provenance store: a file path, `"sqlite:<path>"`, `":memory:"`, or a
   * `"postgres://..."` URL (not available yet).
   * @default ".durun/durun.db" (in the working directory)
   */
  db?: string;
  /**
   * Named executors. `default` is used by tasks without an `executor` option.
   * @default { default: { type: "inline" } }
   */
  executors?: Record<string, ExecutorConfig>;
  /**
   * Resources available at once; a running call holds its task's `limits`.
   * @default {} (no resource is limited)
   */
  limits?: Record<string, number>;
  /**
   * Most task bodies running at once (cache hits do not count).
   * @default Infinity
   */
  maxConcurrency?: number;
  /** Called for every progress event (pending, running, done, cached, failed). @default undefined */
  onEvent?: (event: SchedulerEvent) => void;
}

/**
 * Options of {@link Scheduler.run}.
 *
 * @example
 * await scheduler.run(main(3), { cache: false, description: "nightly rebuild" });
 */
export interface RunOptions {
  /** `false`: ignore cached results for the whole run (results are still recorded). @default true */
  cache?: boolean;
  /**
   * Reject with `DryRunError` naming the first call that would execute (and why) instead of
   * executing anything; resolve when everything is cached. Nothing is recorded. @default false
   */
  dryrun?: boolean;
  /** Free text stored with the execution (e.g. the command line). @default undefined */
  description?: string;
}

interface CompiledOptions {
  readonly executors: Readonly<Record<string, ExecutorConfig>>;
  readonly limits: Readonly<Record<string, number>>;
  readonly maxConcurrency: number;
  readonly onEvent: ((e: SchedulerEvent) => void) | undefined;
}

/** The fields each executor type accepts. */
const EXECUTOR_FIELDS: Readonly<Record<ExecutorConfig["type"], readonly string[]>> = {
  inline: ["type"],
  threads: ["type", "size"],
  redis: ["type", "url"],
};

/** The fields of {@link RunOptions}, and the booleans among them. */
const RUN_FIELDS = ["cache", "dryrun", "description"];

/** Rejects unknown fields and values of the wrong type in `scheduler.run` options. */
function checkRunOptions(o: RunOptions): void {
  if (typeof o !== "object" || o === null) throw new UsageError("scheduler.run(expr, options): options must be an object");
  const bad = (field: string, want: string): never => {
    throw new UsageError(`scheduler.run(expr, options): "${field}" must be ${want}`);
  };
  for (const k of Object.keys(o)) if (!RUN_FIELDS.includes(k)) bad(k, `one of the known options (${RUN_FIELDS.join(", ")}); "${k}" is unknown`);
  for (const k of ["cache", "dryrun"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "boolean") bad(k, `a boolean (got ${JSON.stringify(o[k]) ?? String(o[k])})`);
  }
  if (o.description !== undefined && typeof o.description !== "string") bad("description", "a string");
}

function compileOptions(o: SchedulerOptions): CompiledOptions {
  if (typeof o !== "object" || o === null) throw new UsageError("new Scheduler(options): options must be an object");
  const bad = (field: string, want: string): never => {
    throw new UsageError(`new Scheduler(options): "${field}" must be ${want}`);
  };
  const known = new Set(["db", "executors", "limits", "maxConcurrency", "onEvent"]);
  for (const k of Object.keys(o)) if (!known.has(k)) bad(k, `one of the known options (${[...known].join(", ")}); "${k}" is unknown`);
  const executors: Record<string, ExecutorConfig> = { default: { type: "inline" } };
  for (const [name, cfg] of Object.entries(o.executors ?? {})) {
    if (typeof cfg !== "object" || cfg === null) bad(`executors.${name}`, "an object with a type");
    if (cfg.type !== "inline" && cfg.type !== "threads" && cfg.type !== "redis") bad(`executors.${name}.type`, '"inline", "threads" or "redis"');
    const fields = EXECUTOR_FIELDS[cfg.type];
    for (const k of Object.keys(cfg)) {
      if (!fields.includes(k)) bad(`executors.${name}.${k}`, `one of the known fields of a ${cfg.type} executor (${fields.join(", ")}); "${k}" is unknown`);
    }
    if (cfg.type === "threads" && cfg.size !== undefined && !(Number.isInteger(cfg.size) && cfg.size >= 1)) bad(`executors.${name}.size`, `an integer >= 1 (got ${String(cfg.size)})`);
    if (cfg.type === "redis" && typeof cfg.url !== "string") bad(`executors.${name}.url`, "a string");
    executors[name] = cfg;
  }
  const limits: Record<string, number> = {};
  for (const [name, n] of Object.entries(o.limits ?? {})) {
    if (typeof n !== "number" || !(n >= 0)) bad(`limits.${name}`, "a number >= 0");
    limits[name] = n;
  }
  const maxConcurrency = o.maxConcurrency ?? Number.POSITIVE_INFINITY;
  if (typeof maxConcurrency !== "number" || !(maxConcurrency >= 1)) bad("maxConcurrency", "a number >= 1");
  if (o.onEvent !== undefined && typeof o.onEvent !== "function") bad("onEvent", "a function");
  return { executors, limits, maxConcurrency, onEvent: o.onEvent };
}

function rootDescription(expr: unknown): { taskName: string; args: string } {
  if (isExpressionValue(expr)) {
    const n = (expr as Expression<unknown>).node;
    if (n.kind === "call") return { taskName: n.task.fullName, args: n.args.map((a) => describeValue(a)).join(", ") };
    return { taskName: `<${n.kind}>`, args: describeValue(expr) };
  }
  return { taskName: "<value>", args: describeValue(expr) };
}

/**
 * Evaluates expressions: runs every call whose arguments are ready (bounded by
 * `maxConcurrency` and `limits`), reuses cached results, records provenance in `db`.
 *
 * @example
 * const scheduler = new Scheduler({ db: ".durun/durun.db" });
 * const value = await scheduler.run(main(3));
 * const graph = await scheduler.db.getCallGraph(scheduler.lastExecutionId!);
 * await scheduler.close();
 */
export class Scheduler {
  /** The cache and provenance store. */
  readonly db: Store;
  /** The id of the execution that the last `run` recorded (`undefined` before the first run, and after a dryrun). */
  lastExecutionId: string | undefined;
  readonly #options: CompiledOptions;
  readonly #executors = new Map<string, Executor>();
  readonly #limiter: Limiter;
  readonly #buffer: RecordBuffer;
  readonly #active = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: SchedulerOptions = {}) {
    this.#options = compileOptions(options);
    this.db = openStore(options.db);
    this.#limiter = new Limiter(this.#options.maxConcurrency, this.#options.limits);
    this.#buffer = new RecordBuffer(this.db);
  }

  /** The highest number of task bodies that ran at once so far. */
  get peakConcurrency(): number {
    return this.#limiter.peak;
  }

  #executor(name: string, taskName: string): Executor {
    let ex = this.#executors.get(name);
    if (ex !== undefined) return ex;
    const cfg = this.#options.executors[name];
    if (cfg === undefined) {
      throw new UsageError(`task "${taskName}" uses executor "${name}", which the scheduler does not have (known: ${Object.keys(this.#options.executors).join(", ")})`);
    }
    switch (cfg.type) {
      case "inline":
        ex = new InlineExecutor();
        break;
      case "threads":
        ex = new ThreadsExecutor(cfg);
        break;
      case "redis":
        throw new UsageError(`executor "${name}": the redis executor is not available yet; use "inline" or "threads"`);
    }
    this.#executors.set(name, ex);
    return ex;
  }

  /**
   * Evaluates an expression (or a structure containing expressions) and resolves to its value.
   * Rejects with a `TaskError` naming the failing task (original error as `cause`), or with a
   * `DryRunError` under `dryrun`.
   *
   * @example
   * const n = await scheduler.run(add(1, 2)); // 3
   */
  async run<T>(expr: T, options: RunOptions = {}): Promise<Resolved<T>> {
    if (this.#closed) throw new UsageError("scheduler.run: the scheduler is closed");
    checkRunOptions(options);
    const p = this.#run(expr, options);
    this.#active.add(p);
    try {
      return await p;
    } finally {
      this.#active.delete(p);
    }
  }

  async #run<T>(expr: T, options: RunOptions): Promise<Resolved<T>> {
    const dryrun = options.dryrun === true;
    const executionId = randomUUID();
    const { taskName, args } = rootDescription(expr);
    const startedAt = Date.now();
    const buffer = dryrun ? undefined : this.#buffer;
    const execution = {
      id: executionId,
      taskName,
      args,
      description: options.description ?? null,
      status: "running" as "running" | "done" | "failed",
      startedAt,
      endedAt: null as number | null,
      error: null as string | null,
      rootCallId: null as string | null,
      callCount: 0,
    };
    if (buffer !== undefined) {
      this.lastExecutionId = executionId;
      buffer.batch.executions.push({ ...execution });
      buffer.added(1);
    }
    const run = new Run({
      executionId,
      store: this.db,
      buffer,
      limiter: this.#limiter,
      executor: (name, task) => this.#executor(name, task),
      useCache: options.cache !== false,
      dryrun,
      onEvent: this.#options.onEvent,
    });
    let value: unknown;
    let failure: unknown;
    try {
      value = await run.evaluate(expr);
    } catch (e) {
      failure = e;
    }
    if (buffer !== undefined) {
      buffer.batch.executions.push({
        ...execution,
        status: failure === undefined ? "done" : "failed",
        endedAt: Date.now(),
        error: failure === undefined ? null : String((failure as Error).message ?? failure),
        rootCallId: run.rootCallId,
        callCount: run.callCount,
      });
      buffer.added(1);
      try {
        await buffer.flush();
      } catch (e) {
        if (failure === undefined) failure = e instanceof StoreError ? e : new StoreError(`recording the run failed: ${String(e)}`, { cause: e });
      }
    }
    if (failure !== undefined) throw failure;
    return value as Resolved<T>;
  }

  /** Waits for running runs, writes what is buffered, closes executors and the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#active]);
    try {
      await this.#buffer.flush();
    } finally {
      await Promise.allSettled([...this.#executors.values()].map((e) => e.close()));
      await this.db.close();
    }
  }

  /** `await using scheduler = new Scheduler()` closes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
