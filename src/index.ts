/**
 * durun: the public API. See ../shared/API.md for the contract; every name here is fixed.
 * Explicit list of exports (no `export *`): a newcomer sees the whole surface in one file.
 */

// errors
export {
  DurunError,
  CanceledError,
  TimeoutError,
  NonRetriableError,
  InputValidationError,
  UnknownWorkflowError,
  SerializationError,
  TaskError,
  DryRunError,
  StoreError,
  ConnectionError,
  UsageError,
} from "./errors.js";

// values
export { File } from "./values/file.js";
export { Dir } from "./values/dir.js";
export { hashValue, encodeValue, decodeValue } from "./values/codec.js";

// tasks and expressions
export { task } from "./tasks/task.js";
export type { Task, TaskOptions } from "./tasks/task.js";
export { Expression } from "./tasks/expression.js";
export { cond, seq, catchError, map } from "./tasks/control-flow.js";

// scheduler
export { Scheduler } from "./scheduler/scheduler.js";
export type { SchedulerOptions, RunOptions, SchedulerEvent } from "./scheduler/scheduler.js";
export type { CallRecord, ExecutionRecord, Store } from "./store/store.js";
export type { CallDetail, ArgumentRecord, TaskRecord, CallStatus, ExecutionStatus, StoreStats } from "./store/store.js";
export type { Lazy, LazyArgs, Resolved } from "./tasks/types.js";
export type { ExecutorConfig, InlineExecutorConfig, ThreadsExecutorConfig } from "./executors/executor.js";

// durable workflows
export { defineWorkflow } from "./durable/define.js";
export type { WorkflowDefinition, WorkflowOptions, WorkflowContext } from "./durable/define.js";
export { createClient } from "./durable/client.js";
export type { Client, RunHandle, RunRecord, RunStatus, StepRecord } from "./durable/client.js";
export { startWorker } from "./durable/worker.js";
export type { Worker, WorkerOptions } from "./durable/worker.js";
export { runInline } from "./durable/run-inline.js";
export { RUN_STATUS, STEP_STATUS } from "./durable/status.js";
export type { StepStatus } from "./durable/status.js";
export type {
  CronSchedule,
  EventTrigger,
  OnFailureContext,
  RetryOptions,
  RunInfo,
  StepApi,
  StepRunOptions,
  StepRunWorkflowOptions,
  WaitForEventOptions,
  WorkflowHandler,
  WorkflowRef,
} from "./durable/define.js";
export type { ClientOptions, EmitOptions, EventRecord, RunError, Stats, WorkflowMeta } from "./durable/client.js";
export type { WorkerRunEvent } from "./durable/worker.js";
export type { InlineStep, RunInlineOptions, RunInlineResult } from "./durable/run-inline.js";
