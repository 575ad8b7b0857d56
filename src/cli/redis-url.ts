/**
 * Shared by the durable commands (`worker`, `emit`, `runs`): the Redis URL resolution and a few
 * renderers for run and step records.
 */
import { UsageError } from "../errors.js";
import { checkRedisUrl } from "../durable/options.js";

/** The Redis URL used when neither `--url` nor `DURUN_REDIS_URL` is given. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** Resolves the Redis URL: the `--url` flag, then `DURUN_REDIS_URL`, then `redis://127.0.0.1:6379`. */
export function resolveRedisUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== "") return checkRedisUrl(flag, "--url");
  const fromEnv = env["DURUN_REDIS_URL"];
  return fromEnv ? checkRedisUrl(fromEnv, "DURUN_REDIS_URL") : DEFAULT_REDIS_URL;
}

/** Parses a positive integer flag value, or throws a UsageError naming the flag. */
export function positiveInt(value: string, flag: string, allowZero = false): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || (!allowZero && n < 1)) {
    throw new UsageError(`${flag} must be a ${allowZero ? "non-negative" : "positive"} integer, got "${value}"`);
  }
  return n;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration flag (`500ms`, `30s`, `15m`, `12h`, `7d`; a bare number is ms) to ms. */
export function durationMs(value: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) throw new UsageError(`${flag} must be a duration such as 7d, 12h, 30m, 45s or 500ms, got "${value}"`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? "ms"]!);
}

/** Parses a JSON flag value, or throws a UsageError naming the flag. */
export function parseJsonFlag(value: string, flag: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (e) {
    throw new UsageError(`${flag} is not valid JSON (${(e as Error).message}): ${value.length > 60 ? value.slice(0, 57) + "..." : value}`);
  }
}

/** A date as an ISO string (or "-"). */
export function fmtTime(d: Date | string | number | null | undefined): string {
  if (d === null || d === undefined) return "-";
  const t = new Date(d);
  return Number.isNaN(t.getTime()) ? "-" : t.toISOString();
}

/** The time between two dates, e.g. "12ms", "3.4s", "2m05s", or "-". */
export function fmtDuration(from: Date | string | number | null | undefined, to: Date | string | number | null | undefined): string {
  if (from === null || from === undefined || to === null || to === undefined) return "-";
  const ms = new Date(to).getTime() - new Date(from).getTime();
  if (!Number.isFinite(ms)) return "-";
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, "0")}s`;
}

/** A stored error (an object with name/message, a string, or anything) as one line. */
export function fmtError(e: unknown): string {
  if (e === null || e === undefined) return "";
  if (typeof e === "string") return oneLine(e);
  if (typeof e === "object") {
    const o = e as { name?: unknown; message?: unknown };
    if (typeof o.message === "string") return oneLine(typeof o.name === "string" && o.name !== "Error" ? `${o.name}: ${o.message}` : o.message);
  }
  return oneLine(JSON.stringify(e) ?? String(e));
}

/** A value as compact JSON on one line. */
export function fmtValue(v: unknown): string {
  if (v === undefined) return "undefined";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** Renders rows as left-aligned columns with a header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
