/**
 * The Redis key layout of one deployment. Every key starts with `{<prefix>}:` so all keys of a
 * deployment share one hash tag and land in one Cluster slot (every script's keys too). The Lua
 * scripts build the same names from that base (see lua/includes/common.lua).
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `run:<id>` | hash | the run record (status, input, output, error, attempt, lease...) |
 * | `steps:<id>` | hash | step name → step record JSON |
 * | `queue:<queue>` | list | ids of queued runs (LPUSH in, RPOP out) |
 * | `scheduled` | zset | parked runs by wake-up time (delays, retries, sleeps, wait timeouts) |
 * | `leases` | zset | running runs by lease expiry |
 * | `active:<workflow>` | set | running runs of a workflow with a maxConcurrency |
 * | `blocked:<workflow>` | list | queued runs set aside while their workflow is at its limit |
 * | `runs`, `runs:wf:<workflow>`, `status:<status>` | zset | run indexes by creation time |
 * | `idem:<key>` | string | run id of an idempotency key (with TTL) |
 * | `children:<id>` | set | child runs of a run |
 * | `workflows` | hash | workflow name → metadata JSON; `app:<app>` set of its names |
 * | `triggers:<event>` | set | workflows started by an event |
 * | `waiters:<event>\n<correlationKey>` | set | runs waiting for an event |
 * | `event:<id>`, `events`, `events:name:<name>` | hash, zsets | emitted events |
 * | `cron:leader:<app>` | string | cron leadership lease |
 * | `cancel` | pub/sub channel | ids of canceled running runs |
 * | `done` | pub/sub channel | ids of finished runs that a client watches (`watched` field) |
 * | `timers` | pub/sub channel | due times (ms) of runs emitted with a future `runAt`, so workers wake for them |
 */
export class Keys {
  /** `{<prefix>}:` — the hash-tagged base of every key. */
  readonly base: string;

  constructor(readonly prefix: string) {
    this.base = `{${prefix}}:`;
  }

  run(id: string): string {
    return `${this.base}run:${id}`;
  }
  steps(id: string): string {
    return `${this.base}steps:${id}`;
  }
  queue(queue: string): string {
    return `${this.base}queue:${queue}`;
  }
  get scheduled(): string {
    return `${this.base}scheduled`;
  }
  get leases(): string {
    return `${this.base}leases`;
  }
  active(workflow: string): string {
    return `${this.base}active:${workflow}`;
  }
  blocked(workflow: string): string {
    return `${this.base}blocked:${workflow}`;
  }
  get runs(): string {
    return `${this.base}runs`;
  }
  runsOfWorkflow(workflow: string): string {
    return `${this.base}runs:wf:${workflow}`;
  }
  status(status: string): string {
    return `${this.base}status:${status}`;
  }
  idempotency(key: string): string {
    return `${this.base}idem:${key}`;
  }
  children(id: string): string {
    return `${this.base}children:${id}`;
  }
  get workflows(): string {
    return `${this.base}workflows`;
  }
  app(app: string): string {
    return `${this.base}app:${app}`;
  }
  event(id: string): string {
    return `${this.base}event:${id}`;
  }
  get events(): string {
    return `${this.base}events`;
  }
  eventsByName(name: string): string {
    return `${this.base}events:name:${name}`;
  }
  cronLeader(app: string): string {
    return `${this.base}cron:leader:${app}`;
  }
  get cancelChannel(): string {
    return `${this.base}cancel`;
  }
  get doneChannel(): string {
    return `${this.base}done`;
  }
  get timersChannel(): string {
    return `${this.base}timers`;
  }
}
