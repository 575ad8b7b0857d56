/**
 * `durun run` end to end: results, cache hits on the second run, code and data changes
 * re-running only what they affect.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { callRows, countBy, executionIdOf, makeProject, type Project } from "./helpers.js";

let p: Project;
beforeAll(() => {
  p = makeProject();
});
afterAll(() => p.remove());

describe("durun run examples/hello.ts", () => {
  it("prints the result and the execution id", async () => {
    const r = await p.durun(["run", "examples/hello.ts", "main", "--name", "world", "--db", p.db]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("HELLO, WORLD!\n");
    expect(executionIdOf(r)).toMatch(/^\w+/);
    expect(existsSync(p.db)).toBe(true);
  });

  it("serves the second run from the cache", async () => {
    const r = await p.durun(["run", "examples/hello.ts", "main", "--name", "world", "--db", p.db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("HELLO, WORLD!\n");
    const log = await p.durun(["log", executionIdOf(r), "--db", p.db]);
    expect(log.code).toBe(0);
    const rows = callRows(log.stdout);
    expect(rows.map((x) => x.task).sort()).toEqual(["greeting", "main", "shout"]);
    expect(rows.every((x) => x.status === "cached")).toBe(true);
  });

  it("accepts positional arguments and runs new arguments afresh", async () => {
    const r = await p.durun(["run", "examples/hello.ts", "main", "there", "--db", p.db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("HELLO, THERE!\n");
    const rows = callRows((await p.durun(["log", executionIdOf(r), "--db", p.db])).stdout);
    expect(rows.every((x) => x.status === "done")).toBe(true);
  });

  it("--no-cache executes every call again", async () => {
    const r = await p.durun(["run", "examples/hello.ts", "main", "--name", "world", "--no-cache", "--db", p.db]);
    expect(r.code).toBe(0);
    const rows = callRows((await p.durun(["log", executionIdOf(r), "--db", p.db])).stdout);
    expect(rows.every((x) => x.status === "done")).toBe(true);
  });

  it("--dryrun reports work to do without doing it, and the cached result otherwise", async () => {
    const todo = await p.durun(["run", "examples/hello.ts", "main", "--name", "dry", "--dryrun", "--db", p.db]);
    expect(todo.code).toBe(1);
    expect(todo.stderr).toMatch(/dry run: .*main/);
    expect(todo.stdout).toBe("");
    const cached = await p.durun(["run", "examples/hello.ts", "main", "--name", "world", "--dryrun", "--db", p.db]);
    expect(cached.code).toBe(0);
    expect(cached.stdout).toBe("HELLO, WORLD!\n");
  });

  it("re-runs only the task whose body changed, and reverting restores the cache hits", async () => {
    const file = join(p.dir, "examples", "hello-edit.ts");
    const original = readFileSync(join(p.dir, "examples", "hello.ts"), "utf8");
    writeFileSync(file, original);
    const first = await p.durun(["run", "examples/hello-edit.ts", "main", "--name", "edit", "--db", p.db]);
    expect(first.code).toBe(0);
    const edited = original.replace("text.toUpperCase()", "text.toUpperCase() + '!!'");
    expect(edited).not.toBe(original);
    writeFileSync(file, edited);
    const second = await p.durun(["run", "examples/hello-edit.ts", "main", "--name", "edit", "--db", p.db]);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe("HELLO, EDIT!!!\n");
    const rows = countBy(callRows((await p.durun(["log", executionIdOf(second), "--db", p.db])).stdout));
    expect(rows).toEqual({ "main:cached": 1, "greeting:cached": 1, "shout:done": 1 });
    writeFileSync(file, original);
    const third = await p.durun(["run", "examples/hello-edit.ts", "main", "--name", "edit", "--db", p.db]);
    expect(third.stdout).toBe("HELLO, EDIT!\n");
    const rows3 = callRows((await p.durun(["log", executionIdOf(third), "--db", p.db])).stdout);
    expect(rows3.every((x) => x.status === "cached")).toBe(true);
  });

  it("takes the database from DURUN_DB when --db is not given", async () => {
    const envDb = join(p.dir, "env", "env.db");
    const r = await p.durun(["run", "examples/hello.ts", "main", "--name", "env"], { env: { DURUN_DB: envDb } });
    expect(r.code).toBe(0);
    expect(existsSync(envDb)).toBe(true);
    expect(existsSync(join(p.dir, ".durun"))).toBe(false);
  });
});

describe("durun run examples/wordcount.ts", () => {
  const args = () => ["run", "examples/wordcount.ts", "main", "--data-dir", join(p.dir, "examples", "data"), "--out-dir", join(p.dir, "out"), "--db", p.db];

  it("counts the words of every file and writes one output per file", async () => {
    const r = await p.durun(args());
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/total: 34/);
    expect(r.stdout).toMatch(/'alpha.txt': 12/);
    expect(readFileSync(join(p.dir, "out", "alpha.txt.count"), "utf8")).toBe("12\n");
    expect(existsSync(join(p.dir, "out", "gamma.txt.count"))).toBe(true);
  });

  it("reuses every count on the second run", async () => {
    const r = await p.durun(args());
    expect(r.code).toBe(0);
    const rows = countBy(callRows((await p.durun(["log", executionIdOf(r), "--db", p.db])).stdout));
    expect(rows["countWords:cached"]).toBe(3);
    expect(rows["countWords:done"]).toBeUndefined();
    expect(rows["merge:cached"]).toBe(1);
  });

  it("re-runs only the count of the input file that changed", async () => {
    writeFileSync(join(p.dir, "examples", "data", "beta.txt"), "just four words here\n");
    const r = await p.durun(args());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/total: 23/);
    const rows = countBy(callRows((await p.durun(["log", executionIdOf(r), "--db", p.db])).stdout));
    expect(rows["countWords:done"]).toBe(1);
    expect(rows["countWords:cached"]).toBe(2);
    expect(rows["merge:done"]).toBe(1);
    expect(readFileSync(join(p.dir, "out", "beta.txt.count"), "utf8")).toBe("4\n");
  });

  it("re-creates a deleted output file by re-running its producer only", async () => {
    rmSync(join(p.dir, "out", "gamma.txt.count"));
    const r = await p.durun(args());
    expect(r.code).toBe(0);
    expect(readFileSync(join(p.dir, "out", "gamma.txt.count"), "utf8")).toBe("7\n");
    const rows = countBy(callRows((await p.durun(["log", executionIdOf(r), "--db", p.db])).stdout));
    expect(rows["countWords:done"]).toBe(1);
    expect(rows["countWords:cached"]).toBe(2);
  });
});

describe("durun run examples/control-flow.ts", () => {
  it("evaluates cond, seq, map and catchError", async () => {
    const r = await p.durun(["run", "examples/control-flow.ts", "main", "--n", "7", "--db", p.db]);
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/parity: '7 is odd'/);
    expect(r.stdout).toMatch(/sumOfSquares: 63/);
    expect(r.stdout).toMatch(/safeDivision: 'recovered from: cannot divide 7 by zero'/);
    expect(r.stdout).toMatch(/fetch at .*parse at .*report at/s);
    const rows = countBy(callRows((await p.durun(["log", executionIdOf(r), "--db", p.db])).stdout));
    expect(rows["describe:done"]).toBe(1);
    expect(rows["square:done"]).toBe(4);
  });
});
