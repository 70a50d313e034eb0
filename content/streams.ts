/** Read streams of blobs (optionally verified against their digest) and abort plumbing. */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { pipeline, Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { CancelledError, FailedPreconditionError } from '../core/index.js';
import type { Digest } from '../oci/index.js';
import { toDigest } from './layout.js';

/** Errors at the end of the stream if the bytes that went through do not hash to `digest`. */
export function digestVerifier(digest: Digest): Transform {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = toDigest(hash.digest('hex'));
      if (actual === digest) return callback();
      callback(
        new FailedPreconditionError(`content ${digest} is corrupt: its bytes hash to ${actual}`, {
          hint: 'run `tsbuild debug fsck` to find corrupt blobs, then delete and fetch them again',
        }),
      );
    },
  });
}

/**
 * A stream of the open file; with `verify`, piped through a digest check. The file is closed when the
 * stream ends or is destroyed; the signal destroys it with CancelledError.
 */
export function readStream(
  handle: FileHandle,
  digest: Digest,
  options: { verify?: boolean; signal?: AbortSignal },
): NodeJS.ReadableStream {
  const source = handle.createReadStream({ autoClose: true });
  let out: Readable = source;
  if (options.verify) {
    const verifier = digestVerifier(digest);
    pipeline(source, verifier, () => undefined);
    out = verifier;
  }
  const signal = options.signal;
  if (signal) {
    const onAbort = (): void => {
      out.destroy(new CancelledError('read cancelled', { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    out.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return out;
}
