/**
 * `durun worker`, `durun emit` and `durun runs`, end to end: the built CLI (dist/cli/main.js,
 * `npm test` builds first) against a private redis-server, in real processes.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startRedisServer, freePort, type RedisServerHandle } from "../helpers/redis-server.js";
import { fixturesDir, killAllChildren, repoRoot, spawnNode, type ChildHandle } from "../durable-system/helpers.js";
import { runCli as runCliIn, type CliResult } from "./helpers.js";
import { durationMs } from "../../src/cli/redis-url.js";

const cli = join(repoRoot, "dist", "cli", "main.js");
const workflows = join(fixturesDir, "cli-workflows.ts");
let server: RedisServerHandle;

/** Runs the built CLI from the repository root; DURUN_REDIS_URL is unset unless `env` sets it. */
function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliResult> {
  return runCliIn(args, repoRoot, { DURUN_REDIS_URL: "", ...env }, timeoutMs);
}

async function startCliWorker(extra: string[] = [], env: Record<string, string> = {}): Promise<ChildHandle> {
  const w = spawnNode(cli, ["worker", "--import", workflows, ...extra], env, { tsx: false });
  await w.waitForLine("worker started", 30_000);
  return w;
}

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
  server = await startRedisServer();
});
afterEach(async () => {
  await killAllChildren();
});
afterAll(async () => {
  await server?.stop();
});

