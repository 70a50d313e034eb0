/**
 * Copies onto an overlay mount write the trees of directories they create straight into the upper
 * directory (worker/fileop + fsutil/treecopy `overlay`): the merged result must be the one a copy
 * through the mount gives, hardlinks, owners, modes and xattrs included, and nothing may bypass the
 * mount where a lower entry could be hidden or merged.
 */
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lgetxattr, lsetxattr } from '../../core/sys.js';
import { applyFileActions } from '../../worker/fileop/index.js';
import { mountOverlay, umount } from '../diff/helpers/layers.js';
import { copyAction, listTree } from './helpers/fileop.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('fileop-overlay (overlay mounts)', { root: true });

const work = mkdtempSync(join(tmpdir(), 'tsbuild-fileop-overlay-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The source tree: nested dirs, a hardlink pair inside one dir and one across two, odd modes. */
function makeSource(src: string): void {
  mkdirSync(join(src, 'a/b'), { recursive: true });
  writeFileSync(join(src, 'a/one'), 'one\n');
  linkSync(join(src, 'a/one'), join(src, 'a/b/one-link'));
  writeFileSync(join(src, 'a/b/secret'), 'secret\n');
  chownSync(join(src, 'a/b/secret'), 1234, 4321); // before the chmod: a chown clears setuid
  chmodSync(join(src, 'a/b/secret'), 0o4750);
  chmodSync(join(src, 'a/b'), 0o2711);
  symlinkSync('../one', join(src, 'a/b/up'));
  writeFileSync(join(src, 'top.txt'), 'top\n');
  lsetxattr(join(src, 'top.txt'), 'user.note', Buffer.from('kept'));
}

/** The lower layer: an existing directory the copy merges into. */
function makeLower(lower: string): void {
  mkdirSync(join(lower, 'existing/a'), { recursive: true });
  writeFileSync(join(lower, 'existing/a/old'), 'from the lower layer\n');
  writeFileSync(join(lower, 'existing/top.txt'), 'replaced by the copy\n');
}

interface Describe {
  readonly type: string;
  readonly mode: string;
  readonly owner: string;
  readonly content: string;
  readonly nlink: number;
}

function describeTree(root: string): Record<string, Describe> {
  const out: Record<string, Describe> = {};
  for (const rel of listTree(root)) {
    const abs = join(root, rel);
    const st = lstatSync(abs);
    out[rel] = {
      type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file',
      mode: (st.mode & 0o7777).toString(8),
      owner: `${st.uid}:${st.gid}`,
      content: st.isSymbolicLink() ? readlinkSync(abs) : st.isFile() ? readFileSync(abs, 'utf8') : '',
      nlink: st.isDirectory() ? 0 : st.nlink,
    };
  }
  return out;
}

/** Runs the two copies on a fresh overlay; returns the merged tree read through a new mount. */
async function copyOnOverlay(name: string, direct: boolean): Promise<{ merged: string; upper: string }> {
  const base = join(work, name);
  const src = join(base, 'src');
  const lower = join(base, 'lower');
  const upper = join(base, 'upper');
  const workdir = join(base, 'work');
  const merged = join(base, 'merged');
  for (const dir of [src, lower, upper, workdir, merged]) mkdirSync(dir, { recursive: true });
  makeSource(src);
  makeLower(lower);
  mountOverlay([lower], upper, workdir, merged);
  try {
    await applyFileActions([copyAction('/', '/new/'), copyAction('/', '/existing/')], {
      dest: merged,
      inputs: () => src,
      ...(direct ? { destUpper: upper } : {}),
    });
  } finally {
    umount(merged);
  }
  mountOverlay([lower], upper, workdir, merged);
  return { merged, upper };
}

describe.skipIf(!rootReady)('copies onto an overlay', () => {
  let direct: { merged: string; upper: string };
  let through: { merged: string; upper: string };

  beforeAll(async () => {
    direct = await copyOnOverlay('direct', true);
    through = await copyOnOverlay('through', false);
  });
  afterAll(() => {
    for (const m of [direct?.merged, through?.merged]) if (m !== undefined) umount(m);
  });

  it('give the merged tree a copy through the mount gives', () => {
    const got = describeTree(direct.merged);
    expect(got).toEqual(describeTree(through.merged));
    expect(got['new/a/b/secret']).toMatchObject({ mode: '4750', owner: '1234:4321' });
    expect(got['new/a/b/']).toMatchObject({ mode: '2711' });
    expect(got['existing/a/old']?.content).toBe('from the lower layer\n');
    expect(got['existing/top.txt']?.content).toBe('top\n');
    expect(lgetxattr(join(direct.merged, 'new/top.txt'), 'user.note')?.toString()).toBe('kept');
  });

  it('keep hardlinks, inside a new directory and across a merged one and a new one', () => {
    for (const root of ['new', 'existing']) {
      const one = lstatSync(join(direct.merged, root, 'a/one'));
      const link = lstatSync(join(direct.merged, root, 'a/b/one-link'));
      expect(link.ino).toBe(one.ino);
      expect(one.nlink).toBe(2);
    }
  });

  it('leave the same upper layer (the directories and files a diff would see)', () => {
    expect(listTree(direct.upper)).toEqual(listTree(through.upper));
  });
});

describe('the redirect itself', () => {
  it('writes what goes below a directory the copy creates under the upper directory, and nothing else', async () => {
    const base = join(work, 'redirect');
    const src = join(base, 'src');
    const dest = join(base, 'dest');
    const upper = join(base, 'upper');
    for (const dir of [src, dest, upper]) mkdirSync(dir, { recursive: true });
    writeFileSync(join(src, 'f'), 'f\n');
    mkdirSync(join(src, 'sub'));
    writeFileSync(join(src, 'sub/g'), 'g\n');
    mkdirSync(join(dest, 'old'));
    // What an overlay would show in its upper directory for the two directories made through the mount.
    mkdirSync(join(upper, 'new'));
    mkdirSync(join(upper, 'old/sub'), { recursive: true });
    await applyFileActions([copyAction('/', '/new/'), copyAction('/', '/old/')], {
      dest,
      inputs: () => src,
      destUpper: upper,
    });
    // The new directory itself is made through the destination; its tree lands in `upper`. The copy
    // into an existing directory goes through the destination, except below the directory it creates.
    expect(listTree(dest)).toEqual(['new/', 'old/', 'old/f', 'old/sub/']);
    expect(listTree(upper)).toEqual([
      'new/',
      'new/f',
      'new/sub/',
      'new/sub/g',
      'old/',
      'old/sub/',
      'old/sub/g',
    ]);
  });
});
