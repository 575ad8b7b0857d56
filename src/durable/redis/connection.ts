/**
 * Opening Redis connections, single node or Cluster, with durun's reconnection policy, and
 * turning their failures into messages that name the address. The store (./store.ts) opens every
 * connection here (main, blocking queue waiters, subscribers) and never asks which kind it got:
 * both ioredis `Redis` and `Cluster` take the same commands, scripts (`defineCommand`) and
 * pipelines (every key of a deployment is in one slot, see ./keys.ts).
 *
 * Pub/sub ({@link openSubscriber}) uses plain SUBSCRIBE on one node, also on a Cluster: PUBLISH,
 * also from a script, reaches every node of a cluster.
 * @internal
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { ConnectionError, UsageError } from "../../errors.js";
import { isClusterUrl, parseClusterUrl, redactRedisUrl } from "./url.js";

/** One connection: a single Redis server or a Redis Cluster (see {@link openConnection}). */
export type Connection = Redis | Cluster;

/** What a connection needs to know (a subset of the store's options). */
export interface ConnectionTarget {
  url: string;
  /** Bound on the first connection, and on client commands (see {@link openConnection}). */
  connectTimeoutMs: number;
  /** `true` (workers): commands wait through outages until Redis is back. */
  waitThroughOutages: boolean;
}

/** Reconnection backoff, single node and cluster: 50 ms more per attempt, at most 2 s. */
const backoff = (times: number) => Math.min(50 * times, 2000);

/**
 * Opens a connection (not connected yet: see {@link connectOrThrow}) with durun's reconnection
 * policy: retry forever with a backoff of at most 2 s. Workers (`waitThroughOutages`) queue
 * commands while disconnected; clients fail fast while disconnected (RedisStore.cmd sends a
 * command that never left again, within `connectTimeoutMs`) and never wait on a hung connection
 * longer than `connectTimeoutMs`. `extra` overrides per-node options (e.g. for blocking commands).
 *
 * A `redis-cluster://` or `rediss-cluster://` URL opens an ioredis Cluster on its seed nodes,
 * anything else a single-node connection.
 */
