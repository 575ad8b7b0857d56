/**
 * An unreachable Redis is a clear ConnectionError within a bounded time, never a hang, and a
 * process that got that error can exit on its own (nothing keeps reconnecting in the background).
 */
import { describe, it, expect } from "vitest";
import { join } from "node:path";
import { ConnectionError, createClient, defineWorkflow, startWorker } from "./api.js";
import { freePort } from "../helpers/redis-server.js";
import { fixturesDir, spawnNode } from "./helpers.js";

const bound = 10_000;

async function timed<T>(p: Promise<T>): Promise<{ error: unknown; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
    return { error: undefined, ms: Date.now() - t0 };
  } catch (error) {
    return { error, ms: Date.now() - t0 };
  }
}

describe("unreachable Redis", () => {
  it("startWorker rejects with ConnectionError naming the address", async () => {
    const port = await freePort();
    defineWorkflow("unreachable-wf", {}, async () => 1);
    const r = await timed(startWorker({ app: "unreachable", url: `redis://127.0.0.1:${port}`, concurrency: 1 }));
    expect(r.error).toBeInstanceOf(ConnectionError);
    expect(String((r.error as Error).message)).toContain(String(port));
    expect(r.ms).toBeLessThan(bound);
  });

  it("client calls reject with ConnectionError", async () => {
    const port = await freePort();
    const client = createClient({ url: `redis://127.0.0.1:${port}` });
    try {
      for (const call of [() => client.emitWorkflow("unreachable-wf", {}), () => client.getStats(), () => client.listRuns({ limit: 1 })] as Array<() => Promise<unknown>>) {
        const r = await timed(call());
        expect(r.error).toBeInstanceOf(ConnectionError);
        expect(r.ms).toBeLessThan(bound);
      }
    } finally {
      await client.close();
    }
  });

  it("a process whose worker and client failed to connect exits by itself", async () => {
    const port = await freePort();
    const child = spawnNode(join(fixturesDir, "unreachable.ts"), [], { FIX_URL: `redis://127.0.0.1:${port}` });
    const timer = setTimeout(() => void child.kill(), 25_000);
    const exit = await child.exited;
    clearTimeout(timer);
    expect(exit.signal, `the process had to be killed: something kept it alive\n${child.output()}`).toBeNull();
    const result = JSON.parse(child.output().split("\n").find((l) => l.startsWith("{"))!) as { worker: string; client: string; workerMs: number; clientMs: number };
    expect(result.worker).toBe("ConnectionError");
    expect(result.client).toBe("ConnectionError");
    expect(result.workerMs).toBeLessThan(bound);
    expect(result.clientMs).toBeLessThan(bound);
  });
});
