/**
 * An imported cache mount (`cache-mounts=true`) as the worker brings it in, with the real applier and
 * content store: a hostile layer (`../x`, absolute names, a symlink or hardlink out) writes nothing
 * outside the cache mount's directory; local content wins; a directory in use is left alone; the tar an
 * export makes of a directory is what an import puts back, owners and modes included.
 */
import { createHash } from 'node:crypto';
import {
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../core/index.js';
import { createContentStore } from '../../content/index.js';
import type { LocalContentStore } from '../../content/index.js';
import { createApplier, createDiffer } from '../../diff/index.js';
import type { CacheMount } from '../../llb/index.js';
import { ImportedCache } from '../../remotecache/imported.js';
import { cacheMountLayers } from '../../remotecache/mounts.js';
import type { CacheSourceData } from '../../remotecache/sources.js';
import { SolveCacheMounts, withIdleCacheMount } from '../../worker/cache-mount-transfer.js';
import { withUseMarker } from '../../core/index.js';
import { rawTar } from '../diff/helpers/raw-tar.js';
import type { RawEntry } from '../diff/helpers/raw-tar.js';
import { canRunSuite } from '../helpers/prereq.js';

const ready = canRunSuite('cache mount import', { root: true });

let work = '';
let content: LocalContentStore;

const NAME = createHash('sha256').update('data').digest('hex');

function mount(over: Partial<CacheMount> = {}): CacheMount {
  return {
    type: 'cache',
    dest: '/cache',
    id: 'data',
    sharing: 'shared',
    input: -1,
    selector: '',
    uid: 0,
    gid: 0,
    mode: 0o755,
    ...over,
  } as CacheMount;
}

/** An imported cache whose one cache mount, `NAME`, is the layer `tar` (uncompressed). */
async function importedWith(tar: Buffer): Promise<ImportedCache> {
  const info = await content.put(tar);
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: info.digest, size: info.size };
  const source: CacheSourceData = {
    where: 'test',
    layers: [layer],
    diffIDs: [info.digest],
    records: [],
    mounts: [{ name: NAME, layer: 0 }],
    fetch: () => Promise.resolve(false),
  };
  const stores = { content, applier: createApplier(content) } as unknown as ConstructorParameters<
    typeof ImportedCache
  >[0];
  return new ImportedCache(stores, [source]);
}

/** A cache mounts root inside a sentinel directory whose other content must not change. */
function fresh(name: string): { root: string; outside: string; dir: string } {
  const top = join(work, name);
  const outside = join(top, 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'keep'), 'keep');
  const root = join(top, 'cachemounts');
  mkdirSync(root, { mode: 0o700 });
  return { root, outside, dir: join(root, NAME) };
}

function events(): { progress: { write: (e: ProgressEvent) => void }; warnings: string[]; ids: string[] } {
  const warnings: string[] = [];
  const ids: string[] = [];
  return {
    warnings,
    ids,
    progress: {
      write: (e) => {
        if (e.type === 'warning') warnings.push(e.message);
        if (e.type === 'progress') ids.push(e.id);
      },
    },
  };
}

