import { threadId } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { TaskError } from "../../src/errors.js";
import { makeScheduler } from "../scheduler/helpers.js";
import { combine, explode, whereAmI } from "./fixtures/thread-tasks.js";

describe("threads executor", () => {
  it("records the module a task was defined in", () => {
    expect(whereAmI.definition.moduleUrl).toMatch(/test\/executors\/fixtures\/thread-tasks\.ts$/);
  });

  it("runs a body in another thread and caches its result", async () => {
    const { scheduler, events } = makeScheduler({ executors: { threads: { type: "threads", size: 2 } } });
    const r = await scheduler.run(whereAmI(1000));
    expect(r.threadId).not.toBe(threadId);
    expect(r.acc).toBeGreaterThan(0);
    expect(await scheduler.run(combine([whereAmI(10), whereAmI(20)]))).toEqual([285, 2470]);
    events.length = 0;
    expect(await scheduler.run(whereAmI(1000))).toEqual(r);
    expect(events.map((e) => e.type)).toEqual(["pending", "cached"]);
  });

  it("keeps the key order of a result that comes back from a thread, fresh and cached", async () => {
    const { scheduler, db } = makeScheduler({ executors: { threads: { type: "threads", size: 1 } } });
    expect(Object.keys(await scheduler.run(whereAmI(7)))).toEqual(["threadId", "acc"]);
    const again = makeScheduler({ executors: { threads: { type: "threads", size: 1 } } }, db).scheduler;
    expect(Object.keys(await again.run(whereAmI(7)))).toEqual(["threadId", "acc"]);
  });

  it("brings errors back with name, message and stack", async () => {
    const { scheduler } = makeScheduler({ executors: { threads: { type: "threads", size: 1 } } });
    const err = (await scheduler.run(explode("too far")).catch((e: unknown) => e)) as TaskError;
    expect(err).toBeInstanceOf(TaskError);
    expect(err.message).toBe('task "threadtest.explode" failed: too far');
    const cause = err.cause as Error;
    expect(cause.name).toBe("RangeError");
    expect(cause.stack).toContain("thread-tasks.ts");
  });

  it("says when a task names an executor the scheduler does not have", async () => {
    const { scheduler } = makeScheduler();
    await expect(scheduler.run(whereAmI(1))).rejects.toThrow(/uses executor "threads", which the scheduler does not have/);
  });
});
