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

/**
 * What a handler receives. Its fields are own enumerable properties, in the order input, run,
 * signal, step (users may spread or destructure it); `signal` is an accessor, so the run's
 * AbortController is made only when it is read. A class with one shared accessor descriptor: an
 * object literal with a getter, made per run, cost the worker ~3 µs per run.
 */
class DurableContext implements WorkflowContext<unknown> {
  readonly #abort: RunAbort;
  static readonly #signal: PropertyDescriptor = {
    get(this: DurableContext): AbortSignal {
      return this.#abort.signal;
    },
    enumerable: true,
    configurable: true,
  };
  // declared, not class fields: the constructor makes them in this order
  declare input: unknown;
  declare run: RunInfo;
  declare readonly signal: AbortSignal;
  declare step: StepApi;

  constructor(input: unknown, run: RunInfo, abort: RunAbort, step: StepApi) {
    this.#abort = abort;
    this.input = input;
    this.run = run;
    Object.defineProperty(this, "signal", DurableContext.#signal);
    this.step = step;
  }
}

/**
 * One execution of a claimed run: its step memo and the durable operations of its steps. The
 * helpers are methods (not closures made per run) and labels for messages are built only when a
 * message needs them: a busy worker executes tens of thousands of runs a second.
 */
class RunExecution {
  readonly run: RunInfo;
  readonly memo: Map<string, StoredStep>;
  private nextIndex = 0;
  private readonly names: StepNames;
  input: unknown = undefined;
  readonly held: HeldRun;

  constructor(readonly d: ExecuteDeps) {
    this.held = d.held;
    const f = d.claimed.fields;
    this.run = {
      id: d.claimed.id,
      workflow: d.def.name,
      queue: f.queue ?? d.def.options.queue,
      attempt: Number(f.attempt ?? 1),
      maxAttempts: Number(f.maxAttempts ?? d.def.options.maxAttempts),
    };
    this.memo = parseSteps(d.claimed.steps);
    for (const s of this.memo.values()) this.nextIndex = Math.max(this.nextIndex, s.i + 1);
    this.names = new StepNames(() => this.label);
  }

  get label(): string {
    return `run ${this.run.id} (${this.run.workflow})`;
  }

  async check(code: Promise<number>, what: string): Promise<number> {
    return checkCode(await code, this.run.id, what);
  }

  async record(name: string, rec: StoredStep): Promise<void> {
    this.memo.set(name, rec);
    checkCode(await this.d.store.recordStep(this.run.id, this.held.token, name, JSON.stringify(rec)), this.run.id, "record step");
  }

  guard(name: unknown, kind: string): string {
    if (this.held.parked) throw new ParkedSignal();
    if (this.held.abort.aborted) throw abortReason(this.held.abort);
    return this.names.claim(name, kind);
  }

  fresh(name: string): StoredStep {
    const old = this.memo.get(name);
    return { i: old ? old.i : this.nextIndex++, status: STEP_STATUS.waiting, startedAt: Date.now() };
  }

  async fail(name: string, rec: StoredStep, error: unknown): Promise<never> {
    await this.record(name, { ...rec, status: STEP_STATUS.failed, error: encodeError(error), finishedAt: Date.now() });
    throw error;
  }

  async park(name: string, rec: StoredStep, wakeAt: number, kind: "sleep" | "event" | "child", arg: string): Promise<boolean> {
    const code = await this.check(this.d.store.park({ runId: this.run.id, token: this.held.token, step: name, record: JSON.stringify(rec), wakeAt, kind, arg }), "park");
    if (code === CODE.notParked) return false;
    this.memo.set(name, rec);
    this.held.parked = true;
    if (wakeAt > 0) this.d.wake?.(wakeAt);
    return true;
  }

  succeed(name: string, rec: StoredStep, output: string): Promise<void> {
    return this.record(name, { ...rec, status: STEP_STATUS.succeeded, output, finishedAt: Date.now() });
  }

  /** Emits the child run of step `name` (idempotent per parent run and step unless a key is given); a failure fails the step. */
  emitChild(name: string, rec: StoredStep, workflow: WorkflowRef<never, unknown>, input: unknown, idempotencyKey: string | undefined) {
    return emitRun(this.d.store, {
      workflow: typeof workflow === "string" ? workflow : workflow.name,
      input,
      idempotencyKey: idempotencyKey ?? `durun:child:${this.run.id}:${name}`,
      idempotencyTtlMs: this.d.idempotencyTtlMs,
      parentRunId: this.run.id,
    }).catch((e: unknown) => this.fail(name, rec, e));
  }

