/**
 * `durun log [<id>]`: recent executions, one execution as a call tree, or one call in detail.
 */
import type { Command } from "commander";
import type { CallDetail, CallRecord, ExecutionRecord, Store } from "../store/store.js";
import { paramsOf } from "./args.js";
import { UsageError } from "../errors.js";
import { action, addCommand, resolveDb, type VerboseOption } from "./common.js";
import { formatDuration, shortId } from "./progress.js";
import { renderInline, renderValue } from "./render.js";
import { findById, openExistingStore } from "./store-view.js";

/** Options of `durun log`. */
export interface LogCommandOptions extends VerboseOption {
  db?: string;
  limit: string;
}

/** Registers `durun log`. */
export function registerLog(program: Command): void {
  const cmd = addCommand(program, "log")
    .description("show recorded executions, one execution's call tree, or one call")
    .argument("[id]", "execution id or call id (a unique prefix is enough)")
    .option("--db <url>", "cache and provenance database (env DURUN_DB; default .durun/durun.db)")
    .option("-n, --limit <n>", "how many executions to list", "20")
    .option("--verbose", "print stacks of errors")
    .addHelpText(
      "after",
      `
Without an id: the most recent executions (id, start, task, status, duration, call counts).
With an execution id: its calls as an indented tree with status and timing.
With a call id: the call's arguments (with the ids of the calls that produced them), its
result and the source of its task.

Examples:
  durun log
  durun log 3f2a1c9b
  durun log --limit 5 --db sqlite:/tmp/cache.db`,
    );
  action(cmd, async (id: string | undefined, opts: LogCommandOptions) => {
    const limit = Number(opts.limit);
    if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`--limit needs a positive whole number, got "${opts.limit}"`);
    if (id !== undefined && id.trim() === "") throw new UsageError("the id is empty; give an execution or call id, or none to list executions");
    const url = resolveDb(opts.db);
    const store = openExistingStore(url);
    if (!store) {
      if (id === undefined) {
        process.stdout.write(`no executions recorded yet (no database at ${url}); run a task with: durun run <file> <task>\n`);
        return;
      }
      throw new UsageError(`no database at ${url}; pass --db <url> (or set DURUN_DB) to the database the run used`);
    }
    try {
      if (id === undefined) {
        process.stdout.write(await renderExecutionList(store.db, limit));
        return;
      }
      const found = await findById(store.db, id);
      if (found.kind === "execution") process.stdout.write(await renderExecutionTree(store.db, found.execution));
      else process.stdout.write(renderCall(found.call));
    } finally {
      await store.close();
    }
  });
}

interface ExecutionSummary {
  counts: Record<string, number>;
  durationMs: number | undefined;
}

/** Call counts by status and the duration of an execution. */
export async function summarize(db: Store, exec: ExecutionRecord, maxCalls = Infinity): Promise<ExecutionSummary> {
  const counts: Record<string, number> = {};
  if (exec.callCount > maxCalls) counts["calls"] = exec.callCount;
  else for (const c of (await db.getCallGraph(exec.id)).calls) counts[c.status] = (counts[c.status] ?? 0) + 1;
  return { counts, durationMs: exec.endedAt ? exec.endedAt.getTime() - exec.startedAt.getTime() : undefined };
}

/** Executions with more calls than this show a total instead of counts by status in the list. */
const LIST_COUNT_LIMIT = 20_000;

/** The table of recent executions. */
export async function renderExecutionList(db: Store, limit: number): Promise<string> {
  const execs = await db.listExecutions({ limit });
  if (execs.length === 0) return "no executions recorded yet; run a task with: durun run <file> <task>\n";
  const rows: string[][] = [["EXECUTION", "STARTED", "TASK", "STATUS", "DURATION", "CALLS"]];
  for (const exec of execs) {
    const s = await summarize(db, exec, LIST_COUNT_LIMIT);
    rows.push([shortId(exec.id), formatDate(exec.startedAt), exec.taskName, exec.status, s.durationMs === undefined ? "-" : formatDuration(s.durationMs), formatCounts(s.counts)]);
  }
  return table(rows);
}

