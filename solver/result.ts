/**
 * A reference-counted Result for ops and tests: starts with one reference, calls `onFree` when the
 * last one is released. Releasing more often than retained is a bug and throws.
 */
import { FailedPreconditionError } from '../core/index.js';
import type { Result } from './types.js';

export class RefCountedResult implements Result {
  private refs = 1;

  constructor(
    readonly id: string,
    private readonly onFree: (id: string) => void | Promise<void> = () => {},
  ) {}

  get references(): number {
    return this.refs;
  }

  retain(): void {
    if (this.refs <= 0) throw new FailedPreconditionError(`result ${this.id} was already freed`);
    this.refs += 1;
  }

  async release(): Promise<void> {
    if (this.refs <= 0) throw new FailedPreconditionError(`result ${this.id} released too often`);
    this.refs -= 1;
    if (this.refs === 0) await this.onFree(this.id);
  }
}

/** Releases each result, never throwing; returns the first error, if any, for the caller to judge. */
export async function releaseAll(results: Iterable<Result>): Promise<unknown> {
  let first: unknown;
  for (const result of results) {
    try {
      await result.release();
    } catch (err) {
      first ??= err;
    }
  }
  return first;
}
