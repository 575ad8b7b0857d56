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
import { DryRunError, SerializationError, TaskError, UsageError, ensureError } from "../errors.js";
import {
  MAX_SYNC_DEPTH,
  chainOf,
  errorText,
  newFrame,
  onlyItself,
  reachedEntry,
  originalError,
  type CallState,
  type Evaluated,
  type Executed,
  type Frame,
  type Outcome,
} from "./call-state.js";
import { collectFiles, decodeValue, encodeValue, findStale, hashString } from "../values/codec.js";
import { containsExpression, describeValue, type Expression, type ExpressionNode } from "../tasks/expression.js";
import { isExpressionValue, lookupDefinition } from "../tasks/registry.js";
import { resolveTask } from "../tasks/task.js";
import { LazyValue } from "../tasks/codecs.js";
import type { ResolvedTask, TaskHandle } from "../tasks/task-handle.js";
import type { Executor } from "../executors/executor.js";
import type { CacheEntry, CallStatus, ReachedTask, Store } from "../store/store.js";
export { originalError } from "./call-state.js";
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

/** A call waiting for its cache lookup (`taskHash`, `argsHash` are the key read). */
interface PendingLookup {
  readonly taskHash: string;
  readonly argsHash: string;
  readonly c: CallState;
  readonly resolve: (o: Outcome | Promise<Outcome>) => void;
  readonly reject: (e: unknown) => void;
}

/** The encoder's error for a value that contains itself (a cycle), naming where. */
function cycleError(v: object): SerializationError {
  try {
    encodeValue(v);
  } catch (e) {
    if (e instanceof SerializationError) return e;
  }
  return new SerializationError("cannot evaluate a value that contains itself (a cycle)");
}

/** Cache keys read per turn of the event loop. */
const LOOKUP_GROUP = 2_000;

/**
 * Evaluates one expression graph. Create one per `scheduler.run`.
 */
