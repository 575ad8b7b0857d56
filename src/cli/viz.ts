/** `durun viz`: see API.md section 3. */
import type { Command } from "commander";
import { addCommand } from "./common.js";

/** Registers `durun viz` on the program. */
export function registerViz(program: Command): void {
  addCommand(program, "viz").description("(being written)");
}
