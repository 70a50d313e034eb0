/** Disk usage of a tree, as `du`: allocated blocks and inodes, each inode (hard links) counted once. */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../../core/index.js';
import type { Usage } from '../types.js';
import { throwIfAborted } from '../../core/index.js';

const BATCH = 64;

export async function diskUsage(root: string, signal?: AbortSignal): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0n;
  const visit = (st: { dev: bigint; ino: bigint; blocks: bigint }): void => {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    size += st.blocks * 512n;
  };
  visit(await lstat(root, { bigint: true }));
  const dirs = [root];
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    throwIfAborted(signal);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (hasCode(err, 'ENOENT')) continue;
      throw err;
    }
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      const stats = await Promise.all(
        batch.map((entry) => lstat(join(dir as string, entry.name), { bigint: true }).catch(() => undefined)),
      );
      batch.forEach((entry, j) => {
        const st = stats[j];
        if (st === undefined) return;
        visit(st);
        if (entry.isDirectory()) dirs.push(join(dir as string, entry.name));
      });
    }
  }
  return { size: Number(size), inodes: seen.size };
}
