/**
 * `RUN --mount=type=bind` of the context while a directory of it is swapped for a symlink to a directory
 * outside the context, after the context was hashed and before it is copied into its snapshot (right
 * when the copier opens the context: node:fs's openSync is wrapped here, so the interleaving is fixed).
 * The run binds the snapshot, never the host directory: it must not see the outside directory, and the
 * copy of the changed context must not be kept under the hash of what was there before.
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
import { importRootfs, openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

/** Runs once, before the first openSync of a path `match` accepts. */
const hooks: { match: (path: string) => boolean; run: () => void }[] = [];

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof Fs>();
  const openSync = ((path: Fs.PathLike, ...rest: unknown[]) => {
    const i = hooks.findIndex((h) => h.match(String(path)));
    if (i >= 0) hooks.splice(i, 1)[0]?.run();
    return (real.openSync as (...args: unknown[]) => number)(path, ...rest);
  }) as typeof real.openSync;
  return { ...real, openSync, default: { ...real, openSync } };
});

const canRun = canRunContainers('context bind race tests');
const SECRET = 'TOP SECRET outside the context';
const work = realpathSync(mkdtempSync(join(tmpdir(), 'tsbuild-bind-race-')));
const context = join(work, 'context');
const outside = join(work, 'outside');
let engine: Engine;

const snapshotNames = async (): Promise<string[]> => {
  const names: string[] = [];
  for await (const info of engine.snapshotter.walk()) names.push(info.name);
  return names;
};

describe.skipIf(!canRun)('a context directory swapped for a symlink while a RUN binds the context', () => {
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
        args: 'cat /mnt/sub/inside.txt > /got 2>&1; ls /mnt/sub/ >> /got 2>&1; true',
        mounts: [
          {
            type: 'bind',
            dest: '/mnt',
            from: llb.local('context'),
            readonly,
            noOutput: !readonly,
          },
        ],
      })
      .toDefinition();

  const got = async (readonly: boolean): Promise<string> => {
    const result = await solve(engine, def(readonly), { locals: { context }, noCache: true });
    return withSnapshotDir(engine, result.snapshot ?? '', async (dir) =>
      readFileSync(join(dir, 'got'), 'utf8'),
    );
  };

  /** Swaps `sub` for a symlink to the outside directory when the copier opens the context. */
  const swapSub = (): void => {
    hooks.push({
      match: (p) => p === context,
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
    expect(await got(true)).toBe('inside\ninside.txt\n');
  });

  for (const readonly of [true, false]) {
    it(`${readonly ? 'read-only' : 'rw'}: the run never reads the outside directory, and the changed copy is not kept`, async () => {
      // A context not hashed before (a new file), so that its snapshot is made during this build.
      writeFileSync(join(context, `new-${readonly}`), 'n\n');
      swapSub();
      let seen: string;
      try {
        seen = await got(readonly);
      } finally {
        restore();
      }
      expect(hooks).toEqual([]); // the swap did happen
      expect(seen).not.toContain(SECRET);
      expect(seen).toMatch(/^cat: can't open '\/mnt\/sub\/inside.txt': No such file or directory\n/);
      expect((await snapshotNames()).filter((n) => n.includes('-changed-'))).toEqual([]);
      // The same context again: copied anew, not the copy made while it was changing.
      expect(await got(readonly)).toBe('inside\ninside.txt\n');
    });
  }
});
