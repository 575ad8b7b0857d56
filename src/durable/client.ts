/**
 * The durable client: emit runs and events, inspect and cancel runs.
 *
 * @example
 * const client = createClient({ url: "redis://127.0.0.1:6379" });
 * const handle = await client.emitWorkflow("send-welcome-email", { userId: "u1" }, { idempotencyKey: "welcome:u1" });
 * const output = await handle.result({ timeoutMs: 15_000 });
 * await client.close();
 */
import { CanceledError, DurunError, TimeoutError, UsageError } from "../errors.js";
import type { WorkflowDefinition } from "./define.js";
import { emitRun } from "./emit.js";
import { newId } from "./ids.js";
import { checkRedisUrl, rejectUnknownKeys } from "./options.js";
import { decodeError, decodePayload, encodeError, encodePayload, type StoredError } from "./payload.js";
import type { RedisStore } from "./redis/store.js";
import { connectStore, type WorkflowMetaJson } from "./shared.js";
import { RUN_STATUSES, isTerminalStatus, type RunStatus, type StepStatus } from "./status.js";
import { parseSteps } from "./step-core.js";

export type { RunStatus, StepStatus } from "./status.js";
export { RUN_STATUS, STEP_STATUS } from "./status.js";

/** Options of {@link createClient}. */
export interface ClientOptions {
  /**
   * Redis URL: `redis://host:port`, `rediss://host:port` (TLS), `unix:/path/to/redis.sock`, or
   * a Redis Cluster's seed nodes, `redis-cluster://host:port[,host:port...]`
   * (`rediss-cluster://` for TLS; `user:password@` as in `redis://`).
   */
  url: string;
  /** Key prefix of the deployment. @default "durun" */
  prefix?: string;
  /** How long an idempotency key returns the same run. @default 86400000 (24 h) */
  idempotencyTtlMs?: number;
  /** Bound on connecting to Redis (first call). @default 5000 */
  connectTimeoutMs?: number;
}

/** Options of `client.emitWorkflow`. */
export interface EmitOptions {
  /** The same key returns the same run for `idempotencyTtlMs`, finished or not. */
  idempotencyKey?: string;
  /** Start no earlier than this (a `Date`; a number is refused: `new Date(Date.now() + ms)` for a delay). */
  runAt?: Date;
  /** Overrides the workflow's queue. */
  queue?: string;
}

/** An error as stored with a run or step. */
export type RunError = StoredError;

/** A run as stored. */
export interface RunRecord {
  id: string;
  workflow: string;
  queue: string;
  status: RunStatus;
  input: unknown;
  /** The handler's return value, once succeeded. */
  output: unknown;
  /** The last error (of the last failed attempt, or the cancellation). */
  error: RunError | undefined;
  /** Current attempt, from 1. */
  attempt: number;
  maxAttempts: number;
  parentRunId: string | undefined;
  idempotencyKey: string | undefined;
  createdAt: Date;
  /** When the current attempt started. */
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  /** For delayed runs. */
  runAt: Date | undefined;
}

/** A step of a run, as recorded. */
export interface StepRecord {
  name: string;
  status: StepStatus;
  output: unknown;
  error: RunError | undefined;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  /** Child run of `runWorkflow` / `emitWorkflow` steps. */
  childRunId: string | undefined;
}

/** Workflow metadata published by workers. */
export interface WorkflowMeta {
  name: string;
  app: string;
  queue: string;
  /** `Infinity`: no limit. */
  maxConcurrency: number;
  maxAttempts: number;
  retry: { backoffMs: number; maxBackoffMs: number; factor: number };
  cron: Array<{ id: string; expression: string; timezone?: string }>;
  triggers: Array<{ event: string }>;
  hasInputSchema: boolean;
  updatedAt: Date;
}

/** An emitted event. */
export interface EventRecord {
  id: string;
  name: string;
  payload: unknown;
  correlationKey: string | undefined;
  createdAt: Date;
  /** Runs started by workflow triggers. */
  runIds: string[];
}

/** Counters of `client.getStats()`. */
export interface Stats {
  byStatus: Record<RunStatus, number>;
  total: number;
  workflows: number;
  /** Length of each queue of a published workflow. */
  queues: Record<string, number>;
}

/** A handle on an emitted run. */
export interface RunHandle<O = unknown> {
  readonly id: string;
  /** Resolves to the output; rejects with the run's error, CanceledError, or TimeoutError after `timeoutMs`. */
  result(options?: { timeoutMs?: number }): Promise<O>;
  /** The run record now. */
  getState(): Promise<RunRecord>;
}

