/**
 * The one error hierarchy of durun.
 *
 * Every error thrown by durun extends {@link DurunError}, which carries a stable string `code`
 * (for programs) and the original error as `cause` (for people). Unknown throwables are turned
 * into `Error` instances in one place: {@link ensureError}.
 *
 * @example
 * try { await scheduler.run(main()); }
 * catch (e) { if (e instanceof TaskError) console.error(e.taskName, e.cause); }
 */
export class DurunError extends Error {
  /** A stable machine-readable code, e.g. `"TASK_FAILED"`. */
  readonly code: string;

  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? "DURUN_ERROR";
  }
}

/** A run or a step was canceled (see `client.cancelRun`). */
export class CanceledError extends DurunError {
  readonly reason: string | undefined;
  constructor(message = "canceled", options: { reason?: string; cause?: unknown } = {}) {
    super(message, { code: "CANCELED", cause: options.cause });
    this.reason = options.reason;
  }
}

/** An operation did not finish within its time limit. */
export class TimeoutError extends DurunError {
  readonly timeoutMs: number | undefined;
  constructor(message: string, options: { timeoutMs?: number; cause?: unknown } = {}) {
    super(message, { code: "TIMEOUT", cause: options.cause });
    this.timeoutMs = options.timeoutMs;
  }
}

/** Thrown by a workflow handler to fail the run now, with no further attempts. */
export class NonRetriableError extends DurunError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "NON_RETRIABLE", cause: options.cause });
  }
}

/** Input did not pass a workflow's Standard Schema validator. */
export class InputValidationError extends DurunError {
  readonly issues: ReadonlyArray<{ message: string; path?: ReadonlyArray<unknown> }>;
  constructor(
    message: string,
    options: { issues?: ReadonlyArray<{ message: string; path?: ReadonlyArray<unknown> }>; cause?: unknown } = {},
  ) {
    super(message, { code: "INPUT_VALIDATION", cause: options.cause });
    this.issues = options.issues ?? [];
  }
}

/** A workflow name that no worker or definition knows. */
export class UnknownWorkflowError extends DurunError {
  readonly workflow: string;
  constructor(workflow: string, message?: string) {
    super(message ?? `unknown workflow "${workflow}": define it with defineWorkflow() and import that module in the worker`, {
      code: "UNKNOWN_WORKFLOW",
    });
    this.workflow = workflow;
  }
}

/** A value that cannot be hashed or stored (a function that is not a task, a cycle, a symbol...). */
export class SerializationError extends DurunError {
  /** Where in the value the problem is, e.g. `args[1].callback`. */
  readonly path: string;
  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, { code: "SERIALIZATION", cause: options.cause });
    this.path = options.path ?? "";
  }
}

/** A task call failed. `cause` is the original error; `chain` names the parents, outermost first. */
export class TaskError extends DurunError {
  readonly taskName: string;
  readonly chain: readonly string[];
  readonly attempt: number;
  constructor(message: string, options: { taskName: string; chain?: readonly string[]; attempt?: number; cause?: unknown }) {
    super(message, { code: "TASK_FAILED", cause: options.cause });
    this.taskName = options.taskName;
    this.chain = options.chain ?? [];
    this.attempt = options.attempt ?? 1;
  }
}

/** `scheduler.run(expr, { dryrun: true })` found a call that would execute. */
export class DryRunError extends DurunError {
  readonly taskName: string;
  readonly reason: string;
  constructor(message: string, options: { taskName: string; reason: string }) {
    super(message, { code: "DRYRUN" });
    this.taskName = options.taskName;
    this.reason = options.reason;
  }
}

/** The cache/provenance store cannot be opened or used (bad path, corrupt file, wrong URL). */
export class StoreError extends DurunError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "STORE", cause: options.cause });
  }
}

/** Redis could not be reached, or went away for longer than allowed. */
export class ConnectionError extends DurunError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "CONNECTION", cause: options.cause });
  }
}

/** Wrong usage of the API or the CLI: a bad option, an unknown task, a malformed argument. */
export class UsageError extends DurunError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: "USAGE", cause: options.cause });
  }
}

/** Turns any thrown value into an Error (strings, plain objects, null...). */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === "string") return new Error(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return new Error(`non-error thrown: ${text}`);
}
