/**
 * Workflow definitions: `defineWorkflow(name, options, handler)` and the process-wide registry.
 *
 * Terminology: a **workflow** is a named handler with options; a **run** is one execution of it
 * for one input (see ./status.ts). Defining a workflow registers it in this process; a worker
 * started in the same process runs the registered workflows and publishes their metadata.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { UsageError } from "../errors.js";
import type { Resolved } from "../tasks/types.js";
import { validateCron } from "./cron.js";
import { rejectUnknownKeys } from "./options.js";
import { isStandardSchema } from "./schema.js";

/** Backoff between attempts: `min(maxBackoffMs, backoffMs * factor^(attempt-1))`. */
export interface RetryOptions {
  /** Delay before the second attempt. @default 1000 */
  backoffMs?: number;
  /** Upper bound of the delay. @default 60000 */
  maxBackoffMs?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
}

/** A cron schedule of a workflow. Five fields, or six with seconds first. */
export interface CronSchedule<I = unknown> {
  /** Identifies the schedule (part of each tick's idempotency key). @default "cron<index>" */
  id?: string;
  /** e.g. `"*\/5 * * * *"` or `"* * * * * *"` (every second). */
  expression: string;
  /** IANA timezone, e.g. `"Europe/Paris"`. @default "UTC" */
  timezone?: string;
  /** Input of each run fired by this schedule. */
  input?: I;
}

/** Start a run for each emitted event with this name; the event's payload is the input. */
export interface EventTrigger {
  event: string;
}

/** What a handler and `onFailure` learn about the run. */
export interface RunInfo {
  id: string;
  workflow: string;
  queue: string;
  /** Counts from 1. */
  attempt: number;
  maxAttempts: number;
}

/** Context of `onFailure`, called once after the last attempt failed. */
export interface OnFailureContext<I = unknown> {
  run: RunInfo;
  error: Error;
  input: I;
}

/** Options of {@link defineWorkflow}. */
export interface WorkflowOptions<I = unknown> {
  /** Queue the runs go to. @default "default" */
  queue?: string;
  /** Running runs of this workflow at once, across all workers (`Infinity`: no limit). @default 1 */
  maxConcurrency?: number;
  /** Attempts before the run fails. @default 3 */
  maxAttempts?: number;
  /** Backoff between attempts. */
  retry?: RetryOptions;
  /** Cron schedules, fired by one leader worker; a tick is skipped while at maxConcurrency. */
  cron?: CronSchedule<I>[];
  /** Events that start a run. */
  triggers?: EventTrigger[];
  /** Called once after the last attempt failed (not for cancellations). */
  onFailure?: (ctx: OnFailureContext<I>) => unknown;
  /** A Standard Schema validator, checked on emit and on run start. */
  input?: StandardSchemaV1<unknown, I>;
}

/** Options of `ctx.step.run`. */
export interface StepRunOptions {
  /** Fail the step with TimeoutError (and abort its signal) after this long. */
  timeoutMs?: number;
}

/** Options of `ctx.step.runWorkflow`. */
export interface StepRunWorkflowOptions {
  /** Fail the step with TimeoutError if the child has not finished by then (the child goes on). */
  timeoutMs?: number;
  /** @default derived from the parent run id and the step name */
  idempotencyKey?: string;
}

/** Options of `ctx.step.waitForEvent`. */
export interface WaitForEventOptions {
  event: string;
  /** Only events emitted with this correlation key match. Without it, any event of that name matches. */
  correlationKey?: string;
  /** Fail the step with TimeoutError after this long. */
  timeoutMs?: number;
}

/** A reference to a workflow: its name or its definition. */
export type WorkflowRef<I = unknown, O = unknown> = string | WorkflowDefinition<I, O>;

