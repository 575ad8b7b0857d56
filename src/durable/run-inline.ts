/**
 * `runInline`: runs a workflow handler in this process without Redis, for unit tests.
 *
 * Steps run for real unless `stepOverrides` names them (the override value is the step's result,
 * its body is not called). `sleep` returns at once; `waitForEvent` needs an override;
 * `runWorkflow` runs the child inline when it is defined in this process (or takes an override);
 * `emitWorkflow` returns an override or a made-up id without running anything; `evaluate` runs
 * the expression with a scheduler on `options.db` (an in-memory cache by default).
 */
import { UsageError, ensureError } from "../errors.js";
import { getRegisteredWorkflow, type RunInfo, type StepApi, type WorkflowContext, type WorkflowDefinition, type WorkflowRef } from "./define.js";
import { LazyScheduler, evaluateExpression } from "./evaluate.js";
import { newId } from "./ids.js";
import { rejectUnknownKeys } from "./options.js";
import { decodePayload, encodePayload } from "./payload.js";
import type { Resolved } from "../tasks/types.js";
import { validateInput } from "./schema.js";
import { STEP_STATUS, type StepStatus } from "./status.js";
import { StepNames, runStepBody } from "./step-core.js";

/** Options of {@link runInline}. */
export interface RunInlineOptions<I> {
  input: I;
  /**
   * Step name → the result that replaces that step. Every name must match a step the handler
   * runs: when the handler returns and an override was never used (a typo, a renamed step), the
   * result is a failure with a UsageError naming it (see {@link RunInlineResult.unusedOverrides}).
   */
  stepOverrides?: Record<string, unknown>;
  /** Aborts `ctx.signal`. */
  signal?: AbortSignal;
  /**
   * The call cache of `ctx.step.evaluate` (as the scheduler's `db`): opened on the first evaluate
   * step and closed when the run ends. The default keeps unit tests hermetic: nothing is read
   * from or written to `.durun/`; pass a path to share a cache between inline runs.
   * @default ":memory:"
   */
  db?: string;
}

/** A step as run by {@link runInline}. */
export interface InlineStep {
  name: string;
  status: StepStatus;
  output: unknown;
  error: Error | undefined;
  /** True when the result came from `stepOverrides`. */
  overridden: boolean;
}

/** What {@link runInline} resolves to. */
export interface RunInlineResult<O> {
  succeeded: boolean;
  output: O | undefined;
  error: Error | undefined;
  steps: InlineStep[];
  /**
   * The `stepOverrides` names that matched no step that ran. When the handler returned, any such
   * name turns the result into a failure (`succeeded: false`, a UsageError naming them); when the
   * handler threw, its error is kept (the steps after it were never reached) and this lists them.
   */
  unusedOverrides: string[];
}

/**
 * Runs a workflow's handler once, in-process, without Redis. A `stepOverrides` name that matches
 * no step that ran fails the result (a typo would otherwise go unnoticed): see
 * {@link RunInlineResult.unusedOverrides}.
 *
 * @example
 * const r = await runInline(welcome, { input: { userId: "u1" }, stepOverrides: { "fetch-user": { email: "a@b.c" } } });
 * expect(r.succeeded).toBe(true);
 */
