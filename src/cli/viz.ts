/**
 * `durun viz <execution-id> --format dot|mermaid`: an execution's call graph as text for
 * Graphviz or Mermaid. Edges go from parent call to child call; labels show task and status.
 */
import type { Command } from "commander";
import { Option } from "commander";
import type { CallRecord } from "../store/store.js";
import { DurunError, UsageError } from "../errors.js";
import { action, addCommand, resolveDb, type VerboseOption } from "./common.js";
import { findById, openExistingStore } from "./store-view.js";

/** Output formats of `durun viz`. */
export const VIZ_FORMATS = ["dot", "mermaid"] as const;
/** One of {@link VIZ_FORMATS}. */
export type VizFormat = (typeof VIZ_FORMATS)[number];

/** Options of `durun viz`. */
export interface VizCommandOptions extends VerboseOption {
  db?: string;
  format: VizFormat;
}

/** Registers `durun viz`. */
export function registerViz(program: Command): void {
  const cmd = addCommand(program, "viz")
    .description("print an execution's call graph as Graphviz dot or Mermaid")
    .argument("<execution-id>", "execution id (a unique prefix is enough)")
    .addOption(new Option("-f, --format <format>", "output format").choices(VIZ_FORMATS).default("dot"))
    .option("--db <url>", "cache and provenance database (env DURUN_DB; default .durun/durun.db)")
    .option("--verbose", "print stacks of errors")
    .addHelpText(
      "after",
      `
Examples:
  durun viz 3f2a1c9b | dot -Tsvg > graph.svg
  durun viz 3f2a1c9b --format mermaid`,
    );
  action(cmd, async (id: string, opts: VizCommandOptions) => {
    const url = resolveDb(opts.db);
    const store = openExistingStore(url);
    if (!store) throw new UsageError(`no database at ${url}; pass --db <url> (or set DURUN_DB) to the database the run used`);
    try {
      const found = await findById(store.db, id);
      if (found.kind !== "execution") {
        throw new DurunError(`"${id}" is a call, not an execution; viz takes an execution id (list them with: durun log)`, { code: "NOT_FOUND" });
      }
      const { calls } = await store.db.getCallGraph(found.execution.id);
      process.stdout.write(opts.format === "mermaid" ? toMermaid(calls) : toDot(calls, found.execution.id));
    } finally {
      await store.close();
    }
  });
}


function nodeIds(calls: readonly CallRecord[]): Map<string, string> {
  return new Map(calls.map((c, i) => [c.id, `c${i}`]));
}

const DOT_COLORS: Record<string, string> = { done: "palegreen", cached: "lightblue", failed: "salmon" };

/** The call graph in Graphviz dot. */
export function toDot(calls: readonly CallRecord[], executionId: string): string {
  const ids = nodeIds(calls);
  const lines = [`digraph "execution ${executionId}" {`, "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fontname="Helvetica"];'];
  for (const c of calls) {
    lines.push(`  ${ids.get(c.id)} [label="${escapeDot(c.taskName)}\\n${c.status}", fillcolor="${DOT_COLORS[c.status] ?? "white"}", tooltip="${c.id}"];`);
  }
  for (const c of calls) {
    const parent = c.parentId ? ids.get(c.parentId) : undefined;
    if (parent) lines.push(`  ${parent} -> ${ids.get(c.id)};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** The call graph as a Mermaid flowchart. */
export function toMermaid(calls: readonly CallRecord[]): string {
  const ids = nodeIds(calls);
  const lines = ["flowchart TD"];
  for (const c of calls) lines.push(`  ${ids.get(c.id)}["${escapeMermaid(c.taskName)}<br/>${c.status}"]:::${c.status}`);
  for (const c of calls) {
    const parent = c.parentId ? ids.get(c.parentId) : undefined;
    if (parent) lines.push(`  ${parent} --> ${ids.get(c.id)}`);
  }
  lines.push("  classDef done fill:#cfc", "  classDef cached fill:#cdf", "  classDef failed fill:#fcc");
  return lines.join("\n") + "\n";
}

function escapeDot(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

function escapeMermaid(s: string): string {
  return s.replace(/"/g, "#quot;");
}

