/**
 * Buffers provenance rows and writes them to the store in batches (one transaction each), so
 * recording does not dominate a run: a batch is written when it holds {@link MAX_ROWS} rows,
 * {@link FLUSH_MS} after its first row, and at the end of a run.
 */
import { emptyBatch, type Store, type WriteBatch } from "../store/store.js";

/** Rows that trigger a write. */
const MAX_ROWS = 50_000;
/** Longest time a row waits. */
const FLUSH_MS = 1_000;

/**
 * Collects rows; `flush()` writes what was collected.
 *
 * @example
 * const buffer = new RecordBuffer(store);
 * buffer.batch.calls.push(row); buffer.added(1);
 * await buffer.flush();
 */
export class RecordBuffer {
  readonly #store: Store;
  /** The batch being filled. */
  batch: WriteBatch = emptyBatch();
  #rows = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #error: unknown;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Notes that `n` rows were added to {@link batch}; writes when the batch is full. */
  added(n: number): void {
    this.#rows += n;
    if (this.#rows >= MAX_ROWS) void this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.#timer.unref();
    }
  }

  /** Writes everything collected so far; rejects with the first write error. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#rows > 0) {
      const batch = this.batch;
      this.batch = emptyBatch();
      this.#rows = 0;
      const write = (): Promise<void> =>
        this.#store.write(batch).catch((e: unknown) => {
          this.#error ??= e;
        });
      // Start the write now when none is in flight (an embedded store then writes before this
      // returns, so rows never pile up behind a busy event loop); otherwise queue it behind.
      const p = this.#writing === undefined ? write() : this.#writing.then(write);
      const settled = p.then(() => {
        if (this.#writing === settled) this.#writing = undefined;
      });
      this.#writing = settled;
    }
    return (this.#writing ?? Promise.resolve()).then(() => {
      if (this.#error !== undefined) throw this.#error;
    });
  }
}
