/**
 * A remote context's Dockerfile must be a regular file: an archive (stdin, or an http(s) tarball) can
 * hold a FIFO or a device by that name, and reading one hung the build forever (a FIFO with no
 * writer) or read without end (a character device like /dev/zero).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { build, openEngine } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('remote context special files', { root: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-remote-special-'));
let engine: Engine;

/** A tar of a directory holding a FIFO named Dockerfile (and one named sub/Dockerfile.alt). */
function archiveWithFifo(): Buffer {
  const dir = join(work, 'tree');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  execFileSync('mkfifo', [join(dir, 'Dockerfile'), join(dir, 'sub', 'Dockerfile.alt')]);
  writeFileSync(join(dir, 'x.txt'), 'x\n');
  return execFileSync('tar', ['-c', '--numeric-owner', '-C', dir, '.']);
}

describe.skipIf(!rootReady)('a remote context whose Dockerfile is not a regular file', () => {
  beforeAll(async () => {
    engine = await openEngine({ root: join(work, 'root'), snapshotter: 'overlayfs' });
  });
  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('is refused at once, naming it (a FIFO in the archive: the read hung)', async () => {
    const archive = archiveWithFifo();
    for (const dockerfile of [undefined, 'sub/Dockerfile.alt']) {
      const started = Date.now();
      const request = {
        ...(dockerfile === undefined ? {} : { dockerfile }),
        output: { type: 'local', dest: join(work, 'never') },
      } as const;
      const err = await build(engine, request, { contextArchive: archive }).then(
        () => new Error('built'),
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(TsbuildError);
      expect((err as TsbuildError).code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain(dockerfile ?? 'Dockerfile');
      expect(err.message).toContain('not a regular file');
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  }, 40_000);
});
