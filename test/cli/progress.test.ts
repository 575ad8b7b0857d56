/** The progress display, driven directly with scheduler events. */
import { describe, expect, it } from "vitest";
import { Progress, formatDuration } from "../../src/cli/progress.js";
import type { SchedulerEvent } from "../../src/scheduler/scheduler.js";

function ev(type: SchedulerEvent["type"], callId: string, taskName: string, error?: Error): SchedulerEvent {
  return { type, callId, taskName, executionId: "e1", ...(error ? { error } : {}) };
}

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { text: "", isTTY, columns: 80, write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe("Progress", () => {
  it("counts calls by their latest state", () => {
    const p = new Progress({ stream: fakeStream(false) });
    p.onEvent(ev("pending", "a", "t"));
    p.onEvent(ev("pending", "b", "t"));
    p.onEvent(ev("running", "a", "t"));
    expect(p.snapshot()).toEqual({ pending: 1, running: 1, done: 0, cached: 0, failed: 0 });
    p.onEvent(ev("done", "a", "t"));
    p.onEvent(ev("cached", "b", "t"));
    expect(p.snapshot()).toEqual({ pending: 0, running: 0, done: 1, cached: 1, failed: 0 });
    expect(p.total).toBe(2);
    p.stop();
  });

  it("writes plain lines when not on a terminal", () => {
    const s = fakeStream(false);
    let t = 0;
    const p = new Progress({ stream: s, now: () => t });
    p.onEvent(ev("pending", "abcdefghij", "count"));
    t = 5;
    p.onEvent(ev("running", "abcdefghij", "count"));
    t = 1500;
    p.onEvent(ev("failed", "abcdefghij", "count", new Error("bad\nthing")));
    p.stop();
    expect(s.text).toBe("[   5 ms] running count (abcdefgh)\n[  1.5 s] failed  count (abcdefgh): bad\n");
    expect(p.summary()).toBe("0 done, 0 cached, 1 failed (1 call, 1.5 s)");
  });

  it("redraws one line in place on a terminal, at a bounded rate", () => {
    const s = fakeStream(true);
    const p = new Progress({ stream: s, intervalMs: 10_000 });
    for (let i = 0; i < 100; i++) p.onEvent(ev("pending", `c${i}`, "t"));
    expect(s.text.split("\r\x1b[2K").filter((x) => x !== "")).toHaveLength(1);
    expect(s.text).toMatch(/pending 1 {2}running 0 {2}done 0 {2}cached 0 {2}failed 0/);
    expect(s.text).not.toContain("\n");
    p.stop();
    expect(s.text.endsWith("\r\x1b[2K")).toBe(true);
  });

  it("is silent with quiet", () => {
    const s = fakeStream(false);
    const p = new Progress({ stream: s, quiet: true });
    p.onEvent(ev("running", "a", "t"));
    p.stop();
    expect(s.text).toBe("");
  });
});

describe("formatDuration", () => {
  it("picks a readable unit", () => {
    expect(formatDuration(12)).toBe("12 ms");
    expect(formatDuration(1234)).toBe("1.2 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
  });
});
