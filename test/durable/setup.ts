/**
 * Shared setup of the durable functional tests: one private redis-server per test file, a random
 * key prefix per test, and a tracker that stops every worker and closes every client.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll } from "vitest";
import { createClient, startWorker, type Client, type Worker, type WorkerOptions } from "./api.js";
import { startRedisServer, type RedisServerHandle } from "../helpers/redis-server.js";

export interface Env {
  redis: RedisServerHandle;
  url: string;
  /** A fresh prefix for the current test. */
  prefix: string;
  client(): Client;
  worker(options?: Partial<WorkerOptions>): Promise<Worker>;
}

/** Call at the top of a test file. */
export function useDurableEnv(): Env {
  const opened: Array<{ stop?: () => Promise<void>; close?: () => Promise<void> }> = [];
  const env = {
    prefix: "",
    url: "",
  } as Env;
  beforeAll(async () => {
    env.redis = await startRedisServer();
    env.url = env.redis.url;
  });
  afterAll(async () => {
    await env.redis?.stop();
  });
  const { beforeEach } = globalThis as unknown as { beforeEach?: unknown };
  void beforeEach;
  afterEach(async () => {
    const list = opened.splice(0);
    await Promise.all(list.map((o) => (o.stop ? o.stop() : o.close?.())));
    env.prefix = newPrefix();
  });
  env.prefix = newPrefix();
  env.client = () => {
    const c = createClient({ url: env.url, prefix: env.prefix });
    opened.push(c);
    return c;
  };
  env.worker = async (options = {}) => {
    const w = await startWorker({ app: "test", url: env.url, prefix: env.prefix, leaseMs: 2000, reaperIntervalMs: 50, blmoveTimeoutSec: 0.2, shutdownTimeoutMs: 2000, ...options });
    opened.push(w);
    return w;
  };
  return env;
}

export function newPrefix(): string {
  return `t${randomBytes(5).toString("hex")}`;
}
