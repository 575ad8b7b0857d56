/**
 * Small helpers shared by the client and the worker.
 * @internal
 */
import type { WorkflowDefinition } from "./define.js";
import { RedisStore, type StoreConnectOptions } from "./redis/store.js";

/** Connects a store (ConnectionError naming the URL when Redis cannot be reached in time). */
export function connectStore(opts: StoreConnectOptions): Promise<RedisStore> {
  return RedisStore.connect(opts);
}

/** Workflow metadata as published in `{P}workflows` by a worker of `app`. */
export interface WorkflowMetaJson {
  name: string;
  app: string;
  queue: string;
  /** 0: no limit. */
  maxConcurrency: number;
  maxAttempts: number;
  retry: { backoffMs: number; maxBackoffMs: number; factor: number };
  cron: Array<{ id: string; expression: string; timezone?: string }>;
  triggers: Array<{ event: string }>;
  hasInputSchema: boolean;
  updatedAt: number;
}

/** The metadata JSON of a definition. */
export function workflowMetaJson(d: WorkflowDefinition<unknown, unknown>, app: string): string {
  const meta: WorkflowMetaJson = {
    name: d.name,
    app,
    queue: d.options.queue,
    maxConcurrency: Number.isFinite(d.options.maxConcurrency) ? d.options.maxConcurrency : 0,
    maxAttempts: d.options.maxAttempts,
    retry: d.options.retry,
    cron: d.options.cron.map((c) => ({ id: c.id, expression: c.expression, ...(c.timezone ? { timezone: c.timezone } : {}) })),
    triggers: d.options.triggers.map((t) => ({ event: t.event })),
    hasInputSchema: d.options.input !== undefined,
    updatedAt: Date.now(),
  };
  return JSON.stringify(meta);
}
