/**
 * A worker process dies (SIGKILL) in the middle of a run: its lease expires, the reaper of
 * another worker process puts the run back on its queue, and that worker finishes it.
 * Steps that completed before the crash are not executed again; the step that was running
 * when the process died runs again (at-least-once).
 */
import { describe, it, expect } from "vitest";
import { createClient, type Client } from "./api.js";
import { waitFor } from "../helpers/deadline.js";
import { startWorkerProcess, testKey, uniquePrefix, useRedisSuite } from "./helpers.js";

const env = useRedisSuite();

async function finished(client: Client, id: string): Promise<NonNullable<Awaited<ReturnType<Client["getRun"]>>>> {
  return waitFor(
    `run ${id} to finish`,
    async () => {
      const run = await client.getRun(id);
      return run && ["succeeded", "failed", "canceled"].includes(run.status) ? run : undefined;
    },
    20_000,
    50,
  );
}

describe("crash recovery across worker processes", () => {
  it("SIGKILL after step A completed: another worker finishes the run and A is not called again", async () => {
    const prefix = uniquePrefix("crash-after-a");
    const k = (n: string) => testKey(prefix, n);
    const opts = { url: env.server.url, prefix, workflows: ["crash-after-a"], leaseMs: 1000, reaperIntervalMs: 200 };
    const first = await startWorkerProcess(opts);
    const client = createClient({ url: env.server.url, prefix });
    env.clients.push(client);

    const handle = await client.emitWorkflow("crash-after-a", {});
    // Step B is running in the first process: A is recorded.
    await waitFor("step b to start in the first worker", async () => (await env.redis.lrange(k("b-entered"), 0, -1)).includes(String(first.pid)));
    const before = await client.getRunSteps(handle.id);
    expect(before.find((s) => s.name === "a")?.status).toBe("succeeded");
    // B, whose body waits, is listed as running
    await waitFor("step b listed as running", async () => (await client.getRunSteps(handle.id)).find((s) => s.name === "b")?.status === "running");
    expect(await env.redis.get(k("a-calls"))).toBe("1");

    await first.kill();
    await env.redis.set(k("go"), "1");
    const second = await startWorkerProcess(opts);

    const run = await finished(client, handle.id);
    expect(run.status, `run ended ${run.status}: ${JSON.stringify(run.error)}`).toBe("succeeded");
    const output = run.output as { a: number; b: number; finishedBy: number };
    expect(output.finishedBy).toBe(second.pid);
    expect(output.a).toBe(1); // the stored result of A, not a second call
    expect(await env.redis.get(k("a-calls"))).toBe("1");
    expect(await env.redis.get(k("b-calls"))).toBe("2"); // B was interrupted, so it ran again
    expect(run.attempt).toBeGreaterThanOrEqual(1);

    const steps = await client.getRunSteps(handle.id);
    expect(steps.map((s) => s.name)).toEqual(["a", "b"]);
    expect(steps.every((s) => s.status === "succeeded")).toBe(true);
    expect(await handle.result({ timeoutMs: 5000 })).toEqual(output);

    // the dead worker's maxConcurrency slot (the default limit is 1) was freed: the next run goes through
    const next = await client.emitWorkflow("crash-after-a", {});
    expect(await next.result({ timeoutMs: 5000 })).toMatchObject({ a: 2, finishedBy: second.pid });
  });

  it("SIGKILL inside step A: A runs again on the other worker and the run still succeeds", async () => {
    const prefix = uniquePrefix("crash-in-a");
    const k = (n: string) => testKey(prefix, n);
    const opts = { url: env.server.url, prefix, workflows: ["crash-in-a"], leaseMs: 1000, reaperIntervalMs: 200 };
    const first = await startWorkerProcess(opts);
    const client = createClient({ url: env.server.url, prefix });
    env.clients.push(client);

    const handle = await client.emitWorkflow("crash-in-a", {});
    await waitFor("step a to start in the first worker", async () => (await env.redis.lrange(k("a-entered"), 0, -1)).includes(String(first.pid)));
    await first.kill();
    await env.redis.set(k("go"), "1");
    const second = await startWorkerProcess(opts);

    const run = await finished(client, handle.id);
    expect(run.status, `run ended ${run.status}: ${JSON.stringify(run.error)}`).toBe("succeeded");
    expect(await env.redis.get(k("a-calls"))).toBe("2");
    expect(await env.redis.get(k("b-calls"))).toBe("1");
    expect(run.output).toEqual({ a: 2, b: 1, finishedBy: second.pid });
  });

  it("a worker started before the crash takes over (both processes alive, one killed)", async () => {
    const prefix = uniquePrefix("takeover");
    const k = (n: string) => testKey(prefix, n);
    const opts = { url: env.server.url, prefix, workflows: ["crash-after-a"], leaseMs: 1000, reaperIntervalMs: 200 };
    const [w1, w2] = await Promise.all([startWorkerProcess(opts), startWorkerProcess(opts)]);
    const client = createClient({ url: env.server.url, prefix });
    env.clients.push(client);

    const handle = await client.emitWorkflow("crash-after-a", {});
    const holder = await waitFor("step b to start in one worker", async () => (await env.redis.lrange(k("b-entered"), 0, -1))[0]);
    const [victim, survivor] = Number(holder) === w1.pid ? [w1, w2] : [w2, w1];
    await victim.kill();
    await env.redis.set(k("go"), "1");

    const started = Date.now();
    const run = await finished(client, handle.id);
    expect(run.status).toBe("succeeded");
    expect((run.output as { finishedBy: number }).finishedBy).toBe(survivor.pid);
    expect(await env.redis.get(k("a-calls"))).toBe("1");
    // lease 1000 ms + reaper 200 ms: the takeover should not take much longer than the lease
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it("a healthy step that runs for several leases keeps its run (renewals): no takeover, one execution", async () => {
    const prefix = uniquePrefix("long");
    const k = (n: string) => testKey(prefix, n);
    const opts = { url: env.server.url, prefix, workflows: ["long-step"], leaseMs: 1000, reaperIntervalMs: 100 };
    await Promise.all([startWorkerProcess(opts), startWorkerProcess(opts)]);
    const client = createClient({ url: env.server.url, prefix });
    env.clients.push(client);
    const handle = await client.emitWorkflow("long-step", {});
    const out = (await handle.result({ timeoutMs: 15_000 })) as { stepBy: number; finishedBy: number };
    expect(out.finishedBy).toBe(out.stepBy);
    expect(await env.redis.get(k("long-calls"))).toBe("1");
    expect((await client.getRun(handle.id))?.attempt).toBe(1);
  });

  it("a worker whose event loop is blocked past its lease loses the run: the other worker finishes it, the stale one records nothing", async () => {
    const prefix = uniquePrefix("hog");
    const k = (n: string) => testKey(prefix, n);
    const opts = { url: env.server.url, prefix, workflows: ["hog"], leaseMs: 1000, reaperIntervalMs: 200, env: { FIX_HOG_MS: "3000" } };
    const [w1, w2] = await Promise.all([startWorkerProcess(opts), startWorkerProcess(opts)]);
    const client = createClient({ url: env.server.url, prefix });
    env.clients.push(client);
    const handle = await client.emitWorkflow("hog", {});
    const hogPid = Number(await waitFor("step hog to start", async () => (await env.redis.lrange(k("hog-entered"), 0, -1))[0]));
    const [stale, other] = hogPid === w1.pid ? [w1, w2] : [w2, w1];

    const run = await finished(client, handle.id);
    expect(run.status).toBe("succeeded");
    expect(run.output).toEqual({ hogBy: other.pid, finishedBy: other.pid });
    // the stale worker wakes up after the takeover, finds its lease gone and drops the run
    await stale.waitForLine(`event end ${handle.id} hog lost`, 10_000);
    expect(await env.redis.lrange(k("after-by"), 0, -1)).toEqual([String(other.pid)]);
    expect(await env.redis.get(k("hog-calls"))).toBe("2");
    const again = await client.getRun(handle.id);
    expect(again?.status).toBe("succeeded");
    expect(again?.output).toEqual({ hogBy: other.pid, finishedBy: other.pid });
    const steps = await client.getRunSteps(handle.id);
    expect(steps.find((s) => s.name === "hog")?.output).toEqual({ n: 2, pid: other.pid });
  });
});
