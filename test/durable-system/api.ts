/**
 * The public durable API (API.md §2), as the multi-process tests and their fixtures use it.
 * Re-exported from the durable modules rather than src/index.ts so these tests load only the
 * durable face (the names are the ones src/index.ts exports).
 */
export { defineWorkflow } from "../../src/durable/define.js";
export type { WorkflowContext, WorkflowDefinition, WorkflowOptions } from "../../src/durable/define.js";
export { createClient } from "../../src/durable/client.js";
export type { Client, RunHandle, RunRecord, RunStatus, StepRecord } from "../../src/durable/client.js";
export { startWorker } from "../../src/durable/worker.js";
export type { Worker, WorkerOptions } from "../../src/durable/worker.js";
export { ConnectionError, NonRetriableError, CanceledError, TimeoutError, UnknownWorkflowError } from "../../src/errors.js";
