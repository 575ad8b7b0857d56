/**
 * `task()`: turns a function into a lazy task.
 *
 * Terminology:
 * - *task*: a callable made by `task(name, fn)`; calling it runs nothing and returns an
 *   {@link Expression}.
 * - *task hash*: sha256 over namespace, name and the body's source text (or `version` when set);
 *   part of every cache key, so editing a body invalidates its cached calls.
 */
import { pathToFileURL } from "node:url";
import { UsageError } from "../errors.js";
import { hashString } from "../values/hash.js";
import { Expression } from "./expression.js";
import {
  TASK_BRAND,
  lookupDefinition,
  registerDefinition,
  type CompiledTaskOptions,
  type TaskDefinition,
} from "./registry.js";
import type { ResolvedTask, TaskHandle } from "./task-handle.js";
import type { DropPrefix, LazyArgs, Prefixes, Resolved } from "./types.js";

/**
 * Options of a task. Every field is optional.
 *
 * @example
 * task("fetch", fetchPage, { namespace: "crawler", retries: 2, limits: { http: 1 } });
 */
export interface TaskOptions {
  /** Prefix of the full name (`namespace.name`). @default undefined */
  namespace?: string;
  /** When set, the task hash is computed from it instead of the body's source. @default undefined */
  version?: string;
  /** `false`: run the body in every run (still once per run for identical calls). @default true */
  cache?: boolean;
  /**
   * `"full"`: reuse the recorded result and evaluate it again (single reduction, each sub-call
   * checked on its own). `"shallow"`: reuse the recorded final result whole when every task
   * reached below still has the same hash (ultimate reduction). @default "full"
   */
  checkValid?: "full" | "shallow";
  /** Name of the executor that runs the body (see `SchedulerOptions.executors`). @default "default" */
  executor?: string;
  /** Resources one call holds while it runs, bounded by `SchedulerOptions.limits`. @default {} */
  limits?: Record<string, number>;
  /** How many times a failing body is run again before the call fails. @default 0 */
  retries?: number;
}

type CallSignature<A extends readonly unknown[], R> = {
  // Declared as a method so that tasks are assignable to wider task types (bivariant
  // parameters): a `Task<[number], number>` can be passed where a `Task` is expected.
  call(...args: LazyArgs<A>): Expression<R>;
}["call"];

/** The members of a task besides its call signature. */
export interface TaskMembers<A extends readonly unknown[], R> extends TaskHandle {
  /** The task hash of the definition registered now (with this copy's `version`, if any). */
  readonly hash: string;
  /**
   * A copy of this task with some options replaced (the namespace cannot change).
   *
   * @example
   * const robust = fetchPage.options({ retries: 3 });
   */
  options(options: Omit<TaskOptions, "namespace">): Task<A, R>;
  /**
   * A task with its leading arguments bound.
   *
   * @example
   * const add = task("add", (a: number, b: number) => a + b);
   * const inc = add.partial(1);   // Task<[b: number], number>
   */
  partial<const P extends Prefixes<A>>(...args: P): Task<DropPrefix<A, P>, R>;
}

/**
 * A lazy task: call it with values or expressions to get an `Expression<R>`.
 *
 * @example
 * const add: Task<[number, number], number> = task("add", (a: number, b: number) => a + b);
 * const e = add(1, add(2, 3)); // Expression<number>
 */
export type Task<A extends readonly unknown[] = unknown[], R = unknown> = CallSignature<A, R> & TaskMembers<A, R>;

const DEFAULT_OPTIONS: CompiledTaskOptions = {
  namespace: undefined,
  version: undefined,
  cache: true,
  checkValid: "full",
  executor: "default",
  limits: {},
  retries: 0,
};