describe.skipIf(!ready)('cache mount import', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'tsbuild-cache-mount-import-'));
    content = createContentStore({ root: join(work, 'content') });
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('neutralises escapes: `..`, absolute names, symlinks out are all resolved inside the directory', async () => {
    const { root, outside, dir } = fresh('names');
    const entries: RawEntry[] = [
      { name: '../x', content: 'dotdot' },
      { name: '../../outside/evil', content: 'evil' },
      { name: join(outside, 'abs'), content: 'absolute' },
      { name: 'up', type: 'symlink', linkname: outside },
      { name: 'up/through-symlink', content: 'through' },
      { name: 'rel-up', type: 'symlink', linkname: '../../outside' },
      { name: 'rel-up/through-relative', content: 'through' },
      { name: 'owned', content: 'owned', uid: 1234, gid: 2345, mode: 0o4750 },
    ];
    const imported = await importedWith(rawTar(entries));
    const { progress, warnings, ids } = events();
    await new SolveCacheMounts(imported, undefined).before(dir, mount({ mode: 0o750 }), { progress });
    expect(warnings).toEqual([]);
    expect(ids).toContain('importing cache mount data');
    // Nothing outside the directory changed.
    expect(readdirSync(outside)).toEqual(['keep']);
    expect(readdirSync(root).sort()).toEqual([NAME, `${NAME}.used`]);
    // Everything landed inside; the symlinks are kept as they are (a RUN sees them in its own root).
    const inside = (p: string) => readFileSync(join(dir, p), 'utf8');
    expect(inside('x')).toBe('dotdot');
    expect(inside('outside/evil')).toBe('evil');
    expect(inside(join(outside, 'abs'))).toBe('absolute');
    expect(inside(join(outside, 'through-symlink'))).toBe('through');
    expect(inside('outside/through-relative')).toBe('through');
    expect(readlinkSync(join(dir, 'up'))).toBe(outside);
    // Owners and modes as in the tar; the directory itself as the mount asks.
    const owned = lstatSync(join(dir, 'owned'));
    expect([owned.uid, owned.gid, owned.mode & 0o7777]).toEqual([1234, 2345, 0o4750]);
    expect(statSync(dir).mode & 0o7777).toBe(0o750);
  });

  it('refuses a hardlink out: a warning, and the cache mount starts as it was', async () => {
    const { root, outside, dir } = fresh('hardlink');
    const imported = await importedWith(
      rawTar([
        { name: 'a', content: 'a' },
        { name: 'hard', type: 'link', linkname: '../../outside/keep' },
      ]),
    );
    const { progress, warnings } = events();
    await new SolveCacheMounts(imported, undefined).before(dir, mount(), { progress });
    expect(warnings.join('\n')).toContain('importing cache mount data failed');
    expect(readdirSync(outside)).toEqual(['keep']);
    expect(lstatSync(join(outside, 'keep')).nlink).toBe(1);
    // No directory, no half-applied temp beside it: the RUN makes its empty cache mount as ever.
    expect(readdirSync(root)).toEqual([`${NAME}.used`]);
  });

  it('leaves local content alone, fills an empty directory, and imports once per solve', async () => {
    const { dir } = fresh('local-wins');
    mkdirSync(dir);
    writeFileSync(join(dir, 'mine'), 'mine');
    const imported = await importedWith(rawTar([{ name: 'theirs', content: 'theirs' }]));
    let fills = 0;
    const counting = {
      hasMount: (name: string) => imported.hasMount(name),
      fillMount: (...args: Parameters<ImportedCache['fillMount']>) => {
        fills++;
        return imported.fillMount(...args);
      },
    };
    await new SolveCacheMounts(counting, undefined).before(dir, mount(), {});
    expect(readdirSync(dir)).toEqual(['mine']);
    expect(fills).toBe(0);
    // Empty: filled, once for every RUN of the solve, even when they come together.
    rmSync(join(dir, 'mine'));
    const solve = new SolveCacheMounts(counting, undefined);
    await Promise.all([solve.before(dir, mount(), {}), solve.before(dir, mount(), {})]);
    expect(readdirSync(dir)).toEqual(['theirs']);
    rmSync(join(dir, 'theirs'));
    await solve.before(dir, mount(), {});
    expect(readdirSync(dir)).toEqual([]);
    expect(fills).toBe(1);
  });

  it('does not import into a directory another build is using', async () => {
    const { dir } = fresh('busy');
    const imported = await importedWith(rawTar([{ name: 'theirs', content: 'theirs' }]));
    const { progress, warnings } = events();
    await withUseMarker(`${dir}.used`, () =>
      new SolveCacheMounts(imported, undefined).before(dir, mount(), { progress }),
    );
    expect(warnings).toEqual(['cache mount data is in use by another build: not imported']);
    expect(lstatSync(dir, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('reports every cache mount a RUN mounts, by directory name and id', async () => {
    const { dir } = fresh('listener');
    const heard: [string, string][] = [];
    await new SolveCacheMounts(undefined, (name, id) => heard.push([name, id])).before(dir, mount(), {});
    expect(heard).toEqual([[NAME, 'data']]);
  });

  it('exports a directory as one layer that imports back the same, and skips one in use', async () => {
    const from = fresh('export-from');
    mkdirSync(join(from.dir, 'sub'), { recursive: true });
    writeFileSync(join(from.dir, 'sub', 'file'), 'content');
    writeFileSync(join(from.dir, 'setuid'), 'x', { mode: 0o4755 });
    chownSync(join(from.dir, 'sub', 'file'), 1000, 1001);
    const worker = {
      withIdleCacheMount: <T>(name: string, fn: (dir: string) => Promise<T>) =>
        withIdleCacheMount(from.root, name, fn),
    };
    const stores = { differ: createDiffer(content) };
    const mounts = [{ name: NAME, id: 'data' }];
    const { progress, warnings } = events();
    const busy = await withUseMarker(`${from.dir}.used`, () =>
      cacheMountLayers(stores, worker, mounts, { progress }),
    );
    expect(busy).toEqual([]);
    expect(warnings).toEqual(['cache mount data is in use by another build: not exported']);
    const gone = [{ name: createHash('sha256').update('gone').digest('hex'), id: 'gone' }];
    expect(await cacheMountLayers(stores, worker, gone)).toEqual([]);

    const [layer] = await cacheMountLayers(stores, worker, mounts, { compression: 'zstd' });
    expect(layer?.name).toBe(NAME);
    expect(layer?.descriptor.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const source: CacheSourceData = {
      where: 'test',
      layers: [layer!.descriptor],
      diffIDs: [layer!.diffID],
      records: [],
      mounts: [{ name: NAME, layer: 0 }],
      fetch: () => Promise.resolve(false),
    };
    const stores2 = { content, applier: createApplier(content) } as unknown as ConstructorParameters<
      typeof ImportedCache
    >[0];
    const to = fresh('export-to');
    await new SolveCacheMounts(new ImportedCache(stores2, [source]), undefined).before(to.dir, mount(), {});
    expect(readFileSync(join(to.dir, 'sub', 'file'), 'utf8')).toBe('content');
    const file = lstatSync(join(to.dir, 'sub', 'file'));
    expect([file.uid, file.gid]).toEqual([1000, 1001]);
    expect(lstatSync(join(to.dir, 'setuid')).mode & 0o7777).toBe(0o4755);
  });
});
