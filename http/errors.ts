/** HTTP errors: one class with a code from core, the HTTP status and a URL safe to print. */
import { TsbuildError } from '../core/index.js';
import type { ErrorCode, TsbuildErrorOptions } from '../core/index.js';
import { redactURL } from './redact.js';

export interface HttpErrorOptions extends TsbuildErrorOptions {
  /** The HTTP status, when there was a response. */
  readonly status?: number;
  readonly url?: string | URL;
}

/**
 * A failed HTTP exchange. `UNAVAILABLE` means transient (a network error, an idle timeout, 429 or 5xx):
 * the only code a retry helper's caller treats as worth another try.
 */
export class HttpError extends TsbuildError {
  readonly status: number | undefined;
  /** The request URL, redacted. */
  readonly url: string | undefined;

  constructor(code: ErrorCode, message: string, options: HttpErrorOptions = {}) {
    const url = options.url === undefined ? undefined : redactURL(options.url);
    super(code, url === undefined ? message : `${message} (${url})`, options);
    this.status = options.status;
    this.url = url;
  }
}

/** Whether `err` is a transient HTTP failure (worth another try). */
export function isUnavailable(err: unknown): boolean {
  return err instanceof HttpError && err.code === 'UNAVAILABLE';
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

/** A certificate the client does not trust (not worth a retry). */
export function isTlsVerifyError(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return (
    /^(?:ERR_TLS_CERT|CERT_|UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED)/.test(code) ||
    code === 'ERR_TLS_CERT_ALTNAME_INVALID'
  );
}

/**
 * A TLS handshake the server refused for good (not worth a retry): it wants a client certificate it
 * trusts (`client-certificate`), or it does not speak TLS on that port (`not-tls`).
 */
export function tlsRefusal(err: NodeJS.ErrnoException): 'client-certificate' | 'not-tls' | undefined {
  const text = `${err.code ?? ''} ${err.message}`;
  if (
    /ALERT_(?:CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED)\b/.test(
      text,
    ) ||
    /alert (?:certificate required|bad certificate|unknown ca|certificate unknown|access denied)\b/i.test(
      text,
    )
  ) {
    return 'client-certificate';
  }
  if (/WRONG_VERSION_NUMBER|wrong version number/i.test(text)) return 'not-tls';
  return undefined;
}
