/**
 * `durun worker --import <file.ts> [--url <redis-url>] [--queues a,b] [--concurrency N]`:
 * imports the given modules (TypeScript through tsx), which define workflows with
 * `defineWorkflow`, and runs a worker for them until SIGINT or SIGTERM, then stops gracefully
 * (running runs finish or are handed back) and exits 0. Prints a line per run start and end
 * unless `--quiet`.
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { startWorker, UsageError, type Worker } from "../index.js";
import { action, addCommand } from "./common.js";
import { durationMs, positiveInt, resolveRedisUrl } from "./redis-url.js";
import { maskPasswords } from "./run.js";

interface WorkerFlags {
  import?: string[];
  url?: string;
  queues?: string;
  concurrency?: string;
  app?: string;
  leaseMs?: string;
  retention?: string;
  quiet?: boolean;
}

const TS_EXT = new Set([".ts", ".mts", ".cts", ".tsx"]);

/** How a run left this worker, as printed. */
const OUTCOME: Record<string, string> = {
  succeeded: "succeeded",
  failed: "failed",
  retry: "failed this attempt, retry scheduled",
  parked: "parked (sleep, event or child wait)",
  canceled: "canceled",
  lost: "lost its lease (taken over by another worker)",
  error: "ended with an error",
};

/** Registers `durun worker` on the program. */
export function registerWorker(program: Command): void {
  const cmd = addCommand(program, "worker")
    .description("run durable workflows: import the files that define them and process their runs until SIGINT/SIGTERM")
    .option("--import <file>", "a module that defines workflows (required; repeat for several)", collect)
    .option("--url <redis-url>", "Redis URL (default: $DURUN_REDIS_URL or redis://127.0.0.1:6379)")
    .option("--queues <list>", "comma-separated queues to take runs from (default: the queues of the imported workflows)")
    .option("--concurrency <n>", "runs executed at once by this worker", "1")
    .option("--app <name>", "the app name the workflows' metadata is published under (default: the imported file names)")
    .option("--lease-ms <n>", "how long a run stays claimed without a lease renewal")
    .option("--retention <duration>", "delete finished runs and events this long after they ended, e.g. 7d, 12h, 30m (default: keep them)")
    .option("--quiet", "do not print a line per run")
    .option("--verbose", "print stacks with errors");
  action(cmd, async (flags: WorkerFlags) => {
    const url = resolveRedisUrl(flags.url);
    const concurrency = positiveInt(flags.concurrency ?? "1", "--concurrency");
    const leaseMs = flags.leaseMs === undefined ? undefined : positiveInt(flags.leaseMs, "--lease-ms");
    const retentionMs = flags.retention === undefined ? undefined : durationMs(flags.retention, "--retention");
    const queues = flags.queues === undefined ? undefined : flags.queues.split(",").map((q) => q.trim()).filter(Boolean);
    if (queues !== undefined && queues.length === 0) throw new UsageError("--queues must name at least one queue");
    const files = (flags.import ?? []).map((f) => resolve(f));
    if (files.length === 0) throw new UsageError("--import <file> is required: the module that defines your workflows");
    for (const f of files) if (!existsSync(f)) throw new UsageError(`--import: no such file "${f}"`);
    await importModules(files);

    const app = flags.app ?? files.map((f) => basename(f, extname(f))).join("+");
    const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
    const startedAt = new Map<string, number>();
    const worker: Worker = await startWorker({
      app,
      url,
      concurrency,
      ...(queues !== undefined ? { queues } : {}),
      ...(leaseMs !== undefined ? { leaseMs } : {}),
      ...(retentionMs !== undefined ? { retentionMs } : {}),
      ...(flags.quiet
        ? {}
        : {
            onRunEvent: (e) => {
              if (e.type === "start") {
                startedAt.set(e.runId, Date.now());
                log(`run ${e.runId} ${e.workflow} started (attempt ${e.attempt})`);
                return;
              }
              const t0 = startedAt.get(e.runId);
              startedAt.delete(e.runId);
              const took = t0 === undefined ? "" : ` in ${Date.now() - t0}ms`;
              const why = e.error ? `: ${e.error.message.replace(/\s*\n\s*/g, " ")}` : "";
              log(`run ${e.runId} ${e.workflow} ${OUTCOME[e.outcome ?? "error"] ?? e.outcome}${took}${why}`);
            },
          }),
    });
    process.stdout.write(`worker started: app ${app}, concurrency ${concurrency}, queues ${worker.queues.join(",")}, ${maskPasswords(url)}\n`);

    await new Promise<void>((resolveStop) => {
      let stopping = false;
      const onSignal = (sig: NodeJS.Signals) => {
        if (stopping) {
          process.stderr.write(`${sig} again: exiting now\n`);
          process.exit(130);
        }
        stopping = true;
        process.stdout.write(`${sig}: stopping (running runs finish or are handed back)...\n`);
        worker.stop().then(
          () => {
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
            process.stdout.write("worker stopped\n");
            resolveStop();
          },
          (e: unknown) => {
            process.stderr.write(`error: while stopping: ${(e as Error).message}\n`);
            process.exitCode = 1;
            resolveStop();
          },
        );
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    });
  });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Imports user modules (resolved against the working directory); TypeScript files go through tsx. */
export async function importModules(files: readonly string[]): Promise<void> {
  if (files.some((f) => TS_EXT.has(extname(f)))) {
    const { register } = await import("tsx/esm/api");
    register();
  }
  for (const f of files) {
    try {
      await import(pathToFileURL(f).href);
    } catch (e) {
      throw new UsageError(`--import ${f}: ${(e as Error).message}`, { cause: e });
    }
  }
}