  /** A memoised step body (`run`, `evaluate`): its stored result, or runs it and records it. */
  async memoised<T>(name: string, fn: (c: { signal: AbortSignal }) => T | Promise<T>, timeoutMs: number | undefined): Promise<Awaited<T>> {
    const old = this.memo.get(name);
    if (old?.status === STEP_STATUS.succeeded) return decodePayload(old.output) as Awaited<T>;
    const rec = this.fresh(name);
    const abort = this.held.abort;
    const held = this.held;
    let ended = false;
    // visible as running in getRunSteps if the body outlasts this event-loop turn
    this.d.store.noteStep(() =>
      ended || held.detached || held.parked ? undefined : [held.id, held.token, name, JSON.stringify({ ...rec, status: STEP_STATUS.running })],
    );
    let value: Awaited<T>;
    try {
      value = await runStepBodyHeld(fn, abort, timeoutMs, () => `step "${name}" of ${this.label}`);
    } catch (e) {
      ended = true;
      if (abort.aborted) throw abortReason(abort);
      return this.fail(name, rec, e);
    }
    ended = true;
    let out: string;
    try {
      out = encodePayload(value, () => `the result of step "${name}" of ${this.label}`);
    } catch (e) {
      return this.fail(name, rec, e);
    }
    rec.status = STEP_STATUS.succeeded;
    rec.output = out;
    rec.finishedAt = Date.now();
    await this.record(name, rec);
    return value;
  }

  /** The `ctx.step` of this execution (its methods are plain functions: they may be destructured). */
  steps(): StepApi {
    return {
      run: <T>(rawName: string, fn: (c: { signal: AbortSignal }) => T | Promise<T>, options?: { timeoutMs?: number }): Promise<Awaited<T>> => {
        let name: string;
        try {
          name = this.guard(rawName, "run");
        } catch (e) {
          return Promise.reject(e);
        }
        return this.memoised(name, fn, options?.timeoutMs);
      },
      evaluate: (rawName, expression) => this.evaluate(rawName, expression),
      sleep: (rawName, ms) => this.sleep(rawName, ms),
      waitForEvent: (rawName, options) => this.waitForEvent(rawName, options),
      emitWorkflow: (rawName, workflow, childInput, options) => this.emitWorkflow(rawName, workflow, childInput, options),
      runWorkflow: (rawName, workflow, childInput, options) => this.runWorkflow(rawName, workflow, childInput, options),
    };
  }

  async evaluate<T>(rawName: string, expression: T): Promise<Resolved<T>> {
    const name = this.guard(rawName, "evaluate");
    const description = `durable ${this.label}, step "${name}"`;
    return this.memoised(name, ({ signal: s }) => evaluateExpression(this.d.scheduler, expression, s, description), undefined) as Promise<Resolved<T>>;
  }

