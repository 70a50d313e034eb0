/**
 * Keeping freed inodes out of the timings (see RESET_REASON): no reset deletes anything, and a bench
 * waits for the previous one's clean-up to age before it times anything.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { delay } from '../../core/abort.js';

/**
 * Why cold resets move old build state to a trash directory instead of deleting it. On ext4 without a
 * journal (this machine's root file system), the inode allocator skips every free inode deleted within
 * the last 60 s (360 s while its inode-table block is dirty), reading the inode table for each one it
 * skips. Deleting the previous run's 20,000 files right before a timed cold run therefore makes that
 * run's 20,000 file creations cost 10-15 s of kernel time instead of about 2 s, and by how much depends
 * on how each tool deletes. So every reset gives its tool an empty state at a new path, moves the old one
 * to `<scratch>/trash`, and the trash is deleted once, with the scratch directory, when the bench ends.
 */
export const RESET_REASON =
  'cold resets move old build state to a trash dir (deleted at the end), never delete it: on ext4 ' +
  'without a journal the inode allocator skips inodes freed in the last 60-360 s, so a deletion ' +
  'right before a timed run would slow that run';

/** Written when a bench deletes its scratch directory (hundreds of thousands of inodes). */
const CLEANUP_STAMP = '.tsbuild-peers-cleanup';
/** How long freed inodes slow the next file creations (see RESET_REASON), with a margin. */
const INODE_AGE_MS = 400_000;

/**
 * Waits until the previous bench's deletion is INODE_AGE_MS old: a bench started right after another
 * one would otherwise time its first tools on a file system still skipping the freed inodes, and the
 * tools that run later on one that is not (seen: the same build 2x slower in the first column).
 */
export async function waitForAgedDeletions(
  parent: string,
  options: { readonly signal: AbortSignal; readonly log?: (line: string) => void },
): Promise<void> {
  let last = 0;
  try {
    last = Number(readFileSync(join(parent, CLEANUP_STAMP), 'utf8').trim());
  } catch {
    return;
  }
  const wait = last + INODE_AGE_MS - Date.now();
  if (!(wait > 0)) return;
  (options.log ?? ((l: string) => console.error(l)))(
    `waiting ${Math.ceil(wait / 1000)} s for the previous bench's deletion to age (see the note above)`,
  );
  await delay(wait, options.signal);
}

/** Records, in `parent`, that a bench has just deleted its scratch directory there. */
export function markDeletion(parent: string): void {
  writeFileSync(join(parent, CLEANUP_STAMP), `${Date.now()}\n`);
}
