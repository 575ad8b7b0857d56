/**
 * Cron expressions (five fields, or six with seconds first) through cron-parser.
 * @internal
 */
import { CronExpressionParser } from "cron-parser";
import { UsageError } from "../errors.js";

/** Checks a cron expression (and timezone); throws {@link UsageError} naming `where`. */
export function validateCron(expression: string, timezone: string | undefined, where: string): void {
  if (typeof expression !== "string" || expression.trim() === "") {
    throw new UsageError(`${where}.expression must be a non-empty cron expression`);
  }
  const fields = expression.trim().split(/\s+/);
  if (!expression.trim().startsWith("@") && (fields.length < 5 || fields.length > 6)) {
    throw new UsageError(`${where}.expression "${expression}" is malformed: expected 5 fields (or 6 with seconds), got ${fields.length}`);
  }
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat(undefined, { timeZone: timezone });
    } catch (e) {
      throw new UsageError(`${where}.timezone "${timezone}" is not a known IANA timezone (e.g. "UTC", "Europe/Paris")`, { cause: e });
    }
  }
  try {
    const it = CronExpressionParser.parse(expression, { strict: false, ...(timezone ? { tz: timezone } : {}) });
    it.next();
  } catch (e) {
    throw new UsageError(`${where}.expression "${expression}" is malformed: ${(e as Error).message}`, { cause: e });
  }
}

/** The first tick strictly after `after` (ms since epoch). */
export function nextCronTick(expression: string, timezone: string | undefined, after: number): number {
  const it = CronExpressionParser.parse(expression, { currentDate: new Date(after), ...(timezone ? { tz: timezone } : {}) });
  return it.next().getTime();
}
