/**
 * One evaluation of an expression graph (one `scheduler.run`): dependency resolution,
 * parallelism, cache checks (single and ultimate reduction), retries, recording.
 *
 * Terminology:
 * - *frame*: a call being evaluated; expressions found in its result are evaluated in its frame,
 *   so their calls get it as parent. The root frame has no call.
 * - *reached tasks*: the task (name, hash) pairs of a call and of every call below it; stored
 *   with the cache entry so that ultimate reduction can check them all.
 * - *outcome*: what a finished call hands its parent: final value, call id, call hash, reached.
 */
import { DryRunError, TaskError, UsageError, ensureError } from "../errors.js";
import { collectFiles, decodeValue, findStale, hashString } from "../values/codec.js";
import { containsExpression, describeValue, type Expression, type ExpressionNode } from "../tasks/expression.js";
import { isExpressionValue, lookupDefinition } from "../tasks/registry.js";
import { resolveTask } from "../tasks/task.js";
import { LazyValue } from "../tasks/codecs.js";
import type { ResolvedTask, TaskHandle } from "../tasks/task-handle.js";
import type { Executor } from "../executors/executor.js";
import type { CacheEntry, CallStatus, ReachedTask, Store } from "../store/store.js";
import type { Limiter } from "./limiter.js";
import type { RecordBuffer } from "./record-buffer.js";
import { newId } from "./ids.js";
import { mayHoldFiles, storedText, valueText } from "./value-text.js";

/** A progress event (see `SchedulerOptions.onEvent`). */
export interface SchedulerEvent {
  /** `pending`: arguments ready, waiting for the cache or a slot; `running`: the body started. */
  type: "pending" | "running" | "done" | "cached" | "failed";
  callId: string;
  taskName: string;
  /** The error of a `failed` call. */
  error?: Error;
  /** The execution this call belongs to. */
  executionId: string;
}

/** What a run needs from its scheduler. */
export interface RunContext {
  readonly executionId: string;
  readonly store: Store;
  readonly buffer: RecordBuffer | undefined;
  readonly limiter: Limiter;
  readonly executor: (name: string, taskName: string) => Executor;
  readonly useCache: boolean;
  readonly dryrun: boolean;
  readonly onEvent: ((e: SchedulerEvent) => void) | undefined;
}

interface Frame {
  readonly callId: string | null;
  readonly taskName: string | null;
  readonly parent: Frame | null;
  /** `name\0hash` → pair. */
  readonly reached: Map<string, ReachedTask>;
  readonly childHashes: string[];
}

interface Outcome {
  readonly value: unknown;
  readonly callId: string;
  readonly callHash: string;
  readonly reached: ReadonlyMap<string, ReachedTask>;
}

interface Evaluated {
  readonly value: unknown;
  /** The call that produced the value, if one call did. */
  readonly callId: string | undefined;
}

function newFrame(callId: string | null, taskName: string | null, parent: Frame | null): Frame {
  return { callId, taskName, parent, reached: new Map(), childHashes: [] };
}

function chainOf(frame: Frame | null): string[] {
  const out: string[] = [];
  for (let f = frame; f !== null; f = f.parent) if (f.taskName !== null) out.push(f.taskName);
  return out.reverse();
}

function errorText(e: unknown): string {
  const err = ensureError(e);
  return `${err.name}: ${err.message}`;
}

const leafReached = new WeakMap<ResolvedTask, ReadonlyMap<string, ReachedTask>>();

/** The reached set of a call that reached no task but its own (shared, so leaf calls keep none). */
function onlyItself(rt: ResolvedTask): ReadonlyMap<string, ReachedTask> {
  let m = leafReached.get(rt);
  if (m === undefined) {
    m = new Map([[`${rt.fullName}\0${rt.hash}`, [rt.fullName, rt.hash] as const]]);
    leafReached.set(rt, m);
  }
  return m;
}

/** The original error of a failure (unwrapping the TaskError a failing call is reported with). */
export function originalError(e: unknown): unknown {
  return e instanceof TaskError && e.cause !== undefined ? e.cause : e;
}

/**
 * Evaluates one expression graph. Create one per `scheduler.run`.
 */
