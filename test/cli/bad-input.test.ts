/**
 * Bad input: each case is a one-line error that says what to do, a non-zero exit code, and
 * nothing written half-way (no database for usage errors, no execution row in an existing one).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProject, type CliResult, type Project } from "./helpers.js";

let p: Project;
beforeAll(() => {
  p = makeProject();
  writeFileSync(
    join(p.dir, "examples", "failing.ts"),
    `import { task } from "durun";
export const boom = task("boom", (n: number) => { if (n > 0) throw new Error("kaboom " + n); return n; });
export const inner = task("inner", (n: number) => boom(n));
export const main = task("main", (n: number) => inner(n));
`,
  );
  writeFileSync(join(p.dir, "examples", "syntax.ts"), "export const = ;\n");
  writeFileSync(
    join(p.dir, "examples", "namespaced.ts"),
    `import { task } from "durun";
export const a = task("main", (x: number) => x + 1, { namespace: "a" });
export const b = task("main", (x: number) => x + 2, { namespace: "b" });
task("hidden", (word: string) => word.length, { namespace: "util" });
`,
  );
});
afterAll(() => p.remove());

/** The first line of stderr, and how many lines start with "error:". */
function errorLine(r: CliResult): string {
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

async function executionCount(db: string): Promise<number> {
  const r = await p.durun(["log", "--db", db, "--limit", "1000"]);
  expect(r.code).toBe(0);
  return r.stdout.split("\n").filter((l) => /^\w{8}\s/.test(l) && !l.startsWith("EXECUTION")).length;
}

describe("usage errors exit 2 and create no database", () => {
  const db = () => join(p.dir, "usage", "durun.db");
  const cases: [string, string[], RegExp][] = [
    ["a missing workflow file", ["run", "nope.ts", "main"], /^error: no such file: nope\.ts \(give the path of a \.ts or \.js workflow file\)$/],
    ["an unknown task name", ["run", "examples/hello.ts", "mian"], /^error: unknown task "mian" in examples\/hello\.ts; available tasks: greeting, main, shout$/],
    ["a flag without a value", ["run", "examples/hello.ts", "main", "--name"], /^error: malformed argument: --name needs a value/],
    ["an unknown parameter", ["run", "examples/hello.ts", "main", "--nmae", "x"], /^error: unknown parameter --nmae for main; parameters of main: --name$/],
    ["too many positional values", ["run", "examples/hello.ts", "main", "a", "b"], /^error: too many arguments: 1 positional value left over/],
    ["an ambiguous bare task name", ["run", "examples/namespaced.ts", "main", "1"], /^error: task name "main" is ambiguous; use one of: a\.main, b\.main$/],
    ["a missing task argument", ["run", "examples/hello.ts"], /^error: missing required argument 'task'$/],
    ["an unknown durun option", ["log", "--bogus"], /^error: unknown option '--bogus'$/],
    ["a bad --limit", ["log", "--limit", "x"], /^error: --limit needs a positive whole number, got "x"$/],
    ["a bad viz format", ["viz", "abc", "--format", "png"], /^error: option '-f, --format <format>' argument 'png' is invalid/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await p.durun([...args, "--db", db()]);
      expect(r.code).toBe(2);
      expect(errorLine(r)).toMatch(message);
      expect(r.stderr).toMatch(/^usage: durun \w+ /m);
      expect(r.stdout).toBe("");
      expect(existsSync(db())).toBe(false);
      expect(existsSync(join(p.dir, ".durun"))).toBe(false);
    });
  }

  it("writes no execution row into an existing database", async () => {
    const shared = join(p.dir, "shared", "durun.db");
    expect((await p.durun(["run", "examples/hello.ts", "main", "--name", "a", "--db", shared])).code).toBe(0);
    expect(await executionCount(shared)).toBe(1);
    const before = readFileSync(shared);
    for (const args of [["run", "examples/hello.ts", "mian"], ["run", "examples/hello.ts", "main", "--name"], ["run", "gone.ts", "main"]]) {
      expect((await p.durun([...args, "--db", shared])).code).toBe(2);
    }
    expect(readFileSync(shared).equals(before)).toBe(true);
    expect(await executionCount(shared)).toBe(1);
  });
});

