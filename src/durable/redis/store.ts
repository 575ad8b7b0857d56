/**
 * The durable store: the only place that talks to Redis (through ioredis). Every state change of
 * a run is one Lua script (./lua/); reads are plain commands, pipelined where a list is read.
 * The rest of src/durable/ sees only this class. Connections (single node or Redis Cluster) are
 * opened by ./connection.ts.
 * @internal
 */
import { ConnectionError } from "../../errors.js";
import { NOT_SENT, connectOrThrow, connectionProblem, describeTarget, isConnectionError, openConnection, openSubscriber, wrongMode, type Connection, type Subscriber } from "./connection.js";
import { Keys } from "./keys.js";
import { commandName, defineScripts } from "./scripts.js";

/** How a store connects. */
export interface StoreConnectOptions {
  /** `redis://`, `rediss://`, `unix:`, or `redis-cluster://` / `rediss-cluster://` (see ./url.ts). */
  url: string;
  prefix: string;
  /** Bound on the first connection. */
  connectTimeoutMs: number;
  /** `true` (workers): commands wait through outages until Redis is back. */
  waitThroughOutages: boolean;
}

/** A blocking wait on one queue (see {@link RedisStore.queueWaiter}). */
export interface QueueWaiter {
  wait(timeoutSec: number): Promise<void>;
  /** Closes the connection; a pending wait rejects. */
  close(): void;
}

/** An opaque pub/sub subscription. */
export type Subscription = object;

/**
 * A run claimed by a worker: its lease token, the run fields a worker reads (workflow, queue,
 * attempt, maxAttempts, input) and step records (raw).
 */
export interface ClaimedRun {
  id: string;
  token: string;
  fields: Record<string, string>;
  steps: Record<string, string>;
}

type Raw = string | number | null | Raw[];
/** The run fields a claim returns, in its reply's order (see claim-2.lua). */
const CLAIM_FIELDS = ["workflow", "queue", "attempt", "maxAttempts", "input"] as const;
/** The scripts whose entries are batched (see RedisStore.batched). */
type BatchedScript = "record-steps" | "complete";
/** The waiter of an entry nobody waits for. */
const IGNORED = { resolve: () => {}, reject: () => {} };
/** Entries per batched script call (see RedisStore.batched). */
const BATCH_MAX = 64;
interface Batch {
  sent: boolean;
  /** Entries decided when the batch goes out (see RedisStore.noteStep); no caller waits on them. */
  late?: Array<() => Array<string | number> | undefined>;
  entries: Array<string | number>;
  waiters: Array<{ resolve: (code: number) => void; reject: (e: unknown) => void }>;
}
type ScriptFn = (...args: Array<string | number>) => Promise<Raw>;

function toRecord(flat: Raw): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = String(flat[i]);
    // a field (a step name) "__proto__" is an own entry, not the object's prototype
    if (k === "__proto__") Object.defineProperty(out, k, { value: String(flat[i + 1]), enumerable: true, writable: true, configurable: true });
    else out[k] = String(flat[i + 1]);
  }
  return out;
}

/** The Redis store of one deployment (one prefix). */
export class RedisStore {
  readonly keys: Keys;
  private closed = false;
  /** Queue waiters' and subscribers' connections, closed with the store. */
  private readonly extra = new Set<{ disconnect(): void }>();
  private readonly batches = new Map<BatchedScript, Batch>();

  private constructor(
    private readonly redis: Connection,
    private readonly opts: StoreConnectOptions,
  ) {
    this.keys = new Keys(opts.prefix);
  }

  /** Connects (bounded by `connectTimeoutMs`) and loads the scripts. */
  static async connect(opts: StoreConnectOptions): Promise<RedisStore> {
    const redis = openConnection(opts);
    defineScripts(redis);
    await connectOrThrow(redis, opts.url, opts.connectTimeoutMs);
    return new RedisStore(redis, opts);
  }

