/**
 * Loads the Lua scripts of ./lua/ (one file per atomic transition, `<name>-<numKeys>.lua`),
 * resolves `--@include <name>` lines from ./lua/includes/, and defines them as ioredis commands
 * (EVALSHA with a fallback to EVAL after a SCRIPT FLUSH or a server restart).
 *
 * Script names carry the package version (CONVENTIONS.md, convention 2): the command names are
 * `durun_<script>_<version>` and each script's source ends with a `-- durun <version>` line, so
 * its SHA differs per version and two versions of durun can share a Redis without calling each
 * other's scripts.
 * @internal
 */
import { readFileSync, readdirSync } from "node:fs";
import type { Cluster, Redis } from "ioredis";

const LUA_DIR = new URL("./lua/", import.meta.url);

/** A loaded script: its command name, key count and source. */
export interface ScriptSource {
  name: string;
  numberOfKeys: number;
  lua: string;
}

/** The version of this package (from its package.json), e.g. `"0.1.0"`. */
export const PACKAGE_VERSION: string = readPackageVersion();

function readPackageVersion(): string {
  // src/durable/redis/ and dist/durable/redis/ are both three levels below the package root
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { name?: unknown; version?: unknown };
    if (pkg.name === "durun" && typeof pkg.version === "string" && pkg.version !== "") return pkg.version;
  } catch {
    /* not found: an unusual layout */
  }
  return "0.0.0-unknown";
}

const cache = new Map<string, ScriptSource[]>();

function resolveIncludes(source: string, file: string): string {
  return source.replace(/^--@include (\S+)\s*$/gm, (_m, name: string) => {
    try {
      return readFileSync(new URL(`./includes/${name}.lua`, LUA_DIR), "utf8");
    } catch (e) {
      throw new Error(`${file}: cannot include "${name}": ${(e as Error).message}`);
    }
  });
}

/** Reads every script once per process (per version: `version` is for tests). */
export function loadScripts(version: string = PACKAGE_VERSION): ScriptSource[] {
  const cached = cache.get(version);
  if (cached) return cached;
  const out: ScriptSource[] = [];
  for (const file of readdirSync(LUA_DIR)) {
    const m = /^([a-z0-9-]+)-(\d+)\.lua$/.exec(file);
    if (!m) continue;
    // the version line goes last, so line numbers in Redis's error messages match the file
    const lua = `${resolveIncludes(readFileSync(new URL(file, LUA_DIR), "utf8"), file).replace(/\n*$/, "\n")}-- durun ${version} (${file})\n`;
    out.push({ name: m[1]!, numberOfKeys: Number(m[2]), lua });
  }
  cache.set(version, out);
  return out;
}

/** The ioredis command name of a script, with the package version, e.g. `durun_claim_0_1_0`. */
export function commandName(script: string, version: string = PACKAGE_VERSION): string {
  return `durun_${script.replace(/-/g, "_")}_${version.replace(/[^A-Za-z0-9]/g, "_")}`;
}

/** Defines every script as a command on a connection (single node or Cluster). */
export function defineScripts(redis: Redis | Cluster): void {
  for (const s of loadScripts()) redis.defineCommand(commandName(s.name), { numberOfKeys: s.numberOfKeys, lua: s.lua });
}
