/**
 * The durable worker: claims runs of its queues from Redis and executes the workflows registered
 * in its process.
 *
 * - one fetch loop per queue: claim (one script, up to the free slots), else block on BLMOVE
 *   (a dedicated connection) until the queue is non-empty or `blmoveTimeoutSec` passes;
 * - lease renewal every `leaseMs / 3` for every held run (one script), which also reports
 *   cancellations; a pub/sub channel reports them faster;
 * - a reaper every `reaperIntervalMs` (any worker): re-queues due scheduled runs and runs whose
 *   lease expired (one pipelined round trip); in between, a timer wakes it at the earliest due
 *   time it knows of (the `scheduled` zset's lowest score read by each reap, the retries and
 *   parks of its own runs, and runs emitted with a `runAt`, announced on the `timers` channel),
 *   so delays, backoffs and sleeps end within a few ms of their due time;
 * - cron: one leader per `app` (a lease key), each tick emitted once (idempotency key per
 *   schedule and tick time), skipped while the workflow is at its maxConcurrency.
 */
import { CanceledError, UsageError } from "../errors.js";
import { workflowRegistry, type WorkflowDefinition } from "./define.js";
import { CronRunner } from "./cron-runner.js";
import { LazyScheduler, defaultWorkerDb } from "./evaluate.js";
import { newId } from "./ids.js";
import type { QueueWaiter, RedisStore } from "./redis/store.js";
import { executeRun, type HeldRun, type RunOutcome } from "./run-executor.js";
import { RunAbort } from "./step-core.js";
import { checkRedisUrl, rejectUnknownKeys } from "./options.js";
import { connectStore, workflowMetaJson } from "./shared.js";

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  /** Name of the application: the workflow metadata this worker publishes is grouped under it. */
  app: string;
  /**
   * Redis URL: `redis://host:port`, `rediss://host:port` (TLS), `unix:/path/to/redis.sock`, or
   * a Redis Cluster's seed nodes, `redis-cluster://host:port[,host:port...]`
   * (`rediss-cluster://` for TLS; `user:password@` as in `redis://`).
   */
  url: string;
  /** Queues to serve. @default the queues of the registered workflows (or `["default"]`) */
  queues?: string[];
  /** Runs executed at once. @default 1 */
  concurrency?: number;
  /** Lease of a running run; renewed every leaseMs/3; a dead worker's runs come back after it. @default 5000 */
  leaseMs?: number;
  /** Blocking wait on an empty queue, in seconds. @default 1 */
  blmoveTimeoutSec?: number;
  /**
   * How often expired leases are reaped and the scheduled runs checked. Due scheduled runs do not
   * wait for it: the worker sets a timer for the earliest due time it knows of. @default 500
   */
  reaperIntervalMs?: number;
  /** Key prefix of the deployment. @default "durun" */
  prefix?: string;
  /** Bound on connecting to Redis at start. @default 5000 */
  connectTimeoutMs?: number;
  /** How long `stop()` waits for held runs before handing them back. @default 10000 */
  shutdownTimeoutMs?: number;
  /** Idempotency window of child runs. @default 86400000 (24 h) */
  idempotencyTtlMs?: number;
  /**
   * The call cache and provenance store of `ctx.step.evaluate`: a path, `sqlite:<path>`,
   * `:memory:` or a `postgres://` URL (as the scheduler's `db`). Opened on the first evaluate
   * step, closed by `stop()`.
   * @default process.env.DURUN_DB ?? ".durun/durun.db"
   */
  db?: string;
  /**
   * How long finished runs (succeeded, failed, canceled, with their steps) and emitted events
   * are kept, in ms after they finished (runs) or were emitted (events); then a worker deletes
   * them. Runs that have not finished are never deleted. At least 1000.
   * @default undefined: kept until deleted by hand
   */
  retentionMs?: number;
  /** Called when a run starts or ends on this worker (for logs). */
  onRunEvent?: (event: WorkerRunEvent) => void;
}

