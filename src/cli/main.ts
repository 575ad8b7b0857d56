#!/usr/bin/env node
/**
 * The `durun` command line: a thin layer over the public API (CONVENTIONS.md "Thin CLI").
 *
 * Each command lives in its own file and is added here by one `registerX(program)` line.
 * Usage errors exit with code 2, failures with code 1.
 */
import { Command } from "commander";
import { configureCommand, reportError } from "./common.js";
import { registerRun } from "./run.js";
import { registerLog } from "./log.js";
import { registerViz } from "./viz.js";
import { registerWorker } from "./worker.js";
import { registerEmit } from "./emit.js";
import { registerRuns } from "./runs.js";

/** Builds the `durun` program with every command registered. */
export function buildProgram(): Command {
  const program = configureCommand(new Command("durun"))
    .description("durun: lazy cached tasks and durable Redis workflows for TypeScript")
    .version(version(), "-V, --version")
    .showHelpAfterError(false);

  // lazy tasks
  registerRun(program);
  registerLog(program);
  registerViz(program);
  // durable workflows (one line per command)
  registerWorker(program);
  registerEmit(program);
  registerRuns(program);

  return program;
}

function version(): string {
  return "0.1.0";
}

/** Parses `argv` (without the node and script entries) and runs the chosen command. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    return reportError(e, program, argv);
  }
}

process.exitCode = await main(process.argv.slice(2));
