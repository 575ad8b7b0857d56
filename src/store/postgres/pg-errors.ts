/**
 * Turning `pg` failures into {@link StoreError}s that say what is wrong and what to do: an
 * unreachable server, a missing database, a refused user, a schema durun cannot use.
 */
import { StoreError } from "../../errors.js";
import { NotDurunSchemaError } from "./migrate.js";

/** Where a PostgreSQL URL points, for messages (never holds the password). */
export interface PgTarget {
  /** The URL with the password replaced by `***`. */
  readonly location: string;
  readonly host: string;
  readonly port: string;
  readonly database: string;
  readonly user: string;
}

const NO_HOST = "durun-no-host";
const URL_HINT = "check the URL (--db or DURUN_DB; postgres://user[:password]@host[:port]/database)";

/**
 * Parses a `postgres://` or `postgresql://` URL for messages; throws a StoreError when it is
 * not a URL at all.
 *
 * @example
 * parseTarget("postgres://me:secret@db:5433/cache").location; // "postgres://me:***@db:5433/cache"
 */
export function parseTarget(url: string): PgTarget {
  let u: URL;
  // As pg does: "postgres://user@/db?host=/run/postgresql" (no host) is valid.
  let noHost = false;
  try {
    u = new URL(url);
  } catch {
    try {
      u = new URL(url.replace("@/", `@${NO_HOST}/`));
      noHost = true;
    } catch (e) {
      throw new StoreError(`invalid PostgreSQL URL "${hidePassword(url)}": ${URL_HINT}`, { cause: e });
    }
  }
  if (!/^postgres(ql)?:$/i.test(u.protocol)) throw new StoreError(`not a PostgreSQL URL: "${hidePassword(url)}"; ${URL_HINT}`);
  const hostname = noHost ? "" : decode(u.hostname).replace(/^\[(.+)\]$/, "$1");
  const user = u.searchParams.get("user") || decode(u.username) || process.env.PGUSER || process.env.USER || "postgres";
  const host = u.searchParams.get("host") || hostname || process.env.PGHOST || "localhost";
  const port = u.port || u.searchParams.get("port") || process.env.PGPORT || "5432";
  const database = decode(u.pathname.replace(/^\//, "")) || process.env.PGDATABASE || user;
  if (u.password !== "") u.password = "***";
  if (u.searchParams.has("password")) u.searchParams.set("password", "***");
  return { location: u.toString().replace(`@${NO_HOST}/`, "@/"), host, port, database, user };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function hidePassword(url: string): string {
  return url.replace(/(\/\/[^:@/]*:)[^@/]*@/, "$1***@");
}

const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "EPIPE", "ENOENT"]);
/** cannot_connect_now (starting up, shutting down), admin_shutdown, crash_shutdown. */
const DOWN_SQLSTATES = new Set(["57P03", "57P01", "57P02"]);
/** invalid_authorization_specification, invalid_password. */
const AUTH_SQLSTATES = new Set(["28000", "28P01"]);

function detailOf(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return detailOf(e.errors[0]);
  const text = e instanceof Error ? e.message || (e as { code?: string }).code || e.name : String(e);
  return text.split("\n")[0] ?? "";
}

function codeOf(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return codeOf(e.errors[0]);
  return String((e as { code?: unknown } | null)?.code ?? "");
}

/** True for failures of reaching the server (rather than of a statement). */
export function isUnreachable(e: unknown): boolean {
  const code = codeOf(e);
  if (UNREACHABLE_CODES.has(code) || DOWN_SQLSTATES.has(code)) return true;
  return /timeout exceeded when trying to connect|connection timeout|Connection terminated unexpectedly/i.test(detailOf(e));
}

/**
 * A StoreError for a failure of `doing` (e.g. "writing to") on the database `target` names.
 *
 * @example
 * throw pgStoreError(e, target, "reading from");
 */
export function pgStoreError(e: unknown, target: PgTarget, doing: string): StoreError {
  if (e instanceof StoreError) return e;
  const code = codeOf(e);
  const detail = detailOf(e);
  const at = `${target.host}:${target.port}`;
  if (isUnreachable(e)) {
    return new StoreError(
      `cannot reach PostgreSQL at ${at} (${detail}): ${URL_HINT}, and start PostgreSQL there if it is not running`,
      { cause: e },
    );
  }
  if (code === "3D000") {
    return new StoreError(
      `database "${target.database}" does not exist on PostgreSQL at ${at}: create it (createdb -h ${target.host} -p ${target.port} -U ${target.user} ${target.database}) or fix the URL (--db or DURUN_DB)`,
      { cause: e },
    );
  }
  if (AUTH_SQLSTATES.has(code) || /^SASL|password authentication|client password must be a string/i.test(detail)) {
    return new StoreError(`PostgreSQL at ${at} refused user "${target.user}" (${detail}): check the user name and password in the URL (--db or DURUN_DB)`, {
      cause: e,
    });
  }
  if (code === "42501") {
    return new StoreError(
      `PostgreSQL user "${target.user}" may not ${doing === "opening" ? "create the schema durun in" : "use"} database "${target.database}" at ${at} (${detail}): grant it (e.g. CREATE SCHEMA durun AUTHORIZATION ${target.user}) or use another user in the URL (--db or DURUN_DB)`,
      { cause: e },
    );
  }
  if (e instanceof NotDurunSchemaError) {
    return new StoreError(`database ${target.location} cannot be used by durun: ${detail}; pass --db with another database`, { cause: e });
  }
  return new StoreError(`${doing} PostgreSQL database ${target.location} failed: ${detail} (--db or DURUN_DB)`, { cause: e });
}
