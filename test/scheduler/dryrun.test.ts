import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DryRunError } from "../../src/errors.js";
import { task } from "../../src/tasks/task.js";
import { File } from "../../src/values/file.js";
import { makeScheduler, ns, tempDir } from "./helpers.js";

describe("scheduler: dryrun", () => {
  it("names the first call that would run and why, runs nothing, and resolves once everything is cached", async () => {
    const namespace = ns();
    let bodies = 0;
    const inc = task("inc", (x: number) => {
      bodies++;
      return x + 1;
    }, { namespace });
    const main = task("main", (x: number) => inc(x), { namespace });
    const { scheduler } = makeScheduler();

    const err = (await scheduler.run(main(1), { dryrun: true }).catch((e: unknown) => e)) as DryRunError;
    expect(err).toBeInstanceOf(DryRunError);
    expect(err.taskName).toBe(`${namespace}.main`);
    expect(err.reason).toBe("no cache entry for these arguments");
    expect(err.message).toContain(`task "${namespace}.main" would run`);
    expect(bodies).toBe(0);
    expect(await scheduler.db.listExecutions()).toEqual([]);

    expect(await scheduler.run(main(1))).toBe(2);
    expect(await scheduler.run(main(1), { dryrun: true })).toBe(2);

    task("inc", (x: number) => {
      bodies++;
      return x + 2;
    }, { namespace });
    const changed = (await scheduler.run(main(1), { dryrun: true }).catch((e: unknown) => e)) as DryRunError;
    expect(changed.taskName).toBe(`${namespace}.inc`);
    expect(changed.reason).toMatch(/^task changed/);
    expect(bodies).toBe(1);
  });

  it("says when an input or output file changed", async () => {
    const namespace = ns();
    const dir = tempDir();
    const input = join(dir, "in.txt");
    writeFileSync(input, "a");
    const read = task("read", (f: File) => f.read(), { namespace });
    const write = task("write", async (path: string) => {
      const f = new File(path);
      await f.write("out");
      return f;
    }, { namespace });
    const { scheduler } = makeScheduler();
    await scheduler.run([read(new File(input)), write(join(dir, "out.txt"))]);

    writeFileSync(input, "b");
    const e1 = (await scheduler.run(read(new File(input)), { dryrun: true }).catch((e: unknown) => e)) as DryRunError;
    expect(e1.reason).toContain("input files");
    expect(e1.reason).toContain("in.txt");

    writeFileSync(join(dir, "out.txt"), "changed");
    const e2 = (await scheduler.run(write(join(dir, "out.txt")), { dryrun: true }).catch((e: unknown) => e)) as DryRunError;
    expect(e2.reason).toMatch(/^file changed/);
    expect(e2.reason).toContain("out.txt");
  });
});
