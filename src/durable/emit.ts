/**
 * Emitting a run, shared by the client, the worker (child runs, cron ticks) and nothing else:
 * validate the input (when the workflow is defined in this process), encode it, run the emit
 * script. Nothing is written when validation or encoding fails.
 * @internal
 */
import { UsageError } from "../errors.js";
import { getRegisteredWorkflow } from "./define.js";
import { newId } from "./ids.js";
import { encodePayload } from "./payload.js";
import { EMIT_CODE, checkEmitCode } from "./redis/codes.js";
import type { RedisStore } from "./redis/store.js";
import { validateInput } from "./schema.js";

/** @internal */
export interface EmitArgs {
  workflow: string | { readonly name: string };
  input: unknown;
  idempotencyKey?: string | undefined;
  idempotencyTtlMs: number;
  runAt?: Date | undefined;
  queue?: string | undefined;
  parentRunId?: string | undefined;
  /** Skip (create nothing) when this many runs of the workflow are running (cron). */
  skipIfAtLimit?: number;
}

/** @internal */
export interface EmitResult {
  id: string;
  /** false: an existing run was returned for the idempotency key, or the emit was skipped. */
  created: boolean;
  skipped: boolean;
}

/** Emits a run; throws UnknownWorkflowError, InputValidationError or SerializationError with nothing written. */
export async function emitRun(store: RedisStore, a: EmitArgs): Promise<EmitResult> {
  const name = typeof a.workflow === "string" ? a.workflow : a.workflow?.name;
  if (typeof name !== "string" || name === "") throw new UsageError(`emitWorkflow: the workflow name must be a non-empty string`);
  if (a.idempotencyKey !== undefined && (typeof a.idempotencyKey !== "string" || a.idempotencyKey === "")) {
    throw new UsageError(`emitWorkflow: options.idempotencyKey must be a non-empty string`);
  }
  if (a.queue !== undefined && (typeof a.queue !== "string" || a.queue === "")) throw new UsageError(`emitWorkflow: options.queue must be a non-empty string`);
  let runAt = 0;
  if (a.runAt !== undefined) {
    const at: unknown = a.runAt;
    if (!(at instanceof Date) || !Number.isFinite(at.getTime())) {
      const got = at instanceof Date ? "an invalid Date" : typeof at === "number" ? `the number ${at}` : `a ${typeof at}`;
      throw new UsageError(`emitWorkflow: options.runAt must be a valid Date (e.g. new Date(Date.now() + 5000) for a 5 s delay), got ${got}`);
    }
    runAt = at.getTime();
  }
  const def = getRegisteredWorkflow(name);
  const input = def ? await validateInput(def.options.input, a.input, name) : a.input;
  const encoded = encodePayload(input, `input of workflow "${name}"`);
  const now = Date.now();
  const r = await store.emit({
    id: newId(),
    workflow: name,
    queue: a.queue ?? def?.options.queue ?? "",
    maxAttempts: def?.options.maxAttempts ?? "",
    input: encoded,
    parentRunId: a.parentRunId ?? "",
    idempotencyKey: a.idempotencyKey ?? "",
    idempotencyTtlMs: Math.max(1, Math.round(a.idempotencyTtlMs)),
    now,
    runAt: runAt > now ? runAt : 0,
    skipIfAtLimit: a.skipIfAtLimit ?? 0,
  });
  checkEmitCode(r.code, name);
  return { id: r.id, created: r.code === EMIT_CODE.created, skipped: r.code === EMIT_CODE.skipped };
}
