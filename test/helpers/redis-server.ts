/**
 * Starts a private `redis-server` on a free loopback port for one test file, and kills it after.
 * Set DURUN_TEST_REDIS_URL to use an existing server instead (tests then isolate by key prefix).
 *
 * @example
 * const redis = await startRedisServer();
 * // ... redis.url ...
 * await redis.stop();
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServerHandle {
  url: string;
  port: number;
  /** Directory holding the server's AOF/RDB files (persisted across `restart`). */
  dir: string;
  /** True when this handle owns the process (false when DURUN_TEST_REDIS_URL is used). */
  owned: boolean;
  /** SIGKILL the server and start it again on the same port and directory. */
  restart(): Promise<void>;
  /** Stop the server (SIGKILL) without restarting. */
  kill(): Promise<void>;
  /** Start again after `kill()`. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `n` distinct free loopback ports (all held open at once while chosen, so none repeats). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const srv = createServer();
          srv.once("error", reject);
          srv.listen(0, "127.0.0.1", () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((srv) => {
    const addr = srv.address();
    return typeof addr === "object" && addr ? addr.port : 0;
  });
  await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  return ports;
}

/** Waits until a redis-server on `port` answers PING. */
export async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
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
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${deadlineMs} ms`);
}

export async function startRedisServer(options: { appendonly?: boolean } = {}): Promise<RedisServerHandle> {
  const external = process.env.DURUN_TEST_REDIS_URL;
  if (external) {
    const u = new URL(external);
    const noop = async () => {
      throw new Error("restart/kill need a private redis-server: unset DURUN_TEST_REDIS_URL");
    };
    return { url: external, port: Number(u.port || 6379), dir: "", owned: false, restart: noop, kill: noop, start: noop, stop: async () => {} };
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "durun-redis-"));
  let proc: ChildProcess | undefined;

  const start = async () => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no"];
    if (options.appendonly) args.push("--appendonly", "yes", "--appendfsync", "always");
    else args.push("--appendonly", "no");
    const child = spawn("redis-server", args, { stdio: "ignore" });
    proc = child;
    child.once("error", () => {});
    await waitForPort(port, 10_000);
  };
  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGKILL");
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    owned: true,
    start,
    kill,
    restart: async () => {
      await kill();
      await start();
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
