/**
 * `RUN --mount=type=cache,from=stage,source=path` with the real parts: the first use of the cache id
 * (with that `from` state) starts the cache as a copy of the state's path; later uses keep what the runs
 * wrote and are not seeded again; the state itself is never changed; another `from` state is another
 * cache (BuildKit's key is the id plus the from-ref). A missing source path fails with NOT_FOUND.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRootfs, openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('seeded cache mount tests');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-cacheseed-'));
let engine: Engine;

const base = (): llb.State => llb.image('busybox:latest');
const readIn = (snapshot: string | undefined, path: string): Promise<string> =>
  withSnapshotDir(engine, snapshot ?? '', async (dir) => readFileSync(join(dir, path), 'utf8'));

/** Runs `script` with the cache `id` seeded from `from`'s `selector` at /c; returns /out of the result. */
async function runWithCache(id: string, from: llb.State, selector: string, script: string): Promise<string> {
  const def = base()
    .run({
      args: `${script}; ls /c | sort | tr '\\n' ' ' > /out; cat /c/* | tr '\\n' ' ' >> /out`,
      mounts: [{ type: 'cache', dest: '/c', id, from, selector }],
    })
    .toDefinition();
  // Not noCache: that would run `from` again, and a new from-ref is a new cache (as in BuildKit).
  const result = await solve(engine, def);
  return readIn(result.snapshot, 'out');
}

describe.skipIf(!canRun)('cache mounts seeded from another state', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('seeds the cache once from the stage path, then keeps what the runs wrote', async () => {
    const stage = base().run('mkdir -p /src/deps && echo seed > /src/deps/s');
    expect(await runWithCache('seeded', stage, '/src/deps', 'echo one > /c/one')).toBe('one s one seed ');
    // Seeded once: the seed file deleted by a run stays deleted; earlier writes are still there.
    expect(await runWithCache('seeded', stage, '/src/deps', 'rm /c/s; echo two > /c/two')).toBe(
      'one two one two ',
    );
    expect(await runWithCache('seeded', stage, '/src/deps', 'echo third')).toBe('one two one two ');
    // The stage's own files are untouched.
    const again = await solve(engine, stage.toDefinition());
    expect(await readIn(again.snapshot, 'src/deps/s')).toBe('seed\n');
  });

  it('another from state is another cache; the plain cache of the same id is another one too', async () => {
    const other = base().run('mkdir -p /src/deps && echo other > /src/deps/o');
    expect(await runWithCache('seeded', other, '/src/deps', 'true')).toBe('o other ');
    const plain = base()
      .run({
        args: 'ls -A /c > /out',
        mounts: [{ type: 'cache', dest: '/c', id: 'seeded' }],
      })
      .toDefinition();
    const result = await solve(engine, plain, { noCache: true });
    expect(await readIn(result.snapshot, 'out')).toBe('');
  });

  it('a whole state as the seed (source /), with locked and private sharing', async () => {
    const stage = base().run('echo top > /top.txt');
    for (const sharing of ['locked', 'private'] as const) {
      const def = base()
        .run({
          args: 'cat /c/top.txt > /out && test -x /c/bin/busybox',
          mounts: [{ type: 'cache', dest: '/c', id: `whole-${sharing}`, from: stage, sharing }],
        })
        .toDefinition();
      const result = await solve(engine, def, { noCache: true });
      expect(await readIn(result.snapshot, 'out')).toBe('top\n');
    }
  });

  it('a source path missing from the state fails with NOT_FOUND', async () => {
    const def = base()
      .run({
        args: 'true',
        mounts: [{ type: 'cache', dest: '/c', id: 'x', from: base(), selector: '/nope' }],
      })
      .toDefinition();
    const err = (await solve(engine, def).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toMatch(/\/nope/);
  });
});
