// Child process for the peak-memory figure: one fan-out run of N calls on the given SQLite file,
// then prints one JSON line with process.resourceUsage().maxRSS (KB, peak over the process life).
// Usage: node mem-child.mjs <n> <dbPath> <fresh|cached>
import { readFileSync, statSync } from "node:fs";
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
const ioWriteBytes = readIoWriteBytes();
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
  JSON.stringify({ mode, n, maxRSSKB, ioWriteMB: ioWriteBytes === undefined ? undefined : ioWriteBytes / 2 ** 20, dbFileMB: fileMB(dbPath), rssBeforeKB, heapUsedMB, counting, ...r, calls, statuses, graphError: r.graphError ?? graphError }) + "\n",
);

/** Bytes this process caused to be written to storage (Linux /proc; undefined elsewhere). */
function readIoWriteBytes() {
  try {
    const io = readFileSync("/proc/self/io", "utf8");
    const m = /^wchar: (\d+)$/m.exec(io); // bytes passed to write(2)/pwrite(2), page cache or not
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function fileMB(p) {
  try {
    return statSync(p).size / 2 ** 20;
  } catch {
    return undefined;
  }
}
