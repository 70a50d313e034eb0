/**
 * One error base class for all of tsbuild. Callers branch on `code`, never on message text.
 * Exactly one place maps codes to process exit codes (cli/) and one to HTTP statuses (daemon/).
 */

/** A position in a source file. Lines and columns are 1-based; `endColumn` is exclusive. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** A range in a source file (a Dockerfile, a .dockerignore …). */
export interface SourceRange {
  readonly start: SourcePosition;
  readonly end: SourcePosition;
}

/** Where in which file something went wrong; `source` lets a printer show the lines around it. */
export interface SourceLocation {
  readonly file: string;
  readonly range: SourceRange;
  readonly source?: string;
}

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'CANCELLED'
  | 'INTERNAL'
  | 'PARSE_ERROR'
  | 'DOCKERFILE_ERROR'
  | 'SHELL_EXPANSION_ERROR'
  | 'IGNORE_PATTERN_ERROR'
  | 'LIMIT_EXCEEDED'
  /** A build step's process exited with a non-zero status. */
  | 'EXEC_FAILED'
  /** A remote service (a registry) cannot be reached or keeps failing; retrying later may work. */
  | 'UNAVAILABLE'
  /** A remote service wants credentials we do not have, or rejected the ones we sent. */
  | 'UNAUTHENTICATED'
  /** A remote service knows who we are and refuses the operation; or this host does (not root). */
  | 'PERMISSION_DENIED'
  /** `tsbuild run`: the command is not in the image (exit 127, as `docker run`). */
  | 'COMMAND_NOT_FOUND'
  /** `tsbuild run`: the command is there but cannot be executed (exit 126, as `docker run`). */
  | 'COMMAND_NOT_EXECUTABLE';

export interface TsbuildErrorOptions {
  readonly hint?: string;
  readonly cause?: unknown;
  readonly location?: SourceLocation;
}

export class TsbuildError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly location: SourceLocation | undefined;

  constructor(code: ErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.location = options.location;
  }

  /** A copy of this error that also knows where it happened (keeps code, hint and cause). */
  withLocation(location: SourceLocation): TsbuildError {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as TsbuildError;
    Object.assign(copy, this, { location, message: this.message, stack: this.stack });
    return copy;
  }
}

export class InvalidArgumentError extends TsbuildError {
  constructor(message: string, options: TsbuildErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, options);
  }
}

export class NotFoundError extends TsbuildError {
  constructor(message: string, options: TsbuildErrorOptions = {}) {
    super('NOT_FOUND', message, options);
  }
}

export class AlreadyExistsError extends TsbuildError {
  constructor(message: string, options: TsbuildErrorOptions = {}) {
    super('ALREADY_EXISTS', message, options);
  }
}

export class FailedPreconditionError extends TsbuildError {
  constructor(message: string, options: TsbuildErrorOptions = {}) {
    super('FAILED_PRECONDITION', message, options);
  }
}

export class CancelledError extends TsbuildError {
  constructor(message = 'operation cancelled', options: TsbuildErrorOptions = {}) {
    super('CANCELLED', message, options);
  }
}

/** The Dockerfile's syntax is wrong (lines, continuations, directives, heredocs, JSON). */
export class ParseError extends TsbuildError {
  constructor(message: string, options: TsbuildErrorOptions = {}) {
    super('PARSE_ERROR', message, options);
  }
}

/** The Dockerfile parses but an instruction is wrong (unknown flag, bad value, missing stage). */
export class DockerfileError extends TsbuildError {
  constructor(message: string, options: TsbuildErrorOptions = {}) {
    super('DOCKERFILE_ERROR', message, options);
  }
}

/** A RUN step's process exited non-zero. `output` is the tail of what it printed (both streams). */
export class ExecError extends TsbuildError {
  readonly exitCode: number;
  readonly output: readonly string[];

  constructor(
    message: string,
    details: { readonly exitCode: number; readonly output: readonly string[] },
    options: TsbuildErrorOptions = {},
  ) {
    super('EXEC_FAILED', message, options);
    this.exitCode = details.exitCode;
    this.output = details.output;
  }
}

/** Shell-word processing failed (bad substitution, unterminated quote, `${VAR:?msg}`). */
export class ShellExpansionError extends TsbuildError {
  constructor(message: string, options: TsbuildErrorOptions = {}) {
    super('SHELL_EXPANSION_ERROR', message, options);
  }
}

/** A .dockerignore pattern is invalid. */
export class IgnorePatternError extends TsbuildError {
  constructor(message: string, options: TsbuildErrorOptions = {}) {
    super('IGNORE_PATTERN_ERROR', message, options);
  }
}

/**
 * zlib's errors for bad input (a truncated or corrupt gzip stream: `unexpected end of file`,
 * `incorrect header check` …): the data's fault, not tsbuild's.
 */
export function isCorruptCompressedData(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR';
}

export function isTsbuildError(value: unknown): value is TsbuildError {
  return value instanceof TsbuildError;
}
