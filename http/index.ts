/**
 * The HTTP stack of the registry client and the http source: a client with per-host TLS (docker's
 * certs.d), redirect rules, idle timeouts and AbortSignal; one retry helper with backoff and Retry-After;
 * an overall deadline; one error class; credential redaction. It imports only core/.
 */
export { HttpClient, discard, headerValue, transferError } from './client.js';
export type { HttpClientOptions, HttpResponse, SendOptions } from './client.js';
export { seconds, withDeadline } from './deadline.js';
export type { DeadlineOptions } from './deadline.js';
export { HttpError, codeForStatus, isRetryableStatus, isUnavailable } from './errors.js';
export type { HttpErrorOptions } from './errors.js';
export { redactURL } from './redact.js';
export { firstHop, nextHop } from './redirect.js';
export type { Hop } from './redirect.js';
export { RetryBudget, backoffMs, retry, retryAfterMs } from './retry.js';
export type { Outcome, RetryOptions, RetryPolicy } from './retry.js';
export { DEFAULT_CERTS_DIR } from './tls.js';
export type { TlsOptions } from './tls.js';
