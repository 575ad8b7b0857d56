/**
 * Admission of task bodies: at most `maxConcurrency` bodies run at once, and the named
 * resources that running calls hold (`TaskOptions.limits`) never exceed the scheduler's
 * `limits`. Waiting calls are admitted first-come first-served, skipping over calls that do
 * not fit yet so a large request does not block small ones behind it.
 */
import { UsageError } from "../errors.js";

interface Waiter {
  readonly need: Readonly<Record<string, number>>;
  readonly grant: () => void;
}

/**
 * Counts running bodies and held resources.
 *
 * @example
 * const limiter = new Limiter(4, { db: 2 });
 * await limiter.acquire({ db: 1 });
 * limiter.release({ db: 1 });
 */
export class Limiter {
  readonly #max: number;
  readonly #capacity: Readonly<Record<string, number>>;
  readonly #used = new Map<string, number>();
  readonly #queue: Waiter[] = [];
  #running = 0;
  /** The highest number of bodies that ran at once. */
  peak = 0;

  constructor(maxConcurrency: number, limits: Readonly<Record<string, number>>) {
    this.#max = maxConcurrency;
    this.#capacity = limits;
  }

  /** Bodies running now. */
  get running(): number {
    return this.#running;
  }

  #fits(need: Readonly<Record<string, number>>): boolean {
    if (this.#running >= this.#max) return false;
    for (const name in need) {
      const cap = this.#capacity[name];
      if (cap === undefined) continue;
      if ((this.#used.get(name) ?? 0) + need[name]! > cap) return false;
    }
    return true;
  }

  #take(need: Readonly<Record<string, number>>): void {
    this.#running++;
    if (this.#running > this.peak) this.peak = this.#running;
    for (const name in need) {
      if (this.#capacity[name] !== undefined) this.#used.set(name, (this.#used.get(name) ?? 0) + need[name]!);
    }
  }

  /**
   * Waits until a body needing `need` may run, and takes the slot. Returns `undefined` (no
   * promise) when it could take it at once. Throws when `need` can never fit.
   */
  acquire(need: Readonly<Record<string, number>>, taskName: string): Promise<void> | undefined {
    for (const name in need) {
      const cap = this.#capacity[name];
      if (cap !== undefined && need[name]! > cap) {
        throw new UsageError(`task "${taskName}" needs ${need[name]} of "${name}" but the scheduler's limits allow ${cap}`);
      }
    }
    // Waiting calls are blocked by a resource (a slot freed by `release` goes to them first), so
    // a call that fits now may start now.
    if (this.#fits(need)) {
      this.#take(need);
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.#queue.push({ need, grant: resolve });
    });
  }

  /** Returns a slot taken by `acquire`, admitting waiting bodies that now fit. */
  release(need: Readonly<Record<string, number>>): void {
    this.#running--;
    for (const name in need) {
      if (this.#capacity[name] !== undefined) this.#used.set(name, (this.#used.get(name) ?? 0) - need[name]!);
    }
    for (let i = 0; i < this.#queue.length && this.#running < this.#max; ) {
      const w = this.#queue[i]!;
      if (this.#fits(w.need)) {
        this.#queue.splice(i, 1);
        this.#take(w.need);
        w.grant();
      } else i++;
    }
  }
}
