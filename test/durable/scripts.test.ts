/**
 * Script names carry the package version (CONVENTIONS.md, convention 2): two versions of durun
 * sharing one Redis never run each other's scripts.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { PACKAGE_VERSION, commandName, loadScripts } from "../../src/durable/redis/scripts.js";
import { defineWorkflow } from "./api.js";
import { useDurableEnv } from "./setup.js";

const env = useDurableEnv();
const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");
const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

describe("versioned scripts", () => {
  it("every script's name and source carry the package version", () => {
    expect(PACKAGE_VERSION).toBe(pkg.version);
    const scripts = loadScripts();
    expect(scripts.length).toBeGreaterThan(10);
    for (const s of scripts) expect(s.lua).toMatch(new RegExp(`-- durun ${PACKAGE_VERSION.replace(/\./g, "\\.")} \\(${s.name}-${s.numberOfKeys}\\.lua\\)\\n$`));
    expect(commandName("record-steps")).toBe(`durun_record_steps_${PACKAGE_VERSION.replace(/\./g, "_")}`);
  });

  it("another version gives every script another SHA and another command name", () => {
    const ours = loadScripts();
    const theirs = loadScripts("9.9.9");
    expect(theirs.map((s) => s.name)).toEqual(ours.map((s) => s.name));
    ours.forEach((s, i) => expect(sha1(theirs[i]!.lua)).not.toBe(sha1(s.lua)));
    expect(commandName("claim", "9.9.9")).not.toBe(commandName("claim"));
  });

  it("the scripts Redis runs are this version's", async () => {
    const wf = defineWorkflow("scripts-versioned", {}, async (ctx) => ctx.step.run("s", () => 1));
    await env.worker();
    expect(await (await env.client().emitWorkflow(wf, undefined)).result({ timeoutMs: 10_000 })).toBe(1);
    const redis = new Redis(env.url, { lazyConnect: true });
    try {
      await redis.connect();
      const byName = new Map(loadScripts().map((s) => [s.name, s]));
      const other = loadScripts("9.9.9").find((s) => s.name === "emit")!;
      const exists = (await redis.script("EXISTS", sha1(byName.get("emit")!.lua), sha1(byName.get("claim")!.lua), sha1(other.lua))) as number[];
      expect(exists).toEqual([1, 1, 0]);
    } finally {
      redis.disconnect();
    }
  });
});
