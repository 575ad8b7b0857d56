/**
 * The entry point of a worker thread of the threads executor: imports the module that defines a
 * task (registering tsx's ESM loader first when it is a TypeScript file), finds the task by full
 * name in the registry, runs it on the decoded arguments and returns the encoded result.
 */
import { threadId } from "node:worker_threads";
import { decodeValue, encodeInOrder } from "../values/codec.js";
import { registerTaskCodecs } from "../tasks/codecs.js";
import { lookupDefinition, registeredTaskNames } from "../tasks/registry.js";
import type { ThreadJob, ThreadReply } from "./thread-protocol.js";

registerTaskCodecs();

const TSX_KEY = Symbol.for("durun.tsxRegistered");
const imported = new Map<string, Promise<unknown>>();

async function ensureTsx(): Promise<void> {
  const g = globalThis as unknown as Record<symbol, boolean | undefined>;
  if (g[TSX_KEY]) return;
  g[TSX_KEY] = true;
  const api = (await import("tsx/esm/api")) as { register: () => unknown };
  api.register();
}

function load(moduleUrl: string): Promise<unknown> {
  let p = imported.get(moduleUrl);
  if (!p) {
    p = (async () => {
      if (/\.(c|m)?tsx?$/.test(moduleUrl)) await ensureTsx();
      return import(moduleUrl);
    })();
    imported.set(moduleUrl, p);
  }
  return p;
}

/** Runs one job (called by the pool). */
export default async function runJob(job: ThreadJob): Promise<ThreadReply> {
  try {
    await load(job.moduleUrl);
    const def = lookupDefinition(job.fullName);
    if (def === undefined) {
      throw new Error(
        `task "${job.fullName}" is not defined after importing ${job.moduleUrl} in a worker thread (defined there: ${registeredTaskNames().join(", ") || "none"})`,
      );
    }
    const args = decodeValue(job.args) as unknown[];
    const result = await (def.fn as (...a: unknown[]) => unknown)(...args);
    return { ok: true, result: encodeInOrder(result, { root: "result" }).text, threadId };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return { ok: false, error: { name: err.name, message: err.message, stack: err.stack } };
  }
}
