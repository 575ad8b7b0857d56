/** Test helpers: a scheduler on a fresh SQLite file in a temp dir, and unique task namespaces. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { Scheduler, type SchedulerOptions, type SchedulerEvent } from "../../src/scheduler/scheduler.js";

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A fresh temp directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "durun-test-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A scheduler on `<tempdir>/durun.db`, closed after the test; collects its events. */
export function makeScheduler(options: SchedulerOptions = {}, dbPath?: string): { scheduler: Scheduler; events: SchedulerEvent[]; db: string } {
  const db = dbPath ?? join(tempDir(), "durun.db");
  const events: SchedulerEvent[] = [];
  const scheduler = new Scheduler({ db, onEvent: (e) => events.push(e), ...options });
  cleanups.push(() => scheduler.close());
  return { scheduler, events, db };
}

let counter = 0;
/** A namespace unique to this test (the task registry is shared by the whole process). */
export function ns(): string {
  counter++;
  return `t${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Names of the calls that ran their body (event "running"), in order. */
export function ran(events: readonly SchedulerEvent[]): string[] {
  return events.filter((e) => e.type === "running").map((e) => e.taskName.replace(/^[^.]*\./, ""));
}

/** Names of the calls that were reused (event "cached"). */
export function cached(events: readonly SchedulerEvent[]): string[] {
  return events.filter((e) => e.type === "cached").map((e) => e.taskName.replace(/^[^.]*\./, ""));
}
