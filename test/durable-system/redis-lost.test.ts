/**
 * Redis goes away AFTER the client and the worker connected. Client calls must fail with a clear
 * ConnectionError within a bounded time (like a Redis that was never reachable), and a worker
 * process must still stop on SIGTERM (it has nothing to hand back that it could reach anyway).
 */
import { describe, it, expect, afterEach } from "vitest";
import { ConnectionError, createClient, type Client } from "./api.js";
import { startRedisServer, type RedisServerHandle } from "../helpers/redis-server.js";
import { killAllChildren, startWorkerProcess, uniquePrefix } from "./helpers.js";

const BOUND_MS = 15_000;
const servers: RedisServerHandle[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await killAllChildren();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function server(): Promise<RedisServerHandle> {
  const s = await startRedisServer();
  servers.push(s);
  return s;
}

async function failure(p: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const t0 = Date.now();
  const error = await p.then(
    () => new Error("resolved although Redis is down"),
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - t0 };
}

describe("Redis lost after connecting", () => {
  it("client calls reject with ConnectionError within a bounded time, every time", { timeout: 3 * BOUND_MS + 10_000 }, async () => {
    const srv = await server();
    const client = createClient({ url: srv.url, prefix: "lost", connectTimeoutMs: 2000 });
    clients.push(client);
    await client.getStats(); // connected
    await srv.kill(); // and gone for good
    for (const call of [() => client.emitWorkflow("anything", {}), () => client.getRun("some-id"), () => client.listRuns({ limit: 1 })] as Array<() => Promise<unknown>>) {
      const r = await failure(call());
      expect(r.error, `got ${(r.error as Error)?.name}: ${(r.error as Error)?.message}`).toBeInstanceOf(ConnectionError);
      expect(r.ms).toBeLessThan(BOUND_MS);
    }
  });

  it("a worker process stops on SIGTERM while Redis is down", async () => {
    const srv = await server();
    const worker = await startWorkerProcess({ url: srv.url, prefix: uniquePrefix("lost-worker"), workflows: ["idem"] });
    await srv.kill();
    await new Promise((r) => setTimeout(r, 500)); // the worker notices and starts reconnecting
    const t0 = Date.now();
    const exit = await worker.signal("SIGTERM", BOUND_MS); // SIGKILL after BOUND_MS
    expect(exit, `worker.stop() did not return within ${BOUND_MS} ms of SIGTERM\n${worker.output()}`).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(BOUND_MS);
  });
});
