import { describe, it, expect } from "vitest";
import { Redis } from "ioredis";
import { startRedisServer } from "./redis-server.js";

describe("startRedisServer", () => {
  it("starts a private server that answers and is gone after stop", async () => {
    const srv = await startRedisServer();
    const r = new Redis(srv.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await r.connect();
    expect(await r.ping()).toBe("PONG");
    r.disconnect();
    await srv.stop();
    const r2 = new Redis(srv.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const errors: Error[] = [];
    r2.on("error", (e: Error) => errors.push(e));
    await expect(r2.connect()).rejects.toThrow();
    r2.disconnect();
    expect(errors.map((e) => e.message).join()).toMatch(/ECONNREFUSED/);
  });
});
