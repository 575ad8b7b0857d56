// `npm run bench` (after `npm run build`): runs every bench/<name>/index.mjs (or index.ts,
// through tsx) in turn, each in its own process
// (DURUN_BENCH_ONLY=durable,lazy picks some). Arguments are passed to each benchmark, e.g.
// `npm run bench -- --rounds 5` (a benchmark ignores the options it does not know).
// Exits non-zero when any benchmark exits non-zero (a missed target only prints, it is not a
// failure; a wrong result or a crash is).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const root = join(benchDir, "..");
const only = process.env.DURUN_BENCH_ONLY?.split(",").filter(Boolean);

const entries = readdirSync(benchDir)
  .filter((name) => statSync(join(benchDir, name)).isDirectory())
  .filter((name) => !only || only.includes(name))
  .sort()
  .map((name) => {
    for (const file of ["index.mjs", "index.js", "index.ts"]) {
      const p = join(benchDir, name, file);
      if (existsSync(p)) return { name, path: p };
    }
    return undefined;
  })
  .filter((e) => e !== undefined);

if (!existsSync(join(root, "dist", "index.js"))) {
  console.error("bench: dist/index.js is missing; run `npm run build` first (npm run bench does)");
  process.exit(1);
}

const failed = [];
for (const e of entries) {
  console.log(`\n=== bench/${e.name} (${relative(root, e.path)}) ===`);
  const t0 = Date.now();
  const nodeArgs = [...(e.path.endsWith(".ts") ? ["--import", "tsx", e.path] : [e.path]), ...process.argv.slice(2)];
  const res = spawnSync(process.execPath, nodeArgs, { stdio: "inherit", cwd: root });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (res.status !== 0) {
    failed.push(e.name);
    console.log(`=== bench/${e.name}: FAILED (exit ${res.status ?? res.signal}) after ${secs} s ===`);
  } else console.log(`=== bench/${e.name}: done in ${secs} s ===`);
}
if (entries.length === 0) console.log("bench: nothing to run");
if (failed.length) {
  console.error(`\nbench: failed: ${failed.join(", ")}`);
  process.exit(1);
}
