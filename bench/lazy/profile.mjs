// CPU profile of one lazy-bench run, taken with the inspector around exactly that run, then
// summarised: self time by function, inclusive time by function, self time by file.
// Usage: npm run build && node bench/lazy/profile.mjs <fanout|grid> <fresh|cached> [--n N]
//        [--out file.cpuprofile] [--top 30]
//   or:  node bench/lazy/profile.mjs --summarize some.cpuprofile   (e.g. from node --cpu-prof)
import { Session } from "node:inspector/promises";
import { writeFileSync, readFileSync } from "node:fs";

const argv = process.argv.slice(2);
const opt = (k, d) => { const i = argv.indexOf(`--${k}`); return i >= 0 ? argv[i + 1] : d; };
const TOP = Number(opt("top", 30));

if (argv[0] === "--summarize") {
  summarize(JSON.parse(readFileSync(argv[1], "utf8")));
} else {
  const [which = "fanout", mode = "fresh"] = argv;
  const { fanoutWorkload, gridWorkload, timedRun, tempDbPath } = await import("./scenarios.mjs");
  const workload = which === "grid" ? gridWorkload(10, Number(opt("n", 1000))) : fanoutWorkload(Number(opt("n", 10_000)));
  const db = tempDbPath(`prof-${which}`);
  if (mode === "cached") await timedRun(workload, db.path, { readGraph: false });
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  const r = await timedRun(workload, db.path, { readGraph: false });
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  db.cleanup();
  console.log(`${workload.name} ${mode}: ${r.seconds.toFixed(3)}s (run ${r.runSeconds.toFixed(3)}s, close ${r.closeSeconds.toFixed(3)}s) ${r.valueError ? "WRONG: " + r.valueError : ""}`);
  const out = opt("out");
  if (out) writeFileSync(out, JSON.stringify(profile));
  summarize(profile);
}

function summarize(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const dt = profile.timeDeltas;
  const selfUs = new Map(); // node id -> µs
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const key = (n) => {
    const f = n.callFrame;
    const url = f.url.replace(/^file:\/\//, "").replace(/^.*\/work\/main\//, "");
    return `${f.functionName || "(anonymous)"} ${url ? `${url}:${f.lineNumber + 1}` : ""}`.trim();
  };
  const fileOf = (n) => {
    const url = n.callFrame.url.replace(/^file:\/\//, "").replace(/^.*\/work\/main\//, "");
    return url || `(${n.callFrame.functionName || "native"})`;
  };
  const self = new Map(), incl = new Map(), byFile = new Map();
  for (const [id, us] of selfUs) {
    const n = nodes.get(id);
    self.set(key(n), (self.get(key(n)) ?? 0) + us);
    byFile.set(fileOf(n), (byFile.get(fileOf(n)) ?? 0) + us);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(nodes.get(cur));
      if (seen.has(k)) continue; // count recursion once
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  const show = (title, m) => {
    console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms sampled)`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
      console.log(`  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
    }
  };
  show("self time by function", self);
  show("inclusive time by function", incl);
  show("self time by file", byFile);
}
