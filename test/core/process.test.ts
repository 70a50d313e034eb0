/** Other processes: `otherProcessDead`, `processStartTime`, and the one sweep of what dead ones left. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { otherProcessDead, processStartTime, sweepDeadOwners } from '../../core/process.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-process-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const deadPid = spawnSync('true').pid ?? 999_999;

describe('otherProcessDead', () => {
  it('is true only for another process that has exited', () => {
    expect(otherProcessDead(deadPid)).toBe(true);
    expect(otherProcessDead(process.pid)).toBe(false);
    expect(otherProcessDead(process.ppid)).toBe(false);
    for (const notPid of [NaN, 0, -1, 1.5]) expect(otherProcessDead(notPid)).toBe(false);
  });
});

describe('processStartTime', () => {
  it('names a running process by its start time, and nothing for one that has exited', async () => {
    const own = await processStartTime(process.pid);
    expect(own).toMatch(/^\d+$/);
    expect(await processStartTime(process.pid)).toBe(own);
    expect(await processStartTime(deadPid)).toBeUndefined();
  });
});

describe('sweepDeadOwners', () => {
  const ownerDead = (name: string) => otherProcessDead(Number(/^owned-(\d+)$/.exec(name)?.[1]));

  it('removes the entries of dead owners, keeps the rest, and reports what it removed', async () => {
    const dir = join(work, 'sweep');
    for (const name of [`owned-${deadPid}`, `owned-${process.pid}`, 'other']) {
      mkdirSync(join(dir, name), { recursive: true });
    }
    const removed = await sweepDeadOwners(dir, {
      ownerDead,
      remove: async (path) => (await rm(path, { recursive: true }), true),
    });
    expect(removed).toEqual([`owned-${deadPid}`]);
    expect(existsSync(join(dir, `owned-${deadPid}`))).toBe(false);
    expect(existsSync(join(dir, `owned-${process.pid}`))).toBe(true);
    expect(existsSync(join(dir, 'other'))).toBe(true);
  });

  it('does not report an entry left for the next sweep, and throws what remove throws', async () => {
    const dir = join(work, 'kept');
    mkdirSync(join(dir, `owned-${deadPid}`), { recursive: true });
    expect(await sweepDeadOwners(dir, { ownerDead, remove: async () => false })).toEqual([]);
    const failing = sweepDeadOwners(dir, { ownerDead, remove: () => Promise.reject(new Error('busy')) });
    await expect(failing).rejects.toThrow('busy');
  });

  it('finds nothing in a missing directory', async () => {
    const remove = () => Promise.reject(new Error('not called'));
    expect(await sweepDeadOwners(join(work, 'absent'), { ownerDead, remove })).toEqual([]);
  });
});