/** The durable step API of a run (`ctx.step`). Step names are unique within a run. */
export interface StepApi {
  /** A memoised step: `fn` runs until it succeeds once; later attempts get the stored result. */
  run<T>(name: string, fn: (ctx: { signal: AbortSignal }) => T | Promise<T>, options?: StepRunOptions): Promise<Awaited<T>>;
  /** Starts a child run and waits for its output; the parent parks (holds no slot) meanwhile. */
  runWorkflow<CI, CO>(name: string, workflow: WorkflowRef<CI, CO>, input: CI, options?: StepRunWorkflowOptions): Promise<CO>;
  /** Starts a child run and resolves to its id without waiting. */
  emitWorkflow<CI>(name: string, workflow: WorkflowRef<CI, unknown>, input: CI, options?: { idempotencyKey?: string }): Promise<string>;
  /** Parks the run until a matching event is emitted after this step started; resolves to its payload. */
  waitForEvent<T = unknown>(name: string, options: WaitForEventOptions): Promise<T>;
  /** A durable timer: the run parks, holding no slot, and resumes after `ms`. */
  sleep(name: string, ms: number): Promise<void>;
  /**
   * Evaluates a lazy-task expression (or a structure containing expressions) with the scheduler
   * and its call cache; the step's result is the expression's value, memoised like `run` (a retry
   * or a restart after it completed does not evaluate again). On a worker the cache is the
   * worker's `db` option; under `runInline`, its `db` option (an in-memory cache by default).
   *
   * @example
   * const report = await ctx.step.evaluate("build-report", summarize(fetchAll(ctx.input.urls)));
   */
  evaluate<T>(name: string, expression: T): Promise<Resolved<T>>;
}

/** What a workflow handler receives. */
export interface WorkflowContext<I = unknown> {
  input: I;
  run: RunInfo;
  /** Aborted when cancellation is requested (or the worker loses the run). */
  signal: AbortSignal;
  step: StepApi;
}

/** A workflow handler: its return value is the run's output. */
export type WorkflowHandler<I, O> = (ctx: WorkflowContext<I>) => O | Promise<O>;

/** Validated options with defaults filled. @internal */
export interface CompiledWorkflowOptions<I = unknown> {
  queue: string;
  maxConcurrency: number;
  maxAttempts: number;
  retry: Required<RetryOptions>;
  cron: Array<{ id: string; expression: string; timezone: string | undefined; input: I | undefined }>;
  triggers: EventTrigger[];
  onFailure: ((ctx: OnFailureContext<I>) => unknown) | undefined;
  input: StandardSchemaV1<unknown, I> | undefined;
}

/** A defined workflow, returned by {@link defineWorkflow}. */
export interface WorkflowDefinition<I = unknown, O = unknown> {
  readonly name: string;
  readonly options: CompiledWorkflowOptions<I>;
  readonly handler: WorkflowHandler<I, O>;
  /** Type-only marker of the input and output types. */
  readonly __types?: { input: I; output: O };
}

function positiveInt(v: unknown, field: string, allowInfinity = false): number {
  if (allowInfinity && v === Infinity) return Infinity;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new UsageError(`${field} must be a positive integer${allowInfinity ? " or Infinity" : ""}, got ${String(v)}`);
  }
  return v;
}

function nonNegative(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new UsageError(`${field} must be a non-negative number, got ${String(v)}`);
  return v;
}

