/** `engine.volumes` and `du`'s volumes row through the public API (createEngine) on a temp root. */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../index.js';
import type { BuildEngine } from '../../index.js';
import { canRunSuite } from '../helpers/prereq.js';

const ready = canRunSuite('engine.volumes', { root: true });

describe.skipIf(!ready)('engine.volumes', () => {
  let dir: string;
  let engine: BuildEngine;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-engine-volumes-'));
    engine = await createEngine({ root: join(dir, 'root') });
  });
  afterAll(async () => {
    await engine?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('creates, lists, inspects, removes and prunes, and du counts the volumes', async () => {
    const named = await engine.volumes.create({ name: 'db', labels: { app: 'db' } });
    const anon = await engine.volumes.create();
    writeFileSync(join(named.Mountpoint, 'f'), Buffer.alloc(32 * 1024, 1));
    expect((await engine.volumes.list({ filters: { label: ['app=db'] } })).map((v) => v.Name)).toEqual([
      'db',
    ]);
    expect(await engine.volumes.inspect('db')).toEqual(named);
    const usage = await engine.du();
    expect(usage.volumes.count).toBe(2);
    expect(usage.volumes.size).toBeGreaterThanOrEqual(32 * 1024);
    // No container store is wired yet: no volume is in use, all of it is reclaimable.
    expect(usage.volumes.reclaimable).toBe(usage.volumes.size);
    expect(await engine.volumes.prune()).toMatchObject({ removed: [anon.Name] });
    expect(await engine.volumes.remove('db')).toBe(true);
    expect(await engine.volumes.list()).toEqual([]);
    expect((await engine.du()).volumes).toEqual({ count: 0, size: 0, reclaimable: 0 });
  });
});
