/**
 * Loads the Lua scripts of ./lua/ (one file per atomic transition, `<name>-<numKeys>.lua`),
 * resolves `--@include <name>` lines from ./lua/includes/, and defines them as ioredis commands
 * (EVALSHA with a fallback to EVAL after a SCRIPT FLUSH or a server restart).
 * @internal
 */
import { readFileSync, readdirSync } from "node:fs";
import type { Redis } from "ioredis";

const LUA_DIR = new URL("./lua/", import.meta.url);

/** A loaded script: its command name, key count and source. */
export interface ScriptSource {
  name: string;
  numberOfKeys: number;
  lua: string;
}

let cache: ScriptSource[] | undefined;

function resolveIncludes(source: string, file: string): string {
  return source.replace(/^--@include (\S+)\s*$/gm, (_m, name: string) => {
    try {
      return readFileSync(new URL(`./includes/${name}.lua`, LUA_DIR), "utf8");
    } catch (e) {
      throw new Error(`${file}: cannot include "${name}": ${(e as Error).message}`);
    }
  });
}

/** Reads every script once per process. */
export function loadScripts(): ScriptSource[] {
  if (cache) return cache;
  const out: ScriptSource[] = [];
  for (const file of readdirSync(LUA_DIR)) {
    const m = /^([a-z0-9-]+)-(\d+)\.lua$/.exec(file);
    if (!m) continue;
    const lua = resolveIncludes(readFileSync(new URL(file, LUA_DIR), "utf8"), file);
    out.push({ name: m[1]!, numberOfKeys: Number(m[2]), lua });
  }
  cache = out;
  return out;
}

/** The ioredis command name of a script, e.g. `durun_claim`. */
export function commandName(script: string): string {
  return `durun_${script.replace(/-/g, "_")}`;
}

/** Defines every script as a command on a connection. */
export function defineScripts(redis: Redis): void {
  for (const s of loadScripts()) redis.defineCommand(commandName(s.name), { numberOfKeys: s.numberOfKeys, lua: s.lua });
}
