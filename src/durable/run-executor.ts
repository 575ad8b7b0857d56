/**
 * Executes one claimed run on a worker: builds `ctx` (input, run info, signal, durable steps),
 * calls the handler, and records the outcome (complete, retry, fail, or nothing when the run
 * parked, was canceled or its lease was lost).
 *
 * Parking: `sleep`, `waitForEvent` and `runWorkflow` (while the child runs) park the run with one
 * script (status `scheduled`, slot freed) and then throw an internal signal that unwinds the
 * handler; the run is re-queued later and the handler runs again from the top, its finished
 * steps answered from their records.
 * @internal
 */
import { CanceledError, InputValidationError, NonRetriableError, SerializationError, TimeoutError, UsageError, ensureError } from "../errors.js";
import { backoffDelay, type RunInfo, type StepApi, type WorkflowContext, type WorkflowDefinition, type WorkflowRef } from "./define.js";
import { emitRun } from "./emit.js";
import { evaluateExpression, type LazyScheduler } from "./evaluate.js";
import { decodeError, decodePayload, encodeError, encodePayload } from "./payload.js";
import { CODE, LeaseLostError, RunCanceledError, checkCode } from "./redis/codes.js";
import type { ClaimedRun, RedisStore } from "./redis/store.js";
import type { Resolved } from "../tasks/types.js";
import { validateInput } from "./schema.js";
import { STEP_STATUS, isTerminalStatus } from "./status.js";
import { RunAbort, StepNames, abortReason, parseSteps, runStepBodyHeld, type StoredStep } from "./step-core.js";

/** Thrown inside a handler after the run parked; never seen by users unless they catch everything. @internal */
export class ParkedSignal extends Error {
  constructor() {
    super("the run is parked (sleep, event or child wait): this execution ends here");
    this.name = "ParkedSignal";
  }
}

/** A run a worker holds. @internal */
export interface HeldRun {
  id: string;
  token: string;
  workflow: string;
  /** Its AbortController is made only when a signal is read or needed. */
  abort: RunAbort;
  parked: boolean;
  /** Handed back or lease lost: record nothing more. */
  detached: boolean;
  /** Called once the handler is done and only the final transition is still on its way. */
  handlerDone?: () => void;
}

/** How a run ended on this worker. @internal */
export type RunOutcome = "succeeded" | "retry" | "failed" | "parked" | "canceled" | "lost";

/** @internal */
export interface ExecuteDeps {
  store: RedisStore;
  def: WorkflowDefinition<unknown, unknown>;
  claimed: ClaimedRun;
  held: HeldRun;
  idempotencyTtlMs: number;
  /** The worker's scheduler for `ctx.step.evaluate`. */
  scheduler: LazyScheduler;
  /** Told when this run was scheduled to come back at `at` (ms), so the worker wakes for it. */
  wake?: (at: number) => void;
}

function isNonRetriable(e: unknown): boolean {
  return e instanceof NonRetriableError || e instanceof InputValidationError || e instanceof SerializationError || e instanceof UsageError;
}

