/**
 * The threads executor: runs task bodies in a pool of worker threads (piscina), for CPU-heavy
 * bodies. The worker imports the module where the task was defined (recorded by `task()`),
 * so a task must be defined at the top level of a module, not inside a function or a test body.
 * Arguments and results cross as encoded values; errors come back with name, message and stack.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Piscina } from "piscina";
import { UsageError } from "../errors.js";
import { decodeValue, encodeInOrder } from "../values/codec.js";
import type { Executor, ExecutorCall, ThreadsExecutorConfig } from "./executor.js";
import type { ThreadJob, ThreadReply } from "./thread-protocol.js";

/** The worker entry: the compiled `.js` next to this file, or a bootstrap that loads the `.ts` through tsx. */
function workerFilename(): { filename: string; tempDir: string | undefined } {
  const self = import.meta.url;
  if (self.endsWith(".js")) return { filename: new URL("./thread-worker.js", self).href, tempDir: undefined };
  const workerUrl = new URL("./thread-worker.ts", self).href;
  let tsxApi: string;
  try {
    tsxApi = import.meta.resolve("tsx/esm/api");
  } catch {
    tsxApi = pathToFileURL(join(process.cwd(), "node_modules/tsx/dist/esm/api/index.mjs")).href;
  }
  const dir = mkdtempSync(join(tmpdir(), "durun-threads-"));
  const file = join(dir, "bootstrap.mjs");
  writeFileSync(
    file,
    [
      `import { register } from ${JSON.stringify(tsxApi)};`,
      `globalThis[Symbol.for("durun.tsxRegistered")] = true;`,
      `register();`,
      `const mod = await import(${JSON.stringify(workerUrl)});`,
      `export default mod.default;`,
      "",
    ].join("\n"),
  );
  return { filename: pathToFileURL(file).href, tempDir: dir };
}

/** Rebuilds an error that crossed from a worker thread. */
function reviveError(e: { name: string; message: string; stack: string | undefined }): Error {
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

/**
 * Runs bodies in worker threads.
 *
 * @example
 * const ex = new ThreadsExecutor({ type: "threads", size: 4 });
 * await ex.close();
 */
export class ThreadsExecutor implements Executor {
  readonly #pool: Piscina<ThreadJob, ThreadReply>;
  readonly #tempDir: string | undefined;
  /** Thread id of the worker that ran the last call (for tests and diagnostics). */
  lastThreadId: number | undefined;

  constructor(config: ThreadsExecutorConfig) {
    const size = config.size ?? Math.min(8, availableParallelism());
    if (!Number.isInteger(size) || size < 1) throw new UsageError(`threads executor: "size" must be an integer >= 1, got ${String(config.size)}`);
    const { filename, tempDir } = workerFilename();
    this.#tempDir = tempDir;
    this.#pool = new Piscina<ThreadJob, ThreadReply>({ filename, maxThreads: size, minThreads: 0, idleTimeout: 5_000 });
  }

  async run(call: ExecutorCall): Promise<unknown> {
    const def = call.task.definition;
    if (def.moduleUrl === undefined) {
      throw new UsageError(`task "${def.fullName}" cannot run on the threads executor: the module that defines it is unknown`);
    }
    const reply = await this.#pool.run({
      moduleUrl: def.moduleUrl,
      fullName: def.fullName,
      args: call.encodedArgs ?? encodeInOrder(call.args, { root: "args" }).text,
    });
    if (!reply.ok) throw reviveError(reply.error);
    this.lastThreadId = reply.threadId;
    return decodeValue(reply.result);
  }

  async close(): Promise<void> {
    try {
      await this.#pool.destroy();
    } finally {
      if (this.#tempDir !== undefined) rmSync(this.#tempDir, { recursive: true, force: true });
    }
  }
}