export class Run {
  readonly #ctx: RunContext;
  /** task hash → args hash → the call's outcome (identical calls in a run share one). */
  readonly #memo = new Map<string, Map<string, Promise<Outcome>>>();
  readonly #nodeMemo = new WeakMap<ExpressionNode, Promise<Outcome>>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #lookups: Array<{ taskHash: string; argsHash: string; resolve: (e: CacheEntry | undefined) => void; reject: (e: unknown) => void }> = [];
  readonly #recordedTasks = new Set<string>();
  #lookupScheduled = false;
  #failed = false;
  /** Calls recorded by this run. */
  callCount = 0;
  /** The first call made in the root frame. */
  rootCallId: string | null = null;

  constructor(ctx: RunContext) {
    this.#ctx = ctx;
  }

  /** Evaluates `value` in the root frame and waits for every started call to settle. */
  async evaluate(value: unknown): Promise<unknown> {
    const root = newFrame(null, null, null);
    try {
      return (await this.#eval(value, root)).value;
    } catch (e) {
      this.#failed = true;
      throw e;
    } finally {
      while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    }
  }

  #emit(type: SchedulerEvent["type"], callId: string, taskName: string, error?: Error): void {
    const cb = this.#ctx.onEvent;
    if (cb === undefined) return;
    const e: SchedulerEvent = { type, callId, taskName, executionId: this.#ctx.executionId };
    if (error !== undefined) e.error = error;
    try {
      cb(e);
    } catch {
      // A progress display must not break a run.
    }
  }

  /** Evaluates any value: expressions, structures containing expressions, plain values. */
  #eval(v: unknown, frame: Frame): Evaluated | Promise<Evaluated> {
    if (isExpressionValue(v)) return this.#evalExpression((v as Expression<unknown>).node, frame);
    if (!containsExpression(v)) return { value: v, callId: undefined };
    return this.#evalStructure(v as object, frame);
  }