/** Runs the handler of a claimed run and records its outcome. */
export async function executeRun(d: ExecuteDeps): Promise<RunOutcome> {
  const { store, def, claimed, held } = d;
  const f = claimed.fields;
  const run: RunInfo = {
    id: claimed.id,
    workflow: def.name,
    queue: f.queue ?? def.options.queue,
    attempt: Number(f.attempt ?? 1),
    maxAttempts: Number(f.maxAttempts ?? def.options.maxAttempts),
  };
  const label = `run ${run.id} (${run.workflow})`;
  const memo = parseSteps(claimed.steps);
  let nextIndex = 0;
  for (const s of memo.values()) nextIndex = Math.max(nextIndex, s.i + 1);
  const names = new StepNames(label);
  const abort = held.abort;
  let input: unknown;

  const check = async (code: Promise<number>, what: string): Promise<number> => checkCode(await code, run.id, what);
  const record = async (name: string, rec: StoredStep): Promise<void> => {
    memo.set(name, rec);
    await check(store.recordStep(run.id, held.token, name, JSON.stringify(rec)), "record step");
  };
  const guard = (name: unknown, kind: string): string => {
    if (held.parked) throw new ParkedSignal();
    if (abort.aborted) throw abortReason(abort);
    return names.claim(name, kind);
  };
  const fresh = (name: string): StoredStep => {
    const old = memo.get(name);
    return { i: old ? old.i : nextIndex++, status: STEP_STATUS.waiting, startedAt: Date.now() };
  };
  const fail = async (name: string, rec: StoredStep, error: unknown): Promise<never> => {
    await record(name, { ...rec, status: STEP_STATUS.failed, error: encodeError(error), finishedAt: Date.now() });
    throw error;
  };
  const park = async (name: string, rec: StoredStep, wakeAt: number, kind: "sleep" | "event" | "child", arg: string): Promise<boolean> => {
    const code = await check(store.park({ runId: run.id, token: held.token, step: name, record: JSON.stringify(rec), wakeAt, kind, arg }), "park");
    if (code === CODE.notParked) return false;
    memo.set(name, rec);
    held.parked = true;
    if (wakeAt > 0) d.wake?.(wakeAt);
    return true;
  };
  const succeed = async (name: string, rec: StoredStep, output: string): Promise<void> => {
    await record(name, { ...rec, status: STEP_STATUS.succeeded, output, finishedAt: Date.now() });
  };
  const childName = (wf: WorkflowRef<never, unknown>): string => (typeof wf === "string" ? wf : wf.name);
  /** Emits the child run of step `name` (idempotent per parent run and step unless a key is given); a failure fails the step. */
  const emitChild = (name: string, rec: StoredStep, workflow: WorkflowRef<never, unknown>, input: unknown, idempotencyKey: string | undefined) =>
    emitRun(store, {
      workflow: childName(workflow),
      input,
      idempotencyKey: idempotencyKey ?? `durun:child:${run.id}:${name}`,
      idempotencyTtlMs: d.idempotencyTtlMs,
      parentRunId: run.id,
    }).catch((e: unknown) => fail(name, rec, e));

  const memoised = async <T>(name: string, fn: (c: { signal: AbortSignal }) => T | Promise<T>, timeoutMs: number | undefined): Promise<Awaited<T>> => {
    const old = memo.get(name);
    if (old?.status === STEP_STATUS.succeeded) return decodePayload(old.output) as Awaited<T>;
    const rec = fresh(name);
    let value: Awaited<T>;
    try {
      value = await runStepBodyHeld(fn, abort, timeoutMs, `step "${name}" of ${label}`);
    } catch (e) {
      if (abort.aborted) throw abortReason(abort);
      return fail(name, rec, e);
    }
    let out: string;
    try {
      out = encodePayload(value, `the result of step "${name}" of ${label}`);
    } catch (e) {
      return fail(name, rec, e);
    }
    // succeed(), without its async frames
    const done: StoredStep = { ...rec, status: STEP_STATUS.succeeded, output: out, finishedAt: Date.now() };
    memo.set(name, done);
    checkCode(await store.recordStep(run.id, held.token, name, JSON.stringify(done)), run.id, "record step");
    return value;
  };

  const step: StepApi = {
    run: <T>(rawName: string, fn: (c: { signal: AbortSignal }) => T | Promise<T>, options?: { timeoutMs?: number }): Promise<Awaited<T>> => {
      let name: string;
      try {
        name = guard(rawName, "run");
      } catch (e) {
        return Promise.reject(e);
      }
      return memoised(name, fn, options?.timeoutMs);
    },

    evaluate: async <T>(rawName: string, expression: T) => {
      const name = guard(rawName, "evaluate");
      const description = `durable ${label}, step "${name}"`;
      return memoised(name, ({ signal: s }) => evaluateExpression(d.scheduler, expression, s, description), undefined) as Promise<Resolved<T>>;
    },

    sleep: async (rawName: string, ms: number) => {
      const name = guard(rawName, "sleep");
      if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) throw new UsageError(`${label}: ctx.step.sleep("${name}", ms) needs a non-negative number of ms`);
      const old = memo.get(name);
      if (old?.status === STEP_STATUS.succeeded) return;
      const rec = old?.status === STEP_STATUS.waiting ? old : { ...fresh(name), wakeAt: Date.now() + ms };
      const wakeAt = rec.wakeAt ?? 0;
      if (Date.now() >= wakeAt) {
        await succeed(name, rec, encodePayload(null, "sleep"));
        return;
      }
      await park(name, rec, wakeAt, "sleep", "");
      throw new ParkedSignal();
    },

    waitForEvent: async <T>(rawName: string, options: { event: string; correlationKey?: string; timeoutMs?: number }) => {
      const name = guard(rawName, "waitForEvent");
      if (typeof options?.event !== "string" || options.event === "") throw new UsageError(`${label}: ctx.step.waitForEvent("${name}") needs options.event`);
      if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new UsageError(`${label}: waitForEvent("${name}"): timeoutMs must be positive`);
      const old = memo.get(name);
      if (old?.status === STEP_STATUS.succeeded) return decodePayload(old.output) as T;
      const rec =
        old?.status === STEP_STATUS.waiting ? old : { ...fresh(name), deadline: options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : 0 };
      if (rec.deadline && Date.now() >= rec.deadline) {
        return fail(name, rec, new TimeoutError(`${label}: no "${options.event}" event within ${options.timeoutMs ?? "the"} ms (step "${name}")`, { timeoutMs: options.timeoutMs }));
      }
      await park(name, rec, rec.deadline ?? 0, "event", `${options.event}\n${options.correlationKey ?? ""}`);
      throw new ParkedSignal();
    },

    emitWorkflow: async <CI>(rawName: string, workflow: WorkflowRef<CI, unknown>, childInput: CI, options?: { idempotencyKey?: string }) => {
      const name = guard(rawName, "emitWorkflow");
      const old = memo.get(name);
      if (old?.status === STEP_STATUS.succeeded && old.childId) return old.childId;
      const rec = fresh(name);
      const { id } = await emitChild(name, rec, workflow as WorkflowRef<never, unknown>, childInput, options?.idempotencyKey);
      await succeed(name, { ...rec, childId: id }, encodePayload(id, "child run id"));
      return id;
    },

    runWorkflow: async <CI, CO>(rawName: string, workflow: WorkflowRef<CI, CO>, childInput: CI, options?: { timeoutMs?: number; idempotencyKey?: string }) => {
      const name = guard(rawName, "runWorkflow");
      if (options?.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new UsageError(`${label}: runWorkflow("${name}"): timeoutMs must be positive`);
      const old = memo.get(name);
      if (old?.status === STEP_STATUS.succeeded) return decodePayload(old.output) as CO;
      let rec: StoredStep;
      if (old?.status === STEP_STATUS.waiting && old.childId) rec = old;
      else {
        rec = fresh(name);
        const { id } = await emitChild(name, rec, workflow as WorkflowRef<never, unknown>, childInput, options?.idempotencyKey);
        rec = { ...rec, childId: id, deadline: options?.timeoutMs !== undefined ? Date.now() + options.timeoutMs : 0 };
      }
      const childId = rec.childId!;
      for (;;) {
        const state = await store.getRunStatus(childId);
        if (!state) return fail(name, rec, new UsageError(`${label}: child run ${childId} disappeared`));
        if (isTerminalStatus(state.status)) {
          if (state.status === "succeeded") {
            await succeed(name, rec, state.output ?? encodePayload(null, "output"));
            return decodePayload(state.output) as CO;
          }
          const err = decodeError(state.error) ?? new Error(`child run ${childId} ${state.status}`);
          return fail(name, rec, state.status === "canceled" && !(err instanceof CanceledError) ? new CanceledError(`child run ${childId} was canceled`) : err);
        }
        if (rec.deadline && Date.now() >= rec.deadline) {
          return fail(name, rec, new TimeoutError(`${label}: child run ${childId} did not finish within ${options?.timeoutMs ?? "the"} ms (step "${name}")`, { timeoutMs: options?.timeoutMs }));
        }
        if (await park(name, { ...rec, status: STEP_STATUS.waiting }, rec.deadline ?? 0, "child", childId)) throw new ParkedSignal();
      }
    },
  };

  const ctx: WorkflowContext<unknown> = {
    get input() {
      return input;
    },
    run,
    get signal() {
      return abort.signal;
    },
    step,
  };

  const outcomeOf = (e: unknown): RunOutcome | undefined => {
    if (held.parked || e instanceof ParkedSignal) return "parked";
    if (held.detached || e instanceof LeaseLostError) return "lost";
    if (e instanceof RunCanceledError || (e instanceof CanceledError && abort.aborted)) return "canceled";
    return undefined;
  };

  try {
    try {
      input = await validateInput(def.options.input, decodePayload(f.input), def.name);
      const value = await def.handler(ctx);
      if (held.parked) return "parked";
      if (abort.aborted) throw abortReason(abort);
      const out = encodePayload(value, `the output of ${label}`);
      const completed = store.complete(run.id, held.token, out);
      held.handlerDone?.();
      await check(completed, "complete");
      return "succeeded";
    } catch (e) {
      const known = outcomeOf(e);
      if (known) return known;
      const error = ensureError(e);
      const last = isNonRetriable(error) || run.attempt >= run.maxAttempts;
      const delay = last ? 0 : backoffDelay(def.options.retry, run.attempt);
      const code = await check(store.fail(run.id, held.token, encodeError(error), last ? "fail" : "retry", delay), "fail");
      if (code === CODE.retryScheduled) {
        d.wake?.(Date.now() + delay);
        return "retry";
      }
      if (def.options.onFailure) {
        try {
          await def.options.onFailure({ run, error, input: input ?? decodePayload(f.input) });
        } catch {
          /* onFailure errors do not change the run */
        }
      }
      return "failed";
    }
  } catch (e) {
    const known = outcomeOf(e);
    if (known) return known;
    throw e;
  }
}