/** Validates options and fills defaults; throws a UsageError naming the bad field. */
function compileOptions(where: string, o: TaskOptions | undefined, allowNamespace: boolean): Partial<CompiledTaskOptions> {
  if (o === undefined) return {};
  if (typeof o !== "object" || o === null) throw new UsageError(`${where}: options must be an object`);
  const out: { -readonly [K in keyof CompiledTaskOptions]?: CompiledTaskOptions[K] } = {};
  const bad = (field: string, want: string): never => {
    throw new UsageError(`${where}: option "${field}" must be ${want}`);
  };
  for (const key of Object.keys(o)) {
    if (!(key in DEFAULT_OPTIONS)) throw new UsageError(`${where}: unknown option "${key}"`);
  }
  if (o.namespace !== undefined) {
    if (!allowNamespace) throw new UsageError(`${where}: the namespace cannot be changed with options(); define another task`);
    if (typeof o.namespace !== "string" || o.namespace === "") bad("namespace", "a non-empty string");
    out.namespace = o.namespace;
  }
  if (o.version !== undefined) {
    if (typeof o.version !== "string") bad("version", "a string");
    out.version = o.version;
  }
  if (o.cache !== undefined) {
    if (typeof o.cache !== "boolean") bad("cache", "a boolean");
    out.cache = o.cache;
  }
  if (o.checkValid !== undefined) {
    if (o.checkValid !== "full" && o.checkValid !== "shallow") bad("checkValid", '"full" or "shallow"');
    out.checkValid = o.checkValid;
  }
  if (o.executor !== undefined) {
    if (typeof o.executor !== "string" || o.executor === "") bad("executor", "a non-empty string");
    out.executor = o.executor;
  }
  if (o.limits !== undefined) {
    if (typeof o.limits !== "object" || o.limits === null) bad("limits", "an object of resource name to amount");
    for (const [k, v] of Object.entries(o.limits)) {
      if (typeof v !== "number" || !(v >= 0)) bad(`limits.${k}`, "a number >= 0");
    }
    out.limits = { ...o.limits };
  }
  if (o.retries !== undefined) {
    if (!Number.isInteger(o.retries) || o.retries < 0) bad("retries", "an integer >= 0");
    out.retries = o.retries;
  }
  return out;
}

/** The task hash: namespace, name and source, or namespace, name and version. */
export function computeTaskHash(namespace: string | undefined, name: string, source: string, version: string | undefined): string {
  return version !== undefined
    ? hashString("durun.task", namespace ?? "", name, "version", version)
    : hashString("durun.task", namespace ?? "", name, "source", source);
}

const HERE = import.meta.url.slice(0, import.meta.url.lastIndexOf("/") + 1);

/** The file URL of a stack frame's file name (a path or a URL), or undefined. */
function fileUrlOf(name: string | null | undefined): string | undefined {
  if (name === null || name === undefined || name === "") return undefined;
  if (name.startsWith("file://")) return name;
  if (name.startsWith("/") || /^[A-Za-z]:\\/.test(name)) return pathToFileURL(name).href;
  return undefined;
}

function skipFrame(url: string): boolean {
  return url.startsWith(HERE) || url.includes("/node_modules/vitest/") || url.includes("/node_modules/@vitest/");
}

/**
 * The URL of the module that called `task()`: the first stack frame outside this folder. Read
 * from raw call sites, so a source-mapped stack (tsx, --enable-source-maps) still names the
 * file that actually ran.
 */
function callerModuleUrl(): string | undefined {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  let sites: unknown;
  try {
    Error.stackTraceLimit = 30;
    Error.prepareStackTrace = (_error, callSites) => callSites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerModuleUrl);
    sites = holder.stack;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
  if (Array.isArray(sites)) {
    for (const site of sites as NodeJS.CallSite[]) {
      const url = fileUrlOf(site.getFileName() ?? site.getScriptNameOrSourceURL());
      if (url !== undefined && !skipFrame(url)) return url;
    }
    return undefined;
  }
  // Another library replaced the stack machinery: parse the text.
  for (const line of (new Error().stack ?? "").split("\n").slice(1)) {
    const m = /\(?((?:file:\/\/|\/|[A-Za-z]:\\)[^()]*?):\d+:\d+\)?\s*$/.exec(line);
    const url = fileUrlOf(m?.[1]);
    if (url !== undefined && !skipFrame(url)) return url;
  }
  return undefined;
}

const resolvedCache = new WeakMap<TaskHandle, { def: TaskDefinition; resolved: ResolvedTask }>();

/**
 * The task as evaluated now: the definition registered under its full name (falling back to the
 * one captured when the task object was made), with this copy's overrides applied.
 */
