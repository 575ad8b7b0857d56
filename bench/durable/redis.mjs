// A private redis-server for the benchmark (appendonly no, no snapshots) and INFO commandstats
// helpers. Never touches the system Redis.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function answers(port) {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: "127.0.0.1" });
    sock.once("connect", () => {
      sock.write("PING\r\n");
      sock.once("data", (d) => {
        sock.destroy();
        resolve(d.toString().startsWith("+PONG"));
      });
    });
    sock.once("error", () => resolve(false));
  });
}

export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "durun-bench-redis-"));
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no"], { stdio: "ignore" });
  proc.once("error", (e) => {
    console.error(`bench: cannot start redis-server: ${e.message}`);
    process.exit(1);
  });
  const end = Date.now() + 10_000;
  while (!(await answers(port))) {
    if (Date.now() > end) throw new Error("redis-server did not answer PING within 10 s");
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        await new Promise((resolve) => {
          proc.once("exit", resolve);
          proc.kill("SIGKILL");
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** INFO commandstats as { command: calls }. */
export async function commandStats(redis) {
  const text = await redis.info("commandstats");
  const out = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** Resets the counters (CONFIG RESETSTAT). */
export async function resetStats(redis) {
  await redis.config("RESETSTAT");
}

/** Counters minus the bookkeeping commands of the benchmark itself (the INFO / CONFIG calls). */
export function cleanStats(stats) {
  const s = { ...stats };
  delete s.info;
  delete s.config;
  delete s["config|resetstat"];
  return s;
}

const SCRIPT_CMDS = new Set(["evalsha", "eval", "fcall", "evalsha_ro", "eval_ro", "fcall_ro"]);

/** { total, scripts, others, top } for a stats object. */
export function summarize(stats) {
  let total = 0;
  let scripts = 0;
  for (const [cmd, n] of Object.entries(stats)) {
    total += n;
    if (SCRIPT_CMDS.has(cmd)) scripts += n;
  }
  const top = Object.entries(stats)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([c, n]) => `${c}:${n}`)
    .join(" ");
  return { total, scripts, others: total - scripts, top };
}

/** CPU seconds redis-server has used so far (user + sys), from INFO cpu. */
export async function redisCpu(redis) {
  const text = await redis.info("cpu");
  const get = (k) => Number(new RegExp(`^${k}:([\\d.]+)`, "m").exec(text)?.[1] ?? 0);
  return get("used_cpu_user") + get("used_cpu_sys");
}
