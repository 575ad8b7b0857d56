import { describe, expect, it } from "vitest";
import { renderRun } from "../../src/cli/runs.js";
import type { RunRecord, StepRecord } from "../../src/durable/client.js";

const t0 = Date.parse("2026-11-24T10:00:00.000Z");
const at = (ms: number) => new Date(t0 + ms);

const run: RunRecord = {
  id: "r1",
  workflow: "wf",
  queue: "default",
  status: "running",
  input: { n: 1 },
  output: undefined,
  error: undefined,
  attempt: 1,
  maxAttempts: 3,
  parentRunId: undefined,
  idempotencyKey: undefined,
  createdAt: at(0),
  runAt: undefined,
  startedAt: at(10),
  finishedAt: undefined,
};

const step = (name: string, status: StepRecord["status"], startedAt: number, finishedAt?: number): StepRecord => ({
  name,
  status,
  output: undefined,
  error: undefined,
  startedAt: at(startedAt),
  finishedAt: finishedAt === undefined ? undefined : at(finishedAt),
  childRunId: undefined,
});

describe("durun runs <id>: the steps table", () => {
  it("a finished step shows its duration; a running or waiting one the time since it started, so far", () => {
    const out = renderRun(run, [step("fetch", "succeeded", 20, 270), step("upload", "running", 300), step("nap", "waiting", 400)], t0 + 12_300);
    const rows = out.split("\n").filter((l) => /^(fetch|upload|nap)\s/.test(l));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^fetch\s+succeeded\s+.*\s250ms\s*$/);
    expect(rows[1]).toMatch(/^upload\s+running\s+.*\s12\.0s so far\s*$/);
    expect(rows[2]).toMatch(/^nap\s+waiting\s+.*\s11\.9s so far\s*$/);
  });
});