describe("task names", () => {
  it("takes namespace.name, and a bare name when it is unique, exported or not", async () => {
    const db = join(p.dir, "ns", "durun.db");
    const b = await p.durun(["run", "examples/namespaced.ts", "b.main", "--x", "1", "--db", db]);
    expect(b.stdout).toBe("3\n");
    const hidden = await p.durun(["run", "examples/namespaced.ts", "hidden", "--word", "abcd", "--db", db]);
    expect(hidden.stderr).not.toMatch(/error/);
    expect(hidden.stdout).toBe("4\n");
  });
});

describe("failures exit 1 with one line that says what to do", () => {
  it("a database path that cannot be created", async () => {
    writeFileSync(join(p.dir, "a-file"), "not a directory");
    const bad = join(p.dir, "a-file", "sub", "durun.db");
    const r = await p.durun(["run", "examples/hello.ts", "main", "--name", "x", "--db", bad]);
    expect(r.code).toBe(1);
    const line = errorLine(r);
    expect(line).toContain(bad);
    expect(line).toMatch(/--db/);
    expect(r.stdout).toBe("");
  });

  it("a corrupt database file, left as it was", async () => {
    mkdirSync(join(p.dir, "corrupt"));
    const bad = join(p.dir, "corrupt", "durun.db");
    const garbage = Buffer.from("this is not a sqlite database at all, just some text\n".repeat(200));
    writeFileSync(bad, garbage);
    for (const args of [["run", "examples/hello.ts", "main", "--name", "x"], ["log"]]) {
      const r = await p.durun([...args, "--db", bad]);
      expect(r.code).toBe(1);
      const line = errorLine(r);
      expect(line).toContain(bad);
      expect(line).toMatch(/move the file away|--db/);
    }
    expect(readFileSync(bad).equals(garbage)).toBe(true);
  });

  it("a failing task: its name, chain and original message; --verbose adds the stack", async () => {
    const db = join(p.dir, "fail", "durun.db");
    const r = await p.durun(["run", "examples/failing.ts", "main", "--n", "3", "--db", db]);
    expect(r.code).toBe(1);
    expect(errorLine(r)).toBe('error: task "boom" failed (main > inner > boom): Error: kaboom 3');
    expect(r.stderr).toMatch(/--verbose/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
    const v = await p.durun(["run", "examples/failing.ts", "main", "--n", "3", "--db", db, "--verbose"]);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/\n\s+at /);
    expect(v.stderr).toMatch(/kaboom 3/);
    const ok = await p.durun(["run", "examples/failing.ts", "main", "--n", "0", "--db", db]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("0\n");
  });

  it("a workflow file that does not load", async () => {
    const r = await p.durun(["run", "examples/syntax.ts", "main", "--db", join(p.dir, "syntax", "durun.db")]);
    expect(r.code).toBe(1);
    expect(errorLine(r)).toMatch(/^error: cannot load examples\/syntax\.ts: /);
    expect(existsSync(join(p.dir, "syntax"))).toBe(false);
  });

  it("an id that matches nothing", async () => {
    const db = join(p.dir, "shared", "durun.db");
    const r = await p.durun(["log", "zzzzzzzz", "--db", db]);
    expect(r.code).toBe(1);
    expect(errorLine(r)).toBe('error: no execution or call with id "zzzzzzzz"; list executions with: durun log');
  });
});

describe("--help", () => {
  for (const cmd of [[], ["run"], ["log"], ["viz"]]) {
    it(`durun ${cmd.join(" ")} --help exits 0 with usage`, async () => {
      const r = await p.durun([...cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: durun/);
    });
  }

  it("run --help documents the argument rules", async () => {
    const r = await p.durun(["run", "--help"]);
    expect(r.stdout).toContain(`--x '"3"'        the string "3"`);
    expect(r.stdout).toContain("DURUN_DB");
  });
});