export function resolveTask(handle: TaskHandle): ResolvedTask {
  const def = lookupDefinition(handle.fullName) ?? handle.definition;
  const cached = resolvedCache.get(handle);
  if (cached !== undefined && cached.def === def) return cached.resolved;
  const o = handle.overrides;
  let resolved: ResolvedTask;
  if (Object.keys(o).length === 0) {
    resolved = { fullName: def.fullName, definition: def, options: def.options, hash: def.hash };
  } else {
    const options: CompiledTaskOptions = { ...def.options, ...o };
    const hash = options.version === def.options.version ? def.hash : computeTaskHash(def.options.namespace, def.name, def.source, options.version);
    resolved = { fullName: def.fullName, definition: def, options, hash };
  }
  resolvedCache.set(handle, { def, resolved });
  return resolved;
}

/** Builds a task object over a definition (internal: `task()`, `options()`, `partial()`, decoding). */
export function makeTask<A extends readonly unknown[], R>(
  definition: TaskDefinition,
  overrides: Readonly<Partial<CompiledTaskOptions>>,
  boundArgs: readonly unknown[],
): Task<A, R> {
  const fn = function (...args: unknown[]): Expression<R> {
    return new Expression<R>({ kind: "call", task: self, args: boundArgs.length === 0 ? args : [...boundArgs, ...args] });
  };
  const self = fn as unknown as Task<A, R>;
  Object.defineProperty(fn, "name", { value: definition.fullName });
  Object.defineProperties(fn, {
    [TASK_BRAND]: { value: true },
    fullName: { value: definition.fullName, enumerable: true },
    definition: { value: definition },
    overrides: { value: overrides },
    boundArgs: { value: boundArgs },
    hash: { get: () => resolveTask(self).hash, enumerable: true },
    options: {
      value: (o: Omit<TaskOptions, "namespace">) =>
        makeTask<A, R>(definition, { ...overrides, ...compileOptions(`${definition.fullName}.options()`, o, false) }, boundArgs),
    },
    partial: { value: (...args: unknown[]) => makeTask(definition, overrides, [...boundArgs, ...args]) },
  });
  return self;
}

/**
 * Defines a lazy task. Calling the returned task builds an expression; `scheduler.run(expr)`
 * evaluates it, reusing cached calls. Defining a task whose full name is already registered
 * replaces the earlier definition.
 *
 * @example
 * const add = task("add", (a: number, b: number) => a + b);
 * const double = task("double", async (x: number) => 2 * x);
 * const main = task("main", (x: number) => double(add(x, 1)));
 * await new Scheduler().run(main(3)); // 8
 */
export function task<A extends unknown[], R>(name: string, fn: (...args: A) => R, options?: TaskOptions): Task<A, Resolved<R>> {
  if (typeof name !== "string" || name === "") throw new UsageError("task(name, fn): name must be a non-empty string");
  if (typeof fn !== "function") throw new UsageError(`task("${name}", fn): fn must be a function`);
  const compiled: CompiledTaskOptions = { ...DEFAULT_OPTIONS, ...compileOptions(`task("${name}")`, options, true) };
  const fullName = compiled.namespace !== undefined ? `${compiled.namespace}.${name}` : name;
  const source = fn.toString();
  const definition: TaskDefinition = {
    name,
    fullName,
    fn: fn as unknown as (...args: never[]) => unknown,
    source,
    hash: computeTaskHash(compiled.namespace, name, source, compiled.version),
    options: compiled,
    moduleUrl: callerModuleUrl(),
  };
  registerDefinition(definition);
  return makeTask<A, Resolved<R>>(definition, {}, []);
}

/**
 * A reference to a task by full name (used when decoding stored values): calls build
 * expressions that resolve the definition at evaluation time.
 */
export function taskReference(fullName: string): TaskMembers<unknown[], unknown> & ((...args: unknown[]) => Expression<unknown>) {
  const def: TaskDefinition = lookupDefinition(fullName) ?? {
    name: fullName,
    fullName,
    fn: () => {
      throw new UsageError(`task "${fullName}" is not defined in this process; import the module that defines it`);
    },
    source: "",
    hash: "",
    options: DEFAULT_OPTIONS,
    moduleUrl: undefined,
  };
  return makeTask(def, {}, []) as never;
}
