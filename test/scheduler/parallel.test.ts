import { describe, expect, it } from "vitest";
import { task } from "../../src/tasks/task.js";
import { waitFor } from "../helpers/deadline.js";
import { makeScheduler, ns } from "./helpers.js";

/** A barrier: each of `n` parties waits until all `n` have arrived (or the deadline passes). */
function barrier(n: number, timeoutMs = 10_000) {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return {
    get arrived() {
      return arrived;
    },
    async arrive(): Promise<void> {
      arrived++;
      if (arrived === n) open();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`barrier: only ${arrived} of ${n} started within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([opened, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Counts bodies running at once. */
function gauge() {
  let now = 0;
  let max = 0;
  const releases: Array<() => void> = [];
  return {
    get max() {
      return max;
    },
    get now() {
      return now;
    },
    releases,
    async enter(): Promise<void> {
      now++;
      max = Math.max(max, now);
      await new Promise<void>((r) => releases.push(r));
      now--;
    },
  };
}

describe("scheduler: parallelism and limits", () => {
  it("runs independent calls concurrently (a barrier that would deadlock if they ran one by one)", async () => {
    const namespace = ns();
    const N = 8;
    const b = barrier(N);
    const party = task("party", async (i: number) => {
      await b.arrive();
      return i;
    }, { namespace });
    const main = task("main", (n: number) => Array.from({ length: n }, (_, i) => party(i)), { namespace });
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(main(N))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(b.arrived).toBe(N);
  });

  it("honours maxConcurrency", async () => {
    const namespace = ns();
    const g = gauge();
    const work = task("work", async (i: number) => {
      await g.enter();
      return i;
    }, { namespace });
    const { scheduler } = makeScheduler({ maxConcurrency: 3 });
    const run = scheduler.run(Array.from({ length: 10 }, (_, i) => work(i)));
    let released = 0;
    while (released < 10) {
      await waitFor("a body waiting", () => g.releases.length > 0);
      expect(g.now).toBeLessThanOrEqual(3);
      // let everything that can start, start, before releasing one
      await new Promise((r) => setImmediate(r));
      g.releases.shift()!();
      released++;
    }
    expect(await run).toHaveLength(10);
    expect(g.max).toBe(3);
    expect(scheduler.peakConcurrency).toBe(3);
  });

  it("honours named resource limits", async () => {
    const namespace = ns();
    const g = gauge();
    const other = gauge();
    const db = task("db", async (i: number) => {
      await g.enter();
      return i;
    }, { namespace, limits: { db: 1 } });
    const free = task("free", async (i: number) => {
      await other.enter();
      return i;
    }, { namespace });
    const { scheduler } = makeScheduler({ limits: { db: 2 } });
    const run = scheduler.run([...[0, 1, 2, 3, 4].map((i) => db(i)), ...[0, 1, 2].map((i) => free(i))]);
    await waitFor("three unlimited bodies running", () => other.now === 3);
    for (let released = 0; released < 5; released++) {
      await waitFor("a db body waiting", () => g.releases.length > 0);
      await new Promise((r) => setImmediate(r));
      expect(g.now).toBeLessThanOrEqual(2);
      g.releases.shift()!();
    }
    for (const r of other.releases.splice(0)) r();
    expect(await run).toEqual([0, 1, 2, 3, 4, 0, 1, 2]);
    expect(g.max).toBe(2);
    expect(other.max).toBe(3);
  });

  it("refuses a task that needs more of a resource than the scheduler has", async () => {
    const namespace = ns();
    const big = task("big", () => 1, { namespace, limits: { gpu: 4 } });
    const { scheduler } = makeScheduler({ limits: { gpu: 2 } });
    await expect(scheduler.run(big())).rejects.toThrow(/needs 4 of "gpu" but the scheduler's limits allow 2/);
  });
});