/** The durable client. */
export interface Client {
  emitWorkflow<I, O>(workflow: WorkflowDefinition<I, O>, input: I, options?: EmitOptions): Promise<RunHandle<O>>;
  emitWorkflow<O = unknown>(name: string, input: unknown, options?: EmitOptions): Promise<RunHandle<O>>;
  getRun(id: string): Promise<RunRecord | undefined>;
  getRunSteps(id: string): Promise<StepRecord[]>;
  listRuns(options?: { workflow?: string; status?: RunStatus; limit?: number; offset?: number }): Promise<RunRecord[]>;
  listWorkflows(): Promise<WorkflowMeta[]>;
  getWorkflowMeta(name: string): Promise<WorkflowMeta | undefined>;
  getStats(): Promise<Stats>;
  /** Resolves true if it canceled the run (and its unfinished children), false if it had finished (or does not exist). */
  cancelRun(id: string, options?: { reason?: string }): Promise<boolean>;
  /** Emits an event; resolves to its id. */
  emitEvent(name: string, payload?: unknown, options?: { correlationKey?: string }): Promise<string>;
  listEvents(options?: { name?: string; limit?: number }): Promise<EventRecord[]>;
  getEvent(id: string): Promise<EventRecord | undefined>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface CompiledClientOptions {
  url: string;
  prefix: string;
  idempotencyTtlMs: number;
  connectTimeoutMs: number;
}

/** Validates client options; throws UsageError naming the bad field. @internal */
export function compileClientOptions(o: ClientOptions): CompiledClientOptions {
  if (typeof o !== "object" || o === null) throw new UsageError("createClient: options must be an object { url, prefix? }");
  rejectUnknownKeys(o, ["url", "prefix", "idempotencyTtlMs", "connectTimeoutMs"], "createClient: options");
  checkRedisUrl(o.url, "createClient: options.url");
  if (o.prefix !== undefined && (typeof o.prefix !== "string" || o.prefix === "" || /[{}]/.test(o.prefix))) {
    throw new UsageError("createClient: options.prefix must be a non-empty string without braces");
  }
  const pos = (v: unknown, f: string, d: number) => {
    if (v === undefined) return d;
    if (typeof v !== "number" || !(v > 0)) throw new UsageError(`createClient: options.${f} must be a positive number`);
    return v;
  };
  return {
    url: o.url,
    prefix: o.prefix ?? "durun",
    idempotencyTtlMs: pos(o.idempotencyTtlMs, "idempotencyTtlMs", 86_400_000),
    connectTimeoutMs: pos(o.connectTimeoutMs, "connectTimeoutMs", 5000),
  };
}

const date = (v: string | undefined): Date | undefined => (v && v !== "0" ? new Date(Number(v)) : undefined);
const str = (v: string | undefined): string | undefined => (v ? v : undefined);
function storedError(text: string | undefined): RunError | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as RunError;
  } catch {
    return { name: "Error", message: text };
  }
}

/** Builds a RunRecord from the raw run hash. @internal */
export function toRunRecord(f: Record<string, string>): RunRecord {
  return {
    id: f.id ?? "",
    workflow: f.workflow ?? "",
    queue: f.queue ?? "",
    status: (f.status ?? "queued") as RunStatus,
    input: decodePayload(f.input),
    output: decodePayload(f.output),
    error: storedError(f.error),
    attempt: Number(f.attempt ?? 1),
    maxAttempts: Number(f.maxAttempts ?? 1),
    parentRunId: str(f.parentRunId),
    idempotencyKey: str(f.idempotencyKey),
    createdAt: new Date(Number(f.createdAt ?? 0)),
    startedAt: date(f.startedAt),
    finishedAt: date(f.finishedAt),
    runAt: date(f.runAt),
  };
}

function toMeta(json: string): WorkflowMeta {
  const m = JSON.parse(json) as WorkflowMetaJson;
  return { ...m, maxConcurrency: m.maxConcurrency > 0 ? m.maxConcurrency : Infinity, updatedAt: new Date(m.updatedAt) };
}

function toEvent(f: Record<string, string>): EventRecord {
  return {
    id: f.id ?? "",
    name: f.name ?? "",
    payload: decodePayload(f.payload),
    correlationKey: str(f.correlationKey),
    createdAt: new Date(Number(f.createdAt ?? 0)),
    runIds: f.runs ? f.runs.split(" ") : [],
  };
}

function limitOf(v: unknown, field: string, d: number): number {
  if (v === undefined) return d;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new UsageError(`${field} must be a non-negative integer`);
  return v;
}

class DurableClient implements Client {
  private storePromise: Promise<RedisStore> | undefined;
  private closed = false;
  private doneSub: Promise<boolean> | undefined;
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(private readonly o: CompiledClientOptions) {}

