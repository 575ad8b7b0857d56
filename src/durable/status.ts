/**
 * Status values of durable runs and steps.
 *
 * Terminology:
 * - a **run** is one execution of a workflow for one input; it may take several **attempts**;
 * - a **step** is a named, memoised unit inside a run (`ctx.step.*`); a step recorded as
 *   succeeded is never executed again for that run;
 * - a run **parks** (status `scheduled`) while it sleeps, waits for an event or for a child
 *   run, and between retry attempts: it holds no worker slot then.
 */

/** The statuses a run goes through. `scheduled`: waiting for a time, an event or a child run. */
export const RUN_STATUS = {
  scheduled: "scheduled",
  queued: "queued",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  canceled: "canceled",
} as const;

/** A run status: `"scheduled" | "queued" | "running" | "succeeded" | "failed" | "canceled"`. */
export type RunStatus = (typeof RUN_STATUS)[keyof typeof RUN_STATUS];

/** Every run status, in lifecycle order. */
export const RUN_STATUSES: readonly RunStatus[] = Object.values(RUN_STATUS);

/** True for the statuses a run never leaves. */
export function isTerminalStatus(status: string): boolean {
  return status === RUN_STATUS.succeeded || status === RUN_STATUS.failed || status === RUN_STATUS.canceled;
}

/**
 * The statuses of a recorded step. `running`: its body is running (recorded once it has run past
 * the event-loop turn it started in; a step that finishes within that turn is only recorded when
 * it ends); `waiting`: a sleep, event wait or child wait in progress; `canceled`: it was running
 * or waiting when the run was canceled.
 */
export const STEP_STATUS = {
  running: "running",
  waiting: "waiting",
  succeeded: "succeeded",
  failed: "failed",
  canceled: "canceled",
} as const;

/** A step status: `"running" | "waiting" | "succeeded" | "failed" | "canceled"`. */
export type StepStatus = (typeof STEP_STATUS)[keyof typeof STEP_STATUS];