export class Run {
  readonly #ctx: RunContext;
  /** task hash → args hash → the call's outcome (identical calls in a run share one). */
  readonly #memo = new Map<string, Map<string, Promise<Outcome>>>();
  readonly #nodeMemo = new WeakMap<ExpressionNode, Promise<Outcome>>();
  /** Calls started and not yet settled; `#idle` resolves when it drops to 0. */
  #unsettled = 0;
  #idle: (() => void) | undefined;
  readonly #settled = (): void => {
    if (--this.#unsettled === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  };
  /** Calls waiting for their cache lookup, with the resolvers of their outcome. */
  readonly #lookups: PendingLookup[] = [];
  readonly #recordedTasks = new Set<string>();
  #lookupScheduled = false;
  /** Nesting of synchronous argument resolution (see `#startCall`). */
  #depth = 0;
  /** Structures `#evalStructure` is walking into (see there). */
  readonly #inside = new Set<object>();
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
      while (this.#unsettled > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
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
    if (isExpressionValue(v)) {
      const n = (v as Expression<unknown>).node;
      return n.kind === "call" ? this.#evalCallNode(n, frame) : this.#evalExpression(n, frame);
    }
    if (!containsExpression(v)) return { value: v, callId: undefined };
    return this.#evalStructure(v as object, frame);
  }

  /**
   * Evaluates the expressions in an array, plain object, Map (keys and values) or Set. The
   * walk into the structure is synchronous, so `#inside` holds exactly the structures above
   * this one: meeting one of them again is a value that contains itself, which would never
   * finish; it fails with the encoder's `SerializationError` naming the cycle.
   */
  async #evalStructure(v: object, frame: Frame): Promise<Evaluated> {
    if (this.#inside.has(v)) throw cycleError(v);
    this.#inside.add(v);
    let parts: Promise<Evaluated[]>;
    let build: (values: unknown[]) => unknown;
    try {
      if (Array.isArray(v)) {
        parts = Promise.all(v.map((x) => this.#eval(x, frame)));
        build = (values) => values;
      } else if (v instanceof Map) {
        const entries = [...(v as Map<unknown, unknown>)];
        parts = Promise.all(entries.flatMap(([k, x]) => [this.#eval(k, frame), this.#eval(x, frame)]));
        build = (values) => {
          const out = new Map<unknown, unknown>();
          for (let i = 0; i < values.length; i += 2) out.set(values[i], values[i + 1]);
          return out;
        };
      } else if (v instanceof Set) {
        parts = Promise.all([...(v as Set<unknown>)].map((x) => this.#eval(x, frame)));
        build = (values) => new Set(values);
      } else {
        const keys = Object.keys(v);
        parts = Promise.all(keys.map((k) => this.#eval((v as Record<string, unknown>)[k], frame)));
        build = (values) => {
          const out: Record<string, unknown> = {};
          keys.forEach((k, i) => {
            Object.defineProperty(out, k, { value: values[i], enumerable: true, writable: true, configurable: true });
          });
          return out;
        };
      }
    } finally {
      this.#inside.delete(v);
    }
    return { value: build((await parts).map((p) => p.value)), callId: undefined };
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
  #evalCallNode(n: Extract<ExpressionNode, { kind: "call" }>, frame: Frame): Promise<Evaluated> {
    return this.#callOutcome(n, frame).then((done) => this.#joined(done, frame));
  }

  /** The outcome of a call node (started once per node). */
  #callOutcome(n: Extract<ExpressionNode, { kind: "call" }>, frame: Frame): Promise<Outcome> {
    let p = this.#nodeMemo.get(n);
    if (p === undefined) {
      p = this.#startCall(n.task, n.args, frame);
      this.#nodeMemo.set(n, p);
    }
    return p;
  }

  /**
   * Calls a task value with `args` (map, catchError's handler). A task made by `t.partial(...)`
   * gets its bound arguments first, as calling it directly does (`makeTask` puts them in the
   * call node; here no call node exists).
   */
  #evalCall(handle: TaskHandle, args: readonly unknown[], frame: Frame): Promise<Evaluated> {
    const all = handle.boundArgs.length === 0 ? args : [...handle.boundArgs, ...args];
    return this.#startCall(handle, all, frame).then((done) => this.#joined(done, frame));
  }

  /** Hands a finished call's reached tasks and call hash to the frame that used it. */
  #joined(done: Outcome, frame: Frame): Evaluated {
    for (const [k, pair] of done.reached) frame.reached.set(k, pair);
    frame.childHashes.push(done.callHash);
    return { value: done.value, callId: done.callId };
  }

  /** Resolves the arguments (expressions inside are evaluated in the caller's frame), then calls. */
  #startCall(handle: TaskHandle, rawArgs: readonly unknown[], frame: Frame): Promise<Outcome> {
    if (!containsExpression(rawArgs)) return this.#callWith(handle, rawArgs, undefined, frame);
    // Arguments are resolved depth first and synchronously as far as possible; a long chain
    // (`e = inc(e)` 20,000 times) continues in a fresh microtask every few hundred levels so
    // the stack stays bounded.
    if (this.#depth > MAX_SYNC_DEPTH) return Promise.resolve().then(() => this.#resolveArgs(handle, rawArgs, frame));
    this.#depth++;
    try {
      return this.#resolveArgs(handle, rawArgs, frame);
    } finally {
      this.#depth--;
    }
  }

  #resolveArgs(handle: TaskHandle, rawArgs: readonly unknown[], frame: Frame): Promise<Outcome> {
    const n = rawArgs.length;
    const values: unknown[] = new Array<unknown>(n);
    const upstream: (string | undefined)[] = new Array<string | undefined>(n);
    // Arguments still being evaluated; the call starts when the count drops to 0 (no
    // Promise.all, and a call-node argument is joined in the same reaction that stores it).
    // Reactions run in later microtasks, so `start`/`fail` are set before any of them runs.
    let waiting = 0;
    let start: (o: Promise<Outcome>) => void = () => {};
    let fail: (e: unknown) => void = () => {};
    const arrived = (): void => {
      if (--waiting === 0) start(this.#callWith(handle, values, upstream, frame));
    };
    const failed = (e: unknown): void => fail(e);
    for (let i = 0; i < n; i++) {
      const a = rawArgs[i];
      if (isExpressionValue(a)) {
        const node = (a as Expression<unknown>).node;
        if (node.kind === "call") {
          waiting++;
          this.#callOutcome(node, frame).then((done) => {
            values[i] = done.value;
            upstream[i] = done.callId;
            this.#joined(done, frame);
            arrived();
          }, failed);
          continue;
        }
      } else if (!containsExpression(a)) {
        values[i] = a;
        continue;
      }
      const r = this.#eval(a, frame);
      if (r instanceof Promise) {
        waiting++;
        r.then((ev) => {
          values[i] = ev.value;
          upstream[i] = ev.callId;
          arrived();
        }, failed);
      } else {
        values[i] = r.value;
        upstream[i] = r.callId;
      }
    }
    if (waiting === 0) return this.#callWith(handle, values, upstream, frame);
    return new Promise<Outcome>((resolve, reject) => {
      start = resolve;
      fail = reject;
    });
  }

  /**
   * Hashes the resolved arguments and starts the call, unless an identical call of this run
   * already did. Everything up to the cache lookup is synchronous, and a call whose body is
   * synchronous completes in the callback of its lookup, so a fan-out of 100,000 calls does not
   * keep 100,000 suspended frames alive.
   */
  #callWith(handle: TaskHandle, args: readonly unknown[], upstream: (string | undefined)[] | undefined, frame: Frame): Promise<Outcome> {
    try {
      const rt = resolveTask(handle);
      if (rt.definition.source === "" && lookupDefinition(rt.fullName) === undefined) {
        throw new UsageError(`task "${rt.fullName}" is not defined in this process; import the module that defines it`);
      }
      const argTexts: string[] = new Array<string>(args.length);
      const argHashes: string[] = new Array<string>(args.length);
      for (let i = 0; i < args.length; i++) {
        const t = valueText(args[i], `${rt.fullName} argument ${i}`);
        argTexts[i] = t.text;
        argHashes[i] = t.hash;
      }
      const argsHash = hashString("args", ...argHashes);
      let byArgs = this.#memo.get(rt.hash);
      if (byArgs === undefined) this.#memo.set(rt.hash, (byArgs = new Map()));
      let outcome = byArgs.get(argsHash);
      if (outcome === undefined) {
        const callId = newId();
        if (frame.callId === null && this.rootCallId === null) this.rootCallId = callId;
        const c: CallState = { callId, rt, args, argTexts, argHashes, argsHash, upstream, parent: frame, startedAt: Date.now(), staleFiles: undefined };
        this.#unsettled++; // settled by #begin's continuation (see #settleWith)
        outcome = this.#begin(c);
        byArgs.set(argsHash, outcome);
      }
      return outcome;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Counts the call settled when `r` is (at once when it is already a value). */
  #settleWith(r: Outcome | Promise<Outcome>): void {
    if (r instanceof Promise) r.then(this.#settled, this.#settled);
    else this.#settled();
  }

  /**
   * A batched cache lookup: all lookups requested before the event loop turns go in one query.
   * The call continues (`#afterLookup`) straight from the loop over the answers, so a call
   * costs one promise (its outcome) up to here, not one per step.
   */
  #lookup(c: CallState): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.#lookups.push({ taskHash: c.rt.hash, argsHash: c.argsHash, c, resolve, reject });
      if (!this.#lookupScheduled) {
        this.#lookupScheduled = true;
        setImmediate(() => this.#flushLookups());
      }
    });
  }

  #flushLookups(): void {
    this.#lookupScheduled = false;
    // At most LOOKUP_GROUP keys per turn of the event loop: the calls found complete before the
    // next group is read, so a 100,000-call fan-out never holds 100,000 entries at once.
    const batch = this.#lookups.splice(0, LOOKUP_GROUP);
    if (this.#lookups.length > 0) {
      this.#lookupScheduled = true;
      setImmediate(() => this.#flushLookups());
    }
    this.#ctx.store.lookupCache(batch).then(
      (entries) => {
        for (let i = 0; i < batch.length; i++) {
          const b = batch[i]!;
          let r: Outcome | Promise<Outcome>;
          try {
            r = this.#afterLookup(b.c, entries[i]);
          } catch (e) {
            b.reject(e);
            this.#settled();
            continue;
          }
          b.resolve(r);
          this.#settleWith(r);
        }
      },
      (e: unknown) => {
        for (const b of batch) {
          b.reject(e);
          this.#settled();
        }
      },
    );
  }

  /**
   * The reached tasks when every one is still registered with the same hash and cached; a
   * reached task with `cache: false` runs in every run, so the final result cannot be reused.
   */
  #reachedValid(rt: ResolvedTask, reachedText: string): ReadonlyMap<string, ReachedTask> | undefined {
    // The entry was found under the current task hash, so the task itself is unchanged.
    if (reachedText === "") return onlyItself(rt);
    const list = JSON.parse(reachedText) as ReachedTask[];
    const out = new Map<string, ReachedTask>();
    for (const pair of list) {
      const def = lookupDefinition(pair[0]);
      if (def === undefined || def.hash !== pair[1] || !def.options.cache || pair[2] === 0) return undefined;
      out.set(`${pair[0]}\0${pair[1]}`, pair);
    }
    return out;
  }

  async #dryrunReason(c: CallState): Promise<string> {
    const rt = c.rt;
    if (c.staleFiles !== undefined) return `file changed (${c.staleFiles.join(", ")} changed or was deleted since it was recorded)`;
    if (!rt.options.cache) return "the task has cache: false";
    if (!this.#ctx.useCache) return "the run has cache: false";
    const others = await this.#ctx.store.findCacheTaskHashes(rt.fullName, c.argsHash);
    if (others.length > 0) return "task changed (its code differs from the cached call's)";
    const inputs = collectFiles(c.args).map((f) => f.path);
    if (inputs.length > 0) return `no cache entry for these arguments (input files ${inputs.join(", ")} may have changed)`;
    return "no cache entry for these arguments";
  }

  /** Emits `pending`, looks the call up in the cache (unless caching is off), continues. */
  #begin(c: CallState): Promise<Outcome> {
    this.#emit("pending", c.callId, c.rt.fullName);
    if (this.#ctx.useCache && c.rt.options.cache) return this.#lookup(c);
    let p: Promise<Outcome>;
    try {
      p = Promise.resolve(this.#afterLookup(c, undefined));
    } catch (e) {
      p = Promise.reject(e);
    }
    this.#settleWith(p);
    return p;
  }

  /** Reuses the cache entry if it is still valid, else runs the body. */
  #afterLookup(c: CallState, entry: CacheEntry | undefined): Outcome | Promise<Outcome> {
    const rt = c.rt;
    const name = rt.fullName;
    if (entry !== undefined) {
      // Ultimate reduction: the final result, whole, if every task reached below is unchanged.
      if (rt.options.checkValid === "shallow" && entry.finalText !== null) {
        const reached = this.#reachedValid(rt, entry.reachedText);
        if (reached !== undefined) {
          const final = decodeValue(entry.finalText);
          if (!mayHoldFiles(entry.finalText) || findStale(final).length === 0) {
            this.#emit("cached", c.callId, name);
            this.#record(c, "cached", 0, entry.resultHash, entry.finalHash, entry.callHash, null, false);
            return { value: final, callId: c.callId, callHash: entry.callHash, reached };
          }
        }
      }
      // Single reduction: the recorded result, evaluated again.
      const result = decodeValue(entry.resultText);
      const stale = mayHoldFiles(entry.resultText) ? findStale(result) : [];
      if (stale.length === 0) {
        this.#emit("cached", c.callId, name);
        return this.#reduce(c, entry, result, undefined, entry.resultHash, 0);
      }
      c.staleFiles = stale.map((f) => f.path);
    }
    if (this.#ctx.dryrun) {
      return this.#dryrunReason(c).then((reason) => {
        throw new DryRunError(`dryrun: task "${name}" would run (${describeValue({ args: c.args })}): ${reason}`, { taskName: name, reason });
      });
    }
    if (this.#failed) throw new UsageError(`run stopped: another call failed before "${name}" started`);
    let ran: Executed | Promise<Executed>;
    try {
      ran = this.#execute(c);
    } catch (e) {
      return this.#callFailed(c, e);
    }
    if (ran instanceof Promise) return ran.then((r) => this.#executed(c, r), (e: unknown) => this.#callFailed(c, e));
    return this.#executed(c, ran);
  }

  #executed(c: CallState, r: Executed): Outcome | Promise<Outcome> {
    let t: { text: string; hash: string };
    try {
      t = storedText(containsExpression(r.result) ? new LazyValue(r.result) : r.result, `result of ${c.rt.fullName}`);
    } catch (e) {
      // A result that cannot be stored fails the call like a throwing body (no retries: the
      // body would return the same).
      return this.#callFailed(c, Object.assign(new Error("unstorable"), { original: e, attempts: r.attempts }));
    }
    return this.#reduce(c, undefined, r.result, t.text, t.hash, r.attempts);
  }

  /** Records a failed body and throws the TaskError that names it and its parents. */
  #callFailed(c: CallState, e: unknown): never {
    const attempts = (e as { attempts?: number }).attempts ?? c.rt.options.retries + 1;
    const original = (e as { original?: unknown }).original ?? e;
    const chain = chainOf(c.parent);
    const name = c.rt.fullName;
    const err = new TaskError(
      `task "${name}" failed${chain.length > 0 ? ` (called from ${chain.join(" > ")})` : ""}: ${ensureError(original).message}`,
      { taskName: name, chain, attempt: attempts, cause: original },
    );
    this.#emit("failed", c.callId, name, err);
    this.#record(c, "failed", attempts, null, null, null, errorText(original), true);
    throw err;
  }

