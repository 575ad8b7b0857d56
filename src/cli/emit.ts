/**
 * `durun emit <workflow> [--input <json>] [--url <redis-url>] [--wait]`: start a durable run.
 *
 * Prints the run id; with `--wait`, waits for the run and prints its output as JSON on stdout
 * (the run id goes to stderr then, so the output can be piped). A failed run exits with 1.
 */
import type { Command } from "commander";
import { createClient, InputValidationError, UnknownWorkflowError, UsageError, DurunError } from "../index.js";
import { action, addCommand, EXIT_FAILURE, EXIT_USAGE } from "./common.js";
import { fmtError, fmtValue, parseJsonFlag, positiveInt, resolveRedisUrl } from "./redis-url.js";

interface EmitFlags {
  input?: string;
  url?: string;
  wait?: boolean;
  timeoutMs?: string;
  idempotencyKey?: string;
  queue?: string;
  delayMs?: string;
  runAt?: string;
}

/** Registers `durun emit` on the program. */
export function registerEmit(program: Command): void {
  const cmd = addCommand(program, "emit")
    .description("start a durable workflow run (a worker that imports the workflow runs it)")
    .argument("<workflow>", "workflow name")
    .option("--input <json>", "the run's input, as JSON", "{}")
    .option("--url <redis-url>", "Redis URL (default: $DURUN_REDIS_URL or redis://127.0.0.1:6379)")
    .option("--wait", "wait for the run to finish and print its output")
    .option("--timeout-ms <n>", "with --wait: give up after this many milliseconds")
    .option("--idempotency-key <key>", "emitting again with the same key returns the same run")
    .option("--queue <name>", "queue to use instead of the workflow's own")
    .option("--delay-ms <n>", "start the run after this many milliseconds")
    .option("--run-at <iso-date>", "start the run at this time")
    .option("--verbose", "print stacks with errors");
  action(cmd, async (workflow: string, flags: EmitFlags) => {
    const input = parseJsonFlag(flags.input ?? "{}", "--input");
    const url = resolveRedisUrl(flags.url);
    const timeoutMs = flags.timeoutMs === undefined ? undefined : positiveInt(flags.timeoutMs, "--timeout-ms");
    if (flags.delayMs !== undefined && flags.runAt !== undefined) throw new UsageError("give --delay-ms or --run-at, not both");
    let runAt: Date | undefined;
    if (flags.delayMs !== undefined) runAt = new Date(Date.now() + positiveInt(flags.delayMs, "--delay-ms", true));
    if (flags.runAt !== undefined) {
      runAt = new Date(flags.runAt);
      if (Number.isNaN(runAt.getTime())) throw new UsageError(`--run-at is not a date: "${flags.runAt}"`);
    }
    const client = createClient({ url });
    try {
      let handle;
      try {
        handle = await client.emitWorkflow(workflow, input, {
          ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}),
          ...(flags.queue !== undefined ? { queue: flags.queue } : {}),
          ...(runAt !== undefined ? { runAt } : {}),
        });
      } catch (e) {
        // Wrong workflow name or input: the caller's mistake, reported in one line with exit 2.
        if (e instanceof UnknownWorkflowError || e instanceof InputValidationError) {
          process.stderr.write(`error: ${describeBadInput(e)}\n`);
          process.exitCode = EXIT_USAGE;
          return;
        }
        throw e;
      }
      if (!flags.wait) {
        process.stdout.write(`${handle.id}\n`);
        return;
      }
      process.stderr.write(`run ${handle.id} emitted, waiting...\n`);
      try {
        const output = await handle.result(timeoutMs === undefined ? {} : { timeoutMs });
        process.stdout.write(`${fmtValue(output)}\n`);
      } catch (e) {
        const run = await client.getRun(handle.id).catch(() => undefined);
        if (run && (run.status === "failed" || run.status === "canceled")) {
          process.stderr.write(`error: run ${handle.id} ${run.status}: ${fmtError(run.error) || fmtError(e)}\n`);
          process.exitCode = EXIT_FAILURE;
          return;
        }
        if (e instanceof DurunError) throw e;
        throw e;
      }
    } finally {
      await client.close();
    }
  });
}

function describeBadInput(e: UnknownWorkflowError | InputValidationError): string {
  if (e instanceof InputValidationError && e.issues.length > 0) {
    const issues = e.issues.map((i) => (i.path && i.path.length ? `${i.path.map((p) => (typeof p === "object" && p !== null && "key" in p ? String((p as { key: unknown }).key) : String(p))).join(".")}: ${i.message}` : i.message));
    return `${e.message.replace(/\s*\n\s*/g, " ")} (${issues.join("; ")})`.replace(/\s+/g, " ");
  }
  return e.message.replace(/\s*\n\s*/g, " ");
}
