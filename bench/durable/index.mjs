// bench/durable: durable workflows on Redis versus BullMQ, on one private redis-server (appendonly
// no) started here and killed after. Run by `npm run bench` after a build; alone:
// `npm run build && node bench/durable/index.mjs [--runs 20000] [--concurrency 64]
// [--ten-runs 1000] [--latency 500] [--json]`.
//
// (a) N single-step workflow runs through one worker (this process) at concurrency C, versus
//     BullMQ processing N no-op jobs at concurrency C. Everything is emitted/added first; the
//     timed part is from starting the worker to the last completion (worker start-up included,
//     for both). A completion is what each library reports once its final script has answered:
//     BullMQ's `completed` event, durun's `onRunEvent` "end" with outcome "succeeded". The
//     counts are then checked in Redis (untimed).
// (b) a 10-step workflow: steps per second (same timing).
// (c) emit-to-start latency on an idle worker: sequential emits, the time from calling
//     emitWorkflow to the first line of the handler (performance.now(), same process).
// (d) Redis commands per run / per job / per step, from INFO commandstats (CONFIG RESETSTAT
//     before each phase).
// Targets (issue 3): (a) durun ≥ BullMQ throughput; (d) fewer commands per single-step run than
// BullMQ per job; (c) p50 < 2 ms. A missed target prints MISSED and exits 0; a wrong result (a
// run not succeeded, a count that does not add up, a crash or a phase over its time limit) exits 1.
import { Redis } from "ioredis";
import { Queue, Worker as BullWorker } from "bullmq";
import { performance } from "node:perf_hooks";
import { readFileSync } from "node:fs";
import { startRedis, commandStats, resetStats, cleanStats, summarize, redisCpu } from "./redis.mjs";

const args = parseArgs(process.argv.slice(2));
const N = Number(args.runs ?? 20_000);
const C = Number(args.concurrency ?? 64);
const TEN_RUNS = Number(args["ten-runs"] ?? 1_000);
const LAT_N = Number(args.latency ?? 500);
const PHASE_TIMEOUT_MS = Number(args["phase-timeout"] ?? 120_000);
const ROUNDS = Number(args.rounds ?? 3);
const ONLY = new Set(String(args.only ?? "single,bull,ten,latency").split(","));

// --module <path>: load the API from elsewhere (e.g. test/durable-system/api.ts through tsx, while
// dist/ cannot be built); default: the built package.
const modulePath = args.module ? new URL(args.module, `file://${process.cwd()}/`).href : "../../dist/index.js";
const { defineWorkflow, createClient, startWorker } = ONLY.has("single") || ONLY.has("ten") || ONLY.has("latency") ? await import(modulePath) : { defineWorkflow: () => {} };

// Commands the clients of this process send (durun's and BullMQ's ioredis connections), counted
// in ioredis itself: commandstats also counts the commands scripts run inside Redis.
const sent = { byCmd: {} };
const origSend = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command, ...rest) {
  if (!this.benchIgnore && command?.name) sent.byCmd[command.name] = (sent.byCmd[command.name] ?? 0) + 1;
  return origSend.call(this, command, ...rest);
};

const server = await startRedis();
const admin = new Redis(server.url);
admin.benchIgnore = true;
const rows = [];
const problems = [];
const notes = [];
const results = {};

// ---- workflows (defined once; every worker of this process runs them) ----------------------
defineWorkflow("bench-single", { maxConcurrency: Infinity, maxAttempts: 1 }, async (ctx) => ctx.step.run("noop", () => 1));
defineWorkflow("bench-ten", { maxConcurrency: Infinity, maxAttempts: 1 }, async (ctx) => {
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += await ctx.step.run(`s${i}`, () => i);
  return sum;
});
let onLatencyStart;
let onLatencyEnd;
defineWorkflow("bench-latency", { maxConcurrency: Infinity, maxAttempts: 1 }, async (ctx) => {
  onLatencyStart?.(performance.now());
  const v = await ctx.step.run("noop", () => 1);
  onLatencyEnd?.();
  return v;
});

function deadline(what, promise, ms = PHASE_TIMEOUT_MS) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
    }),
  ]);
}

async function emitMany(client, workflow, count, window = 500) {
  const ids = [];
  for (let i = 0; i < count; i += window) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + window); j++) batch.push(client.emitWorkflow(workflow, { i: j }).then((h) => h.id));
    ids.push(...(await Promise.all(batch)));
  }
  return ids;
}

