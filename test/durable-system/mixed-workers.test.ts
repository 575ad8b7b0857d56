/**
 * Workers of different apps share one queue but define different workflows: each run is
 * executed by a process that defines its workflow (the others put it back), and each app's
 * metadata is kept apart.
 */
import { describe, it, expect } from "vitest";
import { createClient } from "./api.js";
import { startWorkerProcess, testKey, uniquePrefix, useRedisSuite } from "./helpers.js";

const env = useRedisSuite();

describe("workers that define different workflows on one queue", () => {
  it("every run is executed by a process that defines its workflow", async () => {
    const prefix = uniquePrefix("mixed");
    const k = (n: string) => testKey(prefix, n);
    const base = { url: env.server.url, prefix, concurrency: 4, blmoveTimeoutSec: 0.2 };
    const a = await startWorkerProcess({ ...base, app: "app-a", workflows: ["only-a"] });
    const b = await startWorkerProcess({ ...base, app: "app-b", workflows: ["only-b"] });
    const client = createClient({ url: env.server.url, prefix });
    env.clients.push(client);

    const handles = await Promise.all(Array.from({ length: 20 }, (_, i) => client.emitWorkflow(i % 2 ? "only-b" : "only-a", {})));
    const outs = await Promise.all(handles.map((h) => h.result({ timeoutMs: 20_000 })));
    outs.forEach((pid, i) => expect(pid).toBe(i % 2 ? b.pid : a.pid));
    expect(await env.redis.llen(k("only-a-by"))).toBe(10);
    expect(await env.redis.llen(k("only-b-by"))).toBe(10);

    const metas = await client.listWorkflows();
    const byName = Object.fromEntries(metas.map((m) => [m.name, m.app]));
    expect(byName).toMatchObject({ "only-a": "app-a", "only-b": "app-b" });
  });

  it("an app that restarts without a workflow removes that workflow's metadata, not the other app's", async () => {
    const prefix = uniquePrefix("registry");
    const base = { url: env.server.url, prefix };
    const a1 = await startWorkerProcess({ ...base, app: "app-a", workflows: ["only-a", "idem"] });
    await startWorkerProcess({ ...base, app: "app-b", workflows: ["only-b"] });
    const client = createClient({ url: env.server.url, prefix });
    env.clients.push(client);
    expect((await client.listWorkflows()).map((m) => m.name).sort()).toEqual(["idem", "only-a", "only-b"]);

    await a1.signal("SIGTERM");
    await startWorkerProcess({ ...base, app: "app-a", workflows: ["only-a"] }); // "idem" was removed from the code
    expect((await client.listWorkflows()).map((m) => m.name).sort()).toEqual(["only-a", "only-b"]);
    expect(await client.getWorkflowMeta("idem")).toBeUndefined();
    expect((await client.getWorkflowMeta("only-b"))?.app).toBe("app-b");
  });
});
