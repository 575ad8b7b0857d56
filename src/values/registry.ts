/**
 * The registry of custom value codecs: how higher layers (tasks, expressions) and users teach
 * the value layer to store their own types without the value layer importing them.
 */
import { UsageError } from "../errors.js";

/**
 * A JSON value: what a codec turns a custom value into.
 *
 * @example
 * const data: JsonValue = { name: "add", args: [1, 2] };
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * How to store one custom type. `tag` names the type in the stored text (keep it stable:
 * stored values refer to it); `test` recognises instances; `encode` turns one into JSON,
 * calling `encodeChild` for nested values (which may themselves be anything storable);
 * `decode` reverses it, calling `decodeChild` on exactly what `encodeChild` returned.
 * `hash`, when given, replaces the hash of the encoding (a task hashes by its source, not by
 * its name and options).
 *
 * @example
 * registerValueCodec<Point>({
 *   tag: "geo.Point",
 *   test: (v): v is Point => v instanceof Point,
 *   encode: (p) => [p.x, p.y],
 *   decode: (data) => { const [x, y] = data as number[]; return new Point(x!, y!); },
 * });
 */
export interface ValueCodec<T> {
  /** Stable name of the type in stored values, e.g. `"durun.Task"`. */
  readonly tag: string;
  /** True for the values this codec stores. Consulted for functions and class instances. */
  test(value: unknown): value is T;
  /** The value as JSON; nested values go through `encodeChild`. */
  encode(value: T, encodeChild: (child: unknown) => JsonValue): JsonValue;
  /** The value back from what `encode` returned; nested values go through `decodeChild`. */
  decode(data: JsonValue, decodeChild: (child: JsonValue) => unknown): T;
  /** Optional hash (any stable string, ideally a sha256 hex) used by `hashValue` instead of the encoding. */
  hash?(value: T): string;
}

const byTag = new Map<string, ValueCodec<unknown>>();
let ordered: ValueCodec<unknown>[] = [];

/**
 * Registers a codec for a custom type (see {@link ValueCodec}). Registering a codec with a
 * tag that is already registered replaces the old one (a module loaded twice stays harmless).
 * Returns a function that removes the codec again.
 *
 * @example
 * const unregister = registerValueCodec(pointCodec);
 * encodeValue(new Point(1, 2)); // '{"$":"ext","t":"geo.Point","v":[1,2]}'
 * unregister();
 */
export function registerValueCodec<T>(codec: ValueCodec<T>): () => void {
  if (typeof codec.tag !== "string" || codec.tag === "") {
    throw new UsageError("registerValueCodec: codec.tag must be a non-empty string");
  }
  for (const name of ["test", "encode", "decode"] as const) {
    if (typeof codec[name] !== "function") {
      throw new UsageError(`registerValueCodec: codec "${codec.tag}" needs a ${name}() function`);
    }
  }
  const stored = codec as unknown as ValueCodec<unknown>;
  byTag.set(codec.tag, stored);
  ordered = [...byTag.values()];
  return () => {
    if (byTag.get(codec.tag) === stored) {
      byTag.delete(codec.tag);
      ordered = [...byTag.values()];
    }
  };
}

/**
 * The codec that claims `value`, if any (first registered wins).
 *
 * @example
 * const codec = findCodec(someTask); // the "durun.Task" codec once tasks are loaded
 */
export function findCodec(value: unknown): ValueCodec<unknown> | undefined {
  for (const codec of ordered) if (codec.test(value)) return codec;
  return undefined;
}

/**
 * The codec registered under `tag`, if any.
 *
 * @example
 * getCodec("durun.Task")?.decode(data, decodeChild);
 */
export function getCodec(tag: string): ValueCodec<unknown> | undefined {
  return byTag.get(tag);
}
