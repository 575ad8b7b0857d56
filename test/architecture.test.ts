/**
 * Guards the layering of ARCHITECTURE.md: lower layers never import higher ones, and storage
 * drivers are imported only by the store implementations (CONVENTIONS.md, convention 1).
 */
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, dirname, resolve, sep } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const src = join(root, "src");

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** The layer of a file: its first folder under src/ (or the file name for top-level files). */
function layerOf(file: string): string {
  const rel = relative(src, file).split(sep);
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, "") : rel[0]!;
}

const allowed: Record<string, string[]> = {
  errors: [],
  values: ["errors"],
  tasks: ["errors", "values"],
  store: ["errors", "values"],
  executors: ["errors", "values", "tasks"],
  scheduler: ["errors", "values", "tasks", "store", "executors"],
  durable: ["errors", "values", "tasks", "store", "executors", "scheduler"],
  cli: ["errors", "values", "tasks", "store", "executors", "scheduler", "durable", "index"],
  ui: ["errors", "values", "tasks", "store", "executors", "scheduler", "durable", "index"],
  index: ["errors", "values", "tasks", "store", "executors", "scheduler", "durable"],
};

const drivers: Record<string, RegExp> = {
  "better-sqlite3": /^src\/store\/sqlite\//,
  pg: /^src\/store\/postgres\//,
  ioredis: /^src\/durable\/redis\//,
};

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) out.push(m[1]!);
  return out;
}

describe("architecture", () => {
  const files = walk(src);

  it("finds the source tree", () => {
    expect(files.length).toBeGreaterThan(3);
  });

  it("lower layers never import higher ones", () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      const ok = allowed[from];
      if (!ok) {
        violations.push(`${relative(root, file)}: folder "${from}" is not a known layer (add it to test/architecture.test.ts)`);
        continue;
      }
      for (const spec of importsOf(file)) {
        if (!spec.startsWith(".")) continue;
        const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
        if (!target.startsWith(src)) continue;
        const to = layerOf(target);
        if (to !== from && !ok.includes(to)) violations.push(`${relative(root, file)} (${from}) imports ${spec} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("storage drivers are imported only by their store implementation", () => {
    const violations: string[] = [];
    for (const file of files) {
      const rel = relative(root, file).split(sep).join("/");
      for (const spec of importsOf(file)) {
        const place = drivers[spec];
        if (place && !place.test(rel)) violations.push(`${rel} imports ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
