// Repro (not part of the table): a lazily built chain of N dependent calls, e.g.
//   let e = 0; for (i < N) e = chain(e); await scheduler.run(e)
// and, for comparison, recursion through returned expressions (countdown(n) returns countdown(n-1)).
// Usage: npm run build && node bench/lazy/deep-chain.mjs [N ...]   (default 1000 5000 20000)
// Exits 1 when a run fails or computes a wrong value.
const { task, Scheduler, tempDbPath } = await import("./scenarios.mjs");

const countdown = task("countdown", (n) => (n === 0 ? "done" : countdown(n - 1)), { namespace: "bench_lazy_chain" });
const chain = task("chain", (x) => x + 1, { namespace: "bench_lazy_chain" });
const sizes = process.argv.slice(2).map(Number);
let bad = 0;
for (const n of sizes.length ? sizes : [1000, 5000, 20000]) {
  const db = tempDbPath("chain");
  for (const label of ["chain", "recursion"]) {
    const s = new Scheduler({ db: db.path });
    try {
      let e;
      if (label === "chain") {
        e = 0;
        for (let i = 0; i < n; i++) e = chain(e);
      } else e = countdown(n);
      const t0 = performance.now();
      const v = await s.run(e);
      const want = label === "chain" ? n : "done";
      if (v !== want) bad++;
      console.log(`${label} ${n}: ${v === want ? "ok" : `WRONG ${v}`} in ${((performance.now() - t0) / 1000).toFixed(2)}s`);
    } catch (err) {
      bad++;
      console.log(`${label} ${n}: FAILED ${String(err?.message ?? err).slice(0, 160)}`);
    } finally {
      await s.close();
    }
  }
  db.cleanup();
}
process.exitCode = bad ? 1 : 0;