function nonEmptyString(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "") throw new UsageError(`${field} must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates workflow options and fills defaults; throws {@link UsageError} naming the bad field. @internal */
export function compileWorkflowOptions<I>(name: string, options: WorkflowOptions<I> | undefined): CompiledWorkflowOptions<I> {
  const o = options ?? {};
  if (typeof o !== "object") throw new UsageError(`workflow "${name}": options must be an object`);
  const w = `workflow "${name}": options`;
  rejectUnknownKeys(o, ["queue", "maxConcurrency", "maxAttempts", "retry", "cron", "triggers", "onFailure", "input"], w);
  const queue = o.queue === undefined ? "default" : nonEmptyString(o.queue, `${w}.queue`);
  const maxConcurrency = o.maxConcurrency === undefined ? 1 : positiveInt(o.maxConcurrency, `${w}.maxConcurrency`, true);
  const maxAttempts = o.maxAttempts === undefined ? 3 : positiveInt(o.maxAttempts, `${w}.maxAttempts`);
  const r = o.retry ?? {};
  if (typeof r !== "object" || r === null) throw new UsageError(`${w}.retry must be an object { backoffMs?, maxBackoffMs?, factor? }`);
  rejectUnknownKeys(r, ["backoffMs", "maxBackoffMs", "factor"], `${w}.retry`);
  const retry = {
    backoffMs: r.backoffMs === undefined ? 1000 : nonNegative(r.backoffMs, `${w}.retry.backoffMs`),
    maxBackoffMs: r.maxBackoffMs === undefined ? 60_000 : nonNegative(r.maxBackoffMs, `${w}.retry.maxBackoffMs`),
    factor: r.factor === undefined ? 2 : nonNegative(r.factor, `${w}.retry.factor`),
  };
  if (o.cron !== undefined && !Array.isArray(o.cron)) throw new UsageError(`${w}.cron must be an array`);
  const ids = new Set<string>();
  const cron = (o.cron ?? []).map((c, i) => {
    const where = `${w}.cron[${i}]`;
    if (typeof c !== "object" || c === null) throw new UsageError(`${where} must be an object { expression, id?, timezone?, input? }`);
    rejectUnknownKeys(c, ["id", "expression", "timezone", "input"], where);
    const id = c.id === undefined ? `cron${i}` : nonEmptyString(c.id, `${where}.id`);
    if (ids.has(id)) throw new UsageError(`${where}.id "${id}" is used twice`);
    ids.add(id);
    const timezone = c.timezone === undefined ? undefined : nonEmptyString(c.timezone, `${where}.timezone`);
    validateCron(c.expression, timezone, where);
    return { id, expression: c.expression, timezone, input: c.input };
  });
  if (o.triggers !== undefined && !Array.isArray(o.triggers)) throw new UsageError(`${w}.triggers must be an array`);
  const triggers = (o.triggers ?? []).map((t, i) => {
    if (typeof t !== "object" || t === null) throw new UsageError(`${w}.triggers[${i}] must be an object { event }`);
    rejectUnknownKeys(t, ["event"], `${w}.triggers[${i}]`);
    return { event: nonEmptyString(t.event, `${w}.triggers[${i}].event`) };
  });
  if (o.onFailure !== undefined && typeof o.onFailure !== "function") throw new UsageError(`${w}.onFailure must be a function`);
  if (o.input !== undefined && !isStandardSchema(o.input)) {
    throw new UsageError(`${w}.input must be a Standard Schema validator (zod, valibot, arktype...)`);
  }
  return { queue, maxConcurrency, maxAttempts, retry, cron, triggers, onFailure: o.onFailure, input: o.input };
}

const REGISTRY_KEY = Symbol.for("durun.durable.registry");

/** The process-wide registry, shared by every copy of this module. @internal */
export function workflowRegistry(): Map<string, WorkflowDefinition<unknown, unknown>> {
  const g = globalThis as { [REGISTRY_KEY]?: Map<string, WorkflowDefinition<unknown, unknown>> };
  return (g[REGISTRY_KEY] ??= new Map());
}

/** The definition registered under `name` in this process, if any. @internal */
export function getRegisteredWorkflow(name: string): WorkflowDefinition<unknown, unknown> | undefined {
  return workflowRegistry().get(name);
}

/**
 * Defines a durable workflow and registers it in this process (a later definition with the same
 * name replaces the earlier one). The input type comes from the `input` schema when given, else
 * from the handler's annotation; the output type from the handler's return value.
 *
 * @example
 * const welcome = defineWorkflow("send-welcome", { maxAttempts: 3 }, async (ctx: WorkflowContext<{ userId: string }>) => {
 *   const user = await ctx.step.run("fetch-user", () => fetchUser(ctx.input.userId));
 *   await ctx.step.run("send", () => send(user.email), { timeoutMs: 4000 });
 *   return { sent: true };
 * });
 */
export function defineWorkflow<S extends StandardSchemaV1, O>(
  name: string,
  options: WorkflowOptions<StandardSchemaV1.InferOutput<S>> & { input: S },
  handler: WorkflowHandler<StandardSchemaV1.InferOutput<S>, O>,
): WorkflowDefinition<StandardSchemaV1.InferOutput<S>, Awaited<O>>;
export function defineWorkflow<I = unknown, O = unknown>(
  name: string,
  options: WorkflowOptions<I>,
  handler: WorkflowHandler<I, O>,
): WorkflowDefinition<I, Awaited<O>>;
export function defineWorkflow<I, O>(name: string, options: WorkflowOptions<I>, handler: WorkflowHandler<I, O>): WorkflowDefinition<I, Awaited<O>> {
  nonEmptyString(name, "defineWorkflow: name");
  if (typeof handler !== "function") throw new UsageError(`workflow "${name}": handler must be a function`);
  const def: WorkflowDefinition<I, Awaited<O>> = {
    name,
    options: compileWorkflowOptions(name, options),
    handler: handler as WorkflowHandler<I, Awaited<O>>,
  };
  workflowRegistry().set(name, def as WorkflowDefinition<unknown, unknown>);
  return def;
}

/** Delay before attempt `attempt + 1` after attempt `attempt` failed. @internal */
export function backoffDelay(retry: Required<RetryOptions>, attempt: number): number {
  const d = retry.backoffMs * Math.pow(retry.factor, Math.max(0, attempt - 1));
  return Math.min(retry.maxBackoffMs, Math.round(d));
}