  /** Evaluates what the body returned (or what was reused), then records the call. */
  #reduce(c: CallState, entry: CacheEntry | undefined, result: unknown, resultText: string | undefined, resultHash: string, attempts: number): Outcome | Promise<Outcome> {
    if (!containsExpression(result)) return this.#finish(c, entry, result, resultText, resultHash, result, resultText, resultHash, undefined, attempts);
    const frame = newFrame(c.callId, c.rt.fullName, c.parent);
    frame.reached.set(...reachedEntry(c.rt));
    const fail = (e: unknown): never => {
      if (!(e instanceof DryRunError)) {
        this.#emit("failed", c.callId, c.rt.fullName, ensureError(e));
        this.#record(c, "failed", attempts, resultHash, null, null, errorText(originalError(e)), entry === undefined, resultText);
      }
      throw e;
    };
    let evaluated: Evaluated | Promise<Evaluated>;
    try {
      evaluated = this.#eval(result, frame);
    } catch (e) {
      return fail(e);
    }
    const done = (ev: Evaluated): Outcome => {
      const t = storedText(ev.value, `final result of ${c.rt.fullName}`);
      return this.#finish(c, entry, result, resultText, resultHash, ev.value, t.text, t.hash, frame, attempts);
    };
    return evaluated instanceof Promise ? evaluated.then(done, fail) : done(evaluated);
  }

  #finish(
    c: CallState,
    entry: CacheEntry | undefined,
    _result: unknown,
    resultText: string | undefined,
    resultHash: string,
    final: unknown,
    finalText: string | undefined,
    finalHash: string,
    frame: Frame | undefined,
    attempts: number,
  ): Outcome {
    const rt = c.rt;
    // A reused result that reached nothing has the recorded call hash (same inputs).
    const callHash =
      frame === undefined && entry !== undefined && entry.resultHash === resultHash
        ? entry.callHash
        : hashString("call", rt.hash, c.argsHash, resultHash, ...(frame === undefined ? [] : frame.childHashes.sort()));
    const status: CallStatus = entry !== undefined ? "cached" : "done";
    if (status === "done") this.#emit("done", c.callId, rt.fullName);
    this.#record(c, status, attempts, resultHash, finalHash, callHash, null, entry === undefined, resultText, finalText);
    const reached = frame === undefined || frame.reached.size === 1 ? onlyItself(rt) : frame.reached;
    if (rt.options.cache && (entry === undefined || entry.callHash !== callHash || entry.finalHash !== finalHash)) {
      const buffer = this.#ctx.buffer;
      if (buffer !== undefined) {
        buffer.batch.cacheEntries.push({
          taskHash: rt.hash,
          argsHash: c.argsHash,
          taskName: rt.fullName,
          resultHash,
          finalHash,
          callHash,
          // A call that reached no other task stores no list (its own task is implied).
          reachedText: reached.size === 1 ? "" : JSON.stringify([...reached.values()]),
          createdAt: Date.now(),
        });
        buffer.added(1);
      }
    }
    return { value: final, callId: c.callId, callHash, reached };
  }

  /** Runs the body (with retries) on its executor, holding a slot; synchronous when it can be. */
  #execute(c: CallState): Executed | Promise<Executed> {
    const executor = this.#ctx.executor(c.rt.options.executor, c.rt.fullName);
    const wait = this.#ctx.limiter.acquire(c.rt.options.limits, c.rt.fullName);
    if (wait !== undefined) return wait.then(() => this.#runBody(c, executor, 1));
    return this.#runBody(c, executor, 1);
  }

  #runBody(c: CallState, executor: Executor, attempt: number): Executed | Promise<Executed> {
    if (attempt === 1) this.#emit("running", c.callId, c.rt.fullName);
    let result: unknown;
    try {
      const encodedArgs = c.rt.options.executor === "default" ? undefined : `[${c.argTexts.join(",")}]`;
      result = executor.run({ task: c.rt, args: c.args, encodedArgs });
    } catch (e) {
      return this.#bodyFailed(c, executor, attempt, e);
    }
    if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
      return Promise.resolve(result).then(
        (value) => {
          this.#ctx.limiter.release(c.rt.options.limits);
          return { result: value, attempts: attempt };
        },
        (e: unknown) => this.#bodyFailed(c, executor, attempt, e),
      );
    }
    this.#ctx.limiter.release(c.rt.options.limits);
    return { result, attempts: attempt };
  }

  #bodyFailed(c: CallState, executor: Executor, attempt: number, e: unknown): Executed | Promise<Executed> {
    if (attempt > c.rt.options.retries) {
      this.#ctx.limiter.release(c.rt.options.limits);
      throw Object.assign(new Error("failed"), { original: e, attempts: attempt });
    }
    return this.#runBody(c, executor, attempt + 1);
  }

  /** Adds a call's rows (call, arguments, values, task) to the write buffer. */
  #record(
    c: CallState,
    status: CallStatus,
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
    const rt = c.rt;
    const b = buffer.batch;
    const argHashes = c.argHashes;
    let rows = 1 + argHashes.length;
    if (!this.#recordedTasks.has(rt.hash)) {
      this.#recordedTasks.add(rt.hash);
      const def = rt.definition;
      b.tasks.push({ hash: rt.hash, name: def.name, namespace: rt.options.namespace ?? null, fullName: rt.fullName, source: def.source });
      rows++;
    }
    b.calls.push({
      id: c.callId,
      executionId: this.#ctx.executionId,
      parentId: c.parent.callId,
      taskName: rt.fullName,
      taskHash: rt.hash,
      argsHash: c.argsHash,
      callHash,
      resultHash,
      finalHash,
      status,
      startedAt: c.startedAt,
      endedAt: Date.now(),
      error,
      attempts,
    });
    for (let i = 0; i < argHashes.length; i++) {
      b.arguments.push({ callId: c.callId, position: i, valueHash: argHashes[i]!, upstreamCallId: c.upstream?.[i] ?? null });
      if (storeArgs) b.values.push({ hash: argHashes[i]!, text: c.argTexts[i]! });
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
