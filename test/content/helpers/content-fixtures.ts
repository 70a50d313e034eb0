/** Small helpers shared by the content store tests: temp roots, deterministic bytes, digests, streams. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { TsbuildError } from '../../../core/errors.js';
import type { ErrorCode } from '../../../core/errors.js';
import type { Digest } from '../../../oci/index.js';
import { prng } from '../../../bench/mutate.js';

/** A fresh directory under the OS temp dir; remove it with `removeRoot`. */
export function makeRoot(prefix = 'tsbuild-content-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function removeRoot(root: string): Promise<void> {
  return rm(root, { recursive: true, force: true });
}

/** `size` pseudo-random bytes from `seed` (the same every run). */
export function bytes(size: number, seed = 1): Buffer {
  const rand = prng(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

/** A readable that yields `data` in chunks of `chunk` bytes. */
export function chunked(data: Buffer, chunk = 1000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  return Readable.from(parts);
}

/** A readable that yields `first` and then never ends (for abort tests). */
export function stalled(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      }
    },
  });
}

/** Awaits `promise`, expects it to reject with a TsbuildError of `code`, and returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<TsbuildError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe(code);
    return err as TsbuildError;
  }
  throw new Error(`expected a TsbuildError with code ${code}`);
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
