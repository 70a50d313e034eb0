/**
 * `--context-normalize` in the worker's readers of a host directory (fsutil/host-metadata.ts): the
 * content hash (worker/contenthash) and the copy (worker/fileop over the tree copier) take every entry
 * owned by 0:0 with the group and other write bits cleared, so a checkout made with umask 002 and owned
 * by a user hashes and copies as one made with umask 022 by root; a chown and a chmod still apply (a
 * symbolic chmod to the normalised mode); without it, modes are taken as they are. The hash names what
 * the copy gives: the plain hash of the copy is the normalised hash of its source.
 */
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostMode } from '../../fsutil/index.js';
import type { HostMetadata } from '../../fsutil/index.js';
import { hashPath, StatCache } from '../../worker/contenthash/index.js';
import { applyFileActions } from '../../worker/fileop/index.js';
import type { HostSource } from '../../worker/fileop/index.js';
import type { FileAction } from '../../llb/ops.js';
import { isRoot } from '../helpers/prereq.js';
import { copyAction, listTree } from './helpers/fileop.js';

let base: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'tsbuild-normalize-'));
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

/**
 * The same small tree at `dir` as a checkout makes it: with umask 002 (files 0664, directories 0775,
 * a group-writable script 0775) or 022 (0644, 0755, 0755), owned by `owner` when root can chown. A
 * setgid directory and a symlink come along.
 */
