/** Registry errors: one class, a code from core, the HTTP status and a URL safe to print. */
import { TsbuildError } from '../../core/index.js';
import type { ErrorCode, TsbuildErrorOptions } from '../../core/index.js';

/** Query parameters that may carry secrets (signed blob redirects, token endpoints). */
const SECRET_PARAMS =
  /^(?:token|access_token|refresh_token|password|x-amz-.*|x-goog-.*|sig|signature|se|sp|sv)$/i;

/** `url` without user info and with secret-looking query values replaced by `REDACTED`. */
export function redactURL(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url.toString());
  } catch {
    return '<invalid url>';
  }
  parsed.username = '';
  parsed.password = '';
  for (const key of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) parsed.searchParams.set(key, 'REDACTED');
  }
  return parsed.toString();
}

export interface RegistryErrorOptions extends TsbuildErrorOptions {
  /** The HTTP status, when there was a response. */
  readonly status?: number;
  readonly url?: string | URL;
}

export class RegistryError extends TsbuildError {
  readonly status: number | undefined;
  /** The request URL, redacted. */
  readonly url: string | undefined;

  constructor(code: ErrorCode, message: string, options: RegistryErrorOptions = {}) {
    const url = options.url === undefined ? undefined : redactURL(options.url);
    super(code, url === undefined ? message : `${message} (${url})`, options);
    this.status = options.status;
    this.url = url;
  }
}

/** The code for a final (not retried) HTTP status. */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'PERMISSION_DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429 || status >= 500) return 'UNAVAILABLE';
  if (status === 400 || status === 405 || status === 406 || status === 416) return 'FAILED_PRECONDITION';
  return 'INTERNAL';
}

/** Whether an HTTP status is worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}
