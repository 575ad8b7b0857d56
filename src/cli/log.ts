/** `durun log`: see API.md section 3. */
import type { Command } from "commander";
import { addCommand } from "./common.js";

/** Registers `durun log` on the program. */
export function registerLog(program: Command): void {
  addCommand(program, "log").description("(being written)");
}
