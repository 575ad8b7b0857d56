/**
 * Helpers shared by the CLI commands: command setup, config resolution, error reporting.
 *
 * Exit codes: 0 success, 1 failure (a task failed, the database cannot be used), 2 usage error
 * (unknown task, malformed argument, missing file, wrong flags).
 */
import { Command, CommanderError } from "commander";
import { ConnectionError, DurunError, DryRunError, StoreError, TaskError, UsageError, ensureError } from "../errors.js";

/** Exit code for failures. */
export const EXIT_FAILURE = 1;
/** Exit code for usage errors. */
export const EXIT_USAGE = 2;

/** The database used when neither `--db` nor `DURUN_DB` is given. */
export const DEFAULT_DB = ".durun/durun.db";

/**
 * Applies the shared settings to a command: errors are thrown (not `process.exit`) and a
 * usage error is followed by the command's usage line and a pointer to `--help`.
 */
export function configureCommand(cmd: Command): Command {
  return cmd.exitOverride().configureOutput({
    outputError: (str, write) => write(str.trimEnd() + "\n" + usageHint(cmd)),
  });
}

/**
 * Adds a subcommand with the shared settings; use it in each command file:
 * `const cmd = addCommand(program, "run")`.
 */
export function addCommand(program: Command, name: string): Command {
  return configureCommand(program.command(name));
}

/** The usage line of a command followed by the `--help` hint. */
export function usageHint(cmd: Command): string {
  return `usage: ${commandPath(cmd)} ${cmd.usage()}\nrun '${commandPath(cmd)} --help' for details\n`;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Resolves the database URL: the `--db` flag, then `DURUN_DB`, then `.durun/durun.db`. */
export function resolveDb(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== "") return flag;
  const fromEnv = env["DURUN_DB"];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  return DEFAULT_DB;
}

/** Options every command accepts for error reporting. */
export interface VerboseOption {
  verbose?: boolean;
}

/**
 * Wraps a command action: errors become a one-line message on stderr and an exit code
 * (2 for usage errors, followed by the usage; 1 otherwise). `--verbose` adds the stack.
 */
export function action<A extends unknown[]>(cmd: Command, fn: (...args: A) => Promise<void> | void): Command {
  return cmd.action(async (...args: unknown[]) => {
    try {
      await fn(...(args as A));
    } catch (e) {
      const opts = cmd.opts<VerboseOption>();
      process.exitCode = reportError(e, cmd, undefined, opts.verbose === true);
    }
  });
}

/**
 * Prints an error the way the CLI does and returns the exit code to use.
 * Commander's own errors have already been printed by commander.
 */
export function reportError(e: unknown, cmd: Command, _argv?: readonly string[], verbose = false): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version") return 0;
    return EXIT_USAGE;
  }
  const err = ensureError(e);
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n${usageHint(cmd)}`);
    return EXIT_USAGE;
  }
  // the durable commands take the Redis URL from --url or DURUN_REDIS_URL
  const hint = err instanceof ConnectionError && cmd.options.some((o) => o.long === "--url") ? " (set --url or DURUN_REDIS_URL)" : "";
  process.stderr.write(`error: ${describeError(err)}${hint}\n`);
  if (verbose) process.stderr.write(stackOf(err));
  else if (err instanceof TaskError) process.stderr.write("(run again with --verbose for the stack)\n");
  return EXIT_FAILURE;
}

/** One line describing an error: for a failed task, its name, chain and original message. */
export function describeError(err: Error): string {
  if (err instanceof TaskError) {
    const chain = [...err.chain];
    if (chain[chain.length - 1] !== err.taskName) chain.push(err.taskName);
    const original = err.cause instanceof Error ? rootCause(err.cause) : undefined;
    const detail = original ? `${original.name}: ${original.message}` : err.message;
    return `task "${err.taskName}" failed (${chain.join(" > ")}): ${oneLine(detail)}`;
  }
  if (err instanceof DryRunError) return `dry run: ${oneLine(err.message.replace(/^dry ?run:\s*/i, ""))}`;
  if (err instanceof StoreError) return oneLine(err.message);
  if (err instanceof DurunError) return oneLine(err.message);
  return oneLine(`${err.name}: ${err.message}`);
}

function rootCause(err: Error): Error {
  let cur = err;
  for (let i = 0; i < 20 && cur instanceof TaskError && cur.cause instanceof Error; i++) cur = cur.cause;
  return cur;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function stackOf(err: Error): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 10 && cur instanceof Error; i++) {
    parts.push(i === 0 ? (cur.stack ?? String(cur)) : `caused by: ${cur.stack ?? String(cur)}`);
    cur = cur.cause;
  }
  return parts.join("\n") + "\n";
}
