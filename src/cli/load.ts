/**
 * Loading a user's workflow file (TypeScript through tsx, or JavaScript) and finding its tasks.
 *
 * Tasks register themselves by full name (`namespace.name`) when their module is imported;
 * the CLI imports durun through relative paths inside the package, which are the same module
 * files the user's `import { task } from "durun"` resolves to, so both see one registry.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DurunError, UsageError, ensureError } from "../errors.js";
import { listRegisteredTasks, type TaskEntry } from "./task-lookup.js";

let tsxRegistered = false;

/**
 * Imports a workflow file. Throws {@link UsageError} when the file does not exist and a
 * {@link DurunError} (exit 1) when it exists but fails to load.
 */
export async function loadWorkflowFile(file: string, cwd = process.cwd()): Promise<Record<string, unknown>> {
  const path = resolve(cwd, file);
  if (!existsSync(path)) throw new UsageError(`no such file: ${file} (give the path of a .ts or .js workflow file)`);
  if (!statSync(path).isFile()) throw new UsageError(`not a file: ${file} (give the path of a .ts or .js workflow file)`);
  if (!tsxRegistered) {
    const { register } = await import("tsx/esm/api");
    register();
    tsxRegistered = true;
  }
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    const err = ensureError(e);
    const code = (err as { code?: unknown }).code;
    const hint =
      code === "ERR_REQUIRE_CYCLE_MODULE" || code === "ERR_REQUIRE_ESM" || /Cannot use import statement/.test(err.message)
        ? ' (workflow files are ES modules: add "type": "module" to the nearest package.json, or name the file .mts)'
        : "";
    throw new DurunError(`cannot load ${file}: ${err.message.split("\n")[0] ?? ""}${hint}`, { code: "LOAD_FAILED", cause: err });
  }
}

/**
 * Finds a task by full name (`namespace.name`) or by bare name when that is unambiguous.
 * Throws {@link UsageError} listing the available task names otherwise.
 */
export function findTask(name: string, file: string, exports: Record<string, unknown> = {}): TaskEntry {
  const tasks = listRegisteredTasks(exports);
  const exact = tasks.find((t) => t.fullName === name);
  if (exact) return exact;
  const byName = tasks.filter((t) => t.name === name);
  if (byName.length === 1) return byName[0]!;
  const available = tasks.map((t) => t.fullName).sort();
  if (byName.length > 1) {
    throw new UsageError(`task name "${name}" is ambiguous; use one of: ${byName.map((t) => t.fullName).sort().join(", ")}`);
  }
  if (available.length === 0) throw new UsageError(`no tasks defined in ${file} (define one with task("name", fn))`);
  throw new UsageError(`unknown task "${name}" in ${file}; available tasks: ${available.join(", ")}`);
}
