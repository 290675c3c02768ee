// Errors: what a call can meet (TaskflowError, with the gRPC code), and what a
// handler throws to choose what happens to its task (TaskError, PermanentError).
import { Code, ConnectError } from "@connectrpc/connect";

/** A call the service refused or could not answer. */
export class TaskflowError extends Error {
  constructor(
    message: string,
    /** The gRPC status, e.g. Code.InvalidArgument, Code.NotFound, Code.FailedPrecondition. */
    readonly code: Code = Code.Unknown,
  ) {
    super(message);
    this.name = "TaskflowError";
  }
}

/** The SDK error for a failed call (anything else is rethrown as it is). */
export function fromConnectError(error: unknown): unknown {
  if (error instanceof ConnectError) {
    return new TaskflowError(error.rawMessage || Code[error.code], error.code);
  }
  return error;
}

/** Options of a TaskError. */
export interface TaskErrorOptions {
  /** No retry: straight to the dead-letter queue. */
  permanent?: boolean;
  /** At least this many seconds before the next try (e.g. a Retry-After). */
  retryAfter?: number;
}

/**
 * Thrown by a handler: fail the task with this error class. `errorType` picks the
 * retry schedule ("RateLimitError", "ServiceUnavailable", "NetworkTimeout",
 * "InsufficientCredits"; anything else: the default one).
 */
export class TaskError extends Error {
  readonly permanent: boolean;
  readonly retryAfter: number;

  constructor(
    message: string,
    readonly errorType = "Default",
    options: TaskErrorOptions = {},
  ) {
    super(message);
    this.name = "TaskError";
    this.permanent = options.permanent ?? false;
    this.retryAfter = options.retryAfter ?? 0;
  }
}

/** Thrown by a handler: no retry, the task goes to the dead-letter queue. */
export class PermanentError extends TaskError {
  constructor(message: string) {
    super(message, "PermanentError", { permanent: true });
    this.name = "PermanentError";
  }
}
