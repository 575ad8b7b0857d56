/**
 * The README / examples/durable walkthrough, as written: `durun worker --import
 * examples/durable/welcome.ts`, then `durun emit welcome --input ... --wait`.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startRedisServer, type RedisServerHandle } from "../helpers/redis-server.js";
import { killAllChildren, repoRoot, spawnNode } from "../durable-system/helpers.js";
import { runCli, type CliResult } from "./helpers.js";

const cli = join(repoRoot, "dist", "cli", "main.js");
let server: RedisServerHandle;

/** Runs the built CLI from the repository root, as the README does. */
function durun(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(args, repoRoot, env);
}

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
  server = await startRedisServer();
});
afterEach(async () => {
  await killAllChildren();
});
afterAll(async () => {
  await server?.stop();
});

describe("examples/durable", () => {
  it("runs the welcome workflow with its child run and retry, as the README shows", async () => {
    const env = { DURUN_REDIS_URL: server.url };
    const worker = spawnNode(cli, ["worker", "--import", "examples/durable/welcome.ts"], env, { tsx: false });
    await worker.waitForLine("worker started", 30_000);

    const r = await durun(["emit", "welcome", "--input", '{"userId":"u1","email":"u1@example.com"}', "--wait"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ userId: "u1", plan: "free", messageId: "msg-welcome-u1@example.com", emailAttempts: 2 });

    const children = await durun(["runs", "--workflow", "send-email", "--status", "succeeded"], env);
    expect(children.stdout).toMatch(/send-email\s+succeeded\s+2\/4/);
    const childId = /^(\S+)\s+send-email/m.exec(children.stdout)![1]!;
    const child = await durun(["runs", childId], env);
    expect(child.stdout).toMatch(/^render\s+succeeded/m);
    expect(child.stdout).toMatch(/^deliver\s+succeeded/m);
    expect(child.stdout).toMatch(/^parent\s+\S+/m);

    expect((await worker.signal("SIGINT")).code).toBe(0);
  });
});
