/** The one place that maps error codes to process exit codes. */
import type { ErrorCode } from '../core/index.js';
import { TsbuildError } from '../core/index.js';
import { NotATerminalError } from './terminal.js';

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

/** `run`, `create`, `start -a` and `exec`: tsbuild itself failed (a flag, the image, the engine), as docker's 125. */
export const EXIT_CONTAINER_CLI_FAILED = 125;

/**
 * The exit status of `run`, `create`, `start -a` and `exec` when they fail, as docker's: 126 when the
 * command cannot be invoked, 127 when it is not found, 130 when cancelled (Ctrl-C), 1 for `-it` without
 * a terminal (the docker CLI's own check: nothing ran), else 125.
 */
export function containerExitCodeFor(error: unknown): number {
  if (error instanceof NotATerminalError) return 1;
  if (error instanceof TsbuildError) {
    if (
      error.code === 'COMMAND_NOT_FOUND' ||
      error.code === 'COMMAND_NOT_EXECUTABLE' ||
      error.code === 'CANCELLED'
    )
      return exitCodes[error.code];
  }
  return EXIT_CONTAINER_CLI_FAILED;
}
