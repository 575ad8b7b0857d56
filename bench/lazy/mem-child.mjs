// Child process for the peak-memory figure: one fan-out run of N calls on the given SQLite file,
// then prints one JSON line with process.resourceUsage().maxRSS (KB, peak over the process life).
// Usage: node mem-child.mjs <n> <dbPath> <fresh|cached>
import { installSqlCounter } from "./sql-counter.mjs";

const [nArg, dbPath, mode = "fresh"] = process.argv.slice(2);
const n = Number(nArg);
const counting = installSqlCounter();
const { fanoutWorkload, timedRun } = await import("./scenarios.mjs");

const rssBeforeKB = Math.round(process.memoryUsage().rss / 1024);
const workload = fanoutWorkload(n);
// The call graph of 100,000 calls is read in the child too, but after maxRSS is sampled.
const r = await timedRun(workload, dbPath, { readGraph: false });
const maxRSSKB = process.resourceUsage().maxRSS;
const heapUsedMB = process.memoryUsage().heapUsed / 2 ** 20;

const { Scheduler } = await import("./scenarios.mjs");
let calls, statuses, graphError = null;
try {
  const reader = new Scheduler({ db: dbPath });
  const graph = await reader.db.getCallGraph(r.executionId);
  calls = graph.calls.length;
  statuses = {};
  for (const c of graph.calls) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
  await reader.close();
} catch (e) {
  graphError = `getCallGraph failed: ${e?.message ?? e}`;
}

process.stdout.write(
  JSON.stringify({ mode, n, maxRSSKB, rssBeforeKB, heapUsedMB, counting, ...r, calls, statuses, graphError: r.graphError ?? graphError }) + "\n",
);
