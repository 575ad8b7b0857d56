// Copies non-TypeScript assets (Lua scripts, SQL migrations) from src/ to dist/ after tsc.
import { cpSync, readdirSync, statSync, mkdirSync } from "node:fs";
import { join, dirname, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const src = join(root, "src");
const out = join(root, "dist");
const assetExt = [".lua", ".sql"];

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (assetExt.some((e) => name.endsWith(e))) {
      const dest = join(out, relative(src, p));
      mkdirSync(dirname(dest), { recursive: true });
      cpSync(p, dest);
    }
  }
}
walk(src);
