/**
 * The inline executor: runs a task body on the scheduler's own event loop. The cheapest way to
 * run a call; right for I/O-bound bodies and small CPU work.
 */
import type { Executor, ExecutorCall } from "./executor.js";

/**
 * Runs bodies in the calling thread.
 *
 * @example
 * new InlineExecutor().run({ task, args: [1, 2], encodedArgs: undefined });
 */
export class InlineExecutor implements Executor {
  run(call: ExecutorCall): unknown {
    return (call.task.definition.fn as (...args: readonly unknown[]) => unknown)(...call.args);
  }

  async close(): Promise<void> {}
}
