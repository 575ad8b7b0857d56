/**
 * The records a run keeps about calls in progress (internal to the scheduler): frames, outcomes,
 * call state, and small helpers around them.
 */
import { TaskError, ensureError } from "../errors.js";
import type { ResolvedTask } from "../tasks/task-handle.js";
import type { ReachedTask } from "../store/store.js";

/** A call whose result is being evaluated (the root frame has no call). */
export interface Frame {
  readonly callId: string | null;
  readonly taskName: string | null;
  readonly parent: Frame | null;
  /** `name\0hash` → pair. */
  readonly reached: Map<string, ReachedTask>;
  readonly childHashes: string[];
}

/** What a finished call hands the frames that use it. */
export interface Outcome {
  readonly value: unknown;
  readonly callId: string;
  readonly callHash: string;
  readonly reached: ReadonlyMap<string, ReachedTask>;
}

/** A call being made (internal). */
export interface CallState {
  readonly callId: string;
  readonly rt: ResolvedTask;
  readonly args: readonly unknown[];
  readonly argTexts: readonly string[];
  readonly argHashes: readonly string[];
  readonly argsHash: string;
  readonly upstream: (string | undefined)[] | undefined;
  readonly parent: Frame;
  readonly startedAt: number;
  /** Output files of a reused result that changed (why the call runs again). */
  staleFiles: string[] | undefined;
}

/** A body's result and how many attempts it took. */
export interface Executed {
  readonly result: unknown;
  readonly attempts: number;
}

/** A value and the call that produced it. */
export interface Evaluated {
  readonly value: unknown;
  /** The call that produced the value, if one call did. */
  readonly callId: string | undefined;
}

/** A new frame below `parent`. */
export function newFrame(callId: string | null, taskName: string | null, parent: Frame | null): Frame {
  return { callId, taskName, parent, reached: new Map(), childHashes: [] };
}

/** Task names from the root down to `frame` (for error messages). */
export function chainOf(frame: Frame | null): string[] {
  const out: string[] = [];
  for (let f = frame; f !== null; f = f.parent) if (f.taskName !== null) out.push(f.taskName);
  return out.reverse();
}

/** `name: message` of any thrown value. */
export function errorText(e: unknown): string {
  const err = ensureError(e);
  return `${err.name}: ${err.message}`;
}

/** Levels of nested arguments resolved on one stack before continuing in a microtask. */
export const MAX_SYNC_DEPTH = 200;

const leafReached = new WeakMap<ResolvedTask, ReadonlyMap<string, ReachedTask>>();

/**
 * How a call of `rt` appears in the reached set of the calls above it. A call made with
 * `cache: false` (in its options, which the task hash does not cover) is marked, with a key of
 * its own, so the final results above it are never reused whole.
 */
export function reachedEntry(rt: ResolvedTask): readonly [string, ReachedTask] {
  return rt.options.cache ? [`${rt.fullName}\0${rt.hash}`, [rt.fullName, rt.hash]] : [`${rt.fullName}\0${rt.hash}\0u`, [rt.fullName, rt.hash, 0]];
}

/** The reached set of a call that reached no task but its own (shared, so leaf calls keep none). */
export function onlyItself(rt: ResolvedTask): ReadonlyMap<string, ReachedTask> {
  let m = leafReached.get(rt);
  if (m === undefined) {
    m = new Map([reachedEntry(rt)]);
    leafReached.set(rt, m);
  }
  return m;
}

/** The original error of a failure (unwrapping the TaskError a failing call is reported with). */
export function originalError(e: unknown): unknown {
  return e instanceof TaskError && e.cause !== undefined ? e.cause : e;
}

