/** Messages between the threads executor and its worker threads (internal). */

/** A job sent to a worker thread. */
export interface ThreadJob {
  /** URL of the module that defines the task (imported in the worker). */
  readonly moduleUrl: string;
  /** The task's full name, looked up in the worker's registry. */
  readonly fullName: string;
  /** Encoded argument list. */
  readonly args: string;
}

/** A worker thread's answer. */
export type ThreadReply =
  | { readonly ok: true; readonly result: string; readonly threadId: number }
  | { readonly ok: false; readonly error: { readonly name: string; readonly message: string; readonly stack: string | undefined } };
