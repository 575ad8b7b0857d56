import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { task } from "../../src/tasks/task.js";
import { makeScheduler, ns, ran } from "./helpers.js";

describe("scheduler: options are checked", () => {
  it("run(expr, options) rejects non-boolean flags and unknown fields, naming the field and the known ones, before running anything", async () => {
    const namespace = ns();
    let runs = 0;
    const t = task("t", (x: number) => {
      runs++;
      return x;
    }, { namespace });
    const { scheduler, events } = makeScheduler();
    const fail = (options: unknown): Promise<unknown> => scheduler.run(t(1), options as never).catch((e: unknown) => e);

    const dry = await fail({ dryrun: "yes" });
    expect(dry).toBeInstanceOf(UsageError);
    expect((dry as Error).message).toBe('scheduler.run(expr, options): "dryrun" must be a boolean (got "yes")');
    expect(((await fail({ cache: 0 })) as Error).message).toBe('scheduler.run(expr, options): "cache" must be a boolean (got 0)');
    const typo = await fail({ cach: false });
    expect(typo).toBeInstanceOf(UsageError);
    expect((typo as Error).message).toBe('scheduler.run(expr, options): "cach" must be one of the known options (cache, dryrun, description); "cach" is unknown');
    expect(((await fail({ description: 5 })) as Error).message).toMatch(/"description" must be a string/);
    expect(runs).toBe(0);
    expect(ran(events)).toEqual([]);

    // Valid options (and undefined ones) still run.
    expect(await scheduler.run(t(1), { cache: undefined, dryrun: false, description: "ok" })).toBe(1);
    expect(runs).toBe(1);
  });

  it("new Scheduler checks executor configs: a threads size of 0, a bad size, unknown fields", () => {
    const make = (executors: unknown) => () => new Scheduler({ db: ":memory:", executors: executors as never });
    expect(make({ threads: { type: "threads", size: 0 } })).toThrow(UsageError);
    expect(make({ threads: { type: "threads", size: 0 } })).toThrow('new Scheduler(options): "executors.threads.size" must be an integer >= 1 (got 0)');
    expect(make({ threads: { type: "threads", size: 1.5 } })).toThrow(/"executors\.threads\.size" must be an integer >= 1 \(got 1\.5\)/);
    expect(make({ pool: { type: "threads", sise: 2 } })).toThrow(
      'new Scheduler(options): "executors.pool.sise" must be one of the known fields of a threads executor (type, size); "sise" is unknown',
    );
    expect(make({ r: { type: "redis" } })).toThrow(/"executors\.r\.url" must be a string/);
  });
});
