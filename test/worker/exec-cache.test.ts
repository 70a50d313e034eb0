/**
 * Which inputs of an exec op are keyed by content (worker/exec-cache.ts), by BuildKit's mount rules:
 * read-only binds, writable binds whose writes are thrown away and cache mounts seeded from an input
 * are; the root mount, tmpfs, secrets and ssh are not, and an input that is not a local source keeps its
 * key (the hash resolves to undefined).
 */
import { describe, expect, it } from 'vitest';
import type { ExecOp, Mount } from '../../llb/index.js';
import type { OpContext } from '../../solver/index.js';
import { execCacheDeps } from '../../worker/exec-cache.js';
import { snapshotResult } from '../../worker/results.js';
import type { StatCache } from '../../worker/contenthash/index.js';
import type { Snapshotter } from '../../snapshotter/types.js';

const root: Mount = { type: 'bind', dest: '/', input: 0, selector: '', readonly: false, output: 0 };
const op = (mounts: Mount[]): ExecOp => ({
  kind: 'exec',
  args: ['true'],
  env: [],
  cwd: '/',
  user: '',
  network: 'sandbox',
  security: 'sandbox',
  mounts: [root, ...mounts],
});
const deps = { snapshotter: {} as Snapshotter, statCache: {} as StatCache };
const hashed = (mounts: Mount[], inputs: number): boolean[] =>
  execCacheDeps(op(mounts), inputs, deps).map((d) => d.contentHash !== undefined);

describe('execCacheDeps', () => {
  it('content-hashes read-only and throwaway binds and cache mounts, never the root mount', () => {
    const ro: Mount = { type: 'bind', dest: '/a', input: 1, selector: 'x', readonly: true };
    const rw: Mount = { type: 'bind', dest: '/b', input: 2, selector: '', readonly: false, noOutput: true };
    const cache: Mount = {
      type: 'cache',
      dest: '/c',
      id: 'c',
      sharing: 'shared',
      input: 3,
      selector: 'd',
      uid: 0,
      gid: 0,
      mode: 0o755,
    };
    const tmpfs: Mount = { type: 'tmpfs', dest: '/t', size: 0 };
    expect(hashed([ro, rw, cache, tmpfs], 5)).toEqual([false, true, true, true, false]);
  });

  it('a writable bind with an output of part of an input is not content-hashed; of all of it, it is', () => {
    const part: Mount = { type: 'bind', dest: '/p', input: 1, selector: 'sub', readonly: false, output: 1 };
    const whole: Mount = { type: 'bind', dest: '/w', input: 2, selector: '/', readonly: false, output: 2 };
    expect(hashed([part, whole], 3)).toEqual([false, false, true]);
  });

  it('the last mount of an input decides, as in BuildKit', () => {
    const ro: Mount = { type: 'bind', dest: '/a', input: 0, selector: 'x', readonly: true };
    expect(hashed([ro], 1)).toEqual([true]);
  });

  it('an input that is not a local source keeps its key', async () => {
    const ro: Mount = { type: 'bind', dest: '/a', input: 1, selector: 'x', readonly: true };
    const dep = execCacheDeps(op([ro]), 2, deps)[1];
    const ctx = { signal: new AbortController().signal } as OpContext;
    await expect(dep?.contentHash?.(snapshotResult('some-snapshot'), ctx)).resolves.toBeUndefined();
  });
});
