/**
 * Helpers for the multi-process durable tests: spawn a child worker process running a fixture
 * (through tsx, so fixtures import the TypeScript sources), wait for its "ready" line, and kill
 * every child at the end of a test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { beforeAll, afterAll, afterEach } from "vitest";
import { Redis } from "ioredis";
import type { Client } from "./api.js";
import { startRedisServer, type RedisServerHandle } from "../helpers/redis-server.js";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../..");
export const fixturesDir = join(here, "fixtures");

/** A unique Redis key prefix for one test, so tests sharing a server never see each other. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(4).toString("hex")}`;
}

export interface ChildHandle {
  proc: ChildProcess;
  pid: number;
  /** Everything the child printed so far (stdout and stderr interleaved), for failure messages. */
  output(): string;
  /** Resolves once a stdout line equal to `line` (or starting with it) was printed. */
  waitForLine(line: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name) when the child exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL now, resolve once gone. */
  kill(): Promise<void>;
  /** Sends `signal` and waits for the exit. */
  signal(signal: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildHandle>();

/** Spawns `node [--import tsx] <script> ...args` with extra env; the child is tracked for `killAllChildren`. */
export function spawnNode(script: string, args: string[], env: Record<string, string>, options: { tsx?: boolean; cwd?: string } = {}): ChildHandle {
  const nodeArgs = options.tsx === false ? [script, ...args] : ["--import", "tsx", script, ...args];
  const proc = spawn(process.execPath, nodeArgs, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...env, NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let stdoutBuf = "";
  const lines: string[] = [];
  const waiters: Array<{ match: string | RegExp; resolve: (l: string) => void }> = [];
  const matches = (l: string, m: string | RegExp) => (typeof m === "string" ? l === m || l.startsWith(m) : m.test(l));
  proc.stdout!.setEncoding("utf8");
  proc.stderr!.setEncoding("utf8");
  proc.stdout!.on("data", (d: string) => {
    out += d;
    stdoutBuf += d;
    let i: number;
    while ((i = stdoutBuf.indexOf("\n")) >= 0) {
      const line = stdoutBuf.slice(0, i).replace(/\r$/, "");
      stdoutBuf = stdoutBuf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (matches(line, w.match)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr!.on("data", (d: string) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    proc.once("exit", (code, signal) => resolveExit({ code, signal }));
  });
  const handle: ChildHandle = {
    proc,
    pid: proc.pid ?? -1,
    output: () => out,
    exited,
    waitForLine(match, timeoutMs = 20_000) {
      const found = lines.find((l) => matches(l, match));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<string>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`child ${proc.pid} did not print ${String(match)} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), res(l)) });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          rej(new Error(`child ${proc.pid} exited (code ${code}, signal ${signal}) before printing ${String(match)}; output:\n${out}`));
        });
      });
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
      live.delete(handle);
    },
    async signal(sig, timeoutMs = 15_000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const r = await exited;
      clearTimeout(timer);
      live.delete(handle);
      return r;
    },
  };
  void exited.then(() => live.delete(handle));
  live.add(handle);
  return handle;
}

export interface WorkerFixtureOptions {
  url: string;
  prefix: string;
  /** Comma-separated workflow names the fixture defines (see fixtures/worker.ts). */
  workflows: string[];
  app?: string;
  concurrency?: number;
  leaseMs?: number;
  reaperIntervalMs?: number;
  blmoveTimeoutSec?: number;
  /** How long stop() waits for held runs before handing them back. */
  shutdownTimeoutMs?: number;
  /** Extra environment for the fixture. */
  env?: Record<string, string>;
}

/** Starts test/durable-system/fixtures/worker.ts in a child process and waits until its worker runs. */
export async function startWorkerProcess(o: WorkerFixtureOptions): Promise<ChildHandle> {
  const child = spawnNode(join(fixturesDir, "worker.ts"), [], {
    FIX_URL: o.url,
    FIX_PREFIX: o.prefix,
    FIX_WORKFLOWS: o.workflows.join(","),
    FIX_APP: o.app ?? "system-test",
    FIX_CONCURRENCY: String(o.concurrency ?? 4),
    FIX_LEASE_MS: String(o.leaseMs ?? 1000),
    FIX_REAPER_MS: String(o.reaperIntervalMs ?? 200),
    FIX_BLMOVE_SEC: String(o.blmoveTimeoutSec ?? 1),
    FIX_SHUTDOWN_MS: String(o.shutdownTimeoutMs ?? 10_000),
    ...o.env,
  });
  await child.waitForLine("ready", 30_000);
  return child;
}

/** SIGKILLs every child still alive (call in afterEach). */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...live].map((c) => c.kill()));
}

/** Test-side bookkeeping keys shared with the fixtures (outside the durun prefix). */
export function testKey(prefix: string, name: string): string {
  return `fixture:${prefix}:${name}`;
}

/** What {@link useRedisSuite} gives a test file: its private server, a raw connection, and clients closed after each test. */
export interface RedisSuite {
  readonly server: RedisServerHandle;
  readonly redis: Redis;
  /** Clients created by a test; each is closed after that test. */
  readonly clients: Client[];
}

/**
 * Registers the hooks every multi-process test file needs: a private redis-server for the file,
 * children killed and clients closed after each test, everything stopped after the file.
 */
export function useRedisSuite(): RedisSuite {
  let server: RedisServerHandle | undefined;
  let redis: Redis | undefined;
  const clients: Client[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterEach(async () => {
    await killAllChildren();
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("the redis suite is used before its beforeAll hook ran");
    return v;
  };
  return {
    get server() {
      return started(server);
    },
    get redis() {
      return started(redis);
    },
    clients,
  };
}
