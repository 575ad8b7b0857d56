/**
 * Helpers for end-to-end CLI tests: a scratch project directory that resolves `durun` to this
 * repository (as an installed package would), and a runner for `node dist/cli/main.js`.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The built CLI. */
export const CLI = join(ROOT, "dist/cli/main.js");

/** What one CLI invocation produced. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** How long the process took, start to exit. */
  ms: number;
}

/**
 * A scratch project: `dir` has a `package.json` (ESM), `examples/` (a copy) and
 * `node_modules/durun` → this repo, as if durun were installed.
 */
export interface Project {
  dir: string;
  /** The database path the tests pass with `--db`. */
  db: string;
  /** Runs `durun <args>` in the project directory. */
  durun(args: readonly string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult>;
  remove(): void;
}

/** Creates a scratch project in a temp directory. */
export function makeProject(): Project {
  const dir = mkdtempSync(join(tmpdir(), "durun-cli-"));
  mkdirSync(join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  symlinkSync(ROOT, join(dir, "node_modules", "durun"), "dir");
  cpSync(join(ROOT, "examples"), join(dir, "examples"), { recursive: true, filter: (src) => !src.includes("/examples/durable") });
  const db = join(dir, "state", "durun.db");
  return {
    dir,
    db,
    durun: (args, options = {}) => runCli(args, dir, options.env, options.timeoutMs),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs the CLI with a deadline; the environment never carries the caller's DURUN_DB. */
export function runCli(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const t0 = Date.now();
    const baseEnv = { ...process.env };
    delete baseEnv["DURUN_DB"];
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...baseEnv, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`durun ${args.join(" ")} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** The execution id printed by `durun run` on stderr ("execution 3f2a1c9b: ..."). */
export function executionIdOf(result: CliResult): string {
  const m = /execution ([0-9a-zA-Z_-]+):/.exec(result.stderr);
  if (!m) throw new Error(`no execution id in stderr:\n${result.stderr}`);
  return m[1]!;
}

/** Parses the call rows of `durun log <execution>` into `{ task, status }` pairs. */
export function callRows(logOutput: string): { task: string; status: string; depth: number }[] {
  const body = logOutput.split("\n\n").slice(1).join("\n\n");
  return body
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const depth = (l.length - l.trimStart().length) / 2;
      const [task = "", status = ""] = l.trim().split(/\s{2,}/);
      return { task, status, depth };
    });
}

/** Counts rows of `callRows` by `task:status`. */
export function countBy(rows: readonly { task: string; status: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[`${r.task}:${r.status}`] = (out[`${r.task}:${r.status}`] ?? 0) + 1;
  return out;
}
