/**
 * Pieces shared by the worker's step implementation and `runInline`: the stored step record,
 * the duplicate-name guard and running a step body with a signal and an optional timeout.
 * @internal
 */
import { CanceledError, TimeoutError, UsageError } from "../errors.js";
import type { StepStatus } from "./status.js";

/** A step record as stored (JSON) in `{P}steps:<runId>`. @internal */
export interface StoredStep {
  /** Order in which the step first ran. */
  i: number;
  status: StepStatus;
  /** Encoded output (values codec). */
  output?: string;
  /** Error JSON (see payload.ts). */
  error?: string;
  startedAt: number;
  finishedAt?: number;
  /** sleep: when it ends. */
  wakeAt?: number;
  /** waitForEvent / runWorkflow: when it times out (0: never). */
  deadline?: number;
  /** runWorkflow / emitWorkflow: the child run. */
  childId?: string;
  eventId?: string;
}

/** Parses the raw step hash; unreadable records are skipped (treated as not run). */
export function parseSteps(raw: Record<string, string>): Map<string, StoredStep> {
  const out = new Map<string, StoredStep>();
  for (const [name, json] of Object.entries(raw)) {
    try {
      out.set(name, JSON.parse(json) as StoredStep);
    } catch {
      /* a corrupt record runs the step again */
    }
  }
  return out;
}

/** Tracks the step names used by one execution of a handler. */
export class StepNames {
  /** The first name (most runs have one step: no Set for them). */
  private first: string | undefined = undefined;
  private used: Set<string> | undefined = undefined;
  /** `runLabel` is read only for an error message (a function: not built for runs without one). */
  constructor(private readonly runLabel: string | (() => string)) {}

  private label(): string {
    return typeof this.runLabel === "string" ? this.runLabel : this.runLabel();
  }

  claim(name: unknown, kind: string): string {
    if (typeof name !== "string" || name === "") throw new UsageError(`${this.label()}: ctx.step.${kind} needs a non-empty step name`);
    if (name === this.first || this.used?.has(name)) {
      throw new UsageError(`${this.label()}: duplicate step name "${name}" (step names must be unique within a run)`);
    }
    if (this.first === undefined) this.first = name;
    else (this.used ??= new Set()).add(name);
    return name;
  }
}

/** The reason a run signal carries, or a CanceledError. */
export function abortReason(signal: { readonly reason: unknown }): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new CanceledError("run canceled");
}

/**
 * Runs a step body with its own signal (aborted with the run's signal, or on timeout); settles as
 * soon as the body settles, the run is aborted, or the timeout fires (the body is not awaited
 * after that: it should watch its signal).
 */
export async function runStepBody<T>(
  fn: (ctx: { signal: AbortSignal }) => T | Promise<T>,
  runSignal: AbortSignal,
  timeoutMs: number | undefined,
  label: string,
): Promise<Awaited<T>> {
  if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !(timeoutMs > 0))) {
    throw new UsageError(`${label}: timeoutMs must be a positive number, got ${String(timeoutMs)}`);
  }
  if (runSignal.aborted) throw abortReason(runSignal);
  if (timeoutMs === undefined) {
    // without a timeout the step's signal is the run's signal: no controller, no listener
    return new Promise<Awaited<T>>((resolve, reject) => {
      const onAbort = () => reject(abortReason(runSignal));
      runSignal.addEventListener("abort", onAbort, { once: true });
      Promise.resolve()
        .then(() => fn({ signal: runSignal }))
        .then(
          (v) => resolve(v as Awaited<T>),
          (e: unknown) => reject(e),
        )
        .finally(() => runSignal.removeEventListener("abort", onAbort));
    });
  }
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<Awaited<T>>((resolve, reject) => {
      onAbort = () => {
        const reason = abortReason(runSignal);
        ac.abort(reason);
        reject(reason);
      };
      runSignal.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const e = new TimeoutError(`${label} timed out after ${timeoutMs} ms`, { timeoutMs });
          ac.abort(e);
          reject(e);
        }, timeoutMs);
      }
      Promise.resolve()
        .then(() => fn({ signal: ac.signal }))
        .then((v) => resolve(v as Awaited<T>), reject);
    });
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) runSignal.removeEventListener("abort", onAbort);
  }
}

/**
 * A run's abort state with its AbortController made only when a signal is read (ctx.signal, a
 * step body's signal) or a step needs one (timeout): most runs never abort and never read it.
 * `abort` aborts the signal (when made) and calls the hooks of the steps running.
 * @internal
 */
export class RunAbort {
  private ac: AbortController | undefined = undefined;
  private why: unknown = undefined;
  private done = false;
  private hooks: Set<() => void> | undefined = undefined;

  get aborted(): boolean {
    return this.done;
  }

  get reason(): unknown {
    return this.why;
  }

  get signal(): AbortSignal {
    if (!this.ac) {
      this.ac = new AbortController();
      if (this.done) this.ac.abort(this.why);
    }
    return this.ac.signal;
  }

  abort(reason?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.why = reason ?? new CanceledError("run canceled");
    this.ac?.abort(this.why);
    const hooks = this.hooks;
    this.hooks = undefined;
    if (hooks) for (const h of hooks) h();
  }

  onAbort(fn: () => void): void {
    (this.hooks ??= new Set()).add(fn);
  }

  offAbort(fn: () => void): void {
    this.hooks?.delete(fn);
  }
}

/** What a step body receives: its signal is the run's, made when first read. */
class LazyStepContext {
  constructor(private readonly a: RunAbort) {}
  get signal(): AbortSignal {
    return this.a.signal;
  }
}

/**
 * `runStepBody` for a worker's run (a RunAbort instead of a signal): without a timeout no
 * AbortController and no signal listener is made, and a body that returns a value (not a promise)
 * settles without a promise chain. The body still starts in a microtask, as with `runStepBody`.
 */
export function runStepBodyHeld<T>(
  fn: (ctx: { signal: AbortSignal }) => T | Promise<T>,
  run: RunAbort,
  timeoutMs: number | undefined,
  label: () => string,
): Promise<Awaited<T>> {
  if (timeoutMs !== undefined) {
    try {
      return runStepBody(fn, run.signal, timeoutMs, label());
    } catch (e) {
      return Promise.reject(e);
    }
  }
  if (run.aborted) return Promise.reject(abortReason(run));
  return new Promise<Awaited<T>>((resolve, reject) => {
    const onAbort = () => reject(abortReason(run));
    run.onAbort(onAbort);
    queueMicrotask(() => {
      let r: T | Promise<T>;
      try {
        r = fn(new LazyStepContext(run));
      } catch (e) {
        run.offAbort(onAbort);
        reject(e);
        return;
      }
      if (r !== null && (typeof r === "object" || typeof r === "function")) {
        Promise.resolve(r).then(
          (v) => {
            run.offAbort(onAbort);
            resolve(v as Awaited<T>);
          },
          (e: unknown) => {
            run.offAbort(onAbort);
            reject(e);
          },
        );
      } else {
        run.offAbort(onAbort);
        resolve(r as Awaited<T>);
      }
    });
  });
}
