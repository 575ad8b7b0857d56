/**
 * Executors: where a task body runs. The scheduler hands an executor one call at a time (its
 * resolved task and decoded arguments) and awaits the result; an executor knows nothing about
 * caching or provenance.
 *
 * Terminology:
 * - *inline*: the body runs on the scheduler's event loop (the default).
 * - *threads*: the body runs in a worker thread of a pool; the task's module is imported there
 *   and arguments and results cross as encoded values.
 */
import type { ResolvedTask } from "../tasks/task-handle.js";

/** One body invocation. */
export interface ExecutorCall {
  readonly task: ResolvedTask;
  /** Decoded argument values (bound arguments included). */
  readonly args: readonly unknown[];
  /** The arguments' canonical encoding, when the scheduler already made it. */
  readonly encodedArgs: string | undefined;
}

/**
 * Runs task bodies.
 *
 * @example
 * const result = await executor.run({ task, args: [1, 2], encodedArgs: undefined });
 */
export interface Executor {
  /** Runs the body; returns its value (or a promise of it). Throws what the body threw. */
  run(call: ExecutorCall): unknown;
  /** Releases threads or connections. */
  close(): Promise<void>;
}

/** Configuration of the inline executor. */
export interface InlineExecutorConfig {
  readonly type: "inline";
}

/** Configuration of the worker-thread executor. */
export interface ThreadsExecutorConfig {
  readonly type: "threads";
  /** Number of worker threads. @default the number of CPUs (at most 8) */
  readonly size?: number;
}

/** Configuration of the Redis executor (not available yet). */
export interface RedisExecutorConfig {
  readonly type: "redis";
  readonly url: string;
}

/** A named executor's configuration (`SchedulerOptions.executors`). */
export type ExecutorConfig = InlineExecutorConfig | ThreadsExecutorConfig | RedisExecutorConfig;
