/**
 * The run-time shape of a task object, as the scheduler and executors see it (internal).
 * Kept apart from `task.ts` so expressions can refer to it without an import cycle.
 */
import type { CompiledTaskOptions, TaskDefinition, TASK_BRAND } from "./registry.js";

/** What a task object carries besides being callable. */
export interface TaskHandle {
  readonly [TASK_BRAND]: true;
  /** `namespace.name`, or `name`. */
  readonly fullName: string;
  /** The definition captured when the task object was made (used if the registry lost it). */
  readonly definition: TaskDefinition;
  /** Options set with `t.options(...)` on this copy. */
  readonly overrides: Readonly<Partial<CompiledTaskOptions>>;
  /** Leading arguments bound with `t.partial(...)`. */
  readonly boundArgs: readonly unknown[];
}

/** A task as evaluated: the definition registered now, with this copy's overrides applied. */
export interface ResolvedTask {
  readonly fullName: string;
  readonly definition: TaskDefinition;
  readonly options: CompiledTaskOptions;
  /** The task hash used in cache keys (source based, or version based). */
  readonly hash: string;
}
