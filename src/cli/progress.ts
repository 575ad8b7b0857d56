/**
 * The live progress display of `durun run`, built on the scheduler's events.
 *
 * On a terminal it redraws one status line in place (at most every 100 ms); otherwise it writes
 * one plain line per call that starts, finishes, is reused from the cache, or fails. Either way
 * it writes to stderr, so stdout carries only the result.
 */
import type { SchedulerEvent } from "../scheduler/scheduler.js";

/** The states a call goes through, as counted by the display. */
export type CallState = SchedulerEvent["type"];

/** Counts of calls per state. */
export type Counts = Record<CallState, number>;

/** Where and how the display writes. */
export interface ProgressOptions {
  /** The stream to write to. @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Redraw in place (`true`) or log plain lines (`false`). @default stream.isTTY */
  live?: boolean;
  /** Write nothing. @default false */
  quiet?: boolean;
  /** Minimum time between redraws on a terminal. @default 100 */
  intervalMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

const STATES: readonly CallState[] = ["pending", "running", "done", "cached", "failed"];

/**
 * Tracks call states from scheduler events and shows them.
 *
 * @example
 * const progress = new Progress();
 * const scheduler = new Scheduler({ onEvent: (e) => progress.onEvent(e) });
 * try { await scheduler.run(expr); } finally { progress.stop(); }
 */
export class Progress {
  private readonly state = new Map<string, CallState>();
  private readonly counts: Counts = { pending: 0, running: 0, done: 0, cached: 0, failed: 0 };
  private readonly stream: NodeJS.WriteStream;
  private readonly live: boolean;
  private readonly quiet: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private lastLine = "";
  private stopped = false;
  private latestTask = "";

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.live = options.live ?? this.stream.isTTY === true;
    this.quiet = options.quiet ?? false;
    this.intervalMs = options.intervalMs ?? 100;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Feeds one scheduler event; pass this as the scheduler's `onEvent`. */
  onEvent(e: SchedulerEvent): void {
    const before = this.state.get(e.callId);
    if (before !== undefined) this.counts[before]--;
    this.state.set(e.callId, e.type);
    this.counts[e.type]++;
    this.latestTask = e.taskName;
    if (this.quiet || this.stopped) return;
    if (this.live) this.schedule();
    else if (e.type !== "pending") {
      const extra = e.type === "failed" && e.error ? `: ${e.error.message.split("\n")[0] ?? ""}` : "";
      this.stream.write(`${this.clock()} ${e.type.padEnd(7)} ${e.taskName} (${shortId(e.callId)})${extra}\n`);
    }
  }

  /** Current counts per state. */
  snapshot(): Counts {
    return { ...this.counts };
  }

  /** Number of distinct calls seen. */
  get total(): number {
    return this.state.size;
  }

  /** One line such as `2 running, 3 done, 5 cached (10 calls, 1.2 s)`. */
  summary(): string {
    const parts = STATES.filter((s) => this.counts[s] > 0 || s === "done" || s === "cached").map((s) => `${this.counts[s]} ${s}`);
    return `${parts.join(", ")} (${this.total} call${this.total === 1 ? "" : "s"}, ${formatDuration(this.now() - this.startedAt)})`;
  }

  /** Stops redrawing and clears the live line. Safe to call twice. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.live && !this.quiet && this.lastLine !== "") this.stream.write("\r\x1b[2K");
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.draw();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty && !this.stopped) this.draw();
    }, this.intervalMs);
    this.timer.unref();
  }

  private draw(): void {
    this.dirty = false;
    const c = this.counts;
    const line =
      `pending ${c.pending}  running ${c.running}  done ${c.done}  cached ${c.cached}  failed ${c.failed}` +
      `  ${formatDuration(this.now() - this.startedAt)}  ${this.latestTask}`;
    const width = this.stream.columns && this.stream.columns > 10 ? this.stream.columns - 1 : 120;
    this.lastLine = line.length > width ? line.slice(0, width) : line;
    this.stream.write(`\r\x1b[2K${this.lastLine}`);
  }

  private clock(): string {
    return `[${formatDuration(this.now() - this.startedAt).padStart(7)}]`;
  }
}

/** The first 8 characters of an id, as the CLI shows ids. */
export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/** `850 ms`, `1.2 s`, `3 min 5 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const min = Math.floor(ms / 60_000);
  return `${min} min ${Math.round((ms % 60_000) / 1000)} s`;
}