  async #evalStructure(v: object, frame: Frame): Promise<Evaluated> {
    if (Array.isArray(v)) {
      const parts = await Promise.all(v.map((x) => this.#eval(x, frame)));
      return { value: parts.map((p) => p.value), callId: undefined };
    }
    const keys = Object.keys(v);
    const parts = await Promise.all(keys.map((k) => this.#eval((v as Record<string, unknown>)[k], frame)));
    const out: Record<string, unknown> = {};
    keys.forEach((k, i) => {
      Object.defineProperty(out, k, { value: parts[i]!.value, enumerable: true, writable: true, configurable: true });
    });
    return { value: out, callId: undefined };
  }

  async #evalExpression(n: ExpressionNode, frame: Frame): Promise<Evaluated> {
    switch (n.kind) {
      case "call":
        return this.#evalCallNode(n, frame);
      case "get": {
        const target = await this.#eval(n.target, frame);
        const obj = target.value as Record<string | number, unknown> | null | undefined;
        if (obj === null || obj === undefined) {
          throw new UsageError(`cannot get ${JSON.stringify(n.key)} of ${String(obj)} (from ${describeValue(n.target)})`);
        }
        const value = obj instanceof Map ? (obj.get(n.key) as unknown) : obj[n.key];
        return { value, callId: target.callId };
      }
      case "cond": {
        const p = await this.#eval(n.predicate, frame);
        return this.#eval(p.value ? n.then : n.otherwise, frame);
      }
      case "seq": {
        const out: unknown[] = [];
        for (const item of n.items) out.push((await this.#eval(item, frame)).value);
        return { value: out, callId: undefined };
      }
      case "catch": {
        try {
          return await this.#eval(n.expr, frame);
        } catch (e) {
          if (e instanceof DryRunError) throw e;
          const original = originalError(e);
          if (!n.classes.some((c) => original instanceof c)) throw e;
          return this.#evalCall(n.handler, [original], frame);
        }
      }
      case "map": {
        const list = (await this.#eval(n.list, frame)).value;
        if (!Array.isArray(list)) throw new UsageError(`map(${n.task.fullName}, list): list evaluated to ${describeValue(list)}, not an array`);
        const parts = await Promise.all(list.map((item) => this.#evalCall(n.task, [item], frame)));
        return { value: parts.map((p) => p.value), callId: undefined };
      }
    }
  }

  /** A call node; a node shared by several parents (a DAG) is evaluated once. */
  async #evalCallNode(n: Extract<ExpressionNode, { kind: "call" }>, frame: Frame): Promise<Evaluated> {
    let p = this.#nodeMemo.get(n);
    if (p === undefined) {
      p = this.#startCall(n.task, n.args, frame);
      this.#nodeMemo.set(n, p);
    }
    return this.#joined(await p, frame);
  }

  async #evalCall(handle: TaskHandle, args: readonly unknown[], frame: Frame): Promise<Evaluated> {
    return this.#joined(await this.#startCall(handle, args, frame), frame);
  }

  /** Hands a finished call's reached tasks and call hash to the frame that used it. */
  #joined(done: Outcome, frame: Frame): Evaluated {
    for (const [k, pair] of done.reached) frame.reached.set(k, pair);
    frame.childHashes.push(done.callHash);
    return { value: done.value, callId: done.callId };
  }

  async #startCall(handle: TaskHandle, rawArgs: readonly unknown[], frame: Frame): Promise<Outcome> {
    // 1. Arguments: expressions inside are evaluated in the caller's frame.
    let args = rawArgs;
    let upstream: (string | undefined)[] | undefined;
    if (containsExpression(rawArgs)) {
      const parts = await Promise.all(rawArgs.map((a) => this.#eval(a, frame)));
      args = parts.map((p) => p.value);
      upstream = parts.map((p) => p.callId);
    }
    const rt = resolveTask(handle);
    if (rt.definition.source === "" && lookupDefinition(rt.fullName) === undefined) {
      throw new UsageError(`task "${rt.fullName}" is not defined in this process; import the module that defines it`);
    }
    // 2. Hashes.
    const argTexts: string[] = new Array<string>(args.length);
    const argHashes: string[] = new Array<string>(args.length);
    for (let i = 0; i < args.length; i++) {
      const t = valueText(args[i], `${rt.fullName} argument ${i}`);
      argTexts[i] = t.text;
      argHashes[i] = t.hash;
    }
    const argsHash = hashString("args", ...argHashes);
    // 3. Identical calls within a run share one evaluation.
    let byArgs = this.#memo.get(rt.hash);
    if (byArgs === undefined) this.#memo.set(rt.hash, (byArgs = new Map()));
    let outcome = byArgs.get(argsHash);
    if (outcome === undefined) {
      const callId = newId();
      if (frame.callId === null && this.rootCallId === null) this.rootCallId = callId;
      outcome = this.#runCall(callId, rt, args, argTexts, argHashes, argsHash, upstream, frame);
      byArgs.set(argsHash, outcome);
      this.#track(outcome);
    }
    return outcome;
  }

  #track(p: Promise<unknown>): void {
    this.#inflight.add(p);
    const remove = (): void => {
      this.#inflight.delete(p);
    };
    p.then(remove, remove);
  }

  /** A batched cache lookup: all lookups requested before the event loop turns go in one query. */
  #lookup(taskHash: string, argsHash: string): Promise<CacheEntry | undefined> {
    return new Promise((resolve, reject) => {
      this.#lookups.push({ taskHash, argsHash, resolve, reject });
      if (!this.#lookupScheduled) {
        this.#lookupScheduled = true;
        setImmediate(() => this.#flushLookups());
      }
    });
  }

  #flushLookups(): void {
    this.#lookupScheduled = false;
    const batch = this.#lookups.splice(0);
    this.#ctx.store.lookupCache(batch).then(
      (entries) => batch.forEach((b, i) => b.resolve(entries[i])),
      (e: unknown) => batch.forEach((b) => b.reject(e)),
    );
  }

  /** True when every reached task is still registered with the same hash. */
  #reachedValid(rt: ResolvedTask, reachedText: string): ReadonlyMap<string, ReachedTask> | undefined {
    const list = reachedText === "" ? [[rt.fullName, rt.hash] as const] : (JSON.parse(reachedText) as ReachedTask[]);
    const out = new Map<string, ReachedTask>();
    for (const pair of list) {
      const def = lookupDefinition(pair[0]);
      if (def === undefined || def.hash !== pair[1]) return undefined;
      out.set(`${pair[0]}\0${pair[1]}`, pair);
    }
    return out;
  }

  async #dryrunReason(rt: ResolvedTask, argsHash: string, args: readonly unknown[], staleFiles: string[]): Promise<string> {
    if (staleFiles.length > 0) return `file changed (${staleFiles.join(", ")} changed or was deleted since it was recorded)`;
    if (!rt.options.cache) return "the task has cache: false";
    if (!this.#ctx.useCache) return "the run has cache: false";
    const others = await this.#ctx.store.findCacheTaskHashes(rt.fullName, argsHash);
    if (others.length > 0) return "task changed (its code differs from the cached call's)";
    const inputs = collectFiles(args).map((f) => f.path);
    if (inputs.length > 0) return `no cache entry for these arguments (input files ${inputs.join(", ")} may have changed)`;
    return "no cache entry for these arguments";
  }

  async #runCall(
    callId: string,
    rt: ResolvedTask,
    args: readonly unknown[],
    argTexts: readonly string[],
    argHashes: readonly string[],
    argsHash: string,
    upstream: (string | undefined)[] | undefined,
    parent: Frame,
  ): Promise<Outcome> {
    const name = rt.fullName;
    const startedAt = Date.now();
    this.#emit("pending", callId, name);
    const frame = newFrame(callId, name, parent);
    frame.reached.set(`${name}\0${rt.hash}`, [name, rt.hash]);

    // Cache check.
    let entry: CacheEntry | undefined;
    const staleFiles: string[] = [];
    let result: unknown;
    if (this.#ctx.useCache && rt.options.cache) {
      entry = await this.#lookup(rt.hash, argsHash);
      if (entry !== undefined && rt.options.checkValid === "shallow" && entry.finalText !== null) {
        const reached = this.#reachedValid(rt, entry.reachedText);
        if (reached !== undefined) {
          const final = decodeValue(entry.finalText);
          if (!mayHoldFiles(entry.finalText) || findStale(final).length === 0) {
            this.#emit("cached", callId, name);
            this.#record(callId, rt, parent, argsHash, argTexts, argHashes, upstream, "cached", startedAt, 0, entry.resultHash, entry.finalHash, entry.callHash, null, false);
            return { value: final, callId, callHash: entry.callHash, reached };
          }
        }
      }
      if (entry !== undefined) {
        result = decodeValue(entry.resultText);
        const stale = mayHoldFiles(entry.resultText) ? findStale(result) : [];
        if (stale.length > 0) {
          for (const s of stale) staleFiles.push(s.path);
          entry = undefined;
        }
      }
    }

    // Execute the body.
    let attempts = 0;
    let resultText: string | undefined;
    let resultHash: string;
    if (entry !== undefined) {
      this.#emit("cached", callId, name);
      resultHash = entry.resultHash;
    } else {
      if (this.#ctx.dryrun) {
        const reason = await this.#dryrunReason(rt, argsHash, args, staleFiles);
        throw new DryRunError(`dryrun: task "${name}" would run (${describeValue({ args })}): ${reason}`, { taskName: name, reason });
      }
      if (this.#failed) throw new UsageError(`run stopped: another call failed before "${name}" started`);
      try {
        const executed = await this.#execute(rt, args, argTexts, callId);
        result = executed.result;
        attempts = executed.attempts;
      } catch (e) {
        attempts = (e as { attempts?: number }).attempts ?? rt.options.retries + 1;
        const original = (e as { original?: unknown }).original ?? e;
        const chain = chainOf(parent);
        const err = new TaskError(
          `task "${name}" failed${chain.length > 0 ? ` (called from ${chain.join(" > ")})` : ""}: ${ensureError(original).message}`,
          { taskName: name, chain, attempt: attempts, cause: original },
        );
        this.#emit("failed", callId, name, err);
        this.#record(callId, rt, parent, argsHash, argTexts, argHashes, upstream, "failed", startedAt, attempts, null, null, null, errorText(original), true);
        throw err;
      }
      const t = storedText(containsExpression(result) ? new LazyValue(result) : result, `result of ${name}`);
      resultText = t.text;
      resultHash = t.hash;
    }

    // Evaluate what the body returned (single reduction: also for a reused result).
    let final: unknown = result;
    let finalText = resultText;
    let finalHash = resultHash;
    if (containsExpression(result)) {
      try {
        final = (await this.#eval(result, frame)).value;
      } catch (e) {
        if (!(e instanceof DryRunError)) {
          this.#emit("failed", callId, name, ensureError(e));
          this.#record(callId, rt, parent, argsHash, argTexts, argHashes, upstream, "failed", startedAt, attempts, resultHash, null, null, errorText(originalError(e)), entry === undefined, resultText);
        }
        throw e;
      }
      const t = storedText(final, `final result of ${name}`);
      finalText = t.text;
      finalHash = t.hash;
    }
    const callHash = hashString("call", rt.hash, argsHash, resultHash, ...frame.childHashes.sort());
    const status: CallStatus = entry !== undefined ? "cached" : "done";
    if (status === "done") this.#emit("done", callId, name);
    this.#record(callId, rt, parent, argsHash, argTexts, argHashes, upstream, status, startedAt, attempts, resultHash, finalHash, callHash, null, entry === undefined, resultText, finalText);
    if (rt.options.cache && (entry === undefined || entry.callHash !== callHash || entry.finalHash !== finalHash)) {
      const buffer = this.#ctx.buffer;
      if (buffer !== undefined) {
        buffer.batch.cacheEntries.push({
          taskHash: rt.hash,
          argsHash,
          taskName: name,
          resultHash,
          finalHash,
          callHash,
          // A call that reached no other task stores no list (its own task is implied).
          reachedText: frame.reached.size === 1 ? "" : JSON.stringify([...frame.reached.values()]),
          createdAt: Date.now(),
        });
        buffer.added(1);
      }
    }
    return { value: final, callId, callHash, reached: frame.reached.size === 1 ? onlyItself(rt) : frame.reached };
  }

  async #execute(rt: ResolvedTask, args: readonly unknown[], argTexts: readonly string[], callId: string): Promise<{ result: unknown; attempts: number }> {
    const executor = this.#ctx.executor(rt.options.executor, rt.fullName);
    const limits = rt.options.limits;
    const wait = this.#ctx.limiter.acquire(limits, rt.fullName);
    if (wait !== undefined) await wait;
    try {
      this.#emit("running", callId, rt.fullName);
      const encodedArgs = rt.options.executor === "default" ? undefined : `[${argTexts.join(",")}]`;
      for (let attempt = 1; ; attempt++) {
        try {
          let result = executor.run({ task: rt, args, encodedArgs });
          if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") result = await result;
          return { result, attempts: attempt };
        } catch (e) {
          if (attempt > rt.options.retries) throw Object.assign(new Error("failed"), { original: e, attempts: attempt });
        }
      }
    } finally {
      this.#ctx.limiter.release(limits);
    }
  }

  /** Adds a call's rows (call, arguments, values, task) to the write buffer. */
  #record(
    callId: string,
    rt: ResolvedTask,
    parent: Frame,
    argsHash: string,
    argTexts: readonly string[],
    argHashes: readonly string[],
    upstream: (string | undefined)[] | undefined,
    status: CallStatus,
    startedAt: number,
    attempts: number,
    resultHash: string | null,
    finalHash: string | null,
    callHash: string | null,
    error: string | null,
    storeArgs: boolean,
    resultText?: string,
    finalText?: string,
  ): void {
    const buffer = this.#ctx.buffer;
    this.callCount++;
    if (buffer === undefined) return;
    const b = buffer.batch;
    let rows = 1 + argHashes.length;
    if (!this.#recordedTasks.has(rt.hash)) {
      this.#recordedTasks.add(rt.hash);
      const def = rt.definition;
      b.tasks.push({ hash: rt.hash, name: def.name, namespace: rt.options.namespace ?? null, fullName: rt.fullName, source: def.source });
      rows++;
    }
    b.calls.push({
      id: callId,
      executionId: this.#ctx.executionId,
      parentId: parent.callId,
      taskName: rt.fullName,
      taskHash: rt.hash,
      argsHash,
      callHash,
      resultHash,
      finalHash,
      status,
      startedAt,
      endedAt: Date.now(),
      error,
      attempts,
    });
    for (let i = 0; i < argHashes.length; i++) {
      b.arguments.push({ callId, position: i, valueHash: argHashes[i]!, upstreamCallId: upstream?.[i] ?? null });
      if (storeArgs) b.values.push({ hash: argHashes[i]!, text: argTexts[i]! });
    }
    if (storeArgs) rows += argHashes.length;
    if (resultText !== undefined && resultHash !== null) {
      b.values.push({ hash: resultHash, text: resultText });
      rows++;
    }
    if (finalText !== undefined && finalHash !== null && finalHash !== resultHash) {
      b.values.push({ hash: finalHash, text: finalText });
      rows++;
    }
    buffer.added(rows);
  }
}