export async function runInline<I, O>(workflow: WorkflowDefinition<I, O>, options: RunInlineOptions<I>): Promise<RunInlineResult<O>> {
  if (!workflow || typeof workflow.handler !== "function") throw new UsageError("runInline: the first argument must be a workflow definition");
  if (typeof options !== "object" || options === null) throw new UsageError("runInline: options must be an object { input, stepOverrides? }");
  rejectUnknownKeys(options, ["input", "stepOverrides", "signal", "db"], "runInline: options");
  if (options.stepOverrides !== undefined && (typeof options.stepOverrides !== "object" || options.stepOverrides === null || Array.isArray(options.stepOverrides))) {
    throw new UsageError("runInline: options.stepOverrides must be an object { [step name]: result }");
  }
  const overrides = options.stepOverrides ?? {};
  const steps: InlineStep[] = [];
  const run: RunInfo = { id: newId(), workflow: workflow.name, queue: workflow.options.queue, attempt: 1, maxAttempts: workflow.options.maxAttempts };
  const label = `inline run of ${workflow.name}`;
  const names = new StepNames(label);
  const signal = options.signal ?? new AbortController().signal;
  if (options.db !== undefined && (typeof options.db !== "string" || options.db === "")) throw new UsageError("runInline: options.db must be a database path or URL");
  const scheduler = new LazyScheduler(options.db ?? ":memory:");
  const has = (name: string) => Object.prototype.hasOwnProperty.call(overrides, name);
  const unusedOverrides = () => Object.keys(overrides).filter((n) => !steps.some((s) => s.overridden && s.name === n));

  const step = async <T>(kind: string, rawName: string, body: () => Promise<T>): Promise<T> => {
    const name = names.claim(rawName, kind);
    if (has(name)) {
      const output = overrides[name] as T;
      steps.push({ name, status: STEP_STATUS.succeeded, output, error: undefined, overridden: true });
      return output;
    }
    try {
      const output = await body();
      // the same round trip as a stored result: what a worker would hand back on a retry
      const stored = decodePayload(encodePayload(output, `the result of step "${name}"`)) as T;
      steps.push({ name, status: STEP_STATUS.succeeded, output: stored, error: undefined, overridden: false });
      return output;
    } catch (e) {
      steps.push({ name, status: STEP_STATUS.failed, output: undefined, error: ensureError(e), overridden: false });
      throw e;
    }
  };
  const childOf = (wf: WorkflowRef<never, unknown>) => (typeof wf === "string" ? getRegisteredWorkflow(wf) : (wf as unknown as WorkflowDefinition<unknown, unknown>));

  const api: StepApi = {
    run: (name, fn, opts) => step("run", name, () => runStepBody(fn, signal, opts?.timeoutMs, `step "${name}"`)),
    sleep: (name) => step("sleep", name, async () => undefined),
    waitForEvent: <T>(name: string, o: { event: string }) =>
      step<T>("waitForEvent", name, async () => {
        throw new UsageError(`${label}: waitForEvent("${name}") for event "${o?.event}" needs a stepOverrides entry`);
      }),
    emitWorkflow: (name) => step("emitWorkflow", name, async () => newId()),
    runWorkflow: <CI, CO>(name: string, wf: WorkflowRef<CI, CO>, input: CI) =>
      step<CO>("runWorkflow", name, async () => {
        const child = childOf(wf as WorkflowRef<never, unknown>);
        if (!child) throw new UsageError(`${label}: runWorkflow("${name}"): workflow ${JSON.stringify(typeof wf === "string" ? wf : wf.name)} is not defined in this process; add a stepOverrides entry`);
        const r = await runInline(child, { input, stepOverrides: {}, signal, db: options.db });
        if (!r.succeeded) throw r.error;
        return r.output as CO;
      }),
    evaluate: <T>(name: string, expression: T) =>
      step("evaluate", name, () => runStepBody(({ signal: s }) => evaluateExpression(scheduler, expression, s, `${label}, step "${name}"`), signal, undefined, `step "${name}"`)) as Promise<Resolved<T>>,
  };

  try {
    const input = (await validateInput(workflow.options.input, options.input, workflow.name)) as I;
    const ctx: WorkflowContext<I> = { input, run, signal, step: api };
    const output = await workflow.handler(ctx);
    const unused = unusedOverrides();
    if (unused.length > 0) {
      const ran = steps.map((s) => JSON.stringify(s.name)).join(", ") || "none";
      const error = new UsageError(`${label}: stepOverrides name steps that never ran: ${unused.map((n) => JSON.stringify(n)).join(", ")} (steps that ran: ${ran})`);
      return { succeeded: false, output: undefined, error, steps, unusedOverrides: unused };
    }
    return { succeeded: true, output: output as O, error: undefined, steps, unusedOverrides: [] };
  } catch (e) {
    return { succeeded: false, output: undefined, error: ensureError(e), steps, unusedOverrides: unusedOverrides() };
  } finally {
    await scheduler.close();
  }
}
