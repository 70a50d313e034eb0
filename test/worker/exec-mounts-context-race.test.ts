/**
 * `RUN --mount=type=bind` of a context directory that is swapped for a symlink to a directory outside
 * the context after the mount's source path was resolved (right after the resolver's lstat of it:
 * node:fs's lstatSync is wrapped here, so the interleaving is fixed). runc would follow the symlink; the
 * run must not see the outside directory.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type * as Fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { importRootfs, llb, openEngine, solve, withSnapshotDir } from '../../index.js';
import type { Engine } from '../../index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

/** Runs once, after the first lstatSync of a path `match` accepts has returned. */
const hooks: { match: (path: string) => boolean; run: () => void }[] = [];

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof Fs>();
  const lstatSync = ((path: Fs.PathLike, options?: Fs.StatSyncOptions) => {
    const result = real.lstatSync(path, options);
    const i = hooks.findIndex((h) => h.match(String(path)));
    if (i >= 0) hooks.splice(i, 1)[0]?.run();
    return result;
  }) as typeof real.lstatSync;
  return { ...real, lstatSync, default: { ...real, lstatSync } };
});

const canRun = canRunContainers('context bind race tests');
const SECRET = 'TOP SECRET outside the context';
const work = realpathSync(mkdtempSync(join(tmpdir(), 'tsbuild-bind-race-')));
const context = join(work, 'context');
const outside = join(work, 'outside');
let engine: Engine;

describe.skipIf(!canRun)('a context directory swapped for a symlink before a RUN binds it', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
    mkdirSync(join(context, 'sub'), { recursive: true });
    writeFileSync(join(context, 'sub', 'inside.txt'), 'inside\n');
    mkdirSync(outside);
    writeFileSync(join(outside, 'inside.txt'), `${SECRET}\n`);
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const def = (readonly: boolean): llb.Definition =>
    llb
      .image('busybox:latest')
      .run({
        args: 'cat /mnt/inside.txt > /got',
        mounts: [
          {
            type: 'bind',
            dest: '/mnt',
            from: llb.local('context'),
            selector: '/sub',
            readonly,
            noOutput: !readonly,
          },
        ],
      })
      .toDefinition();

  const swapSub = (): void => {
    hooks.push({
      match: (p) => p === join(context, 'sub'),
      run: () => {
        renameSync(join(context, 'sub'), join(context, '.sub-away'));
        symlinkSync(outside, join(context, 'sub'));
      },
    });
  };

  const restore = (): void => {
    rmSync(join(context, 'sub'));
    renameSync(join(context, '.sub-away'), join(context, 'sub'));
  };

  it('an unchanged context directory is bound as it is', async () => {
    const result = await solve(engine, def(true), { locals: { context } });
    const got = await withSnapshotDir(engine, result.snapshot ?? '', async (dir) =>
      readFileSync(join(dir, 'got'), 'utf8'),
    );
    expect(got).toBe('inside\n');
  });

  it('read-only: the run fails, and never reads the outside directory', async () => {
    swapSub();
    try {
      await expect(solve(engine, def(true), { locals: { context }, noCache: true })).rejects.toThrow(
        /changed while the build was reading it/,
      );
    } finally {
      restore();
    }
  });
});
