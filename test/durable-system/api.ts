/**
 * The public durable API (API.md §2), as the multi-process tests and their fixtures use it:
 * the package's own entry point (src/index.ts), loaded from source (tsx in child processes).
 */
export { defineWorkflow, createClient, startWorker } from "../../src/index.js";
export type { WorkflowContext, WorkflowDefinition, WorkflowOptions, Client, RunHandle, RunRecord, RunStatus, StepRecord, Worker, WorkerOptions } from "../../src/index.js";
export { ConnectionError, NonRetriableError, CanceledError, TimeoutError, UnknownWorkflowError } from "../../src/index.js";
