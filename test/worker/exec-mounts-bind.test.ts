/**
 * `RUN --mount=type=bind,rw` with the real parts (runc, overlay snapshots): the run may write to the
 * mount, what it writes is thrown away, and the input (another state's snapshot, or a local context on
 * the host) is never changed. Nothing of the throwaway layer is left mounted or on disk afterwards, also
 * when the run fails or is cancelled.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRootfs, openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { sweepStaleWritableDirs } from '../../worker/mounts.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('writable bind mount tests');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-rwbind-'));
const context = join(work, 'con,text'); // a comma: the overlay option list cannot carry it as is
let engine: Engine;

const base = (): llb.State => llb.image('busybox:latest');
const readIn = (snapshot: string | undefined, path: string): Promise<string> =>
  withSnapshotDir(engine, snapshot ?? '', async (dir) => readFileSync(join(dir, path), 'utf8'));
const existsIn = (snapshot: string | undefined, path: string): Promise<boolean> =>
  withSnapshotDir(engine, snapshot ?? '', async (dir) => existsSync(join(dir, path)));

/** Mount points of ours still mounted (throwaway layers, temp mounts of this process). */
const leftoverMounts = (): string[] =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((line) => line.includes(work) && line.includes('rwbind'));

/** The throwaway dirs still under the engine root. */
const leftoverDirs = (): string[] => {
  const dir = join(work, 'root', 'tmp');
  return existsSync(dir) ? readdirSync(dir) : [];
};

/** A snapshot of the context dir: every file and its contents. */
function listTree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? [`${prefix}${e.name}/`, ...listTree(join(dir, e.name), `${prefix}${e.name}/`)]
      : [`${prefix}${e.name}=${readFileSync(join(dir, e.name), 'utf8')}`],
  );
}

describe.skipIf(!canRun)('writable bind mounts without output', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
    mkdirSync(join(context, 'sub'), { recursive: true });
    writeFileSync(join(context, 'a.txt'), 'a\n');
    writeFileSync(join(context, 'sub', 'b.txt'), 'b\n');
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('a state bound rw: writes are seen during the run and thrown away; the state is unchanged', async () => {
    const data = base().run('mkdir /data && echo orig > /data/f');
    const def = base()
      .run({
        args: 'echo new > /mnt/f && echo more > /mnt/g && rm /mnt/f && echo x > /mnt/f && cat /mnt/f /mnt/g > /got',
        mounts: [{ type: 'bind', dest: '/mnt', from: data, selector: '/data', noOutput: true }],
      })
      .toDefinition();
    const result = await solve(engine, def);
    expect(await readIn(result.snapshot, 'got')).toBe('x\nmore\n');
    expect(await existsIn(result.snapshot, 'mnt/g')).toBe(false);
    // The bound state, solved again (a cache hit on the same snapshot), still holds the original.
    const again = await solve(engine, data.toDefinition());
    expect(await readIn(again.snapshot, 'data/f')).toBe('orig\n');
    expect(await existsIn(again.snapshot, 'data/g')).toBe(false);
    // A second run over the same state sees the original again, not the first run's writes.
    const second = await solve(
      engine,
      base()
        .run({
          args: 'cat /mnt/f > /got2; test ! -e /mnt/g',
          mounts: [{ type: 'bind', dest: '/mnt', from: data, selector: '/data', noOutput: true }],
        })
        .toDefinition(),
    );
    expect(await readIn(second.snapshot, 'got2')).toBe('orig\n');
    expect(leftoverMounts()).toEqual([]);
  });

  it('a local context bound rw: the run changes it freely and the host directory stays as it was', async () => {
    const before = listTree(context);
    const def = base()
      .run({
        args:
          'echo changed > /ctx/a.txt && rm -r /ctx/sub && echo n > /ctx/new && ' +
          'cat /ctx/a.txt /ctx/new > /got && ls /ctx > /ls',
        mounts: [{ type: 'bind', dest: '/ctx', from: llb.local('context'), noOutput: true }],
      })
      .toDefinition();
    const result = await solve(engine, def, { locals: { context } });
    expect(await readIn(result.snapshot, 'got')).toBe('changed\nn\n');
    expect(await readIn(result.snapshot, 'ls')).toBe('a.txt\nnew\n');
    expect(listTree(context)).toEqual(before);
    expect(leftoverMounts()).toEqual([]);
    expect(leftoverDirs()).toEqual([]);
  });

  it('a single file of the context bound rw, and scratch bound rw', async () => {
    const def = base()
      .run({
        args: 'echo over > /one.txt && cat /one.txt > /got && echo s > /s/x && cat /s/x >> /got',
        mounts: [
          {
            type: 'bind',
            dest: '/one.txt',
            from: llb.local('context'),
            selector: 'sub/b.txt',
            noOutput: true,
          },
          { type: 'bind', dest: '/s', from: llb.scratch(), noOutput: true },
        ],
      })
      .toDefinition();
    const result = await solve(engine, def, { locals: { context } });
    expect(await readIn(result.snapshot, 'got')).toBe('over\ns\n');
    expect(readFileSync(join(context, 'sub', 'b.txt'), 'utf8')).toBe('b\n');
  });

  it('a failing or cancelled run leaves nothing mounted and the context unchanged', async () => {
    const before = listTree(context);
    const mounts = [{ type: 'bind' as const, dest: '/ctx', from: llb.local('context'), noOutput: true }];
    const failing = base().run({ args: 'echo bad > /ctx/a.txt; exit 3', mounts }).toDefinition();
    await expect(solve(engine, failing, { locals: { context } })).rejects.toThrow(/exit code: 3/);
    const controller = new AbortController();
    const slow = base().run({ args: 'echo bad > /ctx/a.txt; sleep 30', mounts }).toDefinition();
    const run = solve(engine, slow, { locals: { context }, signal: controller.signal });
    setTimeout(() => controller.abort(), 1500);
    await expect(run).rejects.toThrow();
    // A cancelled solve rejects at once; the run's clean-up finishes in the background.
    for (let i = 0; i < 100 && leftoverMounts().length + leftoverDirs().length > 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(listTree(context)).toEqual(before);
    expect(leftoverMounts()).toEqual([]);
    expect(leftoverDirs()).toEqual([]);
  }, 30_000);

  it('the throwaway dirs of a dead process are swept, those of live ones kept', async () => {
    const tempRoot = join(work, 'root', 'tmp');
    const deadPid = spawnSync('true').pid ?? 999_999;
    const dead = join(tempRoot, `rwbind-${deadPid}-abc`);
    const live = join(tempRoot, `rwbind-${process.pid}-def`);
    for (const dir of [dead, live]) {
      mkdirSync(join(dir, 'upper'), { recursive: true });
      writeFileSync(join(dir, 'upper', 'f'), 'x');
    }
    expect(await sweepStaleWritableDirs(tempRoot)).toEqual([dead]);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    rmSync(live, { recursive: true });
    expect(await sweepStaleWritableDirs(join(work, 'absent'))).toEqual([]);
  });

  it('a writable bind with an output is still refused clearly', async () => {
    const def = base()
      .run({ args: 'true', mounts: [{ type: 'bind', dest: '/w', from: base() }] })
      .toDefinition();
    await expect(solve(engine, def)).rejects.toThrow(/writable bind mounts with an output are not supported/);
  });
});