function checkout(dir: string, umask: 0o002 | 0o022, owner?: { uid: number; gid: number }): string {
  const file = 0o666 & ~umask;
  const exec = 0o777 & ~umask;
  mkdirSync(join(dir, 'src', 'deep'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'alpha\n');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
  writeFileSync(join(dir, 'src', 'deep', 'y.txt'), 'y\n');
  symlinkSync('a.txt', join(dir, 'link'));
  mkdirSync(join(dir, 'shared'));
  for (const f of ['a.txt', 'src/deep/y.txt']) chmodSync(join(dir, f), file);
  for (const d of ['.', 'src', 'src/deep', 'run.sh']) chmodSync(join(dir, d), exec);
  chmodSync(join(dir, 'shared'), 0o2000 | exec);
  if (owner !== undefined && isRoot) {
    for (const p of ['.', 'a.txt', 'run.sh', 'src', 'src/deep', 'src/deep/y.txt', 'shared']) {
      chownSync(join(dir, p), owner.uid, owner.gid);
    }
  }
  return dir;
}

const hash = (root: string, path: string, host?: HostMetadata, statCache = StatCache.inMemory()) =>
  hashPath(root, path, { statCache, ...(host ? { host } : {}) });

const modeOf = (path: string): string => (statSync(path).mode & 0o7777).toString(8);
const ownerOf = (path: string): string => `${statSync(path).uid}:${statSync(path).gid}`;

describe('hostMode', () => {
  it('clears the group and other write bits only when normalising, and keeps the special bits', () => {
    expect(hostMode(0o664, { normalize: true })).toBe(0o644);
    expect(hostMode(0o777, { normalize: true })).toBe(0o755);
    expect(hostMode(0o2775, { normalize: true })).toBe(0o2755);
    expect(hostMode(0o4666, { normalize: true })).toBe(0o4644);
    expect(hostMode(0o600, { normalize: true })).toBe(0o600);
    expect(hostMode(0o664, {})).toBe(0o664);
  });
});

describe('the content hash of a host directory', () => {
  it('is the same for a umask 002 checkout owned by 1000 and a umask 022 one owned by root, normalised', async () => {
    const loose = checkout(join(base, 'loose'), 0o002, { uid: 1000, gid: 1000 });
    const tight = checkout(join(base, 'tight'), 0o022);
    const normalize = { normalize: true };
    expect(await hash(loose, '', normalize)).toBe(await hash(tight, '', normalize));
    expect(await hash(loose, 'src/deep/y.txt', normalize)).toBe(
      await hash(tight, 'src/deep/y.txt', normalize),
    );
    // Not normalised: the modes differ (owners are 0:0 either way for a host directory).
    expect(await hash(loose, '', {})).not.toBe(await hash(tight, '', {}));
    expect(await hash(loose, '', {})).not.toBe(await hash(loose, '', normalize));
    // A tight checkout is already normalised: its host hash does not change.
    expect(await hash(tight, '', {})).toBe(await hash(tight, '', normalize));
  });

  it('still sees every other mode bit: execute, read, setgid', async () => {
    const dir = checkout(join(base, 'd'), 0o022);
    const normalize = { normalize: true };
    const before = await hash(dir, '', normalize);
    chmodSync(join(dir, 'a.txt'), 0o755);
    const executable = await hash(dir, '', normalize);
    expect(executable).not.toBe(before);
    chmodSync(join(dir, 'a.txt'), 0o640);
    expect(await hash(dir, '', normalize)).not.toBe(before);
    chmodSync(join(dir, 'a.txt'), 0o644);
    chmodSync(join(dir, 'shared'), 0o755);
    expect(await hash(dir, '', normalize)).not.toBe(before);
  });

  it('keeps plain, host and normalised hashes apart in one stat cache', async () => {
    const dir = checkout(join(base, 'd'), 0o002, { uid: 1000, gid: 1000 });
    const cache = StatCache.inMemory();
    const fresh = async (host?: HostMetadata): Promise<string> => hash(dir, '', host, StatCache.inMemory());
    const expected = [await fresh(), await fresh({}), await fresh({ normalize: true })];
    expect(new Set(expected).size).toBe(3);
    // In either order, through one cache, each gets its own.
    for (const order of [
      [undefined, {}, { normalize: true }],
      [{ normalize: true }, {}, undefined],
    ] as (HostMetadata | undefined)[][]) {
      const got = [];
      for (const host of order) got.push(await hash(dir, '', host, cache));
      const want = order.map((h) => expected[h === undefined ? 0 : h.normalize === true ? 2 : 1]);
      expect(got).toEqual(want);
    }
  });
});

describe('a copy from a host directory', () => {
  let dest: string;
  let src: string;

  beforeEach(() => {
    dest = join(base, 'dest');
    mkdirSync(dest);
    src = checkout(join(base, 'src'), 0o002, { uid: 1000, gid: 1000 });
  });

  const run = (host: HostSource | undefined, ...actions: FileAction[]): Promise<void> =>
    applyFileActions(actions, { dest, inputs: (i) => (i === 0 ? src : undefined), hostSource: () => host });

  it('normalised: 0644 files, 0755 directories and scripts, setgid kept, owned by 0:0', async () => {
    await run({ normalize: true }, copyAction('/', '/app/'));
    const app = join(dest, 'app');
    expect(listTree(app)).toEqual([
      'a.txt',
      'link',
      'run.sh',
      'shared/',
      'src/',
      'src/deep/',
      'src/deep/y.txt',
    ]);
    const modes = ['a.txt', 'run.sh', 'shared', 'src', 'src/deep', 'src/deep/y.txt'].map((p) =>
      modeOf(join(app, p)),
    );
    expect(modes).toEqual(['644', '755', '2755', '755', '755', '644']);
    if (isRoot) expect(ownerOf(join(app, 'src/deep/y.txt'))).toBe('0:0');
  });

  it('not normalised: the modes as they are on disk', async () => {
    await run({}, copyAction('/', '/app/'));
    const modes = ['a.txt', 'run.sh', 'shared', 'src'].map((p) => modeOf(join(dest, 'app', p)));
    expect(modes).toEqual(['664', '775', '2775', '775']);
  });

  it('a snapshot source is never normalised', async () => {
    await run(undefined, copyAction('/a.txt', '/a.txt'));
    expect(modeOf(join(dest, 'a.txt'))).toBe('664');
    if (isRoot) expect(ownerOf(join(dest, 'a.txt'))).toBe('1000:1000');
  });

  it('a chown and a numeric chmod win; a symbolic chmod applies to the normalised mode', async () => {
    await run(
      { normalize: true },
      copyAction('/a.txt', '/owned.txt', { chown: { user: 7, group: 8 } }),
      copyAction('/a.txt', '/numeric.txt', { chmod: 0o666 }),
      copyAction('/a.txt', '/symbolic.txt', { chmod: 'u+x' }),
      copyAction('/src', '/tree/', { chmod: 'o+w' }),
    );
    expect(modeOf(join(dest, 'owned.txt'))).toBe('644');
    if (isRoot) expect(ownerOf(join(dest, 'owned.txt'))).toBe('7:8');
    expect(modeOf(join(dest, 'numeric.txt'))).toBe('666');
    expect(modeOf(join(dest, 'symbolic.txt'))).toBe('744');
    expect(modeOf(join(dest, 'tree/deep'))).toBe('757');
    expect(modeOf(join(dest, 'tree/deep/y.txt'))).toBe('646');
  });

  it('COPY --parents and a filtered source are normalised too', async () => {
    await run(
      { normalize: true, filter: (rel) => rel !== 'a.txt' },
      copyAction('/src/deep/y.txt', '/p/', { parents: true }),
      copyAction('/', '/f/'),
    );
    expect(modeOf(join(dest, 'p/src/deep/y.txt'))).toBe('644');
    expect(modeOf(join(dest, 'p/src/deep'))).toBe('755');
    expect(listTree(join(dest, 'f'))).not.toContain('a.txt');
    expect(modeOf(join(dest, 'f/src'))).toBe('755');
  });

  it('gives the tree its normalised hash names: the plain hash of the copy is the normalised hash of the source', async () => {
    await run({ normalize: true }, copyAction('/', '/app/'));
    const app = join(dest, 'app');
    for (const path of ['src', 'src/deep/y.txt', 'a.txt', 'run.sh', 'shared', 'link']) {
      expect(await hash(app, path), path).toBe(await hash(src, path, { normalize: true }));
    }
    // And a copy from the tight checkout is the same tree.
    const tight = checkout(join(base, 'tight'), 0o022);
    expect(await hash(tight, 'src', { normalize: true })).toBe(await hash(app, 'src'));
  });
});
