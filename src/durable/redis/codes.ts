/**
 * Return codes of the Lua scripts and the one function that turns them into errors.
 * @internal
 */
import { CanceledError, DurunError, UnknownWorkflowError } from "../../errors.js";

/** Codes shared by the scripts that change a run held under a lease. */
export const CODE = {
  ok: 1,
  retryScheduled: 2,
  notParked: 0,
  leaseLost: -1,
  canceled: -2,
  notFound: -3,
} as const;

/** Codes of the emit script. */
export const EMIT_CODE = {
  created: 1,
  existing: 0,
  unknownWorkflow: -1,
  skipped: -2,
} as const;

/** The worker no longer holds a run's lease (it expired and the run went back to its queue). @internal */
export class LeaseLostError extends DurunError {
  readonly runId: string;
  constructor(runId: string) {
    super(`run ${runId}: the lease was lost (it expired and the run was handed to another worker)`, { code: "LEASE_LOST" });
    this.runId = runId;
  }
}

/** The run was canceled while this worker held it (a script answered "canceled"). @internal */
export class RunCanceledError extends CanceledError {
  readonly runId: string;
  constructor(runId: string) {
    super(`run ${runId} was canceled`);
    this.name = "CanceledError";
    this.runId = runId;
  }
}

/** Throws the error a failed transition code stands for; returns the code otherwise. */
export function checkCode(code: number, runId: string, what: string): number {
  if (code === CODE.leaseLost) throw new LeaseLostError(runId);
  if (code === CODE.canceled) throw new RunCanceledError(runId);
  if (code === CODE.notFound) throw new DurunError(`${what}: run ${runId} does not exist`, { code: "NOT_FOUND" });
  return code;
}

/** Throws for the emit codes that are errors. */
export function checkEmitCode(code: number, workflow: string): void {
  if (code === EMIT_CODE.unknownWorkflow) throw new UnknownWorkflowError(workflow);
}
