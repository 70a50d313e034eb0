/** The readers–writer file lock that keeps GC away from work in flight, across processes. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../core/errors.js';
import { SharedFileLock } from '../../core/lock.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbuild-lock-'));
const path = join(dir, 'gc.lock');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SharedFileLock', () => {
  it('lets shared holders overlap and makes the exclusive side wait for them', async () => {
    const lock = new SharedFileLock(path);
    const events: string[] = [];
    const reader = (name: string) =>
      lock.shared(async () => {
        events.push(`${name}+`);
        await sleep(150);
        events.push(`${name}-`);
      });
    const readers = [reader('a'), reader('b')];
    await sleep(30);
    const writer = new SharedFileLock(path).exclusive(async () => void events.push('gc'));
    await Promise.all([...readers, writer]);
    expect(events.slice(0, 2).sort()).toEqual(['a+', 'b+']);
    expect(events[events.length - 1]).toBe('gc');
  });

  it('makes shared holders wait for the exclusive side, and honours abort while waiting', async () => {
    const lock = new SharedFileLock(path);
    const order: string[] = [];
    const gc = lock.exclusive(async () => {
      await sleep(120);
      order.push('gc');
    });
    await sleep(20);
    const aborted = new AbortController();
    setTimeout(() => aborted.abort(), 30);
    await expect(lock.shared(async () => order.push('never'), aborted.signal)).rejects.toBeInstanceOf(
      CancelledError,
    );
    await lock.shared(async () => void order.push('import'));
    await gc;
    expect(order).toEqual(['gc', 'import']);
  });

  it('is released by the kernel when its holder is killed', async () => {
    const script =
      `const {openSync}=require('node:fs');const k=require('koffi');` +
      `const f=k.load('libc.so.6').func('int flock(int,int)');const fd=openSync(${JSON.stringify(path)},'a');` +
      `f(fd,2);process.stdout.write('locked');setInterval(()=>{},1000);`;
    const child = spawn('node', ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const lock = new SharedFileLock(path);
    let got = false;
    const waiting = lock.shared(async () => void (got = true));
    await sleep(100);
    expect(got).toBe(false);
    child.kill('SIGKILL');
    await waiting;
    expect(got).toBe(true);
  });
});