/**
 * Starts a worker that resolves `done` when `count` runs have ended "succeeded" on it (the
 * complete script answered), the way BullMQ's `completed` event counts jobs.
 */
async function countingWorker(count, what) {
  let ended = 0;
  let resolve;
  let reject;
  const done = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  const worker = await startWorker({
    app: "bench",
    url: server.url,
    concurrency: C,
    queues: ["default"],
    onRunEvent: (e) => {
      if (e.type !== "end") return;
      if (e.outcome !== "succeeded") reject(new Error(`${what}: run ${e.runId} ended ${e.outcome}${e.error ? `: ${e.error.message}` : ""}`));
      else if (++ended === count) resolve();
    },
  });
  return { worker, done };
}

async function waitSucceeded(client, count) {
  for (;;) {
    const stats = await client.getStats();
    const ok = stats.byStatus?.succeeded ?? 0;
    const failed = stats.byStatus?.failed ?? 0;
    if (failed > 0) throw new Error(`${failed} runs failed`);
    if (ok >= count) return ok;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cpuMark = { redis: 0, node: process.cpuUsage() };

async function phaseStats() {
  const s = summarize(cleanStats(await commandStats(admin)));
  s.sent = summarize(sent.byCmd);
  s.redisCpuMs = ((await redisCpu(admin)) - cpuMark.redis) * 1000;
  const u = process.cpuUsage(cpuMark.node);
  s.nodeCpuMs = (u.user + u.system) / 1000;
  return s;
}

async function resetAll() {
  await resetStats(admin);
  sent.byCmd = {};
  cpuMark.redis = await redisCpu(admin);
  cpuMark.node = process.cpuUsage();
}

async function durunSinglePhase() {
  await admin.flushall();
  const client = createClient({ url: server.url });
  await client.getStats(); // connect
  await resetAll();
  const e0 = performance.now();
  await emitMany(client, "bench-single", N);
  const emitMs = performance.now() - e0;
  const emitStats = await phaseStats();

  await resetAll();
  const t0 = performance.now();
  const { worker, done } = await countingWorker(N, "durun single-step runs");
  await deadline("durun single-step runs", done);
  const ms = performance.now() - t0;
  const procStats = await phaseStats();
  await deadline("durun single-step runs recorded", waitSucceeded(client, N));
  await worker.stop();
  await client.close();
  return { n: N, ms, perSec: (N / ms) * 1000, emitMs, emitPerSec: (N / emitMs) * 1000, emit: emitStats, process: procStats };
}

async function bullPhase() {
  await admin.flushall();
  const connection = { host: "127.0.0.1", port: server.port };
  const queue = new Queue("bench", { connection });
  await queue.waitUntilReady();
  await resetAll();
  const e0 = performance.now();
  for (let i = 0; i < N; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({ name: "noop", data: { i: i + j } })));
  }
  const addMs = performance.now() - e0;
  const addStats = await phaseStats();

  await resetAll();
  let completed = 0;
  let failedJobs = 0;
  let allDone;
  const all = new Promise((r) => (allDone = r));
  const t0 = performance.now();
  const worker = new BullWorker("bench", async () => 1, { connection, concurrency: C });
  worker.on("completed", () => {
    if (++completed === N) allDone();
  });
  worker.on("failed", () => failedJobs++);
  await deadline("BullMQ jobs", all);
  const ms = performance.now() - t0;
  const procStats = await phaseStats();
  await worker.close();
  const counts = await queue.getJobCounts("completed", "failed");
  await queue.close();
  if (counts.completed !== N || failedJobs) problems.push(`BullMQ: ${counts.completed} completed, ${failedJobs} failed (expected ${N} completed)`);
  return { n: N, ms, perSec: (N / ms) * 1000, emitMs: addMs, emitPerSec: (N / addMs) * 1000, emit: addStats, process: procStats };
}

