/**
 * `durun runs [--workflow W] [--status S] [--limit N] [--offset N]`: the newest runs, one line each
 * (`--offset` skips that many, for paging).
 * `durun runs <run-id>`: one run, with its steps (status, start time, duration, error).
 * TOOK is the time from the emit to the end of the run (queueing, retries and waits included).
 */
import type { Command } from "commander";
import { createClient, UsageError, type RunRecord, type RunStatus, type StepRecord } from "../index.js";
import { action, addCommand, EXIT_FAILURE } from "./common.js";
import { fmtDuration, fmtError, fmtTime, fmtValue, positiveInt, resolveRedisUrl, table } from "./redis-url.js";

const STATUSES: readonly RunStatus[] = ["scheduled", "queued", "running", "succeeded", "failed", "canceled"];

interface RunsFlags {
  workflow?: string;
  status?: string;
  limit: string;
  offset?: string;
  url?: string;
  json?: boolean;
}

/** Registers `durun runs` on the program. */
export function registerRuns(program: Command): void {
  const cmd = addCommand(program, "runs")
    .description("list durable runs, newest first, or show one run and its steps")
    .argument("[run-id]", "show this run and its steps")
    .option("--workflow <name>", "only runs of this workflow")
    .option("--status <status>", `only runs with this status (${STATUSES.join(", ")})`)
    .option("--limit <n>", "at most this many runs", "20")
    .option("--offset <n>", "skip this many runs (paging)")
    .option("--url <redis-url>", "Redis URL (default: $DURUN_REDIS_URL or redis://127.0.0.1:6379)")
    .option("--json", "print JSON instead of a table")
    .option("--verbose", "print stacks with errors");
  action(cmd, async (runId: string | undefined, flags: RunsFlags) => {
    if (flags.status !== undefined && !STATUSES.includes(flags.status as RunStatus)) {
      throw new UsageError(`--status must be one of ${STATUSES.join(", ")}, got "${flags.status}"`);
    }
    const limit = positiveInt(flags.limit, "--limit");
    const offset = flags.offset === undefined ? undefined : positiveInt(flags.offset, "--offset", true);
    const url = resolveRedisUrl(flags.url);
    const client = createClient({ url });
    try {
      if (runId !== undefined) {
        const run = await client.getRun(runId);
        if (!run) {
          process.stderr.write(`error: no run with id "${runId}"\n`);
          process.exitCode = EXIT_FAILURE;
          return;
        }
        const steps = await client.getRunSteps(runId);
        process.stdout.write(flags.json ? JSON.stringify({ ...run, steps }, null, 2) + "\n" : renderRun(run, steps));
        return;
      }
      const runs = await client.listRuns({
        ...(flags.workflow !== undefined ? { workflow: flags.workflow } : {}),
        ...(flags.status !== undefined ? { status: flags.status as RunStatus } : {}),
        limit,
        ...(offset !== undefined ? { offset } : {}),
      });
      if (flags.json) process.stdout.write(JSON.stringify(runs, null, 2) + "\n");
      else if (runs.length === 0) process.stdout.write("no runs\n");
      else process.stdout.write(renderRuns(runs));
    } finally {
      await client.close();
    }
  });
}

/** The run list as a table. */
export function renderRuns(runs: readonly RunRecord[]): string {
  return table(
    ["RUN", "WORKFLOW", "STATUS", "ATTEMPT", "CREATED", "TOOK", "ERROR"],
    runs.map((r) => [r.id, r.workflow, r.status, `${r.attempt}/${r.maxAttempts}`, fmtTime(r.createdAt), fmtDuration(r.createdAt, r.finishedAt), failed(r) ? truncate(fmtError(r.error), 80) : ""]),
  );
}

/** A step's duration; for a step still running or waiting, the time since it started so far. */
function stepDuration(s: StepRecord, now: number): string {
  if (s.finishedAt === undefined && s.startedAt !== undefined && (s.status === "running" || s.status === "waiting")) {
    return `${fmtDuration(s.startedAt, now)} so far`;
  }
  return fmtDuration(s.startedAt, s.finishedAt);
}

/** One run: its fields, then its steps as a table. */
export function renderRun(run: RunRecord, steps: readonly StepRecord[], now: number = Date.now()): string {
  const lines = [
    `run       ${run.id}`,
    `workflow  ${run.workflow} (queue ${run.queue})`,
    `status    ${run.status}`,
    `attempt   ${run.attempt}/${run.maxAttempts}`,
    `created   ${fmtTime(run.createdAt)}`,
    `started   ${fmtTime(run.startedAt)}`,
    `finished  ${fmtTime(run.finishedAt)}${run.finishedAt ? ` (${fmtDuration(run.createdAt, run.finishedAt)} after it was created)` : ""}`,
  ];
  if (run.parentRunId) lines.push(`parent    ${run.parentRunId}`);
  lines.push(`input     ${truncate(fmtValue(run.input), 200)}`);
  if (run.status === "succeeded") lines.push(`output    ${truncate(fmtValue(run.output), 200)}`);
  if (run.error !== undefined && run.error !== null) lines.push(`${failed(run) ? "error     " : "last error"} ${fmtError(run.error)}${failed(run) ? "" : " (of an earlier attempt)"}`);
  let out = lines.join("\n") + "\n\n";
  if (steps.length === 0) out += "no steps\n";
  else
    out += table(
      ["STEP", "STATUS", "STARTED", "DURATION", "ERROR"],
      steps.map((s) => [s.name, s.status, fmtTime(s.startedAt), stepDuration(s, now), truncate(fmtError(s.error), 100)]),
    );
  return out;
}

/** A run whose error is its outcome (not the error of an earlier, retried attempt). */
function failed(r: RunRecord): boolean {
  return r.status === "failed" || r.status === "canceled";
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 3) + "..." : s;
}
