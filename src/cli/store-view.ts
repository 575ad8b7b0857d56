/**
 * Opening the provenance store for `durun log` and `durun viz`, and finding executions and
 * calls by id or id prefix.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Scheduler } from "../scheduler/scheduler.js";
import type { CallDetail, ExecutionRecord, Store } from "../store/store.js";
import { DurunError } from "../errors.js";
import { openStoreError } from "./render.js";

/** The store opened read-mostly by a command, with `close()`. */
export interface OpenedStore {
  db: Store;
  url: string;
  close(): Promise<void>;
}

/** The local file of a SQLite database URL, or `undefined` for other kinds. */
export function sqlitePath(url: string): string | undefined {
  if (url === ":memory:" || /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return undefined;
  return url.startsWith("sqlite:") ? url.slice("sqlite:".length) : url;
}

/**
 * Opens the store behind `url`. A SQLite file that does not exist is not created: `undefined`
 * is returned instead so the command can say there is nothing recorded yet.
 */
export function openExistingStore(url: string): OpenedStore | undefined {
  const file = sqlitePath(url);
  if (file !== undefined && !existsSync(resolve(file))) return undefined;
  let scheduler: Scheduler;
  try {
    scheduler = new Scheduler({ db: url });
  } catch (e) {
    throw openStoreError(url, e);
  }
  return { db: scheduler.db, url, close: () => scheduler.close() };
}

/** What an id given on the command line refers to. */
export type Found = { kind: "execution"; execution: ExecutionRecord } | { kind: "call"; call: CallDetail };

/**
 * Finds an execution or a call by full id or unique prefix; throws {@link DurunError} when
 * nothing matches.
 */
export async function findById(db: Store, id: string): Promise<Found> {
  const execution = await db.getExecution(id);
  if (execution) return { kind: "execution", execution };
  const call = await db.getCall(id);
  if (call) return { kind: "call", call };
  throw new DurunError(`no execution or call with id "${id}"; list executions with: durun log`, { code: "NOT_FOUND" });
}
