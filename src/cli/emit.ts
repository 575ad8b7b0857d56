/**
 * `durun emit <workflow> [--input <json>] [--url <redis-url>] [--wait]`: start a durable run.
 *
 * Prints the run id; with `--wait`, waits for the run and prints its output as JSON on stdout
 * (the run id goes to stderr then, so the output can be piped). A failed run exits with 1.
 * With `--import <file>` (the module that defines the workflow), the input is checked against
 * the workflow's schema before anything is written; without it, a worker checks it when the run
 * starts (and fails the run).
 */
import type { Command } from "commander";
import { createClient, InputValidationError, UnknownWorkflowError, UsageError, DurunError } from "../index.js";
import { action, addCommand, EXIT_FAILURE, EXIT_USAGE } from "./common.js";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fmtError, fmtValue, parseJsonFlag, positiveInt, resolveRedisUrl } from "./redis-url.js";
import { importModules } from "./worker.js";

interface EmitFlags {
  import?: string[];
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
    .option("--import <file>", "the module defining the workflow, to check the input against its schema before emitting (repeatable)", collect)
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
    const files = (flags.import ?? []).map((f) => resolve(f));
    for (const f of files) if (!existsSync(f)) throw new UsageError(`--import: no such file "${f}"`);
    if (files.length > 0) await importModules(files);
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

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function describeBadInput(e: UnknownWorkflowError | InputValidationError): string {
  return e.message.replace(/\s*\n\s*/g, " ");
}
