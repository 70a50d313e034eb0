/** Other processes, as seen from this one, and what dead ones left behind. */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Whether a process with this pid exists (one owned by another user counts: EPERM). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The start time of process `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat): with the
 * pid, it names one process even after the pid is reused. Undefined when the process is gone or there
 * is no /proc.
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` names another process that has exited: false for anything that is not a pid (not a
 * positive integer), for this process and for a live one.
 */
export function otherProcessDead(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
}

export interface SweepDeadOwnersOptions {
  /** Whether entry `name` belongs to a process that has exited; entries that are not ours: false. */
  readonly ownerDead: (name: string) => boolean | Promise<boolean>;
  /**
   * Removes one entry of a dead owner. False when it could not be removed and is left for the next
   * sweep (not reported); what it throws is thrown.
   */
  readonly remove: (path: string, name: string) => Promise<boolean>;
}

/**
 * Removes what processes left in `dir` when they died (a SIGKILLed build cannot run its `finally`):
 * every entry whose owner is dead, one at a time, in directory order. Nothing when `dir` is missing or
 * unreadable. Returns the names removed.
 */
export async function sweepDeadOwners(dir: string, options: SweepDeadOwnersOptions): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!(await options.ownerDead(name))) continue;
    if (await options.remove(join(dir, name), name)) removed.push(name);
  }
  return removed;
}
