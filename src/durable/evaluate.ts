/**
 * The scheduler behind `ctx.step.evaluate`: opened on first use (so a worker that never
 * evaluates an expression never loads the cache store), closed with its owner.
 * @internal
 */
import type { Scheduler } from "../scheduler/scheduler.js";
import { abortReason } from "./step-core.js";

/** The cache database a worker uses when its `db` option is not given. @internal */
export function defaultWorkerDb(): string {
  return process.env["DURUN_DB"] ?? ".durun/durun.db";
}

/** One scheduler, opened lazily on `get()`, closed by `close()`. @internal */
export class LazyScheduler {
  #opening: Promise<Scheduler> | undefined;
  #closed = false;

  constructor(private readonly db: string) {}

  get(): Promise<Scheduler> {
    if (this.#closed) return Promise.reject(new Error("the cache of ctx.step.evaluate is closed (the worker stopped)"));
    this.#opening ??= import("../scheduler/scheduler.js").then(({ Scheduler: S }) => new S({ db: this.db }));
    return this.#opening;
  }

  /** Waits for running evaluations, then closes the scheduler (if it was opened). */
  async close(): Promise<void> {
    this.#closed = true;
    const s = this.#opening;
    this.#opening = undefined;
    if (!s) return;
    await s.then((sch) => sch.close(), () => undefined);
  }
}

/** Evaluates `expression` unless `signal` is already aborted. @internal */
export async function evaluateExpression(lazy: LazyScheduler, expression: unknown, signal: AbortSignal, description: string): Promise<unknown> {
  const scheduler = await lazy.get();
  // the scheduler takes no signal: cancellation prevents starting, and the step stops waiting
  if (signal.aborted) throw abortReason(signal);
  return scheduler.run(expression, { description });
}