try {
  // ---- (a) durun single-step runs vs BullMQ no-op jobs, ROUNDS rounds, alternating order ----
  results.rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = {};
    const order = r % 2 === 0 ? ["single", "bull"] : ["bull", "single"];
    for (const which of order) {
      if (!ONLY.has(which)) continue;
      if (which === "single") round.durun = await durunSinglePhase();
      else round.bull = await bullPhase();
    }
    results.rounds.push(round);
  }
  // headline: the best round of each (the least disturbed by whatever else runs on the machine)
  const best = (k) => results.rounds.map((x) => x[k]).filter(Boolean).sort((x, y) => y.perSec - x.perSec)[0];
  results.durunSingle = best("durun");
  results.bull = best("bull");

  // ---- (b) durun, 10-step workflow -----------------------------------------------------------
  await admin.flushall();
  if (ONLY.has("ten")) {
    const client = createClient({ url: server.url });
    await client.getStats();
    await resetAll();
    await emitMany(client, "bench-ten", TEN_RUNS);
    const emitStats = await phaseStats();
    await resetAll();
    const t0 = performance.now();
    const { worker, done } = await countingWorker(TEN_RUNS, "durun 10-step runs");
    await deadline("durun 10-step runs", done);
    const ms = performance.now() - t0;
    const procStats = await phaseStats();
    await deadline("durun 10-step runs recorded", waitSucceeded(client, TEN_RUNS));
    await worker.stop();
    await client.close();
    results.durunTen = { n: TEN_RUNS, steps: TEN_RUNS * 10, ms, stepsPerSec: ((TEN_RUNS * 10) / ms) * 1000, runsPerSec: (TEN_RUNS / ms) * 1000, emit: emitStats, process: procStats };
  }

  // ---- (c) emit-to-start latency on an idle worker -------------------------------------------
  await admin.flushall();
  if (ONLY.has("latency")) {
    const client = createClient({ url: server.url });
    await client.getStats();
    const worker = await startWorker({ app: "bench", url: server.url, concurrency: C, queues: ["default"] });
    await new Promise((r) => setTimeout(r, 300)); // let the worker settle into its blocking wait
    const lat = [];
    const emitRtt = [];
    for (let i = 0; i < LAT_N; i++) {
      const started = new Promise((r) => (onLatencyStart = r));
      const ended = new Promise((r) => (onLatencyEnd = r));
      const t0 = performance.now();
      const h = client.emitWorkflow("bench-latency", { i });
      const startAt = await deadline("latency run start", started, 10_000);
      lat.push(startAt - t0);
      await h;
      emitRtt.push(performance.now() - t0);
      await deadline("latency run end", ended, 10_000);
      await new Promise((r) => setTimeout(r, 2)); // the run completes; the worker goes idle again
    }
    await deadline("latency runs recorded", waitSucceeded(client, LAT_N), 30_000);
    await worker.stop();
    await client.close();
    lat.sort((a, b) => a - b);
    emitRtt.sort((a, b) => a - b);
    results.latency = { n: LAT_N, p50: pct(lat, 0.5), p90: pct(lat, 0.9), p99: pct(lat, 0.99), max: lat[lat.length - 1], emitP50: pct(emitRtt, 0.5) };
  }
} catch (e) {
  problems.push(`crash: ${e?.stack ?? e}`);
} finally {
  admin.disconnect();
  await server.stop();
}

// ---- report ----------------------------------------------------------------------------------
const f0 = (x) => (x === undefined ? "-" : Math.round(x).toLocaleString("en-US"));
const f1 = (x) => (x === undefined ? "-" : x.toFixed(1));
const f2 = (x) => (x === undefined ? "-" : x.toFixed(2));

const ds = results.durunSingle;
const bq = results.bull;
const dt = results.durunTen;
const lt = results.latency;

