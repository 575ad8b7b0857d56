/**
 * Starts a private Redis Cluster for one test file: three master `redis-server` processes on free
 * loopback ports (cluster bus ports chosen free too), joined with `redis-cli --cluster create`,
 * and waits (with a deadline) until every node says `cluster_state:ok`. `stop()` kills them and
 * removes their directory.
 *
 * @example
 * const cluster = await startRedisCluster();
 * // ... cluster.url (redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3) ...
 * await cluster.stop();
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { waitFor } from "./deadline.js";
import { freePorts, waitForPort } from "./redis-server.js";

export interface RedisClusterHandle {
  /** `redis-cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>` */
  url: string;
  /** The nodes' client ports. */
  ports: number[];
  /** A single-node URL of each node (`redis://127.0.0.1:<port>`). */
  nodeUrls: string[];
  /** SIGKILL every node (their cluster config files stay). */
  kill(): Promise<void>;
  /** Start every node again after `kill()`, and wait for cluster_state:ok (the data is gone: no persistence). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function clusterOk(port: number): Promise<boolean> {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on("error", () => {});
  try {
    await r.connect();
    const info = (await r.cluster("INFO")) as string;
    return /cluster_state:ok/.test(info);
  } finally {
    r.disconnect();
  }
}

export async function startRedisCluster(options: { deadlineMs?: number } = {}): Promise<RedisClusterHandle> {
  const deadlineMs = options.deadlineMs ?? 20_000;
  const all = await freePorts(6);
  const ports = all.slice(0, 3);
  const busPorts = all.slice(3);
  const dir = mkdtempSync(join(tmpdir(), "durun-redis-cluster-"));
  let procs: ChildProcess[] = [];
  const kill = async () => {
    const dying = procs;
    procs = [];
    await Promise.all(
      dying.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once("exit", () => resolve());
            p.kill("SIGKILL");
          }),
      ),
    );
  };
  const stop = async () => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  const spawnAll = () =>
    ports.forEach((port, i) => {
      const args = [
        "--port", String(port),
        "--cluster-port", String(busPorts[i]),
        "--bind", "127.0.0.1",
        "--dir", dir,
        "--cluster-enabled", "yes",
        "--cluster-config-file", join(dir, `nodes-${port}.conf`),
        "--appendonly", "no",
        "--save", "",
        "--daemonize", "no",
      ];
      const child = spawn("redis-server", args, { stdio: "ignore" });
      child.once("error", () => {});
      procs.push(child);
    });
  const waitOk = async () => {
    for (const p of ports) await waitFor(`cluster_state:ok on 127.0.0.1:${p}`, () => clusterOk(p), deadlineMs);
  };
  try {
    spawnAll();
    await Promise.all(ports.map((p) => waitForPort(p, deadlineMs)));
    await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], deadlineMs);
    await waitOk();
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`,
    ports,
    nodeUrls: ports.map((p) => `redis://127.0.0.1:${p}`),
    kill,
    start: async () => {
      spawnAll();
      await Promise.all(ports.map((p) => waitForPort(p, deadlineMs)));
      await waitOk();
    },
    stop,
  };
}
