/**
 * Redis Cluster URLs: `redis-cluster://[user:password@]host:port[,host:port...]` and
 * `rediss-cluster://...` (TLS). The hosts are seed nodes: the client asks one of them for the
 * cluster's layout (CLUSTER SLOTS) and then talks to the nodes it names. No ioredis here, so the
 * options checks (../options.ts) can use it.
 * @internal
 *
 * @example
 * parseClusterUrl("redis-cluster://:pw@10.0.0.1:7000,10.0.0.2:7000");
 * // { tls: false, nodes: [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7000 }], password: "pw" }
 */

/** A parsed cluster URL. */
export interface ClusterUrl {
  tls: boolean;
  /** Seed nodes, in the URL's order. */
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
}

/** True when `url` is meant as a cluster URL (`redis-cluster:` or `rediss-cluster:`), well formed or not. */
export function isClusterUrl(url: string): boolean {
  return /^rediss?-cluster:/i.test(url);
}

const NODE = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/;

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error("its user or password is not valid percent-encoding");
  }
}

/**
 * Parses a cluster URL; throws an Error saying what is wrong (the caller names the option).
 * A node without a port is on 6379. Only database 0 exists on a cluster: a path other than
 * `/` or `/0` and query strings are refused.
 */
export function parseClusterUrl(url: string): ClusterUrl {
  const m = /^(rediss?)-cluster:\/\/(?:([^@/?#]*)@)?([^/?#]*)([/?#].*)?$/i.exec(url);
  if (!m) throw new Error("it must start with redis-cluster:// or rediss-cluster:// followed by host:port[,host:port...]");
  const [, scheme, userinfo, hostList, rest] = m;
  if (rest !== undefined && rest !== "/" && rest !== "/0") {
    throw new Error(rest.startsWith("/") ? `Redis Cluster has only database 0, got "${rest}"` : `query strings and fragments are not supported, got "${rest}"`);
  }
  if (!hostList) throw new Error("it names no seed node (host:port)");
  const nodes = hostList.split(",").map((entry) => {
    const n = NODE.exec(entry.trim());
    const port = Number(n?.[3] ?? 6379);
    if (!n || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${entry}" is not a seed node: expected host:port`);
    return { host: n[1] ?? n[2]!, port };
  });
  const out: ClusterUrl = { tls: scheme!.toLowerCase() === "rediss", nodes };
  if (userinfo) {
    const colon = userinfo.indexOf(":");
    const user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
    const password = colon < 0 ? "" : decode(userinfo.slice(colon + 1));
    // as with redis://: "user@" alone is a password-less user, ":pw@" a password for the default user
    if (user) out.username = user;
    if (password) out.password = password;
  }
  return out;
}

/** A Redis URL (single node or cluster) with its password replaced by `***`, for messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, "$1:***@");
}
