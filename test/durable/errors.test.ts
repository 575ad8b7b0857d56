import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { freePort } from "../helpers/redis-server.js";
import {
  ConnectionError,
  createClient,
  defineWorkflow,
  InputValidationError,
  SerializationError,
  startWorker,
  UnknownWorkflowError,
  UsageError,
  type WorkflowContext,
} from "./api.js";
import { useDurableEnv } from "./setup.js";

const validated = defineWorkflow(
  "err-validated",
  { input: z.object({ email: z.string().email(), count: z.number().int().default(1) }), maxConcurrency: Infinity },
  async (ctx) => {
    // inferred from the schema: ctx.input is { email: string; count: number }
    const n: number = ctx.input.count;
    return `${ctx.input.email} x${n}`;
  },
);

const badResult = defineWorkflow("err-bad-result", { maxConcurrency: Infinity, maxAttempts: 3, retry: { backoffMs: 10 } }, async (ctx) => {
  await ctx.step.run("returns-a-function", () => ({ cb: () => 1 }));
  return "unreachable";
});

const badOutput = defineWorkflow("err-bad-output", { maxConcurrency: Infinity, maxAttempts: 1 }, async () => Symbol("x"));

async function keyCount(url: string, prefix: string): Promise<number> {
  const r = new Redis(url);
  const keys = await r.keys(`{${prefix}}:*`);
  r.disconnect();
  return keys.filter((k) => !k.endsWith(":workflows") && !k.includes(":app:") && !k.includes(":triggers:")).length;
}

