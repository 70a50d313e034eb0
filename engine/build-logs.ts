/**
 * The build logs under `<root>/logs/`: `build-<time>-<pid>.log`, the plain progress text every CLI build
 * writes (cli/commands/build.ts). A log is being written while the process named in its name is alive
 * and holds it open (read from /proc/<pid>/fd, so a reused pid does not keep a dead build's log).
 */
import { lstat, readdir, rm, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { hasCode, processAlive } from '../core/index.js';

export interface BuildLogEntry {
  readonly name: string;
  readonly path: string;
  readonly size: number;
  /** Its last write (mtime, ms since the epoch). */
  readonly lastUsed: number;
  /** Being written by a live build. */
  readonly live: boolean;
}

const LOG = /^build-.*-(\d+)\.log$/;

export const buildLogsDir = (root: string): string => join(root, 'logs');

/** Whether process `pid` has the file `ino` on `dev` open (true when its descriptors cannot be read). */
async function holdsOpen(pid: number, dev: number, ino: number): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch (err) {
    return !hasCode(err, 'ENOENT');
  }
  for (const fd of fds) {
    const st = await stat(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
    if (st !== undefined && st.ino === ino && st.dev === dev) return true;
  }
  return false;
}

/** Whether the log `name` (its stat `st`) is being written by a live build. */
async function beingWritten(name: string, st: Stats): Promise<boolean> {
  const pid = Number(LOG.exec(name)?.[1] ?? NaN);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !processAlive(pid)) return false;
  return holdsOpen(pid, st.dev, st.ino);
}

/** The `*.log` files under `<root>/logs` (another file there is not a build log and is left alone). */
export async function listBuildLogs(root: string, signal?: AbortSignal): Promise<BuildLogEntry[]> {
  const dir = buildLogsDir(root);
  let entries: string[];
  try {
    entries = (await readdir(dir)).sort();
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return [];
    throw err;
  }
  const out: BuildLogEntry[] = [];
  for (const name of entries) {
    signal?.throwIfAborted();
    if (!name.endsWith('.log')) continue;
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isFile()) continue;
    out.push({ name, path, size: st.size, lastUsed: st.mtimeMs, live: await beingWritten(name, st) });
  }
  return out;
}

/** Removes a log unless a live build writes it (asked again now: then false). */
export async function removeBuildLog(entry: BuildLogEntry): Promise<boolean> {
  const st = await lstat(entry.path).catch(() => undefined);
  if (!st?.isFile() || (await beingWritten(entry.name, st))) return false;
  await rm(entry.path, { force: true });
  return true;
}
