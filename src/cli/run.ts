/**
 * `durun run <file> <task> [--<arg> <value> ...]`: evaluate one task call with the cache.
 *
 * Everything that can be checked without the database is checked first (the file, the task
 * name, the arguments), so a usage error writes nothing. Progress goes to stderr, the result to
 * stdout.
 */
import type { Command } from "commander";
import { Scheduler } from "../scheduler/scheduler.js";
import { DryRunError, TaskError } from "../errors.js";
import { bindArgs } from "./args.js";
import { action, addCommand, resolveDb, type VerboseOption } from "./common.js";
import { findTask, loadWorkflowFile } from "./load.js";
import { Progress, formatDuration, shortId } from "./progress.js";
import { openStoreError, renderValue } from "./render.js";

/** Options of `durun run`. */
export interface RunCommandOptions extends VerboseOption {
  db?: string;
  cache: boolean;
  dryrun?: boolean;
  quiet?: boolean;
}

const ARG_HELP = `
Task arguments:
  --<param> <value> or --<param>=<value> binds a parameter of the task by name
  (--max-count also binds maxCount); other words fill the remaining parameters in order.
  Values are read as JSON when they parse as JSON, otherwise as text:
    --count 3        the number 3          --name world     the string "world"
    --flag true      the boolean true      --opts '{"a":1}' an object
    --x '"3"'        the string "3"        --x null         null
  Put task arguments after "--" to pass words that look like durun's own flags.

Environment:
  DURUN_DB   default for --db (the flag wins; default .durun/durun.db)

Exit codes: 0 success, 1 the task failed (or --dryrun found work to do), 2 usage error,
130 interrupted (Ctrl-C).

Example:
  durun run examples/hello.ts main --name world`;

/** Registers `durun run`. */
export function registerRun(program: Command): void {
  const cmd = addCommand(program, "run")
    .description("run a task from a workflow file, reusing cached results")
    .argument("<file>", "workflow file (.ts or .js) that defines the task")
    .argument("<task>", "task name (name or namespace.name)")
    .argument("[args...]", "task arguments: --<param> <value> or positional values")
    .option("--db <url>", "cache and provenance database: path, sqlite:<path> or postgres://... (env DURUN_DB)")
    .option("--no-cache", "execute every call again (results are still recorded)")
    .option("--dryrun", "execute nothing: report the first call that would run (exit 1), or the cached result")
    .option("-q, --quiet", "no progress display")
    .option("--verbose", "print stacks of errors")
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText("after", ARG_HELP);
  action(cmd, async (file: string, taskName: string, words: string[], opts: RunCommandOptions) => {
    await runCommand(file, taskName, words, opts, maskPasswords([program.name(), ...process.argv.slice(2)].join(" ")));
  });
}

async function runCommand(file: string, taskName: string, words: string[], opts: RunCommandOptions, commandLine: string): Promise<void> {
  // 1. usage checks, before anything touches the database
  const exports = await loadWorkflowFile(file);
  const task = findTask(taskName, file, exports);
  const args = bindArgs(task.params, words, task.fullName);
  const expr = task.call(args);

  // 2. open the store and run
  const db = resolveDb(opts.db);
  const progress = new Progress({ quiet: opts.quiet === true });
  let scheduler: Scheduler;
  try {
    scheduler = new Scheduler({ db, onEvent: (e) => progress.onEvent(e) });
  } catch (e) {
    throw openStoreError(db, e);
  }
  const started = Date.now();
  const onInterrupt = (): void => {
    progress.stop();
    process.stderr.write(`\ninterrupted: ${progress.summary()}\n`);
    process.exit(130);
  };
  process.once("SIGINT", onInterrupt);
  try {
    let value: unknown;
    try {
      value = await scheduler.run(expr as never, { cache: opts.cache, dryrun: opts.dryrun === true, description: commandLine });
    } finally {
      progress.stop();
    }
    process.stdout.write(renderValue(value, { colors: process.stdout.isTTY === true && !process.env["NO_COLOR"] }) + "\n");
    const id = scheduler.lastExecutionId;
    process.stderr.write(
      `${id ? `execution ${shortId(id)}: ` : ""}${progress.summary()}${id ? `; details: durun log ${shortId(id)}` : ""}\n`,
    );
  } catch (e) {
    if (e instanceof DryRunError) {
      process.stderr.write(`dry run: ${e.message.replace(/^dry ?run:\s*/i, "")} (took ${formatDuration(Date.now() - started)})\n`);
      process.exitCode = 1;
      return;
    }
    const id = safeLastExecution(scheduler);
    if (id && e instanceof TaskError) process.stderr.write(`execution ${shortId(id)}: ${progress.summary()}; details: durun log ${shortId(id)}\n`);
    throw openStoreError(db, e);
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    await scheduler.close();
  }
}

function safeLastExecution(scheduler: Scheduler): string | undefined {
  try {
    return scheduler.lastExecutionId ?? undefined;
  } catch {
    return undefined;
  }
}

/** Hides the password of URLs (`postgres://user:secret@host` → `postgres://user:***@host`) before recording a command line. */
export function maskPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi, "$1:***@");
}
