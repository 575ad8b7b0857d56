// The lazy-engine workloads, shared by index.mjs (the table) and mem-child.mjs (peak memory).
// Everything goes through the public API of API.md §1: task(), Scheduler, run(), db.getCallGraph().
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqlSnapshot, sqlDelta } from "./sql-counter.mjs";

// DURUN_BENCH_ENTRY overrides the module under test (an absolute path), e.g. to check the harness.
const entry = process.env.DURUN_BENCH_ENTRY
  ? new URL(`file://${process.env.DURUN_BENCH_ENTRY}`).href
  : new URL("../../dist/index.js", import.meta.url).href;
const durun = await import(entry);
export const { task, Scheduler } = durun;

const NS = "bench_lazy";

// ---- workload 1: fan-out -------------------------------------------------------------------
// fanout(n) returns n independent calls inc(0) .. inc(n-1); the run resolves to [1 .. n].
export const inc = task("inc", (i) => i + 1, { namespace: NS });
export const fanout = task(
  "fanout",
  (n) => {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = inc(i);
    return out;
  },
  { namespace: NS },
);

export function fanoutWorkload(n) {
  return {
    name: `fan-out ${n}`,
    expected: n + 1, // fanout + n × inc
    expr: () => fanout(n),
    check(value) {
      if (!Array.isArray(value) || value.length !== n) return `expected an array of ${n}, got ${describe(value)}`;
      for (let i = 0; i < n; i++) if (value[i] !== i + 1) return `value[${i}] = ${describe(value[i])}, expected ${i + 1}`;
      return null;
    },
  };
}

// ---- workload 2: depth × width grid --------------------------------------------------------
// Layer k (0..depth-1) call j = step(k, j, prev[j], prev[(j+1) % width]) where prev of layer 0
// is the plain numbers 0..width-1. Each call depends on two calls of the layer before, so the
// graph is `depth` deep and `width` wide; grid(depth, width) returns the last layer.
const MOD = 1_000_003;
export const step = task("step", (k, j, a, b) => (a + b + k) % 1_000_003, { namespace: NS });
export const grid = task(
  "grid",
  (depth, width) => {
    let prev = Array.from({ length: width }, (_, j) => j);
    for (let k = 0; k < depth; k++) {
      const cur = new Array(width);
      for (let j = 0; j < width; j++) cur[j] = step(k, j, prev[j], prev[(j + 1) % width]);
      prev = cur;
    }
    return prev;
  },
  { namespace: NS },
);

export function gridWorkload(depth, width) {
  let prev = Array.from({ length: width }, (_, j) => j);
  for (let k = 0; k < depth; k++) prev = prev.map((a, j) => (a + prev[(j + 1) % width] + k) % MOD);
  const want = prev;
  return {
    name: `grid ${depth}x${width}`,
    expected: depth * width + 1, // grid + depth × width × step
    expr: () => grid(depth, width),
    check(value) {
      if (!Array.isArray(value) || value.length !== width) return `expected an array of ${width}, got ${describe(value)}`;
      for (let j = 0; j < width; j++) if (value[j] !== want[j]) return `value[${j}] = ${describe(value[j])}, expected ${want[j]}`;
      return null;
    },
  };
}

function describe(v) {
  const s = Array.isArray(v) ? `array(${v.length})` : typeof v === "object" ? JSON.stringify(v)?.slice(0, 80) : String(v);
  return s ?? String(v);
}

// ---- running -------------------------------------------------------------------------------

export function tempDbPath(label) {
  const dir = mkdtempSync(join(tmpdir(), `durun-bench-lazy-${label}-`));
  return { dir, path: join(dir, "durun.db"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Find a statement counter the store may expose (the name is not fixed by API.md). */
export function storeStats(db) {
  if (!db) return undefined;
  for (const key of ["stats", "statementCount", "statements", "sqlStats"]) {
    let v = db[key];
    if (typeof v === "function") {
      try { v = v.call(db); } catch { continue; }
    }
    if (v !== undefined && v !== null) return { key, value: structuredCloneSafe(v) };
  }
  if (typeof db.getStats === "function") {
    try { return { key: "getStats()", value: structuredCloneSafe(db.getStats()) }; } catch { /* ignore */ }
  }
  return undefined;
}

function structuredCloneSafe(v) {
  try { return structuredClone(v); } catch { return v; }
}

/**
 * One timed run on `dbPath` in a new Scheduler: construct + run + close is the wall time (so
 * writes deferred to close() are not hidden). The call graph is read afterwards from a second
 * Scheduler on the same file, outside the timing.
 */
export async function timedRun(workload, dbPath, { readGraph = true, schedulerOptions = {} } = {}) {
  const sql0 = sqlSnapshot();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const scheduler = new Scheduler({ db: dbPath, ...schedulerOptions });
  const t1 = performance.now();
  const value = await scheduler.run(workload.expr());
  const t2 = performance.now();
  const stats = storeStats(scheduler.db);
  const executionId = scheduler.lastExecutionId;
  await scheduler.close();
  const t3 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const sql = sqlDelta(sql0, sqlSnapshot());

  const result = {
    seconds: (t3 - t0) / 1000,
    // CPU time of this process (user + system) over the same span: less sensitive than wall
    // time to other processes competing for the cores.
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    openSeconds: (t1 - t0) / 1000,
    runSeconds: (t2 - t1) / 1000,
    closeSeconds: (t3 - t2) / 1000,
    sql,
    storeStats: stats,
    executionId,
    valueError: workload.check(value),
    calls: undefined,
    statuses: undefined,
    graphError: null,
  };
  if (readGraph) {
    const reader = new Scheduler({ db: dbPath });
    try {
      if (executionId === undefined || executionId === null) {
        result.graphError = "scheduler.lastExecutionId is not set after run()";
      } else if (typeof reader.db?.getCallGraph !== "function") {
        result.graphError = "scheduler.db.getCallGraph is not a function";
      } else {
        const graph = await reader.db.getCallGraph(executionId);
        const calls = graph?.calls ?? [];
        result.calls = calls.length;
        const statuses = {};
        for (const c of calls) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
        result.statuses = statuses;
      }
    } catch (e) {
      result.graphError = `getCallGraph failed: ${e?.message ?? e}`;
    } finally {
      await reader.close();
    }
  }
  return result;
}
