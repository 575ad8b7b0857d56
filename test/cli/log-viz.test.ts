/**
 * Provenance from the command line: `durun log` (list, tree, call) and `durun viz`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { callRows, executionIdOf, makeProject, type Project } from "./helpers.js";

let p: Project;
let first: string;
let second: string;
beforeAll(async () => {
  p = makeProject();
  const a = await p.durun(["run", "examples/hello.ts", "main", "--name", "world", "--db", p.db]);
  expect(a.code).toBe(0);
  first = executionIdOf(a);
  const b = await p.durun(["run", "examples/wordcount.ts", "main", "--data-dir", join(p.dir, "examples", "data"), "--out-dir", join(p.dir, "out"), "--db", p.db]);
  expect(b.code).toBe(0);
  second = executionIdOf(b);
});
afterAll(() => p.remove());

describe("durun log", () => {
  it("lists recent executions, newest first", async () => {
    const r = await p.durun(["log", "--db", p.db]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^EXECUTION\s+STARTED\s+TASK\s+STATUS\s+DURATION\s+CALLS$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`^${second}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+main\\s+done\\s+\\d+(\\.\\d)? m?s\\s+\\d+ done`));
    expect(lines[2]).toMatch(new RegExp(`^${first}\\s.*main\\s+done\\s.*3 done$`));
  });

  it("--limit caps the list", async () => {
    const r = await p.durun(["log", "--limit", "1", "--db", p.db]);
    expect(r.stdout.trim().split("\n")).toHaveLength(2);
  });

  it("says so when nothing was recorded", async () => {
    const r = await p.durun(["log", "--db", join(p.dir, "empty", "durun.db")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^no executions recorded yet/);
  });

  it("shows one execution as an indented call tree", async () => {
    const r = await p.durun(["log", first, "--db", p.db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^execution ${first}`));
    expect(r.stdout).toMatch(/command\s+durun run examples\/hello\.ts main --name world/);
    const rows = callRows(r.stdout);
    expect(rows[0]).toMatchObject({ task: "main", status: "done", depth: 0 });
    expect(rows.slice(1).map((x) => x.depth)).toEqual(expect.arrayContaining([1]));
    expect(rows.map((x) => x.task).sort()).toEqual(["greeting", "main", "shout"]);
  });

  it("finds an execution by a prefix of its id", async () => {
    const r = await p.durun(["log", second.slice(0, 5), "--db", p.db]);
    expect(r.code).toBe(0);
    expect(callRows(r.stdout).filter((x) => x.task.trim() === "countWords")).toHaveLength(3);
  });

  it("shows one call with its arguments, result and task source", async () => {
    const tree = await p.durun(["log", first, "--db", p.db]);
    const greetingLine = tree.stdout.split("\n").find((l) => l.trim().startsWith("greeting"))!;
    const callId = greetingLine.trim().split(/\s+/).pop()!;
    const r = await p.durun(["log", callId, "--db", p.db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^call \w+/);
    expect(r.stdout).toMatch(/task\s+greeting/);
    expect(r.stdout).toMatch(/arguments\n\s+name = "world"/);
    expect(r.stdout).toMatch(/result\n\s+Hello, world!/);
    expect(r.stdout).toMatch(/source\n\s+\(?name\)?\s*=>\s*`Hello, \$\{name\}!`/);
  });

  it("names the upstream call of an argument that came from another call", async () => {
    const tree = await p.durun(["log", first, "--db", p.db]);
    const shoutLine = tree.stdout.split("\n").find((l) => l.trim().startsWith("shout"))!;
    const greetingLine = tree.stdout.split("\n").find((l) => l.trim().startsWith("greeting"))!;
    const r = await p.durun(["log", shoutLine.trim().split(/\s+/).pop()!, "--db", p.db]);
    expect(r.stdout).toMatch(/text = "Hello, world!"/);
    expect(r.stdout).toContain(`from call ${greetingLine.trim().split(/\s+/).pop()!}`);
  });
});

describe("durun viz", () => {
  it("prints Graphviz dot with parent→child edges", async () => {
    const r = await p.durun(["viz", first, "--db", p.db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^digraph "execution [\w-]+" \{/);
    expect(r.stdout).toMatch(/c\d+ \[label="main\\ndone"/);
    expect(r.stdout).toMatch(/label="greeting\\ndone"/);
    expect(r.stdout.match(/ -> /g)).toHaveLength(2);
    expect(r.stdout.trim().endsWith("}")).toBe(true);
  });

  it("prints a Mermaid flowchart", async () => {
    const r = await p.durun(["viz", second, "--format", "mermaid", "--db", p.db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^flowchart TD\n/);
    expect(r.stdout.match(/\["countWords<br\/>done"\]/g)).toHaveLength(3);
    expect(r.stdout).toMatch(/c\d+ --> c\d+/);
  });

  it("refuses a call id", async () => {
    const tree = await p.durun(["log", first, "--db", p.db]);
    const callId = tree.stdout.split("\n").find((l) => l.trim().startsWith("shout"))!.trim().split(/\s+/).pop()!;
    const r = await p.durun(["viz", callId, "--db", p.db]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is a call, not an execution/);
  });
});

describe("progress when stderr is not a terminal", () => {
  it("logs one plain line per call state change and a summary", async () => {
    const r = await p.durun(["run", "examples/hello.ts", "main", "--name", "plain", "--db", p.db]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/\x1b\[/);
    for (const t of ["greeting", "shout", "main"]) {
      expect(r.stderr).toMatch(new RegExp(`^\\[\\s*\\d+(\\.\\d)? m?s\\] running ${t} \\(\\w+\\)$`, "m"));
      expect(r.stderr).toMatch(new RegExp(`^\\[\\s*\\d+(\\.\\d)? m?s\\] done    ${t} \\(\\w+\\)$`, "m"));
    }
    expect(r.stderr).toMatch(/^execution \w+: 3 done, 0 cached \(3 calls, .*\); details: durun log \w+$/m);
    const again = await p.durun(["run", "examples/hello.ts", "main", "--name", "plain", "--db", p.db]);
    expect(again.stderr).toMatch(/\] cached  main \(\w+\)$/m);
    expect(again.stderr).toMatch(/: 0 done, 3 cached \(3 calls/);
  });

  it("--quiet writes only the summary", async () => {
    const r = await p.durun(["run", "examples/hello.ts", "main", "--name", "plain", "--quiet", "--db", p.db]);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
