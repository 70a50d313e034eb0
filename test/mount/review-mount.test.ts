/**
 * Review findings on mount/: an abort that arrives while a mount helper child runs must not
 * leave the mount behind.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mountAll } from '../../mount/index.js';
import { isMountPoint } from '../../mount/mountinfo.js';
import { unmountRecursive } from '../../mount/mount.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('mount review', { root: true });

describe.skipIf(!rootReady)('mount review', () => {
  let dir: string;
  const path = process.env.PATH;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-review-mount-'));
  });
  afterEach(async () => {
    process.env.PATH = path;
    await unmountRecursive(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('an abort after the helper mounted (but before it exited) unmounts again', async () => {
    // A mount(8) that mounts, then lingers: the abort lands after mount(2) succeeded.
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'mount'), '#!/bin/sh\n/bin/mount "$@" || exit $?\nexec sleep 3\n');
    await chmod(join(bin, 'mount'), 0o755);
    process.env.PATH = `${bin}:${path ?? ''}`;
    for (const d of ['l1', 'l2', 'upper', 'work', 'target']) await mkdir(join(dir, d));
    const controller = new AbortController();
    const mounted = mountAll(
      [
        {
          type: 'overlay',
          source: 'overlay',
          options: ['lowerdir=l1:l2', `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`],
          cwd: dir,
        },
      ],
      join(dir, 'target'),
      controller.signal,
    );
    setTimeout(() => controller.abort(), 1000);
    await expect(mounted).rejects.toThrow();
    expect(await isMountPoint(join(dir, 'target'))).toBe(false);
  });
});
