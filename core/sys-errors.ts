/**
 * The error of a failed system call (`SysError`, with its errno name), the one map from an errno name to
 * a TsbuildError code (`codeForErrno`), and `hasCode`, which tests an errno name on our errors and on
 * Node's alike. core/sys.ts raises them; they need no libc.
 */
import type { ErrorCode } from './errors.js';
import { TsbuildError } from './errors.js';

/**
 * A failed system call. `errno` is the symbolic name (`EPERM`, `EBUSY` …), what callers branch on (see
 * `hasCode`); `code` is the TsbuildError code it maps to. `path` is undefined for calls on a descriptor.
 */
export class SysError extends TsbuildError {
  readonly errno: string;
  readonly syscall: string;
  readonly path: string | undefined;

  constructor(syscall: string, path: string | undefined, errno: string, detail?: string) {
    super(
      codeForErrno(errno),
      `${syscall}${path === undefined ? '' : ` ${JSON.stringify(path)}`}${detail === undefined ? '' : ` ${detail}`}: ${errno}`,
    );
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

/** The TsbuildError code for a failed system call's errno name (`ENOSPC` → LIMIT_EXCEEDED …). */
export function codeForErrno(errno: string): ErrorCode {
  switch (errno) {
    case 'ENOENT':
      return 'NOT_FOUND';
    case 'EEXIST':
      return 'ALREADY_EXISTS';
    case 'EINVAL':
    case 'ENAMETOOLONG':
    case 'E2BIG':
      return 'INVALID_ARGUMENT';
    case 'EPERM':
    case 'EACCES':
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
    case 'EROFS':
    case 'ENOTDIR':
    case 'EISDIR':
    case 'ENOTEMPTY':
    case 'ELOOP':
      return 'FAILED_PRECONDITION';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'LIMIT_EXCEEDED';
    default:
      return 'INTERNAL';
  }
}

/**
 * True when `err` is a system error with one of the given errno names: a SysError's `errno`, or the
 * `code` of Node's own errors (fs, child_process, process.kill …).
 */
export function hasCode(err: unknown, ...codes: string[]): boolean {
  if (err instanceof SysError) return codes.includes(err.errno);
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    codes.includes((err as { code: string }).code)
  );
}
