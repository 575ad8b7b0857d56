/**
 * Payloads of durable runs (inputs, outputs, step results, event payloads) and stored errors.
 *
 * Everything stored in Redis is data: a string produced here, parsed back with a JSON parser,
 * never evaluated. Values go through the values layer codec when available; errors are stored
 * as plain `{ name, message, code, stack }` records and rebuilt as the matching durun error.
 */
import {
  CanceledError,
  DurunError,
  InputValidationError,
  NonRetriableError,
  SerializationError,
  TimeoutError,
  UnknownWorkflowError,
  UsageError,
  ensureError,
} from "../errors.js";
import { decodeValue, encodeValue } from "../values/codec.js";

/**
 * Encodes a value for storage; throws {@link SerializationError} (naming `what`: a function is
 * called only then) for values that cannot be stored (functions, symbols, cycles...).
 */
export function encodePayload(value: unknown, what: string | (() => string)): string {
  try {
    return encodeValue(value);
  } catch (e) {
    const err = ensureError(e);
    const path = e instanceof SerializationError ? e.path : "";
    throw new SerializationError(`${typeof what === "string" ? what : what()} cannot be stored: ${err.message}`, { path, cause: err });
  }
}

/** Decodes a stored payload; `undefined` for a missing one. */
export function decodePayload(text: string | null | undefined): unknown {
  if (text === null || text === undefined || text === "") return undefined;
  return decodeValue(text);
}

/** The stored shape of an error. */
export interface StoredError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  reason?: string;
  timeoutMs?: number;
}

/** Turns any thrown value into the record stored in Redis. */
export function serializeError(error: unknown): StoredError {
  const err = ensureError(error);
  const out: StoredError = { name: err.name, message: err.message };
  if (err instanceof DurunError) out.code = err.code;
  if (err.stack) out.stack = err.stack;
  if (err instanceof CanceledError && err.reason !== undefined) out.reason = err.reason;
  if (err instanceof TimeoutError && err.timeoutMs !== undefined) out.timeoutMs = err.timeoutMs;
  return out;
}

/** Encodes an error for storage as a JSON string. */
export function encodeError(error: unknown): string {
  return JSON.stringify(serializeError(error));
}

/** Rebuilds an error from its stored JSON: durun errors get their class back, others are `Error`s with the stored name. */
export function decodeError(text: string | null | undefined): Error | undefined {
  if (!text) return undefined;
  let rec: Partial<StoredError>;
  try {
    rec = JSON.parse(text) as Partial<StoredError>;
  } catch {
    return new Error(text);
  }
  const message = typeof rec.message === "string" ? rec.message : "unknown error";
  let err: Error;
  switch (rec.name) {
    case "CanceledError":
      err = new CanceledError(message, rec.reason === undefined ? {} : { reason: rec.reason });
      break;
    case "TimeoutError":
      err = new TimeoutError(message, rec.timeoutMs === undefined ? {} : { timeoutMs: rec.timeoutMs });
      break;
    case "NonRetriableError":
      err = new NonRetriableError(message);
      break;
    case "InputValidationError":
      err = new InputValidationError(message);
      break;
    case "SerializationError":
      err = new SerializationError(message);
      break;
    case "UsageError":
      err = new UsageError(message);
      break;
    case "UnknownWorkflowError":
      err = new UnknownWorkflowError("", message);
      break;
    default:
      err = new Error(message);
      if (typeof rec.name === "string") err.name = rec.name;
      if (typeof rec.code === "string") (err as Error & { code?: string }).code = rec.code;
  }
  if (typeof rec.stack === "string") err.stack = rec.stack;
  return err;
}