/** One execution as an indented call tree. */
export async function renderExecutionTree(db: Store, exec: ExecutionRecord): Promise<string> {
  const s = await summarize(db, exec);
  const { calls } = await db.getCallGraph(exec.id);
  const lines = [
    `execution ${exec.id}`,
    `  started  ${formatDate(exec.startedAt)}    status ${exec.status}    duration ${s.durationMs === undefined ? "-" : formatDuration(s.durationMs)}`,
  ];
  if (exec.description) lines.push(`  command  ${exec.description}`);
  if (exec.error) lines.push(`  error    ${exec.error.split("\n")[0] ?? ""}`);
  lines.push(`  calls    ${formatCounts(s.counts)}`, "");
  const children = new Map<string, CallRecord[]>();
  const ids = new Set(calls.map((c) => c.id));
  const roots: CallRecord[] = [];
  for (const c of calls) {
    if (c.parentId && ids.has(c.parentId)) {
      const list = children.get(c.parentId) ?? [];
      list.push(c);
      children.set(c.parentId, list);
    } else roots.push(c);
  }
  const byStart = (a: CallRecord, b: CallRecord): number => (toDate(a.startedAt)?.getTime() ?? 0) - (toDate(b.startedAt)?.getTime() ?? 0);
  const rows: string[][] = [];
  const seen = new Set<string>();
  const walk = (c: CallRecord, depth: number): void => {
    if (seen.has(c.id)) return;
    seen.add(c.id);
    rows.push([`${"  ".repeat(depth)}${c.taskName}`, c.status, callDuration(c), shortId(c.id)]);
    for (const child of (children.get(c.id) ?? []).sort(byStart)) walk(child, depth + 1);
  };
  for (const r of roots.sort(byStart)) walk(r, 0);
  return lines.join("\n") + "\n" + table(rows);
}

/** One call: arguments with upstream calls, result, task source. */
export function renderCall(call: CallDetail): string {
  const lines = [`call ${call.id}  (execution ${shortId(call.executionId)})`];
  lines.push(`  task     ${call.taskName}  (hash ${shortId(call.taskHash)})`);
  lines.push(`  status   ${call.status}    started ${formatDate(call.startedAt)}    duration ${callDuration(call)}`);
  if (call.parentId) lines.push(`  parent   ${shortId(call.parentId)}`);
  const params = call.task ? paramsOf(call.task.source) : [];
  lines.push("  arguments");
  if (call.args.length === 0) lines.push("    (none)");
  for (const arg of [...call.args].sort((x, y) => x.position - y.position)) {
    const param = params[Math.min(arg.position, params.length - 1)];
    const label = param?.name ? (param.rest ? `${param.name}[${arg.position - params.length + 1}]` : param.name) : `[${arg.position}]`;
    const from = arg.upstreamCallId ? `   (from call ${shortId(arg.upstreamCallId)})` : "";
    lines.push(`    ${label} = ${renderInline(arg.value, 100)}${from}`);
  }
  if (call.status === "failed") lines.push(`  error    ${call.error ?? "-"}`);
  else lines.push("  result", indent(renderValue(call.result), "    "));
  if (call.task) lines.push("  source", indent(call.task.source, "    "));
  return lines.join("\n") + "\n";
}

function callDuration(c: CallRecord): string {
  const a = toDate(c.startedAt);
  const b = toDate(c.endedAt);
  return a && b ? formatDuration(b.getTime() - a.getTime()) : "-";
}

function formatCounts(counts: Record<string, number>): string {
  const order = ["done", "cached", "failed"];
  const keys = [...order.filter((k) => counts[k]), ...Object.keys(counts).filter((k) => !order.includes(k))];
  return keys.length ? keys.map((k) => `${counts[k]} ${k}`).join(", ") : "no calls";
}

/** `2026-11-24 19:40:01` in local time. */
export function formatDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Left-aligned columns separated by two spaces. */
export function table(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd()).join("\n") + "\n";
}

function indent(text: string, prefix: string): string {
  return text.split("\n").map((l) => prefix + l).join("\n");
}

function toDate(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  if (typeof v === "number" || typeof v === "string") {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}
