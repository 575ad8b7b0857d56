/**
 * Turning command-line words into task arguments.
 *
 * Rules (also in README.md and `durun run --help`):
 * - `--name value` and `--name=value` bind to the task parameter called `name`
 *   (`--max-count` binds `maxCount` too); other words are positional values, which fill the
 *   parameters not bound by name, left to right; a rest parameter (`...xs`) takes the extras.
 * - Each value is read as JSON when it parses as JSON (numbers, `true`/`false`, `null`,
 *   objects, arrays, `"quoted strings"`), otherwise it is the string itself:
 *   `--count 3` is the number 3, `--name world` the string "world", `--x '"3"'` the string "3".
 *   Integers too large for a JavaScript number stay strings.
 */
import { UsageError } from "../errors.js";

/** One parameter of a task body, as read from its source. */
export interface ParamInfo {
  /** The parameter name, or `undefined` for a destructuring pattern (`{ a, b }`). */
  name: string | undefined;
  /** `true` for `...rest`. */
  rest: boolean;
  /** `true` when it has a default value (`x = 1`). */
  optional: boolean;
}

/**
 * Reads a string the way the CLI reads argument values: JSON when it parses, else the text.
 *
 * @example parseValue("3") // 3
 * @example parseValue("world") // "world"
 * @example parseValue('"3"') // "3"
 */
export function parseValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return text;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return text;
  }
  if (typeof value === "number" && /^-?\d+$/.test(trimmed) && !Number.isSafeInteger(value)) return text;
  return value;
}

/**
 * Lists the parameters of a function from its source text (`fn.toString()`).
 *
 * @example paramsOf("(a, b = 2, ...rest) => a") // a, b (optional), rest (rest)
 */
export function paramsOf(source: string): ParamInfo[] {
  const list = paramListText(source);
  if (list === undefined) return [];
  return splitTopLevel(list)
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => {
      const rest = p.startsWith("...");
      const body = rest ? p.slice(3).trim() : p;
      const eq = topLevelIndexOf(body, "=");
      const target = (eq >= 0 ? body.slice(0, eq) : body).trim();
      const name = /^[A-Za-z_$][\w$]*$/.test(target) ? target : undefined;
      return { name, rest, optional: eq >= 0 };
    });
}

/** The text between the parentheses of a function's parameter list (or a bare arrow param). */
function paramListText(source: string): string | undefined {
  const src = stripComments(source).trim();
  const bareArrow = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (bareArrow) return bareArrow[1];
  const open = src.indexOf("(");
  if (open < 0) return undefined;
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < src.length; i++) {
    const ch = src[i]!;
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === "`") quote = ch;
    else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") {
      depth--;
      if (depth === 0) return src.slice(open + 1, i);
    }
  }
  return undefined;
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
}

/** Splits on commas that are not nested in brackets or strings. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === "`") quote = ch;
    else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function topLevelIndexOf(text: string, target: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (ch === target && depth === 0 && text[i + 1] !== ">" && text[i + 1] !== "=") return i;
  }
  return -1;
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Binds command-line words to a task's parameters and returns the argument list.
 * Throws {@link UsageError} for a flag without a value, an unknown or repeated parameter, or
 * too many positional values.
 *
 * @example bindArgs(paramsOf("(name, count) => 0"), ["--count", "3", "world"]) // ["world", 3]
 */
export function bindArgs(params: readonly ParamInfo[], words: readonly string[], taskName = "the task"): unknown[] {
  const named = new Map<number, unknown>();
  const positional: unknown[] = [];
  const names = params.map((p) => p.name);
  const describe = (): string => {
    const shown = params.map((p, i) => (p.name ? `--${p.name}` : `<arg ${i + 1}>`) + (p.rest ? "..." : ""));
    return shown.length ? `parameters of ${taskName}: ${shown.join(" ")}` : `${taskName} takes no parameters`;
  };
  let onlyPositional = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (onlyPositional || !word.startsWith("--") || word === "--") {
      if (word === "--" && !onlyPositional) {
        onlyPositional = true;
        continue;
      }
      positional.push(parseValue(word));
      continue;
    }
    const eq = word.indexOf("=");
    const flag = eq >= 0 ? word.slice(2, eq) : word.slice(2);
    let text: string;
    if (eq >= 0) text = word.slice(eq + 1);
    else {
      const next = words[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(`malformed argument: --${flag} needs a value (e.g. --${flag} 3, or --${flag}=true)`);
      }
      text = next;
      i++;
    }
    if (flag === "") throw new UsageError(`malformed argument: "${word}" has no parameter name`);
    let index = names.indexOf(flag);
    if (index < 0) index = names.indexOf(camelCase(flag));
    if (index < 0) throw new UsageError(`unknown parameter --${flag} for ${taskName}; ${describe()}`);
    if (params[index]!.rest) throw new UsageError(`--${flag} is a rest parameter: give its values as positional words`);
    if (named.has(index)) throw new UsageError(`malformed argument: --${flag} given twice`);
    named.set(index, parseValue(text));
  }
  const args: unknown[] = [];
  let p = 0;
  let last = -1;
  for (let index = 0; index < params.length; index++) {
    const param = params[index]!;
    if (param.rest) {
      while (p < positional.length) args.push(positional[p++]);
      last = args.length - 1;
      break;
    }
    if (named.has(index)) {
      args.push(named.get(index));
      last = index;
    } else if (p < positional.length) {
      args.push(positional[p++]);
      last = index;
    } else args.push(undefined);
  }
  if (p < positional.length) {
    const extra = positional.length - p;
    throw new UsageError(`too many arguments: ${extra} positional value${extra === 1 ? "" : "s"} left over; ${describe()}`);
  }
  return args.slice(0, last + 1);
}
