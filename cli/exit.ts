/** The one place that maps error codes to process exit codes. */
import type { ErrorCode } from '../core/index.js';
import { TsbuildError } from '../core/index.js';

const exitCodes: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 2,
  NOT_FOUND: 1,
  ALREADY_EXISTS: 1,
  FAILED_PRECONDITION: 1,
  CANCELLED: 130,
  INTERNAL: 70,
  PARSE_ERROR: 1,
  DOCKERFILE_ERROR: 1,
  SHELL_EXPANSION_ERROR: 1,
  IGNORE_PATTERN_ERROR: 1,
  LIMIT_EXCEEDED: 1,
  EXEC_FAILED: 1,
  UNAVAILABLE: 69,
  UNAUTHENTICATED: 77,
  PERMISSION_DENIED: 77,
  COMMAND_NOT_FOUND: 127,
  COMMAND_NOT_EXECUTABLE: 126,
};

export function exitCodeFor(error: unknown): number {
  return error instanceof TsbuildError ? exitCodes[error.code] : 70;
}
