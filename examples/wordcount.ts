/**
 * A word-count pipeline over files: fan-out over the input files, one output file per input,
 * fan-in to a total.
 *
 *   node dist/cli/main.js run examples/wordcount.ts main
 *   node dist/cli/main.js run examples/wordcount.ts main --data-dir my/texts --out-dir out
 *
 * File reactivity: a `File` argument is hashed by its content, so after editing one input file
 * only that file's `countWords` call (and the `merge` that depends on it) runs again. A `File`
 * in a cached result is checked before reuse: delete one `.count` output and run again, and
 * its `countWords` call re-creates it.
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { task, Dir, File } from "durun";

/** Default input directory: the sample texts next to this file. */
const DATA_DIR = fileURLToPath(new URL("./data", import.meta.url));

/** One file's count, as returned by {@link countWords}. */
export interface FileCount {
  file: string;
  words: number;
  output: File;
}

/**
 * Lists the `.txt` files of a directory. `cache: false`: the directory is looked at on every
 * run, so new and edited files are noticed; the calls that read the files are still cached.
 */
export const listInputs = task(
  "listInputs",
  (dataDir: string) => {
    const files = new Dir(dataDir).files();
    return files.filter((f) => f.path.endsWith(".txt")).sort((a, b) => a.path.localeCompare(b.path));
  },
  { cache: false },
);

/** Counts the words of one file and writes the count to `<outDir>/<name>.count`. */
export const countWords = task("countWords", async (input: File, outDir: string): Promise<FileCount> => {
  const text = await input.read();
  const words = text.split(/\s+/).filter((w) => w !== "").length;
  const output = new File(join(outDir, `${basename(input.path)}.count`));
  await output.write(`${words}\n`);
  return { file: basename(input.path), words, output };
});

/** Fan-out: one `countWords` call per file; the calls run in parallel. */
export const countAll = task("countAll", (files: File[], outDir: string) => files.map((f) => countWords(f, outDir)));

/** Fan-in: adds up the per-file counts. */
export const merge = task("merge", (counts: FileCount[]) => ({
  total: counts.reduce((sum, c) => sum + c.words, 0),
  files: Object.fromEntries(counts.map((c) => [c.file, c.words])),
}));

/** The pipeline: list the inputs, count each one, merge the counts. */
export const main = task("main", (dataDir: string = DATA_DIR, outDir: string = ".durun/wordcount") =>
  merge(countAll(listInputs(dataDir), outDir)),
);
