/**
 * Fires the cron schedules of the workflows of one app. Only the leader (a lease key per app in
 * Redis, renewed while it lives) emits; each tick is emitted with the idempotency key
 * `cron:<workflow>:<schedule id>:<tick ms>`, so a tick is emitted at most once even if two
 * workers briefly both believe they lead; a tick is skipped while the workflow has
 * maxConcurrency runs running. Missed ticks (no leader at the time) are not replayed.
 * @internal
 */
import type { WorkflowDefinition } from "./define.js";
import { nextCronTick } from "./cron.js";
import { emitRun } from "./emit.js";
import type { RedisStore } from "./redis/store.js";

interface Entry {
  def: WorkflowDefinition<unknown, unknown>;
  id: string;
  expression: string;
  timezone: string | undefined;
  input: unknown;
  next: number;
}

const LEADER_LEASE_MS = 3000;

/** @internal */
export class CronRunner {
  private readonly entries: Entry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private current: Promise<void> = Promise.resolve();
  private leaderUntil = 0;

  constructor(
    private readonly store: RedisStore,
    private readonly app: string,
    private readonly token: string,
    defs: WorkflowDefinition<unknown, unknown>[],
    private readonly idempotencyTtlMs: number,
  ) {
    const now = Date.now();
    for (const def of defs) {
      for (const c of def.options.cron) {
        this.entries.push({ def, id: c.id, expression: c.expression, timezone: c.timezone, input: c.input, next: nextCronTick(c.expression, c.timezone, now) });
      }
    }
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.current = this.tick().finally(() => {
        const next = Math.min(...this.entries.map((e) => e.next));
        this.schedule(Math.max(10, Math.min(1000, next - Date.now())));
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    try {
      const now = Date.now();
      if (now >= this.leaderUntil - LEADER_LEASE_MS / 2) {
        const leader = await this.store.leader(this.app, this.token, LEADER_LEASE_MS);
        this.leaderUntil = leader ? now + LEADER_LEASE_MS : 0;
      }
      for (const e of this.entries) {
        if (Date.now() < e.next) continue;
        const tick = e.next;
        e.next = nextCronTick(e.expression, e.timezone, Math.max(Date.now(), tick));
        if (this.leaderUntil <= Date.now()) continue;
        const limit = e.def.options.maxConcurrency;
        await emitRun(this.store, {
          workflow: e.def.name,
          input: e.input,
          idempotencyKey: `cron:${e.def.name}:${e.id}:${tick}`,
          idempotencyTtlMs: this.idempotencyTtlMs,
          skipIfAtLimit: Number.isFinite(limit) ? limit : 0,
        }).catch(() => undefined);
      }
    } catch {
      /* Redis unreachable: try again on the next tick */
    }
  }

  stop(): void {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async stopped(): Promise<void> {
    await this.current;
  }
}
