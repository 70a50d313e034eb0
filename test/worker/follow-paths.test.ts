/**
 * followPathPatterns: the paths a build reads from a local source and the targets of the symlinks on
 * their way, never outside the source's root (BuildKit's FollowPaths).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPathPatterns } from '../../worker/follow-paths.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-follow-'));
const root = join(work, 'ctx');

describe('followPathPatterns', () => {
  beforeAll(() => {
    mkdirSync(join(root, 'dir', 'sub'), { recursive: true });
    writeFileSync(join(root, 'file.txt'), 'x');
    writeFileSync(join(root, 'dir', 'sub', 'inner.txt'), 'y');
    writeFileSync(join(root, 'star*.txt'), 'z');
    symlinkSync('file.txt', join(root, 'link.txt'));
    symlinkSync('link.txt', join(root, 'chain.txt'));
    symlinkSync('dir/sub', join(root, 'sublink'));
    symlinkSync('/dir', join(root, 'abslink'));
    symlinkSync('../../../etc/passwd', join(root, 'dir', 'escape'));
    symlinkSync('loop-b', join(root, 'loop-a'));
    symlinkSync('loop-a', join(root, 'loop-b'));
    symlinkSync('star*.txt', join(root, 'starlink'));
    symlinkSync('..', join(root, 'dir', 'up'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('adds the target of a symlink the path names', () => {
    expect(followPathPatterns(root, ['link.txt'])).toEqual(['file.txt', 'link.txt']);
  });

  it('follows chains, and links in the middle of a path with the rest of the path', () => {
    expect(followPathPatterns(root, ['/chain.txt'])).toEqual(['chain.txt', 'file.txt', 'link.txt']);
    expect(followPathPatterns(root, ['sublink/inner.txt'])).toEqual([
      'dir/sub/inner.txt',
      'sublink/inner.txt',
    ]);
  });

  it('resolves absolute targets and .. inside the root, never above it', () => {
    expect(followPathPatterns(root, ['abslink/sub'])).toEqual(['abslink/sub', 'dir/sub']);
    expect(followPathPatterns(root, ['dir/escape'])).toEqual(['dir/escape', 'etc/passwd']);
    // A link to the root itself needs the whole root.
    expect(followPathPatterns(root, ['dir/up'])).toEqual(['**', 'dir/up']);
  });

  it('stops at a loop', () => {
    expect(followPathPatterns(root, ['loop-a'])).toEqual(['loop-a', 'loop-b']);
  });

  it('follows the symlinks a wildcard matches, and escapes wildcard characters of targets', () => {
    expect(followPathPatterns(root, ['*link.txt'])).toEqual(['*link.txt', 'file.txt']);
    expect(followPathPatterns(root, ['starlink'])).toEqual(['star\\*.txt', 'starlink']);
  });

  it('leaves paths without symlinks, and missing paths, as they are', () => {
    expect(followPathPatterns(root, ['dir/sub/inner.txt', 'missing/x'])).toEqual([
      'dir/sub/inner.txt',
      'missing/x',
    ]);
    expect(followPathPatterns(root, [])).toEqual([]);
  });
});
