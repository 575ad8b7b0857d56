import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/deadline.js";
import { startRedisServer, type RedisServerHandle } from "../helpers/redis-server.js";
import { createClient, defineWorkflow, startWorker, type WorkflowContext } from "./api.js";
import { newPrefix } from "./setup.js";

const echo = defineWorkflow("reconnect-echo", { maxConcurrency: Infinity }, async (ctx: WorkflowContext<string>) => ctx.step.run("echo", () => ctx.input));

describe("durable: Redis going away and coming back", () => {
  let redis: RedisServerHandle;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it("a worker and a client reconnect after a Redis restart and go on (metadata is published again)", async () => {
    const prefix = newPrefix();
    const worker = await startWorker({ app: "rc", url: redis.url, prefix, reaperIntervalMs: 50, blmoveTimeoutSec: 0.2 });
    const client = createClient({ url: redis.url, prefix });
    try {
      expect(await (await client.emitWorkflow(echo, "before")).result({ timeoutMs: 10_000 })).toBe("before");
      await redis.restart(); // no persistence: everything is gone
      await waitFor("the metadata to be published again", async () => (await client.getWorkflowMeta("reconnect-echo").catch(() => undefined))?.app === "rc", 15_000);
      const h = await client.emitWorkflow("reconnect-echo", "after");
      expect(await h.result({ timeoutMs: 10_000 })).toBe("after");
    } finally {
      await worker.stop();
      await client.close();
    }
  });
});
