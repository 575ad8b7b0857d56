/**
 * Type helpers that let `task()` infer argument and result types from the body.
 *
 * - `Lazy<T>`: what a task parameter of type `T` accepts: a `T`, an `Expression<T>`, or an
 *   array/object of the right shape with expressions anywhere inside.
 * - `Resolved<T>`: the value an expression of type `T` finally evaluates to (expressions and
 *   promises unwrapped, recursively through arrays and plain objects).
 */
import type { Expression } from "./expression.js";
import type { File } from "../values/file.js";
import type { Dir } from "../values/dir.js";

/** Types that the scheduler never walks into. */
type Opaque =
  | string
  | number
  | boolean
  | bigint
  | symbol
  | null
  | undefined
  | void
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  | Function
  | Date
  | RegExp
  | Error
  | Map<unknown, unknown>
  | Set<unknown>
  | ArrayBufferView
  | ArrayBuffer
  | File
  | Dir;

type LazyStructure<T> = T extends Opaque
  ? never
  : T extends Expression<unknown>
    ? never
    : T extends readonly unknown[]
      ? { [K in keyof T]: Lazy<T[K]> }
      : T extends object
        ? { [K in keyof T]: Lazy<T[K]> }
        : never;

/**
 * A value of type `T`, an expression evaluating to `T`, or a structure of `T`'s shape with
 * expressions inside (e.g. `Lazy<number[]>` accepts `[1, add(1, 2)]`).
 *
 * @example
 * const xs: Lazy<number[]> = [1, add(1, 2)];
 */
export type Lazy<T> = T | Expression<T> | LazyStructure<T>;

/**
 * The arguments a task with parameters `A` accepts.
 *
 * @example
 * type Args = LazyArgs<[number, string]>; // [Lazy<number>, Lazy<string>]
 */
export type LazyArgs<A extends readonly unknown[]> = { [K in keyof A]: Lazy<A[K]> };

/**
 * What a value of type `T` evaluates to: promises awaited, expressions evaluated, recursively
 * through arrays and plain objects.
 *
 * @example
 * type R = Resolved<Promise<{ a: Expression<number> }>>; // { a: number }
 */
export type Resolved<T> =
  T extends Expression<infer U>
    ? Resolved<U>
    : T extends PromiseLike<infer P>
      ? Resolved<P>
      : T extends Opaque
        ? T
        : T extends readonly unknown[]
          ? { -readonly [K in keyof T]: Resolved<T[K]> }
          : T extends object
            ? { [K in keyof T]: Resolved<T[K]> }
            : T;

/** The tuples that are leading parts of `A` (for `partial`). */
export type Prefixes<A extends readonly unknown[]> = A extends readonly [infer H, ...infer Rest]
  ? readonly [] | readonly [Lazy<H>, ...Prefixes<Rest>]
  : readonly [];

/** `A` without its first `P["length"]` elements. */
export type DropPrefix<A extends readonly unknown[], P extends readonly unknown[]> = P extends readonly [unknown, ...infer PRest]
  ? A extends readonly [unknown, ...infer ARest]
    ? DropPrefix<ARest, PRest>
    : []
  : A;
