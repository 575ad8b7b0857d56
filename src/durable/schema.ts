/**
 * Input validation through any Standard Schema validator (zod, valibot, arktype...).
 * @internal
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { InputValidationError } from "../errors.js";

/** True when `value` looks like a Standard Schema validator. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { "~standard"?: { validate?: unknown } })["~standard"]?.validate === "function"
  );
}

/** Validates `input`; resolves to the (possibly transformed) value or throws {@link InputValidationError}. */
export async function validateInput(schema: StandardSchemaV1 | undefined, input: unknown, workflow: string): Promise<unknown> {
  if (!schema) return input;
  let result = schema["~standard"].validate(input);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    const issues = result.issues.map((i) => ({
      message: i.message,
      path: i.path?.map((p) => (typeof p === "object" && p !== null && "key" in p ? p.key : p)),
    }));
    const text = issues.map((i) => (i.path && i.path.length ? `${i.path.map(String).join(".")}: ${i.message}` : i.message)).join("; ");
    throw new InputValidationError(`input of workflow "${workflow}" is invalid: ${text}`, { issues });
  }
  return result.value;
}