describe("durable: bad input gives clear errors and leaves nothing behind", () => {
  const env = useDurableEnv();

  it("an unknown workflow name → UnknownWorkflowError, nothing written", async () => {
    const client = env.client();
    const err = await client.emitWorkflow("no-such-workflow", {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownWorkflowError);
    expect((err as Error).message).toMatch(/no-such-workflow/);
    expect(await keyCount(env.url, env.prefix)).toBe(0);
  });

  it("a workflow published by a worker (not defined in the emitting process) can be emitted by name", async () => {
    await env.worker({ app: "publisher" });
    const client = env.client();
    const h = await client.emitWorkflow("err-validated", { email: "a@b.co" });
    expect(await h.result({ timeoutMs: 10_000 })).toBe("a@b.co x1");
  });

  it("input failing the schema → InputValidationError naming the field, nothing written", async () => {
    const client = env.client();
    const err = await client.emitWorkflow(validated, { email: "not-an-email", count: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputValidationError);
    expect((err as Error).message).toMatch(/email/);
    expect((err as InputValidationError).issues.length).toBeGreaterThan(0);
    expect(await keyCount(env.url, env.prefix)).toBe(0);
  });

  it("input that cannot be serialised → SerializationError, nothing written", async () => {
    const client = env.client();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [{ f: () => 1 }, cyclic, { s: Symbol("s") }]) {
      const err = await client.emitWorkflow("err-bad-output", bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SerializationError);
    }
    const evErr = await client.emitEvent("e", { f: () => 1 }).catch((e: unknown) => e);
    expect(evErr).toBeInstanceOf(SerializationError);
    expect(await keyCount(env.url, env.prefix)).toBe(0);
  });

  it("a step result that cannot be serialised fails the step and the run at once, with a clear error", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(badResult, undefined);
    const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as Error).message).toMatch(/step "returns-a-function"/);
    const run = await client.getRun(h.id);
    expect(run?.attempt).toBe(1);
    const steps = await client.getRunSteps(h.id);
    expect(steps[0]?.status).toBe("failed");
    expect(steps[0]?.error?.name).toBe("SerializationError");
  });

  it("an output that cannot be serialised fails the run", async () => {
    await env.worker();
    const client = env.client();
    const h = await client.emitWorkflow(badOutput, undefined);
    await expect(h.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(SerializationError);
  });

  it("input is validated again at run start (a run emitted by a process without the schema)", async () => {
    await env.worker();
    const client = env.client();
    const { workflowRegistry } = await import("../../src/durable/define.js");
    const def = workflowRegistry().get("err-validated")!;
    workflowRegistry().delete("err-validated");
    try {
      // emitted by name through the published metadata: no local schema to check against
      const h = await client.emitWorkflow("err-validated", { email: 42 });
      const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputValidationError);
      expect((await client.getRun(h.id))?.attempt).toBe(1);
    } finally {
      workflowRegistry().set("err-validated", def);
    }
  });

  it("an unreachable Redis → ConnectionError naming the URL within a bounded time", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const t0 = Date.now();
    const err = await startWorker({ app: "x", url, connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    const client = createClient({ url, connectTimeoutMs: 1000 });
    const err2 = await client.getRun("x").catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(ConnectionError);
    await client.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    // the errno and what to check, not ioredis's bare "Connection is closed."
    for (const e of [err, err2]) {
      expect((e as Error).message).toBe(`cannot connect to Redis at ${url} (ECONNREFUSED): is redis-server running there, and is the URL right?`);
    }
  });

  it("a Redis URL that is not redis://, rediss:// or unix: is refused at construction", async () => {
    for (const url of ["http://example.com", "localhost:6379", "redis:/x", "tcp://127.0.0.1:6379"]) {
      expect(() => createClient({ url }), url).toThrow(UsageError);
      expect(() => createClient({ url }), url).toThrow(
        /^createClient: options\.url must be a Redis URL: redis:\/\/host:port, rediss:\/\/host:port \(TLS\), unix:\/path\/to\/redis\.sock or, for a Redis Cluster, redis-cluster:\/\/host:port\[,host:port\.\.\.\] \(rediss-cluster:\/\/ for TLS\), got "/,
      );
      await expect(startWorker({ app: "x", url }), url).rejects.toThrow(/^startWorker: options\.url must be a Redis URL/);
    }
    expect(() => createClient({ url: "http://user:secret@example.com" })).toThrow(/got "http:\/\/user:\*\*\*@example\.com"/);
    expect(() => createClient({ url: "/tmp/redis.sock" })).toThrow(/options\.url "\/tmp\/redis\.sock" looks like a socket path: write it as "unix:\/tmp\/redis\.sock"/);
    for (const url of ["redis://127.0.0.1:6379", "rediss://h:6380/2", "redis://:pw@h", "unix:/tmp/redis.sock", "unix:///tmp/redis.sock"]) {
      expect(() => createClient({ url }), url).not.toThrow();
    }
  });

  it("Redis Cluster URLs: redis-cluster:// and rediss-cluster:// with seed nodes; bad forms are UsageErrors saying what is wrong", async () => {
    const good = [
      "redis-cluster://127.0.0.1:7000",
      "redis-cluster://10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002",
      "rediss-cluster://user:p%40ss@a.example.com:6380,b.example.com:6380/",
      "redis-cluster://:pw@h1,h2:7000/0",
      "REDIS-CLUSTER://[::1]:7000,[fe80::1]:7001",
    ];
    for (const url of good) expect(() => createClient({ url }), url).not.toThrow();
    const bad: Array<[string, RegExp]> = [
      ["redis-cluster://", /names no seed node/],
      ["redis-cluster:127.0.0.1:7000", /must start with redis-cluster:\/\/ or rediss-cluster:\/\//],
      ["redis-cluster://h1:7000,,h2:7001", /"" is not a seed node: expected host:port/],
      ["redis-cluster://h1:70000", /"h1:70000" is not a seed node/],
      ["redis-cluster://h1:x", /"h1:x" is not a seed node/],
      ["redis-cluster://h1:7000/2", /Redis Cluster has only database 0, got "\/2"/],
      ["redis-cluster://h1:7000?db=1", /query strings and fragments are not supported/],
      ["redis-cluster://user:%zz@h1:7000", /not valid percent-encoding/],
    ];
    for (const [url, why] of bad) {
      expect(() => createClient({ url }), url).toThrow(UsageError);
      expect(() => createClient({ url }), url).toThrow(/^createClient: options\.url is not a valid Redis Cluster URL: "/);
      expect(() => createClient({ url }), url).toThrow(why);
      await expect(startWorker({ app: "x", url }), url).rejects.toThrow(/^startWorker: options\.url is not a valid Redis Cluster URL/);
    }
    // the password is not shown
    expect(() => createClient({ url: "redis-cluster://u:secret@h1:x" })).toThrow(/"redis-cluster:\/\/u:\*\*\*@h1:x"/);
    // several hosts in a redis:// URL: the cluster form is named
    expect(() => createClient({ url: "redis://h1:7000,h2:7001" })).toThrow(/options\.url "redis:\/\/h1:7000,h2:7001" names several hosts: for a Redis Cluster write redis-cluster:\/\/host:port,host:port/);
    expect(() => createClient({ url: "rediss://:pw@h1,h2" })).toThrow(/"rediss:\/\/:\*\*\*@h1,h2" names several hosts: for a Redis Cluster write rediss-cluster:\/\//);
  });

  it("an unroutable Redis host is bounded by connectTimeoutMs too", async () => {
    const t0 = Date.now();
    const err = await startWorker({ app: "x", url: "redis://10.255.255.1:6379", connectTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("a malformed cron expression is an error at definition time", () => {
    expect(() => defineWorkflow("err-cron", { cron: [{ expression: "not a cron" }] }, async () => 1)).toThrow(UsageError);
    expect(() => defineWorkflow("err-cron", { cron: [{ expression: "61 * * * *" }] }, async () => 1)).toThrow(/cron\[0\]\.expression "61 \* \* \* \*" is malformed/);
    expect(() => defineWorkflow("err-cron", { cron: [{ expression: "* * * *" }] }, async () => 1)).toThrow(/expected 5 fields/);
    expect(() => defineWorkflow("err-cron", { cron: [{ expression: "* * * * *", timezone: "Mars/Olympus" }] }, async () => 1)).toThrow(UsageError);
    // a bad timezone is named as such, not reported as a malformed expression
    const tz = () => defineWorkflow("err-cron", { cron: [{ expression: "* * * * *" }, { expression: "0 9 * * *", timezone: "Mars/Base" }] }, async () => 1);
    expect(tz).toThrow('workflow "err-cron": options.cron[1].timezone "Mars/Base" is not a known IANA timezone (e.g. "UTC", "Europe/Paris")');
    expect(tz).not.toThrow(/malformed/);
    expect(() => defineWorkflow("err-cron-ok", { cron: [{ expression: "*/5 * * * * *", timezone: "Europe/Paris" }] }, async () => 1)).not.toThrow();
  });

  it("bad options name the field", () => {
    expect(() => defineWorkflow("err-opt", { maxConcurrency: 0 }, async () => 1)).toThrow(/maxConcurrency/);
    expect(() => defineWorkflow("err-opt", { maxAttempts: 1.5 }, async () => 1)).toThrow(/maxAttempts/);
    expect(() => defineWorkflow("err-opt", { queue: "" }, async () => 1)).toThrow(/queue/);
    expect(() => defineWorkflow("err-opt", { retry: { backoffMs: -1 } }, async () => 1)).toThrow(/retry\.backoffMs/);
    expect(() => defineWorkflow("err-opt", { triggers: [{ event: "" }] }, async () => 1)).toThrow(/triggers\[0\]\.event/);
    expect(() => defineWorkflow("err-opt", { input: {} as never }, async () => 1)).toThrow(/Standard Schema/);
    expect(() => createClient({ url: "" })).toThrow(/options\.url/);
    return expect(startWorker({ app: "a", url: env.url, concurrency: 0 })).rejects.toThrow(/options\.concurrency/);
  });

  it("a misspelled option is an error naming it (with the known ones), not silently ignored", async () => {
    const bad = <T>(o: T) => o as never;
    expect(() => defineWorkflow("err-typo", bad({ maxAttempt: 3 }), async () => 1)).toThrow(
      'workflow "err-typo": options.maxAttempt is not an option (did you mean maxAttempts?); known: queue, maxConcurrency, maxAttempts, retry, cron, triggers, onFailure, input',
    );
    expect(() => defineWorkflow("err-typo", bad({ retry: { backof: 10 } }), async () => 1)).toThrow(/options\.retry\.backof is not an option \(did you mean backoffMs\?\); known: backoffMs, maxBackoffMs, factor$/);
    expect(() => defineWorkflow("err-typo", bad({ retry: 5 }), async () => 1)).toThrow(/options\.retry must be an object/);
    expect(() => defineWorkflow("err-typo", bad({ cron: [{ expression: "* * * * *", tz: "UTC" }] }), async () => 1)).toThrow(/options\.cron\[0\]\.tz is not an option; known: id, expression, timezone, input$/);
    expect(() => defineWorkflow("err-typo", bad({ triggers: [{ event: "e", correlationKey: "k" }] }), async () => 1)).toThrow(/options\.triggers\[0\]\.correlationKey is not an option; known: event$/);
    expect(() => defineWorkflow("err-typo", bad({ triggers: ["e"] }), async () => 1)).toThrow(/options\.triggers\[0\] must be an object \{ event \}/);
    expect(() => createClient(bad({ url: env.url, prefx: "p" }))).toThrow(/^createClient: options\.prefx is not an option \(did you mean prefix\?\); known: url, prefix, idempotencyTtlMs, connectTimeoutMs$/);
    await expect(startWorker(bad({ app: "a", url: env.url, concurency: 3 }))).rejects.toThrow(/^startWorker: options\.concurency is not an option \(did you mean concurrency\?\); known: app, url, queues, concurrency, /);

    const client = env.client();
    // worst case: a misspelled idempotency key emitted a run with none; now nothing is written
    await expect(client.emitWorkflow("err-typo-emit", 1, bad({ idempotencykey: "x" }))).rejects.toThrow(
      "emitWorkflow: options.idempotencykey is not an option (did you mean idempotencyKey?); known: idempotencyKey, runAt, queue",
    );
    await expect(client.listRuns(bad({ limt: 5 }))).rejects.toThrow(/listRuns: options\.limt is not an option \(did you mean limit\?\)/);
    await expect(client.cancelRun("r", bad({ reson: "x" }))).rejects.toThrow(/cancelRun: options\.reson is not an option \(did you mean reason\?\)/);
    await expect(client.emitEvent("e", 1, bad({ correlationkey: "k" }))).rejects.toThrow(/emitEvent: options\.correlationkey is not an option \(did you mean correlationKey\?\)/);
    await expect(client.listEvents(bad({ nam: "e" }))).rejects.toThrow(/listEvents: options\.nam is not an option \(did you mean name\?\)/);

    // runAt is a Date: a number (e.g. a delay in ms) is refused, not taken as a 1970 timestamp
    await expect(client.emitWorkflow("err-typo-emit", 1, bad({ runAt: 5 }))).rejects.toThrow(
      "emitWorkflow: options.runAt must be a valid Date (e.g. new Date(Date.now() + 5000) for a 5 s delay), got the number 5",
    );
    await expect(client.emitWorkflow("err-typo-emit", 1, { runAt: new Date(Number.NaN) })).rejects.toThrow(/options\.runAt must be a valid Date .*, got an invalid Date$/);
    await expect(client.emitWorkflow("err-typo-emit", 1, bad({ runAt: "2030-01-01" }))).rejects.toThrow(/options\.runAt must be a valid Date .*, got a string$/);
    expect(await client.listRuns()).toEqual([]);
  });

  it("types: the handler input comes from the schema or the annotation", async () => {
    const typed = defineWorkflow("err-typed", {}, async (ctx: WorkflowContext<{ a: number }>) => ctx.input.a * 2);
    const client = env.client();
    // @ts-expect-error the input must be { a: number }
    const p = client.emitWorkflow(typed, { a: "x" }).catch(() => undefined);
    await p;
  });
});
