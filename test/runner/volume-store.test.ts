/** The volume store on a real directory: docker's create/ls/inspect/rm/prune rules, crash leftovers. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ANONYMOUS_LABEL,
  VolumeStore,
  checkMountSpecs,
  parseVolumeFilters,
  removeAnonymousVolumes,
} from '../../runner/index.js';
import type { MountSpec } from '../../runner/index.js';

describe('volume store', () => {
  let root: string;
  /** Which containers use which volume: the fake container store. */
  let users: Map<string, string[]>;
  let store: VolumeStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsbuild-volstore-'));
    users = new Map();
    store = new VolumeStore(root, { usedBy: (name) => Promise.resolve(users.get(name) ?? []) });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("creates a named volume with docker's inspect document, 0700 parents; creating it again returns it", async () => {
    const info = await store.create({ name: 'data', labels: { team: 'a' } });
    expect(info).toEqual({
      Name: 'data',
      Driver: 'local',
      Mountpoint: join(root, 'volumes', 'data', '_data'),
      CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) as string,
      Labels: { team: 'a' },
      Options: {},
      Scope: 'local',
    });
    expect(statSync(join(root, 'volumes')).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'volumes', 'data')).mode & 0o777).toBe(0o700);
    expect(statSync(info.Mountpoint).isDirectory()).toBe(true);
    expect(await store.create({ name: 'data', labels: { other: 'b' } })).toEqual(info);
    expect(await store.inspect('data')).toEqual(info);
  });

  it('names an anonymous volume with 64 hex digits and labels it', async () => {
    const info = await store.create();
    expect(info.Name).toMatch(/^[0-9a-f]{64}$/);
    expect(info.Labels).toEqual({ [ANONYMOUS_LABEL]: '' });
  });

  it('refuses bad names, other drivers and driver options by name', async () => {
    for (const name of ['a', '-x', 'a/b', '..', 'a b', '.hidden']) {
      await expect(store.create({ name })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('invalid characters for a local volume name') as string,
      });
    }
    await expect(store.create({ name: 'ok', driver: 'nfs' })).rejects.toThrow(
      'volume driver "nfs" is not supported',
    );
    await expect(store.create({ name: 'ok', driverOpts: { type: 'tmpfs' } })).rejects.toThrow(
      'volume driver option "type" is not supported',
    );
    await expect(store.inspect('../etc')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.inspect('missing')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'no such volume: missing',
    });
    expect(await store.list()).toEqual([]);
  });

  it('refuses to remove a volume in use, naming the containers; removes it once unused', async () => {
    await store.create({ name: 'busy' });
    writeFileSync(join(store.mountpoint('busy'), 'f'), 'x');
    users.set('busy', ['web', 'db']);
    await expect(store.remove('busy')).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: 'remove busy: volume is in use - [web, db]',
    });
    await expect(store.remove('busy', { force: true })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    users.delete('busy');
    expect(await store.remove('busy')).toBe(true);
    expect(readdirSync(join(root, 'volumes')).filter((n) => n !== '.lock')).toEqual([]);
    await expect(store.remove('busy')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.remove('busy', { force: true })).toBe(false);
  });

  it('prunes the unused anonymous volumes only; with all, every unused one; reports the space', async () => {
    const anonUsed = await store.create();
    const anonFree = await store.create();
    await store.create({ name: 'named' });
    await store.create({ name: 'named-used' });
    users.set(anonUsed.Name, ['c1']);
    users.set('named-used', ['c2']);
    writeFileSync(join(anonFree.Mountpoint, 'big'), Buffer.alloc(64 * 1024, 1));
    const first = await store.prune();
    expect(first.removed).toEqual([anonFree.Name]);
    expect(first.spaceReclaimed).toBeGreaterThanOrEqual(64 * 1024);
    expect((await store.list()).map((v) => v.Name).sort()).toEqual(
      [anonUsed.Name, 'named', 'named-used'].sort(),
    );
    expect((await store.prune({ all: true })).removed).toEqual(['named']);
    expect((await store.list()).map((v) => v.Name).sort()).toEqual([anonUsed.Name, 'named-used'].sort());
  });

  it('lists with dangling, name, label and driver filters', async () => {
    await store.create({ name: 'web-data', labels: { app: 'web', tier: 'front' } });
    await store.create({ name: 'db-data', labels: { app: 'db' } });
    users.set('db-data', ['db']);
    const names = async (flags: string[]): Promise<string[]> =>
      (await store.list({ filters: parseVolumeFilters(flags) })).map((v) => v.Name);
    expect(await names([])).toEqual(['db-data', 'web-data']);
    expect(await names(['dangling=true'])).toEqual(['web-data']);
    expect(await names(['dangling=false'])).toEqual(['db-data']);
    expect(await names(['name=web', 'name=db'])).toEqual(['db-data', 'web-data']);
    expect(await names(['label=app=web'])).toEqual(['web-data']);
    expect(await names(['label=app', 'label=tier'])).toEqual(['web-data']);
    expect(await names(['driver=local', 'name=db'])).toEqual(['db-data']);
    expect(() => parseVolumeFilters(['until=1h'])).toThrow('invalid filter "until"');
    expect(() => parseVolumeFilters(['dangling=maybe'])).toThrow("invalid filter 'dangling=maybe'");
    expect(() => parseVolumeFilters(['name'])).toThrow('bad format of filter');
  });

  it("rm -v's removal: the anonymous volumes only, not one another container uses, not a missing one", async () => {
    const mine = await store.create();
    const shared = await store.create();
    await store.create({ name: 'named' });
    users.set(shared.Name, ['other']);
    const names = [mine.Name, shared.Name, 'named', 'gone-already'];
    expect(await removeAnonymousVolumes(store, names)).toEqual([mine.Name]);
    expect((await store.list()).map((v) => v.Name).sort()).toEqual([shared.Name, 'named'].sort());
  });

  it("a killed create's temp directory is neither listed nor kept past a prune; a live one's is left", async () => {
    await store.create({ name: 'whole' });
    const dead = execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim();
    const deadTemp = join(root, 'volumes', `.half.tmp-${dead}-0123456789ab`);
    const liveTemp = join(root, 'volumes', `.other.tmp-${process.pid}-0123456789ab`);
    mkdirSync(join(deadTemp, '_data'), { recursive: true });
    mkdirSync(liveTemp);
    expect((await store.list()).map((v) => v.Name)).toEqual(['whole']);
    await store.prune();
    const left = readdirSync(join(root, 'volumes')).sort();
    expect(left).toEqual(['.lock', `.other.tmp-${process.pid}-0123456789ab`, 'whole']);
  });
});

