/** Shared set-up of the archive writers' suites: an engine root with busybox imported, and small helpers. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { ContentStore } from '../../content/index.js';
import { importRootfs, openEngine } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import type { Descriptor, Digest } from '../../oci/index.js';
import { makeBusyboxRootfs } from '../helpers/engine.js';

export interface Fixture {
  readonly work: string;
  readonly rootfs: string;
  readonly engine: Engine;
  readonly manifest: Descriptor;
  readonly layer: Digest;
  close(): Promise<void>;
}

/** A fresh root with busybox imported as `busybox:latest` (its manifest, config and layer in the store). */
export async function importedBusybox(prefix: string): Promise<Fixture> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const rootfs = join(work, 'rootfs');
  makeBusyboxRootfs(rootfs);
  const engine = await openEngine({ root: join(work, 'root') });
  const result = await importRootfs(engine, rootfs, 'busybox:latest');
  return {
    work,
    rootfs,
    engine,
    manifest: result.record.target,
    layer: result.layer.digest,
    async close() {
      await engine.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** `content` with the blob `digest` read as `bytes` then a failure (a disk error mid-copy). */
export function failingRead(content: ContentStore, digest: Digest): ContentStore {
  const store = Object.create(content) as ContentStore;
  store.read = async (d, options) => {
    if (d !== digest) return content.read(d, options);
    return Readable.from(
      (function* () {
        yield Buffer.alloc(4096, 1);
        throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      })(),
    );
  };
  return store;
}

/** A stream that takes `limit` bytes, then fails every write with ENOSPC. */
export function fullStream(limit: number): Writable {
  let taken = 0;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      taken += chunk.length;
      if (taken > limit)
        callback(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      else callback();
    },
  });
}

/** A stream that collects what it is given. */
export function collector(): { out: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { out, bytes: () => Buffer.concat(chunks) };
}

/** The names in `dir` (to see that no temp file is left). */
export function names(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** `tool args…`'s stdout. */
export function run(tool: string, args: readonly string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
