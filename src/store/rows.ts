/**
 * What the SQL store implementations share: loading numbered migration files, picking the rows
 * of a batch that are new to this process, and turning result rows (snake_case columns, times
 * as epoch milliseconds — numbers in SQLite, bigint strings in PostgreSQL) into records.
 */
import { readdirSync, readFileSync } from "node:fs";
import { decodeValue } from "../values/codec.js";
import type { CallRecord, ExecutionRecord, TaskRecord, WriteBatch } from "./store.js";

/** A result row as a driver returns it. */
export type Row = Record<string, unknown>;

/** One migration file: `NNNN-name.sql`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Reads the `NNNN-name.sql` files of a folder, in version order. */
export function loadMigrations(dir: URL): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir)) {
    const m = /^(\d+)-(.+)\.sql$/.exec(file);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2]!, sql: readFileSync(new URL(file, dir), "utf8") });
  }
  return out.sort((a, b) => a.version - b.version);
}

/**
 * The value and task rows of a batch that this process has not written before (as column
 * arrays: values `[hash, text]`, tasks `[hash, name, namespace, fullName, source]`); marks them
 * as known.
 */
export function newValueAndTaskRows(
  batch: Pick<WriteBatch, "values" | "tasks">,
  knownValues: Set<string>,
  knownTasks: Set<string>,
): { values: unknown[][]; tasks: unknown[][] } {
  const values: unknown[][] = [];
  for (const v of batch.values) {
    if (knownValues.has(v.hash)) continue;
    knownValues.add(v.hash);
    values.push([v.hash, v.text]);
  }
  const tasks: unknown[][] = [];
  for (const t of batch.tasks) {
    if (knownTasks.has(t.hash)) continue;
    knownTasks.add(t.hash);
    tasks.push([t.hash, t.name, t.namespace, t.fullName, t.source]);
  }
  return { values, tasks };
}

/** Decodes a stored text for display; `undefined` when absent or not decodable. */
export function safeDecode(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return decodeValue(text);
  } catch {
    return undefined;
  }
}

function time(v: unknown): Date | null {
  return v === null || v === undefined ? null : new Date(Number(v));
}

function text(v: unknown): string | null {
  return (v as string | null | undefined) ?? null;
}

/** A `tasks` row as a record. */
export function toTask(r: Row): TaskRecord {
  return {
    hash: r.hash as string,
    name: r.name as string,
    namespace: text(r.namespace),
    fullName: r.full_name as string,
    source: r.source as string,
  };
}

/** An `executions` row as a record. */
export function toExecution(r: Row): ExecutionRecord {
  return {
    id: r.id as string,
    taskName: r.task_name as string,
    args: r.args as string,
    description: text(r.description),
    status: r.status as ExecutionRecord["status"],
    startedAt: time(r.started_at) ?? new Date(0),
    endedAt: time(r.ended_at),
    error: text(r.error),
    rootCallId: text(r.root_call_id),
    callCount: Number(r.call_count),
  };
}

/** A `calls` row as a record. */
export function toCall(r: Row): CallRecord {
  return {
    id: r.id as string,
    executionId: r.execution_id as string,
    parentId: text(r.parent_id),
    taskName: r.task_name as string,
    taskHash: r.task_hash as string,
    argsHash: r.args_hash as string,
    callHash: text(r.call_hash),
    status: r.status as CallRecord["status"],
    startedAt: time(r.started_at) ?? new Date(0),
    endedAt: time(r.ended_at),
    resultHash: text(r.result_hash),
    finalHash: text(r.final_hash),
    error: text(r.error),
    attempts: Number(r.attempts),
  };
}