/** A run starting or ending on a worker. */
export interface WorkerRunEvent {
  type: "start" | "end";
  runId: string;
  workflow: string;
  attempt: number;
  /** For `end`: how the run left this worker. */
  outcome?: RunOutcome | "error";
  error?: Error;
}

/** A running worker. */
export interface Worker {
  /** The worker's id (part of its lease tokens). */
  readonly id: string;
  readonly queues: readonly string[];
  /** Stops claiming, waits for held runs (up to shutdownTimeoutMs), hands back the rest, closes. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface CompiledWorkerOptions {
  app: string;
  url: string;
  queues: string[];
  concurrency: number;
  leaseMs: number;
  blmoveTimeoutSec: number;
  reaperIntervalMs: number;
  prefix: string;
  connectTimeoutMs: number;
  shutdownTimeoutMs: number;
  idempotencyTtlMs: number;
  db: string;
  retentionMs: number | undefined;
  onRunEvent: ((e: WorkerRunEvent) => void) | undefined;
}

/** The fields of {@link WorkerOptions} (an unknown key is a UsageError: a typo is not ignored). */
const WORKER_OPTION_KEYS = Object.keys({
  app: 1, url: 1, queues: 1, concurrency: 1, leaseMs: 1, blmoveTimeoutSec: 1, reaperIntervalMs: 1, prefix: 1,
  connectTimeoutMs: 1, shutdownTimeoutMs: 1, idempotencyTtlMs: 1, db: 1, retentionMs: 1, onRunEvent: 1,
} satisfies Record<keyof WorkerOptions, 1>);

function num(v: unknown, field: string, def: number, min: number, integer = false): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new UsageError(`startWorker: options.${field} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${String(v)}`);
  }
  return v;
}