describe("durun worker / emit / runs", () => {
  it("runs a workflow end to end and shows it", async () => {
    const worker = await startCliWorker(["--url", server.url, "--concurrency", "2"]);

    const emitted = await runCli(["emit", "cli-double", "--input", '{"x":21}', "--wait", "--url", server.url]);
    expect(emitted.stderr).toMatch(/run \S+ emitted/);
    expect(emitted.code, emitted.stderr).toBe(0);
    expect(JSON.parse(emitted.stdout.trim())).toEqual({ doubled: 42, checked: true });
    const runId = /run (\S+) emitted/.exec(emitted.stderr)![1]!;

    // the worker printed a line when the run started and one when it ended
    await worker.waitForLine(new RegExp(`${runId}.*(start|running)`, "i"), 5000);
    await worker.waitForLine(new RegExp(`${runId}.*succeeded`, "i"), 5000);

    // DURUN_REDIS_URL instead of --url; without --wait the run id is printed
    const second = await runCli(["emit", "cli-double", "--input", '{"x":1}'], { DURUN_REDIS_URL: server.url });
    expect(second.code, second.stderr).toBe(0);
    const secondId = second.stdout.trim();
    expect(secondId).toMatch(/^\S+$/);
    expect(secondId).not.toBe(runId);
    await worker.waitForLine(new RegExp(`${secondId}.*succeeded`, "i"), 10_000);

    const list = await runCli(["runs", "--workflow", "cli-double", "--status", "succeeded", "--limit", "1", "--url", server.url]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(secondId); // newest first, limit 1
    expect(list.stdout).not.toContain(runId);
    const both = await runCli(["runs", "--workflow", "cli-double", "--limit", "10"], { DURUN_REDIS_URL: server.url });
    expect(both.stdout).toContain(runId);
    expect(both.stdout).toContain(secondId);
    const none = await runCli(["runs", "--status", "failed", "--url", server.url]);
    expect(none.stdout).not.toContain(runId);

    const one = await runCli(["runs", runId, "--url", server.url]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain(runId);
    expect(one.stdout).toMatch(/status\s+succeeded/);
    expect(one.stdout).toMatch(/^double\s+succeeded\s+\d{4}-\d\d-\d\dT\S+\s+\d+ms/m);
    expect(one.stdout).toMatch(/^check\s+succeeded/m);
    expect(JSON.parse(/^output\s+(.*)$/m.exec(one.stdout)![1]!)).toEqual({ doubled: 42, checked: true });

    // graceful stop on SIGTERM
    const exit = await worker.signal("SIGTERM");
    expect(exit, worker.output()).toEqual({ code: 0, signal: null });
    expect(worker.output()).toContain("worker stopped");
  });

  it("runs --offset pages through the list (newest first), with or without filters", async () => {
    // scheduled an hour ahead: nothing runs them, so the list is stable while the test pages it
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await runCli(["emit", "cli-double", "--input", `{"x":${i}}`, "--delay-ms", "3600000", "--import", workflows, "--url", server.url]);
      expect(r.code, r.stderr).toBe(0);
      ids.push(r.stdout.trim());
    }
    const newestFirst = [...ids].reverse();
    const page = async (offset: number, filters: string[]) => {
      const r = await runCli(["runs", ...filters, "--limit", "2", "--offset", String(offset), "--json", "--url", server.url]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as Array<{ id: string }>).map((x) => x.id);
    };
    for (const filters of [["--status", "scheduled"], ["--workflow", "cli-double", "--status", "scheduled"]]) {
      const pages = await Promise.all([0, 2, 4, 6].map((o) => page(o, filters)));
      expect(pages, filters.join(" ")).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4), []]);
    }
    // the table view pages too
    const table = await runCli(["runs", "--status", "scheduled", "--limit", "1", "--offset", "1", "--url", server.url]);
    expect(table.stdout).toContain(newestFirst[1]);
    expect(table.stdout).not.toContain(newestFirst[0]);
    const bad = await runCli(["runs", "--offset", "-1", "--url", server.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe('error: --offset must be a non-negative integer, got "-1"');
  });

  it("shows a failed run's failing step with its error; emit --wait exits 1", async () => {
    const worker = await startCliWorker([], { DURUN_REDIS_URL: server.url });
    const r = await runCli(["emit", "cli-broken", "--wait", "--url", server.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: run \S+ failed: .*the widget exploded/m);
    const runId = /run (\S+) emitted/.exec(r.stderr)![1]!;
    await worker.waitForLine(new RegExp(`${runId}.*failed`, "i"), 5000);

    const one = await runCli(["runs", runId, "--url", server.url]);
    expect(one.stdout).toMatch(/status\s+failed/);
    expect(one.stdout).toMatch(/^fine\s+succeeded/m);
    expect(one.stdout).toMatch(/^explode\s+failed\s+.*the widget exploded/m);
    const failed = await runCli(["runs", "--status", "failed", "--url", server.url]);
    expect(failed.stdout).toContain(runId);
    expect(failed.stdout).toContain("the widget exploded");

    // SIGINT stops gracefully too
    expect(await worker.signal("SIGINT")).toEqual({ code: 0, signal: null });
  });

  it("worker --retention takes a duration; a malformed one is a one-line error", async () => {
    const bad = await runCli(["worker", "--import", workflows, "--retention", "7 weeks", "--url", server.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe('error: --retention must be a duration such as 7d, 12h, 30m, 45s or 500ms, got "7 weeks"');
    const tooShort = await runCli(["worker", "--import", workflows, "--retention", "10ms", "--url", server.url]);
    expect(tooShort.code).toBe(2);
    expect(tooShort.stderr.split("\n")[0]).toMatch(/^error: startWorker: options\.retentionMs must be a number >= 1000, got 10/);
    expect(durationMs("7d", "--retention")).toBe(7 * 86_400_000);
    expect(durationMs("1.5h", "--retention")).toBe(5_400_000);
    expect(durationMs("250", "--retention")).toBe(250);
  });

  it("bad input: one-line errors and non-zero exits", async () => {
    const worker = await startCliWorker(["--url", server.url, "--quiet"]);

    const port = await freePort();
    const down = (args: string[]) => runCli([...args, "--url", `redis://127.0.0.1:${port}`], {}, 20_000);
    // independent invocations, run side by side
    const [unknown, badJson, badStatus, badLimit, noRun, missingFile, badUrl, noImport, badCron, downEmit, downRuns, downWorker, badSchema, badSchemaLate] = await Promise.all([
      runCli(["emit", "no-such-workflow", "--url", server.url]),
      runCli(["emit", "cli-double", "--input", "{x:1", "--url", server.url]),
      runCli(["runs", "--status", "sleeping", "--url", server.url]),
      runCli(["runs", "--limit", "lots", "--url", server.url]),
      runCli(["runs", "no-such-run", "--url", server.url]),
      runCli(["worker", "--import", "does/not/exist.ts", "--url", server.url]),
      runCli(["runs", "--url", "http://example.com"]),
      runCli(["worker", "--url", server.url]),
      runCli(["worker", "--import", join(fixturesDir, "bad-cron.ts"), "--url", server.url]),
      down(["emit", "cli-double"]),
      down(["runs"]),
      down(["worker", "--import", workflows]),
      // with --import, the input is checked against the workflow's schema before anything is written
      runCli(["emit", "cli-typed", "--input", '{"x":"a"}', "--import", workflows, "--url", server.url]),
      // without it, the worker checks it when the run starts: the run fails, no retry
      runCli(["emit", "cli-typed", "--input", '{"x":"b"}', "--wait", "--url", server.url]),
    ]);

    expect(badSchema.code, badSchema.stderr).toBe(2);
    expect(badSchema.stderr.trim().split("\n")).toHaveLength(1);
    expect(badSchema.stderr).toMatch(/^error: input of workflow "cli-typed" is invalid: x: /);
    expect(badSchemaLate.code).toBe(1);
    expect(badSchemaLate.stderr).toMatch(/^error: run \S+ failed: InputValidationError: .*x: /m);
    const typedRuns = await runCli(["runs", "--workflow", "cli-typed", "--json", "--url", server.url]);
    const typed = JSON.parse(typedRuns.stdout) as Array<{ input: { x: unknown }; status: string; attempt: number }>;
    expect(typed.map((r) => [r.input.x, r.status, r.attempt])).toEqual([["b", "failed", 1]]); // no run for "a"
    // --quiet: the worker ran that run without printing a line for it
    expect(worker.output()).not.toMatch(/run \S+ cli-typed/);

    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^error: .*no-such-workflow/);

    expect(badJson.code).toBe(2);
    expect(badJson.stderr.split("\n")[0]).toMatch(/^error: --input is not valid JSON/);

    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr.split("\n")[0]).toMatch(/^error: --status must be one of/);

    expect(badLimit.code).toBe(2);

    expect(noRun.code).toBe(1);
    expect(noRun.stderr.trim()).toBe('error: no run with id "no-such-run"');

    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr.split("\n")[0]).toMatch(/^error: --import: no such file/);

    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr.split("\n")[0]).toBe(
      'error: --url must be a Redis URL: redis://host:port, rediss://host:port (TLS), unix:/path/to/redis.sock or, for a Redis Cluster, redis-cluster://host:port[,host:port...] (rediss-cluster:// for TLS), got "http://example.com"',
    );
    const badEnvUrl = await runCli(["runs"], { DURUN_REDIS_URL: "localhost:6379" });
    expect(badEnvUrl.code).toBe(2);
    expect(badEnvUrl.stderr.split("\n")[0]).toMatch(/^error: DURUN_REDIS_URL must be a Redis URL: .*, got "localhost:6379"$/);
    expect(badCron.code).toBe(2);
    expect(badCron.stderr.split("\n")[0]).toMatch(/^error: --import \S+bad-cron\.ts: workflow "bad-cron": options\.cron\[0\]\.expression "every tuesday" is malformed/);
    expect(noImport.code).toBe(2);
    expect(noImport.stderr.split("\n")[0]).toBe("error: --import <file> is required: the module that defines your workflows");

    // an unreachable Redis is an error within a bounded time, not a hang
    for (const r of [downEmit, downRuns, downWorker]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: cannot connect to Redis at redis:\/\/127\.0\.0\.1:\d+/);
      // the errno and what to do, not ioredis's "Connection is closed."
      expect(r.stderr.trim()).toBe(`error: cannot connect to Redis at redis://127.0.0.1:${port} (ECONNREFUSED): is redis-server running there, and is the URL right? (set --url or DURUN_REDIS_URL)`);
      expect(r.ms).toBeLessThan(15_000);
    }
    // nothing was written by the failed emits
    const ghost = await runCli(["runs", "--workflow", "no-such-workflow", "--url", server.url]);
    expect(ghost.stdout.trim()).toBe("no runs");
    expect(await worker.signal("SIGTERM")).toEqual({ code: 0, signal: null });
  });
});
