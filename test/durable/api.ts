/**
 * The public durable API (API.md §2) as these tests use it: re-exported from the durable modules
 * (the same names src/index.ts exports) so the tests load only the durable face.
 */
export { defineWorkflow } from "../../src/durable/define.js";
export type { WorkflowContext, WorkflowDefinition, WorkflowOptions } from "../../src/durable/define.js";
export { createClient } from "../../src/durable/client.js";
export type { Client, RunHandle, RunRecord, RunStatus, StepRecord } from "../../src/durable/client.js";
export { startWorker } from "../../src/durable/worker.js";
export type { Worker, WorkerOptions } from "../../src/durable/worker.js";
export { runInline } from "../../src/durable/run-inline.js";
export {
  CanceledError,
  ConnectionError,
  DurunError,
  InputValidationError,
  NonRetriableError,
  SerializationError,
  TimeoutError,
  UnknownWorkflowError,
  UsageError,
} from "../../src/errors.js";