  /** Connects on first use; a failed connection is retried by the next call. */
  private store(): Promise<RedisStore> {
    if (this.closed) return Promise.reject(new DurunError("the client is closed", { code: "CLOSED" }));
    this.storePromise ??= connectStore({ url: this.o.url, prefix: this.o.prefix, connectTimeoutMs: this.o.connectTimeoutMs, waitThroughOutages: false }).catch((e: unknown) => {
      this.storePromise = undefined;
      throw e;
    });
    return this.storePromise;
  }

  emitWorkflow<I, O>(workflow: WorkflowDefinition<I, O>, input: I, options?: EmitOptions): Promise<RunHandle<O>>;
  emitWorkflow<O = unknown>(name: string, input: unknown, options?: EmitOptions): Promise<RunHandle<O>>;
  async emitWorkflow<O>(workflow: string | { readonly name: string }, input: unknown, options: EmitOptions = {}): Promise<RunHandle<O>> {
    if (typeof options !== "object" || options === null) throw new UsageError("emitWorkflow: options must be an object");
    rejectUnknownKeys(options, ["idempotencyKey", "runAt", "queue"], "emitWorkflow: options");
    const store = await this.store();
    const r = await emitRun(store, {
      workflow,
      input,
      idempotencyKey: options.idempotencyKey,
      idempotencyTtlMs: this.o.idempotencyTtlMs,
      runAt: options.runAt,
      queue: options.queue,
    });
    return this.handle<O>(r.id);
  }

  private handle<O>(id: string): RunHandle<O> {
    return {
      id,
      result: (opts) => this.result<O>(id, opts?.timeoutMs),
      getState: async () => {
        const r = await this.getRun(id);
        if (!r) throw new DurunError(`run ${id} does not exist`, { code: "NOT_FOUND" });
        return r;
      },
    };
  }

  /** Subscribes once to the done channel; on failure result() falls back to polling. */
  private doneChannel(store: RedisStore): Promise<boolean> {
    this.doneSub ??= store
      .subscribe(store.keys.doneChannel, (id) => {
        for (const wake of this.watchers.get(id) ?? []) wake();
      })
      .then(
        () => true,
        () => {
          this.doneSub = undefined;
          return false;
        },
      );
    return this.doneSub;
  }

