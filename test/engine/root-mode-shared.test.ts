/**
 * A directory of other things given as the state root (--root /tmp, say) keeps its mode: not only on
 * the first open but on every one after it, once tsbuild's own entries are in it too (the repair took
 * any root holding one of them as a tsbuild root, and made a shared /tmp 1700 on the second build).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareRoot } from '../../core/root.js';

const work = mkdtempSync(join(tmpdir(), 'tsbuild-root-shared-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const mode = (path: string): number => statSync(path).mode & 0o7777;

describe('a shared directory as the state root', () => {
  it('keeps its mode on every open, with tsbuild state in it', () => {
    const shared = join(work, 'shared');
    mkdirSync(join(shared, 'somebody-else'), { recursive: true });
    chmodSync(shared, 0o1777);
    prepareRoot(shared);
    for (const name of ['content', 'snapshots', 'runc', 'logs']) mkdirSync(join(shared, name));
    prepareRoot(shared);
    expect(mode(shared)).toBe(0o1777);
  });

  it('a root of tsbuild state alone is still repaired', () => {
    const root = join(work, 'old');
    for (const name of ['content', 'snapshots', 'images', 'logs', 'cache', 'layers', 'contenthash'])
      mkdirSync(join(root, name), { recursive: true });
    chmodSync(root, 0o755);
    prepareRoot(root);
    expect(mode(root)).toBe(0o700);
  });
});
