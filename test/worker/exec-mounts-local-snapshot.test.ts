/**
 * `RUN --mount=type=bind` of a local source binds its snapshot (worker/local-snapshot.ts), as BuildKit
 * binds its own copy of the transferred context: entries owned 0:0 whatever their owners on the host,
 * only what the source's filter keeps, an rw bind's changes thrown away; the snapshot is named by the
 * content hash, made once and reused while the context is unchanged, and collected by gc (prune) since
 * no image keeps it. A cache mount seeded from the context is seeded from the same snapshot.
 */
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gc, importRootfs, openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('local source snapshot tests');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-localsnap-'));
const context = join(work, 'context');
let engine: Engine;

const base = (): llb.State => llb.image('busybox:latest');
const ctx = (): llb.State => llb.local('context', { exclude: ['ignored.txt'] });

async function run(args: string, mounts: llb.MountSpec[], noCache = true): Promise<string> {
  const def = base()
    .run({ args: `(${args}) > /got 2>&1`, mounts })
    .toDefinition();
  const result = await solve(engine, def, { locals: { context }, noCache });
  return withSnapshotDir(engine, result.snapshot ?? '', async (dir) =>
    readFileSync(join(dir, 'got'), 'utf8'),
  );
}

async function contextSnapshots(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const info of engine.snapshotter.walk())
    if (info.name.startsWith('context-')) out.set(info.name, info.createdAt);
  return out;
}

describe.skipIf(!canRun)('a local source bound as its snapshot', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
    mkdirSync(join(context, 'd'), { recursive: true });
    writeFileSync(join(context, 'f'), 'f\n');
    writeFileSync(join(context, 'd', 'g'), 'g\n');
    writeFileSync(join(context, 'ignored.txt'), 'ignored\n');
    for (const p of ['f', 'd', 'd/g', 'ignored.txt']) chownSync(join(context, p), 99, 99);
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('shows the context owned 0:0, a single file and a directory bound alone too', async () => {
    const mounts: llb.MountSpec[] = [
      { type: 'bind', dest: '/ctx', from: ctx(), readonly: true },
      { type: 'bind', dest: '/one', from: ctx(), selector: '/f', readonly: true },
      { type: 'bind', dest: '/dir', from: ctx(), selector: '/d', readonly: true },
    ];
    expect(await run("stat -c '%u:%g %n' /ctx/f /ctx/d /ctx/d/g /one /dir /dir/g", mounts)).toBe(
      '0:0 /ctx/f\n0:0 /ctx/d\n0:0 /ctx/d/g\n0:0 /one\n0:0 /dir\n0:0 /dir/g\n',
    );
  });

  it("leaves out what the source's filter excludes", async () => {
    const mounts: llb.MountSpec[] = [{ type: 'bind', dest: '/ctx', from: ctx(), readonly: true }];
    expect(await run('ls -a /ctx', mounts)).toBe('.\n..\nd\nf\n');
  });

  it('an rw bind changes nothing that a later bind sees, nor the host directory', async () => {
    const rw: llb.MountSpec[] = [{ type: 'bind', dest: '/ctx', from: ctx(), noOutput: true }];
    expect(
      await run("chown 5:5 /ctx/f && echo x > /ctx/f && rm -r /ctx/d && stat -c '%u:%g' /ctx/f", rw),
    ).toBe('5:5\n');
    const ro: llb.MountSpec[] = [{ type: 'bind', dest: '/ctx', from: ctx(), readonly: true }];
    expect(await run("stat -c '%u:%g' /ctx/f && cat /ctx/f /ctx/d/g", ro)).toBe('0:0\nf\ng\n');
    expect(readFileSync(join(context, 'f'), 'utf8')).toBe('f\n');
    expect(statSync(join(context, 'f')).uid).toBe(99);
  });

  it('is made once and reused while the context is unchanged; a change makes another', async () => {
    const mounts: llb.MountSpec[] = [{ type: 'bind', dest: '/ctx', from: ctx(), readonly: true }];
    await run('cat /ctx/f', mounts);
    const first = await contextSnapshots();
    expect(first.size).toBe(1);
    expect(await run('cat /ctx/f', mounts)).toBe('f\n');
    expect(await contextSnapshots()).toEqual(first); // same name, same creation time
    // An owner changed on the host alone changes nothing (hashed as 0:0).
    chownSync(join(context, 'f'), 98, 98);
    expect(await run('cat /ctx/f', mounts)).toBe('f\n');
    expect(await contextSnapshots()).toEqual(first);
    writeFileSync(join(context, 'f'), 'changed\n');
    expect(await run('cat /ctx/f', mounts)).toBe('changed\n');
    expect((await contextSnapshots()).size).toBe(2);
  });

  it('a cache mount seeded from the context gets its files owned 0:0', async () => {
    const mounts: llb.MountSpec[] = [
      { type: 'cache', dest: '/c', id: 'seeded', from: ctx(), selector: '/d', sharing: 'shared' },
    ];
    expect(await run("stat -c '%u:%g' /c/g && cat /c/g", mounts)).toBe('0:0\ng\n');
  });

  it('is collected by gc, as no image keeps it', async () => {
    expect((await contextSnapshots()).size).toBeGreaterThan(0);
    await gc(engine);
    expect((await contextSnapshots()).size).toBe(0);
    // And made again when needed.
    const mounts: llb.MountSpec[] = [{ type: 'bind', dest: '/ctx', from: ctx(), readonly: true }];
    expect(await run('cat /ctx/d/g', mounts)).toBe('g\n');
    expect((await contextSnapshots()).size).toBe(1);
  });
});