  async sleep(rawName: string, ms: number): Promise<void> {
    const name = this.guard(rawName, "sleep");
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) throw new UsageError(`${this.label}: ctx.step.sleep("${name}", ms) needs a non-negative number of ms`);
    const old = this.memo.get(name);
    if (old?.status === STEP_STATUS.succeeded) return;
    const rec = old?.status === STEP_STATUS.waiting ? old : { ...this.fresh(name), wakeAt: Date.now() + ms };
    const wakeAt = rec.wakeAt ?? 0;
    if (Date.now() >= wakeAt) {
      await this.succeed(name, rec, encodePayload(null, "sleep"));
      return;
    }
    await this.park(name, rec, wakeAt, "sleep", "");
    throw new ParkedSignal();
  }

  async waitForEvent<T>(rawName: string, options: { event: string; correlationKey?: string; timeoutMs?: number }): Promise<T> {
    const name = this.guard(rawName, "waitForEvent");
    const label = this.label;
    if (typeof options?.event !== "string" || options.event === "") throw new UsageError(`${label}: ctx.step.waitForEvent("${name}") needs options.event`);
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new UsageError(`${label}: waitForEvent("${name}"): timeoutMs must be positive`);
    const old = this.memo.get(name);
    if (old?.status === STEP_STATUS.succeeded) return decodePayload(old.output) as T;
    const rec =
      old?.status === STEP_STATUS.waiting ? old : { ...this.fresh(name), deadline: options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : 0 };
    if (rec.deadline && Date.now() >= rec.deadline) {
      return this.fail(name, rec, new TimeoutError(`${label}: no "${options.event}" event within ${options.timeoutMs ?? "the"} ms (step "${name}")`, { timeoutMs: options.timeoutMs }));
    }
    await this.park(name, rec, rec.deadline ?? 0, "event", `${options.event}\n${options.correlationKey ?? ""}`);
    throw new ParkedSignal();
  }

  async emitWorkflow<CI>(rawName: string, workflow: WorkflowRef<CI, unknown>, childInput: CI, options?: { idempotencyKey?: string }): Promise<string> {
    const name = this.guard(rawName, "emitWorkflow");
    const old = this.memo.get(name);
    if (old?.status === STEP_STATUS.succeeded && old.childId) return old.childId;
    const rec = this.fresh(name);
    const { id } = await this.emitChild(name, rec, workflow as WorkflowRef<never, unknown>, childInput, options?.idempotencyKey);
    await this.succeed(name, { ...rec, childId: id }, encodePayload(id, "child run id"));
    return id;
  }

  async runWorkflow<CI, CO>(rawName: string, workflow: WorkflowRef<CI, CO>, childInput: CI, options?: { timeoutMs?: number; idempotencyKey?: string }): Promise<CO> {
    const name = this.guard(rawName, "runWorkflow");
    const label = this.label;
    if (options?.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new UsageError(`${label}: runWorkflow("${name}"): timeoutMs must be positive`);
    const old = this.memo.get(name);
    if (old?.status === STEP_STATUS.succeeded) return decodePayload(old.output) as CO;
    let rec: StoredStep;
    if (old?.status === STEP_STATUS.waiting && old.childId) rec = old;
    else {
      rec = this.fresh(name);
      const { id } = await this.emitChild(name, rec, workflow as WorkflowRef<never, unknown>, childInput, options?.idempotencyKey);
      rec = { ...rec, childId: id, deadline: options?.timeoutMs !== undefined ? Date.now() + options.timeoutMs : 0 };
    }
    const childId = rec.childId!;
    for (;;) {
      const state = await this.d.store.getRunStatus(childId);
      if (!state) return this.fail(name, rec, new UsageError(`${label}: child run ${childId} disappeared`));
      if (isTerminalStatus(state.status)) {
        if (state.status === "succeeded") {
          await this.succeed(name, rec, state.output ?? encodePayload(null, "output"));
          return decodePayload(state.output) as CO;
        }
        const err = decodeError(state.error) ?? new Error(`child run ${childId} ${state.status}`);
        return this.fail(name, rec, state.status === "canceled" && !(err instanceof CanceledError) ? new CanceledError(`child run ${childId} was canceled`) : err);
      }
      if (rec.deadline && Date.now() >= rec.deadline) {
        return this.fail(name, rec, new TimeoutError(`${label}: child run ${childId} did not finish within ${options?.timeoutMs ?? "the"} ms (step "${name}")`, { timeoutMs: options?.timeoutMs }));
      }
      if (await this.park(name, { ...rec, status: STEP_STATUS.waiting }, rec.deadline ?? 0, "child", childId)) throw new ParkedSignal();
    }
  }

  /** How a run that threw ended, when the throw is not the handler's own failure. */
  outcomeOf(e: unknown): RunOutcome | undefined {
    if (this.held.parked || e instanceof ParkedSignal) return "parked";
    if (this.held.detached || e instanceof LeaseLostError) return "lost";
    if (e instanceof RunCanceledError || (e instanceof CanceledError && this.held.abort.aborted)) return "canceled";
    return undefined;
  }

  /** Calls the handler and records the outcome (complete, retry, fail). */
  async execute(): Promise<RunOutcome> {
    const { store, def } = this.d;
    const { run, held } = this;
    const rawInput = this.d.claimed.fields.input;
    try {
      const schema = def.options.input;
      this.input = schema ? await validateInput(schema, decodePayload(rawInput), def.name) : decodePayload(rawInput);
      const value = await def.handler(new DurableContext(this.input, run, held.abort, this.steps()));
      if (held.parked) return "parked";
      if (held.abort.aborted) throw abortReason(held.abort);
      const out = encodePayload(value, () => `the output of ${this.label}`);
      const completed = store.complete(run.id, held.token, out);
      held.handlerDone?.();
      checkCode(await completed, run.id, "complete");
      return "succeeded";
    } catch (e) {
      const known = this.outcomeOf(e);
      if (known) return known;
      const error = ensureError(e);
      const last = isNonRetriable(error) || run.attempt >= run.maxAttempts;
      const delay = last ? 0 : backoffDelay(def.options.retry, run.attempt);
      const code = await this.check(store.fail(run.id, held.token, encodeError(error), last ? "fail" : "retry", delay), "fail");
      if (code === CODE.retryScheduled) {
        this.d.wake?.(Date.now() + delay);
        return "retry";
      }
      if (def.options.onFailure) {
        try {
          await def.options.onFailure({ run, error, input: this.input ?? decodePayload(rawInput) });
        } catch {
          /* onFailure errors do not change the run */
        }
      }
      return "failed";
    }
  }
}

/** Runs the handler of a claimed run and records its outcome. */
export async function executeRun(d: ExecuteDeps): Promise<RunOutcome> {
  const ex = new RunExecution(d);
  try {
    return await ex.execute();
  } catch (e) {
    const known = ex.outcomeOf(e);
    if (known) return known;
    throw e;
  }
}
