/**
 * The task registry and the brand symbols shared by every copy of this module.
 *
 * Terminology:
 * - *full name*: `namespace.name` (or just `name` without a namespace); the registry key.
 * - *definition*: what `task()` registered last under a full name (body, options, hash).
 *
 * The registry lives on `globalThis` under a `Symbol.for` key, so two copies of durun loaded in
 * one process (e.g. `src/` under tsx and `dist/` through the package name) share one registry,
 * and brand checks use `Symbol.for` symbols rather than `instanceof`.
 */

/** Brand carried by every task object. */
export const TASK_BRAND: unique symbol = Symbol.for("durun.task") as never;
/** Brand carried by every expression object. */
export const EXPRESSION_BRAND: unique symbol = Symbol.for("durun.expression") as never;

/** Options as stored on a definition, with defaults filled in. */
export interface CompiledTaskOptions {
  readonly namespace: string | undefined;
  readonly version: string | undefined;
  readonly cache: boolean;
  readonly checkValid: "full" | "shallow";
  readonly executor: string;
  readonly limits: Readonly<Record<string, number>>;
  readonly retries: number;
}

/** One registered task definition. */
export interface TaskDefinition {
  /** Short name as given to `task()`. */
  readonly name: string;
  /** `namespace.name`, or `name`. */
  readonly fullName: string;
  /** The body. */
  readonly fn: (...args: never[]) => unknown;
  /** Source text of the body (`fn.toString()`). */
  readonly source: string;
  /** Hash of namespace, name and source (or version). */
  readonly hash: string;
  readonly options: CompiledTaskOptions;
  /** URL of the module that called `task()` (for executors in other threads), if known. */
  readonly moduleUrl: string | undefined;
}

interface RegistryHolder {
  definitions: Map<string, TaskDefinition>;
}

const REGISTRY_KEY = Symbol.for("durun.taskRegistry");

function holder(): RegistryHolder {
  const g = globalThis as unknown as Record<symbol, RegistryHolder | undefined>;
  let h = g[REGISTRY_KEY];
  if (!h) {
    h = { definitions: new Map() };
    g[REGISTRY_KEY] = h;
  }
  return h;
}

/** Registers (or replaces) a definition under its full name. */
export function registerDefinition(def: TaskDefinition): void {
  holder().definitions.set(def.fullName, def);
}

/** The definition registered now under `fullName`, if any. */
export function lookupDefinition(fullName: string): TaskDefinition | undefined {
  return holder().definitions.get(fullName);
}

/** All registered full names (for error messages and the CLI). */
export function registeredTaskNames(): string[] {
  return [...holder().definitions.keys()];
}

/** True when `v` is a durun task (from any copy of the module). */
export function isTaskValue(v: unknown): boolean {
  return typeof v === "function" && (v as unknown as Record<symbol, unknown>)[TASK_BRAND] === true;
}

/** True when `v` is a durun expression (from any copy of the module). */
export function isExpressionValue(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[EXPRESSION_BRAND] === true;
}