  /**
   * Runs one command (or pipeline) and turns connection failures into ConnectionError naming the
   * URL. A client's command that never reached Redis (client connections fail fast while
   * disconnected) is sent again until `connectTimeoutMs` has passed; a worker's command that
   * failed on the connection (e.g. a Cluster node that went away mid-command) is sent again until
   * it goes through or the store is closed, as ioredis does for a single node after reconnecting.
   */
  private async cmd<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.opts.connectTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isConnectionError(e)) throw wrongMode(this.opts.url, e) ?? e;
        if (!this.closed && (this.opts.waitThroughOutages || (NOT_SENT.test((e as Error).message) && Date.now() < deadline))) {
          await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 1000)));
          continue;
        }
        const why = this.closed ? "the connection was closed" : connectionProblem(this.redis, e);
        throw new ConnectionError(`lost the connection to ${describeTarget(this.opts.url)}: ${why}`, { cause: e });
      }
    }
  }

  private script(name: string): ScriptFn {
    const fn = (this.redis as unknown as Record<string, ScriptFn | undefined>)[commandName(name)];
    if (!fn) throw new Error(`Lua script "${name}" is not loaded`);
    return (...args) => this.cmd(() => fn.apply(this.redis, args));
  }

  private get P(): string {
    return this.keys.base;
  }

  /** Calls `listener` each time the main connection is ready again after a reconnection. */
  onReconnect(listener: () => void): void {
    let first = true;
    this.redis.on("ready", () => {
      if (first) first = false;
      else listener();
    });
    if (this.redis.status === "ready") first = false;
  }

  /** The Redis server version, e.g. `"7.0.15"`. */
  async serverVersion(): Promise<string> {
    const info = await this.cmd(() => this.redis.info("server"));
    return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? "0";
  }

  // ---- transitions (one script each) ----

  /** Creates a run; see emit-2.lua for the codes. */
  async emit(a: {
    id: string;
    workflow: string;
    queue: string;
    maxAttempts: number | "";
    input: string;
    parentRunId: string;
    idempotencyKey: string;
    idempotencyTtlMs: number;
    now: number;
    runAt: number;
    skipIfAtLimit: number;
  }): Promise<{ code: number; id: string }> {
    const r = (await this.script("emit")(
      this.keys.run(a.id),
      this.keys.idempotency(a.idempotencyKey),
      this.P,
      a.id,
      a.workflow,
      a.queue,
      a.maxAttempts,
      a.input,
      a.parentRunId,
      a.idempotencyKey,
      a.idempotencyTtlMs,
      a.now,
      a.runAt,
      a.skipIfAtLimit,
    )) as [number, string];
    return { code: Number(r[0]), id: String(r[1]) };
  }

  /** Claims up to `count` runs of `queue`; `limits` maps the worker's workflows to maxConcurrency (0 = none). */
  async claim(queue: string, token: string, count: number, leaseMs: number, limits: ReadonlyArray<string | number>, now = Date.now()): Promise<{ deferred: number; runs: ClaimedRun[] }> {
    const r = (await this.script("claim")(this.keys.queue(queue), this.keys.leases, this.P, now, leaseMs, token, count, ...limits)) as Raw[];
    // flat reply: deferred, then per run id, token, workflow, queue, attempt, maxAttempts, input, steps
    const runs: ClaimedRun[] = [];
    for (let i = 1; i + 7 < r.length; i += 8) {
      const fields: Record<string, string> = {};
      for (let j = 0; j < 5; j++) {
        const v = r[i + 2 + j];
        if (v !== null && v !== undefined) fields[CLAIM_FIELDS[j]!] = String(v);
      }
      runs.push({ id: String(r[i]), token: String(r[i + 1]), fields, steps: toRecord(r[i + 7] ?? null) });
    }
    return { deferred: Number(r[0]), runs };
  }

  /**
   * A waiter on one queue, with its own connection: `wait()` blocks (BLMOVE of the queue onto
   * itself, which leaves it unchanged) until the queue is non-empty or the timeout passes.
   */
  async queueWaiter(queue: string): Promise<QueueWaiter> {
    const conn = openConnection(this.opts, { maxRetriesPerRequest: null });
    this.extra.add(conn);
    await connectOrThrow(conn, this.opts.url, this.opts.connectTimeoutMs);
    const k = this.keys.queue(queue);
    return {
      wait: async (timeoutSec: number) => {
        await conn.blmove(k, k, "RIGHT", "RIGHT", timeoutSec);
      },
      close: () => {
        this.extra.delete(conn);
        conn.disconnect();
      },
    };
  }

  /** Subscribes to a pub/sub channel of this deployment; returns the subscriber connection. */
  subscribe(channel: string, listener: (message: string) => void): Promise<Subscription> {
    return this.subscribeAll({ [channel]: listener });
  }

  /** Subscribes to several channels on one connection (channel → listener). */
  async subscribeAll(listeners: Record<string, (message: string) => void>): Promise<Subscription> {
    const sub = await openSubscriber(this.opts, Object.keys(listeners), (channel, message) => listeners[channel]?.(message), this.redis);
    if (this.closed) sub.disconnect();
    else this.extra.add(sub);
    return sub;
  }

  /** Closes a connection made by {@link subscribe}. */
  unsubscribe(conn: Subscription): void {
    this.extra.delete(conn as Subscriber);
    (conn as Subscriber).disconnect();
  }

  async renew(pairs: string[], leaseMs: number): Promise<number[]> {
    if (pairs.length === 0) return [];
    const r = (await this.script("renew")(this.keys.leases, this.P, Date.now(), leaseMs, ...pairs)) as Raw[];
    return r.map(Number);
  }

  /**
   * Queues one entry of a batched script: entries made during the same event-loop turn go out
   * as one call (`head` args first, then every entry's args); each caller gets its entry's code.
   */
  private batched(script: BatchedScript, entry: Array<string | number>): Promise<number> {
    const batch = this.openBatch(script);
    batch.entries.push(...entry);
    const p = new Promise<number>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    // a full batch goes at once, so Redis works on it while this process prepares the next
    if (batch.waiters.length >= BATCH_MAX) this.flush(script, batch);
    return p;
  }

  /** The arguments a batched script takes before its entries (read when the batch goes out). */
  private batchHead(script: BatchedScript): Array<string | number> {
    return script === "complete" ? [this.P, Date.now()] : [this.P];
  }

  /** The batch of `script` that goes out at the end of this event-loop turn (made if needed). */
  private openBatch(script: BatchedScript): Batch {
    let b = this.batches.get(script);
    if (!b) {
      const created: Batch = { entries: [], waiters: [], sent: false };
      this.batches.set(script, created);
      b = created;
      setImmediate(() => this.flush(script, created));
    }
    return b;
  }

  private flush(script: BatchedScript, batch: Batch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (this.batches.get(script) === batch) this.batches.delete(script);
    if (batch.late) {
      for (const late of batch.late) {
        const entry = late();
        if (entry === undefined) continue;
        batch.entries.push(...entry);
        batch.waiters.push(IGNORED);
      }
    }
    if (batch.waiters.length === 0) return;
    this.script(script)(this.keys.leases, ...this.batchHead(script), ...batch.entries).then(
      (codes) => batch.waiters.forEach((w, i) => w.resolve(Number((codes as Raw[])[i]))),
      (e: unknown) => batch.waiters.forEach((w) => w.reject(e)),
    );
  }

  /**
   * Records a step as running if it still runs when the current batch of step records goes out:
   * `entry` is asked then (run id, lease token, step name, record; `undefined` when the step has
   * ended meanwhile, so a step that ends within the turn costs nothing). Nobody waits for it: the
   * step's final record goes out later on the same connection, checked like any record.
   */
  noteStep(entry: () => Array<string | number> | undefined): void {
    (this.openBatch("record-steps").late ??= []).push(entry);
  }

  /** Records a step of a run held under `token` (batched with other runs' records). */
  recordStep(runId: string, token: string, name: string, record: string): Promise<number> {
    return this.batched("record-steps", [runId, token, name, record]);
  }

  /** Completes a run held under `token` (batched with other runs' completions). */
  complete(runId: string, token: string, output: string): Promise<number> {
    return this.batched("complete", [runId, token, output]);
  }

  async fail(runId: string, token: string, error: string, mode: "retry" | "fail", delayMs: number): Promise<number> {
    return Number(await this.script("fail")(this.keys.run(runId), this.P, runId, token, error, Date.now(), mode, delayMs));
  }

  async park(a: { runId: string; token: string; step: string; record: string; wakeAt: number; kind: "sleep" | "event" | "child"; arg: string }): Promise<number> {
    return Number(
      await this.script("park")(this.keys.run(a.runId), this.keys.steps(a.runId), this.P, a.runId, a.token, Date.now(), a.step, a.record, a.wakeAt, a.kind, a.arg),
    );
  }

  async release(runId: string, token: string): Promise<number> {
    return Number(await this.script("release")(this.keys.run(runId), this.P, runId, token));
  }

  /** Sends commands as one pipeline; the first failed command's error is thrown. */
  private pipeline(build: (pipe: Record<string, (...a: Array<string | number>) => unknown>) => void): Promise<Raw[]> {
    return this.cmd(async () => {
      const pipe = this.redis.pipeline();
      build(pipe as unknown as Record<string, (...a: Array<string | number>) => unknown>);
      const res = ((await pipe.exec()) ?? []) as Array<[Error | null, Raw]>;
      return res.map(([err, v]) => {
        if (err) throw err;
        return v;
      });
    });
  }

  /**
   * Re-queues due scheduled runs and reaps expired leases, in one round trip; also reads the
   * earliest due time still in `scheduled` (`nextDue`, undefined when none).
   */
  async promoteAndReap(limit: number): Promise<{ promoted: number; reaped: string[]; nextDue: number | undefined }> {
    const now = Date.now();
    const res = await this.pipeline((pipe) => {
      pipe[commandName("promote")]!(this.keys.scheduled, this.P, now, limit);
      pipe[commandName("reap")]!(this.keys.leases, this.P, now, limit);
      pipe["zrange"]!(this.keys.scheduled, 0, 0, "WITHSCORES");
    });
    const first = (res[2] ?? []) as Raw[];
    const nextDue = first.length >= 2 ? Number(first[1]) : undefined;
    return { promoted: Number(res[0] ?? 0), reaped: ((res[1] ?? []) as Raw[]).map(String), nextDue: Number.isFinite(nextDue) ? nextDue : undefined };
  }

  /**
   * Deletes finished runs that finished at or before `cutoff` (ms) and events emitted at or
   * before it, reading at most `max` entries of each index (see prune-1.lua).
   */
  async prune(cutoff: number, max: number): Promise<{ runs: number; events: number }> {
    const r = (await this.script("prune")(this.keys.runs, this.P, cutoff, max)) as Raw[];
    return { runs: Number(r[0]), events: Number(r[1]) };
  }

  async cancel(runId: string, error: string): Promise<{ code: number; children: string[] }> {
    const r = (await this.script("cancel")(this.keys.run(runId), this.P, runId, error, Date.now())) as Raw[];
    return { code: Number(r[0]), children: r.slice(1).map(String) };
  }

  async emitEvent(a: { id: string; name: string; correlationKey: string; payload: string; now: number }): Promise<{ resumed: string[]; started: string[] }> {
    const r = (await this.script("emit-event")(this.keys.event(a.id), this.P, a.id, a.name, a.correlationKey, a.payload, a.now)) as Raw[][];
    return { resumed: (r[0] ?? []).map(String), started: (r[1] ?? []).map(String) };
  }

  async syncRegistry(app: string, metas: string[]): Promise<string[]> {
    const r = (await this.script("sync-registry")(this.keys.workflows, this.keys.app(app), this.P, app, ...metas)) as Raw[];
    return r.map(String);
  }

  async leader(app: string, token: string, leaseMs: number): Promise<boolean> {
    return Number(await this.script("leader")(this.keys.cronLeader(app), token, leaseMs)) === 1;
  }

  // ---- reads ----

  async getRunFields(id: string): Promise<Record<string, string> | undefined> {
    const r = await this.cmd(() => this.redis.hgetall(this.keys.run(id)));
    return Object.keys(r).length ? r : undefined;
  }

  /** Marks a run as watched (its end is published on the done channel) and returns its state. */
  async watch(id: string): Promise<{ status: string; output: string | null; error: string | null } | undefined> {
    const r = (await this.script("watch")(this.keys.run(id))) as Array<string | null>;
    return r[0] ? { status: r[0], output: r[1] ?? null, error: r[2] ?? null } : undefined;
  }

  async getRunStatus(id: string): Promise<{ status: string; output: string | null; error: string | null } | undefined> {
    const [status, output, error] = await this.cmd(() => this.redis.hmget(this.keys.run(id), "status", "output", "error"));
    return status ? { status, output: output ?? null, error: error ?? null } : undefined;
  }

  async getManyRuns(ids: string[]): Promise<Array<Record<string, string> | undefined>> {
    if (ids.length === 0) return [];
    const res = await this.pipeline((pipe) => {
      for (const id of ids) pipe.hgetall!(this.keys.run(id));
    });
    return res.map((v) => {
      const rec = v as unknown as Record<string, string>;
      return Object.keys(rec).length ? rec : undefined;
    });
  }

  async getSteps(id: string): Promise<Record<string, string>> {
    return this.cmd(() => this.redis.hgetall(this.keys.steps(id)));
  }

  /** Ids of an index zset, newest first. */
  async rangeNewest(key: string, offset: number, limit: number): Promise<string[]> {
    return this.cmd(() => this.redis.zrevrange(key, offset, offset + limit - 1));
  }

  async countMany(keys: string[]): Promise<number[]> {
    const res = await this.pipeline((pipe) => {
      for (const k of keys) pipe.zcard!(k);
    });
    return res.map(Number);
  }

  async workflowMetas(): Promise<Record<string, string>> {
    return this.cmd(() => this.redis.hgetall(this.keys.workflows));
  }

  async workflowMeta(name: string): Promise<string | null> {
    return this.cmd(() => this.redis.hget(this.keys.workflows, name));
  }

  async getEventFields(id: string): Promise<Record<string, string> | undefined> {
    const r = await this.cmd(() => this.redis.hgetall(this.keys.event(id)));
    return Object.keys(r).length ? r : undefined;
  }

  async getManyEvents(ids: string[]): Promise<Array<Record<string, string> | undefined>> {
    if (ids.length === 0) return [];
    const res = await this.pipeline((pipe) => {
      for (const id of ids) pipe.hgetall!(this.keys.event(id));
    });
    return res.map((v) => {
      const rec = v as unknown as Record<string, string>;
      return Object.keys(rec).length ? rec : undefined;
    });
  }

  async queueLength(queue: string): Promise<number> {
    return this.cmd(() => this.redis.llen(this.keys.queue(queue)));
  }

  /** Closes every connection of this store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.extra) c.disconnect();
    this.extra.clear();
    // QUIT lets pending replies arrive; it is not worth waiting for while Redis is away
    if (this.redis.status === "ready") {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.redis.quit().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    }
    this.redis.disconnect();
  }
}
