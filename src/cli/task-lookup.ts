/**
 * The CLI's view of the task registry: which tasks a loaded file defined, their parameters (read
 * from the source of the body), and how to build a call expression from arguments.
 */
import { isTaskValue, lookupDefinition, registeredTaskNames, type TaskDefinition } from "../tasks/registry.js";
import { task as defineTask } from "../tasks/task.js";
import { paramsOf, type ParamInfo } from "./args.js";

/** A registered task as the CLI uses it. */
export interface TaskEntry {
  /** `namespace.name`, or `name` without a namespace. */
  fullName: string;
  /** The name without the namespace. */
  name: string;
  /** The parameters of the body, read from its source. */
  params: ParamInfo[];
  /** Builds the call expression (runs nothing). */
  call(args: unknown[]): unknown;
}

type Callable = (...args: unknown[]) => unknown;

/**
 * Every task registered in this process. `exports` (the loaded module's exports) supplies the
 * task objects to call; a registered task that is not exported is called through a task object
 * made from its registered definition.
 */
export function listRegisteredTasks(exports: Record<string, unknown> = {}): TaskEntry[] {
  const exported = new Map<string, Callable>();
  for (const value of Object.values(exports)) {
    if (isTaskValue(value)) {
      const fullName = (value as unknown as { fullName: string }).fullName;
      if (!exported.has(fullName)) exported.set(fullName, value as Callable);
    }
  }
  const entries: TaskEntry[] = [];
  for (const fullName of registeredTaskNames()) {
    const def = lookupDefinition(fullName);
    if (!def) continue;
    entries.push({
      fullName,
      name: def.name,
      params: paramsOf(def.source),
      call: (args) => (exported.get(fullName) ?? taskFromDefinition(def))(...args),
    });
  }
  return entries;
}

function taskFromDefinition(def: TaskDefinition): Callable {
  const { namespace, version, cache, checkValid, executor, limits, retries } = def.options;
  const options = { cache, checkValid, executor, limits, retries, ...(namespace ? { namespace } : {}), ...(version ? { version } : {}) };
  return defineTask(def.name, def.fn as Callable, options) as unknown as Callable;
}
