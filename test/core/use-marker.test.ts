/**
 * The marker that tells a prune, in any process, that a cache mount is in use and when it was last used
 * (core/use-marker.ts): a user's shared flock keeps a remover off, its mtime is touched at start and end,
 * a remover deletes the marker with the resource, and a user that opened a marker a remover then deleted
 * opens a new one.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { markedInUse, removeUnlessInUse, withUseMarker } from '../../core/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbuild-use-marker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('use markers', () => {
  it('keeps a remover off while in use, and records the last use', async () => {
    const resource = join(dir, 'a');
    const marker = `${resource}.used`;
    mkdirSync(resource);
    expect(await markedInUse(marker)).toBe(false);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const user = withUseMarker(marker, () => released);
    await sleep(20);
    expect(await markedInUse(marker)).toBe(true);
    expect(await removeUnlessInUse(marker, () => rm(resource, { recursive: true }))).toBe(false);
    expect(existsSync(resource)).toBe(true);
    const old = new Date(Date.now() - 86_400_000);
    utimesSync(marker, old, old);
    release();
    await user;
    // Touched again at the end of the use.
    expect(statSync(marker).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    expect(await markedInUse(marker)).toBe(false);
    expect(await removeUnlessInUse(marker, () => rm(resource, { recursive: true }))).toBe(true);
    expect(existsSync(resource)).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  it('makes a user wait for a remover, then use a new marker', async () => {
    const marker = join(dir, 'b.used');
    const order: string[] = [];
    let user: Promise<void> | undefined;
    const removed = await removeUnlessInUse(marker, async () => {
      user = withUseMarker(marker, async () => void order.push('used'));
      await sleep(60);
      order.push('removed');
    });
    expect(removed).toBe(true);
    await user;
    expect(order).toEqual(['removed', 'used']);
    expect(existsSync(marker)).toBe(true);
    expect(await markedInUse(marker)).toBe(false);
  });
});