export function openConnection(target: ConnectionTarget, extra: RedisOptions = {}): Connection {
  const perNode: RedisOptions = {
    connectTimeout: target.connectTimeoutMs,
    enableReadyCheck: true,
    ...(target.waitThroughOutages
      ? // workers: a command waits (offline queue) until Redis is back
        { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: target.connectTimeoutMs }),
    ...extra,
  };
  let conn: Connection;
  if (isClusterUrl(target.url)) {
    const c = parseClusterUrl(target.url);
    const options: ClusterOptions = {
      lazyConnect: true,
      enableReadyCheck: true,
      clusterRetryStrategy: backoff,
      // the cluster's own offline queue (node connections always have one): off for clients
      enableOfflineQueue: perNode.enableOfflineQueue ?? true,
      redisOptions: {
        ...perNode,
        ...(c.username !== undefined ? { username: c.username } : {}),
        ...(c.password !== undefined ? { password: c.password } : {}),
        ...(c.tls ? { tls: {} } : {}),
      },
      // TLS: connect to the seed nodes by the names in the URL, so certificates match them
      ...(c.tls ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
    };
    conn = new Cluster(c.nodes, options);
    // a node's socket error (ECONNREFUSED...), or all seed nodes failing (with the last one's error)
    conn.on("node error", (e: unknown) => noteError(conn, e));
  } else {
    conn = new Redis(target.url, { lazyConnect: true, retryStrategy: backoff, ...perNode });
  }
  conn.on("error", (e: unknown) => noteError(conn, e));
  return conn;
}

/** The last socket error of each connection (see {@link connectionProblem}). */
const lastSocketError = new WeakMap<Connection, Error>();

/**
 * Reconnection is automatic; errors surface on commands, which only say "Connection is closed.":
 * the socket error is kept to name its errno (ECONNREFUSED...) in ConnectionError.
 */
function noteError(conn: Connection, e: unknown): void {
  if (!(e instanceof Error)) return;
  const cause = (e as { lastNodeError?: unknown }).lastNodeError;
  lastSocketError.set(conn, cause instanceof Error ? cause : e);
}

const CONNECTION_ERROR =
  /Connection is closed|Command timed out|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE|max retries per request|LOADING|Cluster isn't ready|None of startup nodes is available|Failed to refresh slots cache|Too many Cluster redirections|Cluster is ended|CLUSTERDOWN/i;
/** Errors of commands that never reached Redis (safe to send again). */
export const NOT_SENT = /Stream isn't writeable|LOADING|Cluster isn't ready/;

/** True for errors of the connection rather than of the command. */
export function isConnectionError(e: unknown): boolean {
  return e instanceof Error && (e.name === "MaxRetriesPerRequestError" || e.name === "ClusterAllFailedError" || CONNECTION_ERROR.test(e.message));
}

/**
 * Why a connection failed, for ConnectionError: the errno of the error or of the connection's
 * last socket error when known (`ECONNREFUSED`, `ENOTFOUND`...) rather than ioredis's bare
 * "Connection is closed." (or a Cluster's "None of startup nodes is available"), else the
 * error's message.
 */
export function connectionProblem(conn: Connection, e: unknown): string {
  const code = (x: unknown) => {
    const c = x instanceof Error ? (x as { code?: unknown }).code : undefined;
    return typeof c === "string" ? c : undefined;
  };
  const last = lastSocketError.get(conn);
  let message = (e instanceof Error && e.message) || String(e);
  // a cluster that could not be reached: its nodes' last error says why
  if (/None of startup nodes is available|Failed to refresh slots cache|Cluster isn't ready/.test(message)) message = `no node of the cluster answers${last ? ` (${last.message})` : ""}`;
  const errno = code(e) ?? code(last);
  return errno && /Connection is closed|no node of the cluster answers/i.test(message)
    ? errno
    : errno && !message.includes(errno)
      ? `${errno}: ${message}`
      : message;
}

/**
 * A UsageError when a single-node URL names a node of a Redis Cluster that does not hold the
 * deployment's slot (it answers `MOVED <slot> <host:port>`): such a URL must be a cluster URL.
 */
export function wrongMode(url: string, e: unknown): UsageError | undefined {
  const m = e instanceof Error && !isClusterUrl(url) ? /^MOVED \d+ (\S+)/.exec(e.message) : null;
  if (!m) return undefined;
  const scheme = /^rediss:/i.test(url) ? "rediss-cluster" : "redis-cluster";
  return new UsageError(`${describeTarget(url)} is a node of a Redis Cluster (it answered "${e instanceof Error ? e.message : ""}"): connect with ${scheme}://host:port[,host:port...] instead`, { cause: e });
}

/** "Redis" or "Redis Cluster", with the redacted URL, for messages. */
export function describeTarget(url: string): string {
  return `${isClusterUrl(url) ? "Redis Cluster" : "Redis"} at ${redactRedisUrl(url)}`;
}

/**
 * Why no seed node of a cluster URL let a Cluster connect, asked of each seed node directly
 * (ioredis's own attempts only say "Connection is closed."): its errno (`ECONNREFUSED`...),
 * "cluster support disabled" (a plain redis-server: use redis://) or its cluster_state. One
 * problem shared by every seed node is said once. Undefined when every node looks fine.
 */
async function diagnoseSeeds(url: string, timeoutMs: number): Promise<string | undefined> {
  const { nodes, username, password, tls } = parseClusterUrl(url);
  const problems = await Promise.all(
    nodes.map(async ({ host, port }): Promise<string | undefined> => {
      const probe = new Redis({ host, port, username, password, ...(tls ? { tls: {} } : {}), lazyConnect: true, retryStrategy: null, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, commandTimeout: timeoutMs });
      let socketError: Error | undefined;
      probe.on("error", (e: Error) => (socketError = e));
      try {
        await probe.connect();
        const info = String(await probe.call("CLUSTER", "INFO"));
        const state = /cluster_state:(\w+)/.exec(info)?.[1];
        return state === "ok" ? undefined : `cluster_state:${state ?? "unknown"}`;
      } catch (e) {
        const err = socketError ?? (e as Error);
        const errno = (err as { code?: unknown }).code;
        if (/cluster support disabled/i.test(err.message)) return "not in cluster mode (cluster-enabled no): for a single Redis server use redis://";
        return typeof errno === "string" ? errno : err.message;
      } finally {
        probe.disconnect();
      }
    }),
  );
  const found = problems.map((p, i) => (p === undefined ? undefined : { where: `${nodes[i]!.host}:${nodes[i]!.port}`, p })).filter((x) => x !== undefined);
  if (found.length === 0) return undefined;
  if (found.length === nodes.length && found.every((f) => f.p === found[0]!.p)) return found[0]!.p;
  return found.map((f) => `${f.where}: ${f.p}`).join("; ");
}

/** Connects, or throws ConnectionError naming the URL within `connectTimeoutMs` (plus a little). */
export async function connectOrThrow(conn: Connection, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      conn.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs + 250);
      }),
    ]);
  } catch (e) {
    conn.disconnect();
    const cluster = isClusterUrl(url);
    // a cluster's seed nodes are asked why, within what is left of the bound (at least 250 ms)
    const problem = (cluster ? await diagnoseSeeds(url, Math.max(250, deadline - Date.now())).catch(() => undefined) : undefined) ?? connectionProblem(conn, e);
    const check = cluster
      ? "are its nodes running there, with cluster-enabled yes and cluster_state:ok, and is the URL right?"
      : "is redis-server running there, and is the URL right?";
    throw new ConnectionError(`cannot connect to ${describeTarget(url)} (${problem}): ${check}`, { cause: e });
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** A pub/sub subscription's connection (see {@link openSubscriber}). */
export interface Subscriber {
  disconnect(): void;
}

/**
 * Subscribes to `channels` on a connection of its own; `onMessage` gets every message. Waits for
 * the subscription (ConnectionError within `connectTimeoutMs` when Redis cannot be reached);
 * afterwards it reconnects and subscribes again by itself, until `disconnect()`.
 *
 * On a Cluster, messages published on any node reach every node, so one node is enough: the
 * subscriber is a plain connection to one node at a time (the seed nodes of the URL and the
 * masters `cluster` knows, in turn), which moves to the next node, after a backoff (≤ 2 s), when
 * its node goes away. (ioredis's own cluster subscriber retries without any delay while no node
 * answers, which keeps a CPU busy for as long as a cluster outage lasts.)
 */
export async function openSubscriber(target: ConnectionTarget, channels: string[], onMessage: (channel: string, message: string) => void, cluster?: Connection): Promise<Subscriber> {
  if (!isClusterUrl(target.url)) {
    const conn = openConnection(target, { maxRetriesPerRequest: null });
    await connectOrThrow(conn, target.url, target.connectTimeoutMs);
    conn.on("message", onMessage);
    await conn.subscribe(...channels);
    return conn;
  }
  const { nodes: seeds, username, password, tls } = parseClusterUrl(target.url);
  const candidates = () => {
    const known = cluster instanceof Cluster ? cluster.nodes("master").map((n) => ({ host: String(n.options.host), port: Number(n.options.port) })) : [];
    const seen = new Set<string>();
    return [...known, ...seeds].filter((n) => !seen.has(`${n.host}:${n.port}`) && seen.add(`${n.host}:${n.port}`));
  };
  let closed = false;
  let turn = 0;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let current: Redis | undefined;
  const open = (): Redis => {
    const list = candidates();
    const node = list[turn++ % list.length]!;
    const conn = new Redis({
      ...node,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(tls ? { tls: {} } : {}),
      lazyConnect: true,
      // no reconnection to the same node: "end" moves on to the next one
      retryStrategy: null,
      maxRetriesPerRequest: null,
      connectTimeout: target.connectTimeoutMs,
    });
    conn.on("error", () => {});
    conn.on("message", onMessage);
    current = conn;
    return conn;
  };
  const next = () => {
    if (closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (closed) return;
      const conn = open();
      conn.once("end", next);
      conn
        .connect()
        .then(() => conn.subscribe(...channels))
        .then(
          () => void (failures = 0),
          () => conn.disconnect(),
        );
    }, backoff(++failures));
  };
  // the first subscription: each node in turn (known masters first), within connectTimeoutMs
  const deadline = Date.now() + target.connectTimeoutMs;
  for (let i = 0, n = candidates().length; ; i++) {
    const conn = open();
    try {
      await connectOrThrow(conn, target.url, Math.max(100, deadline - Date.now()));
      await conn.subscribe(...channels);
      conn.once("end", next);
      break;
    } catch (e) {
      conn.disconnect();
      if (i + 1 >= n || Date.now() >= deadline) {
        closed = true;
        throw e;
      }
    }
  }
  return {
    disconnect: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      current?.disconnect();
    },
  };
}
