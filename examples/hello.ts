/**
 * Hello world: a main task that calls two small tasks.
 *
 *   npm run build
 *   node dist/cli/main.js run examples/hello.ts main --name world
 *
 * Run it twice: the second run comes from the cache. Change the body of `shout` and run it
 * again: only `shout` runs, `greeting` is still reused.
 */
import { task } from "durun";

/** Builds a greeting for `name`. */
export const greeting = task("greeting", (name: string) => `Hello, ${name}!`);

/** Turns text into something louder. */
export const shout = task("shout", (text: string) => text.toUpperCase());

/** The entry point: calling tasks builds expressions; the scheduler evaluates them. */
export const main = task("main", (name: string) => shout(greeting(name)));