/** Validates worker options and fills defaults; throws UsageError naming the bad field. @internal */
export function compileWorkerOptions(o: WorkerOptions, defs: Iterable<WorkflowDefinition<unknown, unknown>>): CompiledWorkerOptions {
  if (typeof o !== "object" || o === null) throw new UsageError("startWorker: options must be an object { app, url, ... }");
  if (typeof o.app !== "string" || o.app === "") throw new UsageError("startWorker: options.app must be a non-empty string");
  rejectUnknownKeys(o, WORKER_OPTION_KEYS, "startWorker: options");
  checkRedisUrl(o.url, "startWorker: options.url");
  let queues = o.queues;
  if (queues !== undefined) {
    if (!Array.isArray(queues) || queues.length === 0 || queues.some((q) => typeof q !== "string" || q === "")) {
      throw new UsageError("startWorker: options.queues must be a non-empty array of queue names");
    }
  } else {
    queues = [...new Set([...defs].map((d) => d.options.queue))];
    if (queues.length === 0) queues = ["default"];
  }
  if (o.prefix !== undefined && (typeof o.prefix !== "string" || o.prefix === "" || /[{}]/.test(o.prefix))) {
    throw new UsageError("startWorker: options.prefix must be a non-empty string without braces");
  }
  if (o.db !== undefined && (typeof o.db !== "string" || o.db === "")) throw new UsageError("startWorker: options.db must be a database path or URL");
  if (o.onRunEvent !== undefined && typeof o.onRunEvent !== "function") throw new UsageError("startWorker: options.onRunEvent must be a function");
  return {
    app: o.app,
    url: o.url,
    queues: [...new Set(queues)],
    concurrency: num(o.concurrency, "concurrency", 1, 1, true),
    leaseMs: num(o.leaseMs, "leaseMs", 5000, 100),
    blmoveTimeoutSec: num(o.blmoveTimeoutSec, "blmoveTimeoutSec", 1, 0.01),
    reaperIntervalMs: num(o.reaperIntervalMs, "reaperIntervalMs", 500, 10),
    prefix: o.prefix ?? "durun",
    connectTimeoutMs: num(o.connectTimeoutMs, "connectTimeoutMs", 5000, 1),
    shutdownTimeoutMs: num(o.shutdownTimeoutMs, "shutdownTimeoutMs", 10_000, 0),
    idempotencyTtlMs: num(o.idempotencyTtlMs, "idempotencyTtlMs", 86_400_000, 1),
    db: o.db ?? defaultWorkerDb(),
    retentionMs: o.retentionMs === undefined ? undefined : num(o.retentionMs, "retentionMs", 0, 1000),
    onRunEvent: o.onRunEvent,
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

class DurableWorker implements Worker {
  readonly id = newId();
  readonly queues: readonly string[];
  private readonly held = new Map<string, HeldRun>();
  private readonly running = new Set<Promise<void>>();
  private free: number;
  private slotWaiters: Array<() => void> = [];
  private readonly stopping = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly blocking = new Set<QueueWaiter>();
  private timers: NodeJS.Timeout[] = [];
  private lateTimers: NodeJS.Timeout[] = [];
  private stopped: Promise<void> | undefined;
  private cron: CronRunner | undefined;
  private readonly limits: Array<string | number> = [];
  private readonly scheduler: LazyScheduler;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeTimerAt = Infinity;
  private reaping: Promise<void> | undefined;
  private reapAgain = false;
  private claims = 0;

  constructor(
    private readonly store: RedisStore,
    private readonly o: CompiledWorkerOptions,
    private readonly defs: Map<string, WorkflowDefinition<unknown, unknown>>,
  ) {
    this.queues = o.queues;
    this.free = o.concurrency;
    this.scheduler = new LazyScheduler(o.db);
    for (const d of defs.values()) this.limits.push(d.name, Number.isFinite(d.options.maxConcurrency) ? d.options.maxConcurrency : 0);
  }

  async start(): Promise<void> {
    const sync = () => this.store.syncRegistry(this.o.app, [...this.defs.values()].map((d) => workflowMetaJson(d, this.o.app)));
    await sync();
    // a Redis that restarted without persistence lost the metadata: publish it again
    this.store.onReconnect(() => void sync().catch(() => undefined));
    await this.store.subscribeAll({
      [this.store.keys.cancelChannel]: (id) => this.held.get(id)?.abort.abort(new CanceledError(`run ${id} was canceled`)),
      [this.store.keys.timersChannel]: (at) => this.wakeAt(Number(at)),
    });
    for (const q of this.o.queues) this.loops.push(this.fetchLoop(q));
    const every = (ms: number, fn: () => Promise<void>, whileStopping: boolean) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy || (!whileStopping && this.stopping.signal.aborted)) return;
        busy = true;
        fn().catch(() => {}).finally(() => (busy = false));
      }, ms);
      (whileStopping ? this.lateTimers : this.timers).push(t);
    };
    // leases are renewed until the very end: runs finishing during stop() must not be reaped
    every(Math.max(50, Math.floor(this.o.leaseMs / 3)), () => this.renewLeases(), true);
    every(this.o.reaperIntervalMs, () => this.triggerReap(), false);
    const retentionMs = this.o.retentionMs;
    if (retentionMs !== undefined) {
      // often enough that little outlives its time, seldom enough to cost nothing
      every(Math.min(60_000, Math.max(this.o.reaperIntervalMs, Math.floor(retentionMs / 10))), () => this.prune(retentionMs), false);
    }
    void this.triggerReap(); // learns the earliest due time at once
    if ([...this.defs.values()].some((d) => d.options.cron.length > 0)) {
      this.cron = new CronRunner(this.store, this.o.app, this.id, [...this.defs.values()], this.o.idempotencyTtlMs);
      this.cron.start();
    }
  }

  /** Waits for at least one free slot and takes up to `max` of them. */
  private async acquire(max: number): Promise<number> {
    while (this.free === 0 && !this.stopping.signal.aborted) await new Promise<void>((r) => this.slotWaiters.push(r));
    const n = Math.min(this.free, max);
    this.free -= n;
    return n;
  }

  private releaseSlots(n: number): void {
    this.free += n;
    const w = this.slotWaiters;
    this.slotWaiters = [];
    for (const r of w) r();
  }

  /** Claims up to `n` runs and starts them; resolves to the number claimed, -1 on error, -2 when only foreign runs were seen. */
  private async claimInto(queue: string, n: number): Promise<number> {
    try {
      // a token part per claim: a run reaped and claimed again by this worker never gets its old token back
      const claimed = await this.store.claim(queue, `${this.id}.${++this.claims}`, n, this.o.leaseMs, this.limits);
      this.releaseSlots(n - claimed.runs.length);
      for (const c of claimed.runs) this.startRun(c);
      return claimed.runs.length > 0 ? claimed.runs.length : claimed.deferred > 0 ? -2 : 0;
    } catch {
      this.releaseSlots(n);
      return -1;
    }
  }

  /**
   * Claims runs of one queue while there are free slots. Claims take at most a quarter of the
   * slots each and up to four are in flight, so a busy worker does not move in lock-step waves
   * (claim all, run all, record all...) but overlaps its own work with Redis's.
   */
  private async fetchLoop(queue: string): Promise<void> {
    let waiter: QueueWaiter | undefined;
    let failures = 0;
    const cap = Math.max(1, Math.ceil(this.o.concurrency / 4));
    let pending: Promise<number>[] = [];
    while (!this.stopping.signal.aborted) {
      const n = await this.acquire(cap);
      if (this.stopping.signal.aborted) {
        this.releaseSlots(n);
        break;
      }
      pending.push(this.claimInto(queue, n));
      if (this.free > 0 && pending.length < 4) continue;
      const results = await Promise.all(pending);
      pending = [];
      if (results.some((r) => r > 0)) {
        failures = 0;
        continue;
      }
      if (results.some((r) => r === -1)) {
        failures++;
        await sleep(Math.min(2000, 50 * failures), this.stopping.signal);
        continue;
      }
      failures = 0;
      if (results.some((r) => r === -2)) {
        // only runs of workflows this worker does not know: let workers that know them take them
        await sleep(this.o.blmoveTimeoutSec * 1000, this.stopping.signal);
        continue;
      }
      try {
        if (!waiter) {
          waiter = await this.store.queueWaiter(queue);
          this.blocking.add(waiter);
        }
        if (this.stopping.signal.aborted) break;
        await waiter.wait(this.o.blmoveTimeoutSec);
      } catch {
        if (!this.stopping.signal.aborted) await sleep(100, this.stopping.signal);
      }
    }
    await Promise.all(pending);
    if (waiter) {
      this.blocking.delete(waiter);
      waiter.close();
    }
  }

  private startRun(c: Awaited<ReturnType<RedisStore["claim"]>>["runs"][number]): void {
    const workflow = c.fields.workflow ?? "";
    const def = this.defs.get(workflow);
    const held: HeldRun = { id: c.id, token: c.token, workflow, abort: new RunAbort(), parked: false, detached: false };
    // the slot is free once the handler is done: the next claim goes out with the completion
    held.handlerDone = () => {
      held.handlerDone = undefined;
      this.releaseSlots(1);
    };
    this.held.set(c.id, held);
    const attempt = Number(c.fields.attempt ?? 1);
    this.o.onRunEvent?.({ type: "start", runId: c.id, workflow, attempt });
    const p = (async () => {
      try {
        if (!def) throw new Error(`workflow "${workflow}" is not registered in this worker`);
        const outcome = await executeRun({
          store: this.store,
          def,
          claimed: c,
          held,
          idempotencyTtlMs: this.o.idempotencyTtlMs,
          scheduler: this.scheduler,
          wake: (at) => this.wakeAt(at),
        });
        this.o.onRunEvent?.({ type: "end", runId: c.id, workflow, attempt, outcome });
      } catch (e) {
        this.o.onRunEvent?.({ type: "end", runId: c.id, workflow, attempt, outcome: "error", error: e as Error });
      } finally {
        this.held.delete(c.id);
        held.handlerDone?.();
      }
    })();
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async renewLeases(): Promise<void> {
    const list = [...this.held.values()].filter((h) => !h.parked && !h.detached);
    if (list.length === 0) return;
    const codes = await this.store.renew(list.flatMap((h) => [h.id, h.token]), this.o.leaseMs);
    codes.forEach((code, i) => {
      const h = list[i];
      if (!h || code === 1) return;
      if (code === 2) h.abort.abort(new CanceledError(`run ${h.id} was canceled`));
      else {
        h.detached = true;
        h.abort.abort(new CanceledError(`run ${h.id}: this worker lost its lease`));
      }
    });
  }

  /** Runs a reap now, or right after the one in flight. */
  private triggerReap(): Promise<void> {
    if (this.reaping) {
      this.reapAgain = true;
      return this.reaping;
    }
    const p = (async () => {
      do {
        this.reapAgain = false;
        if (this.stopping.signal.aborted) return;
        await this.reap().catch(() => undefined);
      } while (this.reapAgain);
    })().finally(() => (this.reaping = undefined));
    this.reaping = p;
    return p;
  }

  private async reap(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const r = await this.store.promoteAndReap(200);
      if (r.promoted < 200 && r.reaped.length < 200) {
        if (r.nextDue !== undefined) this.wakeAt(r.nextDue);
        return;
      }
    }
  }

  /** Deletes finished runs and events older than the retention (a bounded number of calls). */
  private async prune(retentionMs: number): Promise<void> {
    const max = 500;
    for (let i = 0; i < 10 && !this.stopping.signal.aborted; i++) {
      const r = await this.store.prune(Date.now() - retentionMs, max);
      if (r.runs + r.events < max) return;
    }
  }

  /**
   * Makes sure a reap runs soon after `at` (ms since the epoch): a single timer is kept for the
   * earliest such time; times beyond the next interval reap are left to that reap, which reads
   * the earliest due time again.
   */
  private wakeAt(at: number): void {
    if (!Number.isFinite(at) || this.stopping.signal.aborted || at >= this.wakeTimerAt) return;
    const delay = Math.max(0, at - Date.now()) + 1; // promote takes scores <= now
    if (delay > this.o.reaperIntervalMs) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimerAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeTimerAt = Infinity;
      void this.triggerReap();
    }, delay);
  }

  stop(): Promise<void> {
    this.stopped ??= this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    // every wait below is bounded: with Redis away, pending commands would wait forever
    const within = (ms: number, p: Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([p.then(() => undefined, () => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
    };
    this.stopping.abort();
    this.releaseSlots(0);
    for (const w of this.blocking) w.close();
    this.cron?.stop();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    await within(1000, Promise.allSettled(this.loops));
    if (this.running.size > 0) await within(this.o.shutdownTimeoutMs, Promise.allSettled([...this.running]));
    const handBack = [...this.held.values()].filter((h) => !h.parked && !h.detached);
    for (const h of handBack) {
      h.detached = true;
      h.abort.abort(new CanceledError(`run ${h.id}: the worker is stopping`));
    }
    await within(2000, Promise.all(handBack.map((h) => this.store.release(h.id, h.token))));
    for (const t of this.lateTimers) clearInterval(t);
    this.lateTimers = [];
    await within(1000, this.cron?.stopped() ?? Promise.resolve());
    await within(5000, this.scheduler.close());
    await this.store.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Starts a worker for the workflows registered in this process (import their modules first).
 * Rejects with ConnectionError when Redis cannot be reached within `connectTimeoutMs`.
 *
 * @example
 * const worker = await startWorker({ app: "mail", url: "redis://127.0.0.1:6379", concurrency: 4 });
 * process.once("SIGTERM", () => void worker.stop());
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const defs = new Map(workflowRegistry());
  const o = compileWorkerOptions(options, defs.values());
  const store = await connectStore({ url: o.url, prefix: o.prefix, connectTimeoutMs: o.connectTimeoutMs, waitThroughOutages: true });
  try {
    const version = await store.serverVersion();
    const [maj = 0, min = 0] = version.split(".").map(Number);
    if (maj < 6 || (maj === 6 && min < 2)) throw new UsageError(`durun needs Redis 6.2 or later (BLMOVE); ${o.url} runs ${version}`);
    const w = new DurableWorker(store, o, defs);
    await w.start();
    return w;
  } catch (e) {
    await store.close();
    throw e;
  }
}