describe('mount specs', () => {
  const check = (specs: MountSpec[]): void => checkMountSpecs(specs);

  it('refuses relative, unclean and root targets, relative bind sources, bad tmpfs sizes and modes', () => {
    expect(() => check([{ type: 'tmpfs', target: 'data' }])).toThrow(
      'the target "data" must be an absolute path',
    );
    expect(() => check([{ type: 'tmpfs', target: '/a/../b' }])).toThrow('is not clean (write /b)');
    expect(() => check([{ type: 'tmpfs', target: '/' }])).toThrow('the target cannot be /');
    expect(() => check([{ type: 'bind', source: 'rel', target: '/b', readonly: false }])).toThrow(
      'the bind source "rel" must be an absolute path',
    );
    expect(() =>
      check([{ type: 'volume', source: 'a/b', target: '/v', readonly: false, noCopy: false }]),
    ).toThrow('invalid characters');
    const bad = {
      type: 'bind',
      source: '/srv',
      target: '/b',
      readonly: false,
      propagation: 'up',
    } as unknown as MountSpec;
    expect(() => check([bad])).toThrow('bind propagation "up"');
    expect(() => check([{ type: 'tmpfs', target: '/t', size: 0 }])).toThrow('tmpfs size 0');
    expect(() => check([{ type: 'tmpfs', target: '/t', mode: 0o10000 }])).toThrow('is not a file mode');
  });

  it('refuses two mounts at one target, naming both', () => {
    expect(() =>
      check([
        { type: 'bind', source: '/srv', target: '/d', readonly: false },
        { type: 'volume', target: '/d', readonly: false, noCopy: false },
      ]),
    ).toThrow('duplicate mount point /d: bind /srv at /d and anonymous volume at /d');
  });
});
