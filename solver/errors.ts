/** Errors of a solve: a vertex's failure names the vertex and keeps the original as `cause`. */
import { CancelledError, TsbuildError } from '../core/index.js';
import type { ErrorCode } from '../core/index.js';

/** A vertex failed. `code` and `hint` are the cause's when it is a TsbuildError, else INTERNAL. */
export class VertexError extends TsbuildError {
  readonly vertexName: string;
  readonly vertexDigest: string;

  constructor(vertex: { readonly name: string; readonly digest: string }, cause: unknown) {
    const code: ErrorCode = cause instanceof TsbuildError ? cause.code : 'INTERNAL';
    const message = cause instanceof Error ? cause.message : String(cause);
    const hint = cause instanceof TsbuildError ? cause.hint : undefined;
    super(code, `${vertex.name}: ${message}`, hint === undefined ? { cause } : { cause, hint });
    this.vertexName = vertex.name;
    this.vertexDigest = vertex.digest;
  }
}

/** The error to reject with once `signal` is aborted: its reason if that is a CancelledError. */
export function cancelledBy(signal: AbortSignal, what = 'solve cancelled'): CancelledError {
  const reason: unknown = signal.reason;
  if (reason instanceof CancelledError) return reason;
  return new CancelledError(what, { cause: reason });
}

/** Wraps a vertex's failure once; failures of inputs and cancellations pass through unchanged. */
export function vertexFailure(
  vertex: { readonly name: string; readonly digest: string },
  err: unknown,
  signal: AbortSignal,
): unknown {
  if (err instanceof VertexError || err instanceof CancelledError) return err;
  if (signal.aborted) return cancelledBy(signal, `${vertex.name}: cancelled`);
  return new VertexError(vertex, err);
}
