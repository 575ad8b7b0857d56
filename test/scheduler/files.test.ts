import { writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { task } from "../../src/tasks/task.js";
import { File } from "../../src/values/file.js";
import { makeScheduler, ns, ran, tempDir } from "./helpers.js";

describe("scheduler: files", () => {
  it("re-runs a reader when its input file's content changes, and only then", async () => {
    const namespace = ns();
    const dir = tempDir();
    const path = join(dir, "in.txt");
    writeFileSync(path, "one two");
    const count = task("count", async (f: File) => (await f.read()).split(" ").length, { namespace });
    const { scheduler, events } = makeScheduler();

    expect(await scheduler.run(count(new File(path)))).toBe(2);
    events.length = 0;
    expect(await scheduler.run(count(new File(path)))).toBe(2);
    expect(ran(events)).toEqual([]);

    writeFileSync(path, "one two three");
    events.length = 0;
    expect(await scheduler.run(count(new File(path)))).toBe(3);
    expect(ran(events)).toEqual(["count"]);
  });

  it("re-runs a producer whose output file was changed or deleted", async () => {
    const namespace = ns();
    const dir = tempDir();
    const out = join(dir, "out.txt");
    let produced = 0;
    const produce = task("produce", async (text: string, path: string) => {
      produced++;
      const f = new File(path);
      await f.write(text.toUpperCase());
      return f;
    }, { namespace });
    const read = task("read", (f: File) => f.read(), { namespace });
    const main = task("main", (text: string, path: string) => read(produce(text, path)), { namespace });
    const { scheduler, events } = makeScheduler();

    expect(await scheduler.run(main("hi", out))).toBe("HI");
    expect(await scheduler.run(main("hi", out))).toBe("HI");
    expect(produced).toBe(1);

    writeFileSync(out, "tampered");
    events.length = 0;
    expect(await scheduler.run(main("hi", out))).toBe("HI");
    expect(produced).toBe(2);
    expect(ran(events)).toContain("produce");

    rmSync(out);
    expect(await scheduler.run(main("hi", out))).toBe("HI");
    expect(produced).toBe(3);
  });
});
