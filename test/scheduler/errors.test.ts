import { describe, expect, it } from "vitest";
import { SerializationError, TaskError } from "../../src/errors.js";
import { task } from "../../src/tasks/task.js";
import { makeScheduler, ns, ran } from "./helpers.js";

class Boom extends Error {
  override name = "Boom";
}

describe("scheduler: failures", () => {
  it("names the failing task and its chain of parents, keeping the original error as cause", async () => {
    const namespace = ns();
    const original = new Boom("disk full");
    const count = task("count", (_x: number): number => {
      throw original;
    }, { namespace });
    const process = task("process", (x: number) => count(x), { namespace });
    const main = task("main", (x: number) => process(x), { namespace });
    const { scheduler, events } = makeScheduler();

    const err = await scheduler.run(main(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    const te = err as TaskError;
    expect(te.message).toBe(`task "${namespace}.count" failed (called from ${namespace}.main > ${namespace}.process): disk full`);
    expect(te.taskName).toBe(`${namespace}.count`);
    expect(te.chain).toEqual([`${namespace}.main`, `${namespace}.process`]);
    expect(te.cause).toBe(original);
    expect(events.filter((e) => e.type === "failed").map((e) => e.taskName.split(".")[1])).toEqual(["count", "process", "main"]);

    const calls = (await scheduler.db.getCallGraph(scheduler.lastExecutionId!)).calls;
    expect(calls.map((c) => c.status)).toEqual(["failed", "failed", "failed"]);
    expect(calls.find((c) => c.taskName.endsWith("count"))?.error).toBe("Boom: disk full");
    const exec = await scheduler.db.getExecution(scheduler.lastExecutionId!);
    expect(exec?.status).toBe("failed");
  });

  it("never caches a failure: the next run runs the body again", async () => {
    const namespace = ns();
    let fail = true;
    let runs = 0;
    const flaky = task("flaky", (x: number) => {
      runs++;
      if (fail) throw new Error("not yet");
      return x;
    }, { namespace });
    const main = task("main", (x: number) => flaky(x), { namespace });
    const { scheduler, events } = makeScheduler();
    await expect(scheduler.run(main(1))).rejects.toThrow(/not yet/);
    await expect(scheduler.run(main(1))).rejects.toThrow(/not yet/);
    expect(runs).toBe(2);
    fail = false;
    events.length = 0;
    expect(await scheduler.run(main(1))).toBe(1);
    expect(runs).toBe(3);
    expect(ran(events)).toEqual(["main", "flaky"]); // main failed too (through flaky): not cached either
  });

  it("retries a failing body", async () => {
    const namespace = ns();
    let attempts = 0;
    const flaky = task("flaky", () => {
      attempts++;
      if (attempts < 3) throw new Error(`attempt ${attempts}`);
      return "ok";
    }, { namespace, retries: 2 });
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(flaky())).toBe("ok");
    expect(attempts).toBe(3);
    const [call] = (await scheduler.db.getCallGraph(scheduler.lastExecutionId!)).calls;
    expect(call?.attempts).toBe(3);

    let n = 0;
    const hopeless = task("hopeless", () => {
      n++;
      throw new Error(`attempt ${n}`);
    }, { namespace, retries: 1 });
    const err = (await scheduler.run(hopeless()).catch((e: unknown) => e)) as TaskError;
    expect(n).toBe(2);
    expect(err.attempt).toBe(2);
    expect((err.cause as Error).message).toBe("attempt 2");
  });

  it("fails with a clear error for a value that cannot be stored", async () => {
    const namespace = ns();
    const t = task("t", (f: () => number) => f(), { namespace });
    const { scheduler } = makeScheduler();
    await expect(scheduler.run(t(() => 1))).rejects.toThrow(/cannot store a function/);
  });
});

describe("scheduler: results that cannot be stored", () => {
  it("fails the call with a TaskError whose cause says what cannot be stored", async () => {
    const namespace = ns();
    const bad = task("bad", () => ({ callback: () => 1 }), { namespace });
    const { scheduler } = makeScheduler();
    const err = (await scheduler.run(bad()).catch((e: unknown) => e)) as TaskError;
    expect(err).toBeInstanceOf(TaskError);
    expect(err.message).toMatch(new RegExp(`^task "${namespace}.bad" failed: cannot store a function .*at result of ${namespace}.bad.callback`));
    const [call] = (await scheduler.db.getCallGraph(scheduler.lastExecutionId!)).calls;
    expect(call?.status).toBe("failed");
  });

  it("rejects a circular result with a TaskError whose cause is the SerializationError naming the cycle", async () => {
    const namespace = ns();
    const inc = task("inc", (x: number) => x + 1, { namespace });
    const plain = task("plain", () => {
      const o: Record<string, unknown> = { a: 1 };
      o["self"] = o;
      return o;
    }, { namespace });
    const lazy = task("lazy", (x: number) => {
      const o: Record<string, unknown> = { a: inc(x) };
      o["self"] = o;
      return o;
    }, { namespace });
    const { scheduler } = makeScheduler();
    for (const [name, expr] of [["plain", plain()], ["lazy", lazy(1)]] as const) {
      const err = (await scheduler.run(expr).catch((e: unknown) => e)) as TaskError;
      expect(err).toBeInstanceOf(TaskError);
      expect(err.taskName).toBe(`${namespace}.${name}`);
      expect(err.cause).toBeInstanceOf(SerializationError);
      expect(err.message).toMatch(new RegExp(`cannot store a cycle: cycle at result of ${namespace}\\.${name}\\S*\\.self,`));
    }
  });

  it("rejects a circular argument with the SerializationError naming the cycle", async () => {
    const namespace = ns();
    const inc = task("inc", (x: unknown) => x, { namespace });
    const { scheduler } = makeScheduler();
    const plain: Record<string, unknown> = { a: 1 };
    plain["self"] = plain;
    const err = await scheduler.run(inc(plain)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as Error).message).toBe(`cannot store a cycle: cycle at ${namespace}.inc argument 0.self, which refers back to ${namespace}.inc argument 0`);
    // With an expression inside, the cycle would be walked forever while resolving it.
    const lazy: Record<string, unknown> = { a: inc(1) };
    lazy["self"] = lazy;
    const err2 = await scheduler.run(inc(lazy)).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(SerializationError);
    expect((err2 as Error).message).toMatch(/cannot store a cycle: cycle at value\.self, which refers back to value$/);
  });

  it("evaluates plain values and structures without tasks", async () => {
    const { scheduler } = makeScheduler();
    expect(await scheduler.run(5)).toBe(5);
    expect(await scheduler.run({ a: [1, { b: 2 }] })).toEqual({ a: [1, { b: 2 }] });
    const exec = await scheduler.db.getExecution(scheduler.lastExecutionId!);
    expect(exec).toMatchObject({ taskName: "<value>", callCount: 0, rootCallId: null, status: "done" });
  });
});
