/** `durun run`: see API.md section 3. */
import type { Command } from "commander";
import { addCommand } from "./common.js";

/** Registers `durun run` on the program. */
export function registerRun(program: Command): void {
  addCommand(program, "run").description("(being written)");
}