console.log(`\ndurable workflows vs BullMQ ${bullVersion()} — one redis-server (appendonly no), one worker in this process, concurrency ${C}`);
console.log("timed: from starting the worker to the last completion (start-up included), everything emitted/added first\n");
printTable(
  [
    ["throughput", "items", "time s", "items/s", "emit (add) /s"],
    ds && ["(a) durun, single-step runs", f0(ds.n), f2(ds.ms / 1000), f0(ds.perSec), f0(ds.emitPerSec)],
    bq && ["(a) BullMQ, no-op jobs", f0(bq.n), f2(bq.ms / 1000), f0(bq.perSec), f0(bq.emitPerSec)],
    dt && ["(b) durun, 10-step runs", f0(dt.n), f2(dt.ms / 1000), `${f0(dt.runsPerSec)} runs/s = ${f0(dt.stepsPerSec)} steps/s`, "-"],
  ].filter(Boolean),
);
if (results.rounds?.length > 1) {
  const list = (k) => results.rounds.map((x) => (x[k] ? f0(x[k].perSec) : "-")).join(", ");
  console.log(`(a) every round (best is shown above): durun ${list("durun")} runs/s; BullMQ ${list("bull")} jobs/s`);
}
if (lt) console.log(`\n(c) emit-to-start latency, idle worker, ${lt.n} sequential emits: p50 ${f2(lt.p50)} ms, p90 ${f2(lt.p90)} ms, p99 ${f2(lt.p99)} ms, max ${f2(lt.max)} ms (the emit call alone: p50 ${f2(lt.emitP50)} ms)`);
console.log("\n(d) Redis commands per item: executed = INFO commandstats (counts the commands scripts run inside Redis too);");
console.log("    sent = commands the clients sent (counted in ioredis; evalsha = one script call)");
const cmdRow = (label, r, n) => {
  const ee = r.emit.total / n;
  const pe = r.process.total / n;
  const es = r.emit.sent.total / n;
  const ps = r.process.sent.total / n;
  const evs = (r.emit.sent.scripts + r.process.sent.scripts) / n;
  return [label, `${f1(ee)} + ${f1(pe)} = ${f1(ee + pe)}`, `${f1(es)} + ${f1(ps)} = ${f1(es + ps)}`, `${f1(evs)} / ${f1(es + ps - evs)}`];
};
printTable(
  [
    ["per item", "executed: emit + process", "sent: emit + process", "sent evalsha / other"],
    ds && cmdRow("durun single-step run", ds, ds.n),
    bq && cmdRow("BullMQ job", bq, bq.n),
    dt && cmdRow("durun 10-step run", dt, dt.n),
  ].filter(Boolean),
);
if (dt && ds) {
  const perStepExec = (dt.process.total / dt.n - ds.process.total / ds.n) / 9;
  const perStepSent = (dt.process.sent.total / dt.n - ds.process.sent.total / ds.n) / 9;
  console.log(`    per extra step (10-step vs single-step run, processing): executed ${f1(perStepExec)}, sent ${f1(perStepSent)}`);
}
console.log("\n    CPU per item, processing phase (µs): redis-server / this node process");
for (const [label, r] of [["durun single-step run", ds], ["BullMQ job", bq], ["durun 10-step run", dt]]) {
  if (r) console.log(`    ${label.padEnd(22)} ${f1((r.process.redisCpuMs * 1000) / r.n).padStart(7)} / ${f1((r.process.nodeCpuMs * 1000) / r.n).padStart(7)}   (emit: ${f1((r.emit.redisCpuMs * 1000) / r.n)} / ${f1((r.emit.nodeCpuMs * 1000) / r.n)})`);
}
const top = (label, st) => console.log(`    ${label}: executed ${st.top} | sent ${st.sent.top}`);
if (ds) (top("durun emit", ds.emit), top("durun process", ds.process));
if (bq) (top("BullMQ add", bq.emit), top("BullMQ process", bq.process));
if (dt) top("durun 10-step process", dt.process);

console.log("\ntargets:");
target("(a) durun single-step runs/s ≥ BullMQ jobs/s", ds && bq ? ds.perSec >= bq.perSec : undefined, ds && bq ? `${f0(ds.perSec)} vs ${f0(bq.perSec)} (${f2(ds.perSec / bq.perSec)}x)` : "");
const execPer = (r) => (r.emit.total + r.process.total) / r.n;
const sentPer = (r) => (r.emit.sent.total + r.process.sent.total) / r.n;
target("(d) durun commands executed per single-step run < BullMQ per job", ds && bq ? execPer(ds) < execPer(bq) : undefined, ds && bq ? `${f1(execPer(ds))} vs ${f1(execPer(bq))}` : "");
if (ds && bq) console.log(`  (info) commands sent by the clients per single-step run vs per BullMQ job (round trips; not a target): ${f1(sentPer(ds))} vs ${f1(sentPer(bq))}`);
target("(c) emit-to-start p50 < 2 ms", lt ? lt.p50 < 2 : undefined, lt ? `${f2(lt.p50)} ms` : "");
for (const n of notes) console.log(`note: ${n}`);
if (args.json) console.log(JSON.stringify(results, null, 2));
if (problems.length) {
  for (const p of problems) console.error(`PROBLEM: ${p}`);
  process.exit(1);
}
process.exit(0);

function target(what, ok, detail) {
  console.log(`  ${ok === undefined ? "NOT MEASURED" : ok ? "met   " : "MISSED"}  ${what}: ${detail}`);
}

function pct(sorted, p) {
  if (!sorted.length) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  "));
}

function bullVersion() {
  try {
    return JSON.parse(readFileSync(new URL("../../node_modules/bullmq/package.json", import.meta.url), "utf8")).version;
  } catch {
    return "";
  }
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) out[key] = true;
    else {
      out[key] = next;
      i++;
    }
  }
  return out;
}