  private async result<O>(id: string, timeoutMs: number | undefined): Promise<O> {
    if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !(timeoutMs >= 0))) throw new UsageError("result: options.timeoutMs must be a non-negative number");
    const store = await this.store();
    const end = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    const subscribed = await this.doneChannel(store);
    let wake: () => void = () => {};
    let woken = false;
    const watcher = () => {
      woken = true;
      wake();
    };
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    set.add(watcher);
    try {
      let s = await store.watch(id);
      let poll = 5;
      for (;;) {
        if (!s) throw new DurunError(`run ${id} does not exist`, { code: "NOT_FOUND" });
        if (isTerminalStatus(s.status)) {
          if (s.status === "succeeded") return decodePayload(s.output) as O;
          const err = decodeError(s.error);
          if (s.status === "canceled") throw err instanceof CanceledError ? err : new CanceledError(`run ${id} was canceled`, { cause: err });
          throw err ?? new DurunError(`run ${id} failed`);
        }
        const left = end - Date.now();
        if (left <= 0) throw new TimeoutError(`run ${id} did not finish within ${timeoutMs} ms (status ${s.status})`, { timeoutMs });
        // with the done channel, the poll is only a safety net (e.g. a message lost in a reconnect)
        const pollMs = subscribed ? 1000 : poll;
        poll = Math.min(200, Math.ceil(poll * 1.5));
        if (!woken) {
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, Math.min(pollMs, left));
          });
          clearTimeout(timer);
        }
        woken = false;
        s = await store.getRunStatus(id);
      }
    } finally {
      set.delete(watcher);
      if (set.size === 0) this.watchers.delete(id);
    }
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const f = await (await this.store()).getRunFields(id);
    return f ? toRunRecord(f) : undefined;
  }

  async getRunSteps(id: string): Promise<StepRecord[]> {
    const steps = parseSteps(await (await this.store()).getSteps(id));
    return [...steps.entries()]
      .sort((a, b) => a[1].i - b[1].i)
      .map(([name, s]) => ({
        name,
        status: s.status,
        output: s.output === undefined ? undefined : decodePayload(s.output),
        error: storedError(s.error),
        startedAt: date(String(s.startedAt ?? "")),
        finishedAt: date(String(s.finishedAt ?? "")),
        childRunId: s.childId,
      }));
  }

  async listRuns(options: { workflow?: string; status?: RunStatus; limit?: number; offset?: number } = {}): Promise<RunRecord[]> {
    rejectUnknownKeys(options, ["workflow", "status", "limit", "offset"], "listRuns: options");
    const store = await this.store();
    const limit = limitOf(options.limit, "listRuns: options.limit", 50);
    const offset = limitOf(options.offset, "listRuns: options.offset", 0);
    if (options.status !== undefined && !RUN_STATUSES.includes(options.status)) {
      throw new UsageError(`listRuns: options.status must be one of ${RUN_STATUSES.join(", ")}`);
    }
    if (limit === 0) return [];
    const k = store.keys;
    if (options.workflow !== undefined && options.status !== undefined) {
      const out: RunRecord[] = [];
      let skipped = 0;
      const batch = 200;
      for (let at = 0; out.length < limit; at += batch) {
        const ids = await store.rangeNewest(k.runsOfWorkflow(options.workflow), at, batch);
        if (ids.length === 0) break;
        for (const f of await store.getManyRuns(ids)) {
          if (!f || f.status !== options.status) continue;
          if (skipped < offset) skipped++;
          else if (out.length < limit) out.push(toRunRecord(f));
        }
        if (ids.length < batch) break;
      }
      return out;
    }
    const key = options.workflow !== undefined ? k.runsOfWorkflow(options.workflow) : options.status !== undefined ? k.status(options.status) : k.runs;
    const ids = await store.rangeNewest(key, offset, limit);
    return (await store.getManyRuns(ids)).filter((f): f is Record<string, string> => f !== undefined).map(toRunRecord);
  }

  async listWorkflows(): Promise<WorkflowMeta[]> {
    const all = await (await this.store()).workflowMetas();
    return Object.values(all)
      .map(toMeta)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async getWorkflowMeta(name: string): Promise<WorkflowMeta | undefined> {
    const json = await (await this.store()).workflowMeta(name);
    return json ? toMeta(json) : undefined;
  }

  async getStats(): Promise<Stats> {
    const store = await this.store();
    const counts = await store.countMany([...RUN_STATUSES.map((s) => store.keys.status(s)), store.keys.runs]);
    const byStatus = Object.fromEntries(RUN_STATUSES.map((s, i) => [s, counts[i] ?? 0])) as Record<RunStatus, number>;
    const metas = await this.listWorkflows();
    const queues: Record<string, number> = {};
    for (const q of new Set(metas.map((m) => m.queue))) queues[q] = await store.queueLength(q);
    return { byStatus, total: counts[RUN_STATUSES.length] ?? 0, workflows: metas.length, queues };
  }

  async cancelRun(id: string, options: { reason?: string } = {}): Promise<boolean> {
    rejectUnknownKeys(options, ["reason"], "cancelRun: options");
    const store = await this.store();
    const reason = options.reason;
    const error = encodeError(new CanceledError(reason ? `canceled: ${reason}` : "canceled", reason === undefined ? {} : { reason }));
    const first = await store.cancel(id, error);
    if (first.code !== 1) return false;
    const todo = [...first.children];
    const seen = new Set<string>([id]);
    while (todo.length > 0) {
      const child = todo.pop()!;
      if (seen.has(child)) continue;
      seen.add(child);
      const r = await store.cancel(child, encodeError(new CanceledError(`canceled with parent run ${id}`, reason === undefined ? {} : { reason })));
      todo.push(...r.children);
    }
    return true;
  }

  async emitEvent(name: string, payload?: unknown, options: { correlationKey?: string } = {}): Promise<string> {
    if (typeof name !== "string" || name === "") throw new UsageError("emitEvent: the event name must be a non-empty string");
    rejectUnknownKeys(options, ["correlationKey"], "emitEvent: options");
    if (options.correlationKey !== undefined && typeof options.correlationKey !== "string") throw new UsageError("emitEvent: options.correlationKey must be a string");
    const encoded = encodePayload(payload, `payload of event "${name}"`);
    const store = await this.store();
    const id = newId();
    await store.emitEvent({ id, name, correlationKey: options.correlationKey ?? "", payload: encoded, now: Date.now() });
    return id;
  }

  async listEvents(options: { name?: string; limit?: number } = {}): Promise<EventRecord[]> {
    rejectUnknownKeys(options, ["name", "limit"], "listEvents: options");
    const store = await this.store();
    const limit = limitOf(options.limit, "listEvents: options.limit", 50);
    if (limit === 0) return [];
    const ids = await store.rangeNewest(options.name !== undefined ? store.keys.eventsByName(options.name) : store.keys.events, 0, limit);
    return (await store.getManyEvents(ids)).filter((f): f is Record<string, string> => f !== undefined).map(toEvent);
  }

  async getEvent(id: string): Promise<EventRecord | undefined> {
    const f = await (await this.store()).getEventFields(id);
    return f ? toEvent(f) : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const p = this.storePromise;
    this.storePromise = undefined;
    if (p) await (await p.catch(() => undefined))?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a client. It connects on first use: a call rejects with ConnectionError (naming the
 * URL) when Redis cannot be reached within `connectTimeoutMs`.
 */
export function createClient(options: ClientOptions): Client {
  return new DurableClient(compileClientOptions(options));
}
