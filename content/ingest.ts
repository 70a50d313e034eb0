/**
 * Ingest directories and the ref lock.
 *
 * One writer per ref at a time, across processes: the second `writer({ ref })` fails at once with
 * FailedPreconditionError ("ref … is locked"), as containerd's does, rather than waiting (a wait
 * would hide leaked writers as hangs). Within a process a map answers; across processes the holder
 * writes `lock` = {"pid","start"} into the ingest directory with a no-replace hard link, so the file
 * is whole or absent. A lock whose process is gone (pid not alive, or alive but started at another
 * time: pid reuse, e.g. pid 1 in a restarted container) is stale; the next writer retires that ingest
 * and takes the ref. Ingests are retired by renaming the directory to a temp name and then removing
 * it, so no writer ever sees a half-removed ingest.
 */
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempNameFor } from '../core/index.js';
import { FailedPreconditionError, processAlive, processStartTime } from '../core/index.js';
import { errnoCode, ingestPath, isNotFound } from './layout.js';
import type { Layout } from './layout.js';

export const INGEST_FILES = ['data', 'ref', 'startedat', 'lock'] as const;

export interface IngestOwner {
  readonly pid: number;
  /** The process's start time in clock ticks since boot (Linux); absent elsewhere. */
  readonly start?: string;
}

/** Ingest directories locked by this process, with the time they were taken. */
const held = new Map<string, number>();

let self: Promise<IngestOwner> | undefined;
function selfOwner(): Promise<IngestOwner> {
  self ??= processStartTime(process.pid).then((start) =>
    start ? { pid: process.pid, start } : { pid: process.pid },
  );
  return self;
}

/** Whether a process with this pid exists (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0 && processAlive(pid);
}

export function parseOwner(text: string): IngestOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<IngestOwner> | null;
    if (typeof value?.pid !== 'number') return undefined;
    return typeof value.start === 'string' ? { pid: value.pid, start: value.start } : { pid: value.pid };
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote this lock is still running. */
export async function ownerAlive(owner: IngestOwner): Promise<boolean> {
  if (!pidAlive(owner.pid)) return false;
  if (owner.start === undefined) return true;
  const start = await processStartTime(owner.pid);
  return start === undefined || start === owner.start;
}

/** Renames an ingest (or any directory) out of the way, then removes it. Missing is fine. */
export async function retireDir(dir: string): Promise<void> {
  const doomed = tempNameFor(dir);
  try {
    await rename(dir, doomed);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  await rm(doomed, { recursive: true, force: true });
}

function refLocked(ref: string, since?: number): FailedPreconditionError {
  const when = since === undefined ? 'by another process' : `since ${new Date(since).toISOString()}`;
  return new FailedPreconditionError(`ref ${JSON.stringify(ref)} is locked ${when}`, {
    hint: 'another writer holds this ref; commit or abort it first, or use a different ref',
  });
}

/**
 * Takes the ref and returns its fresh ingest directory (with `lock`, `ref` and `startedat` written).
 * Fails with FailedPreconditionError when a live writer holds the ref.
 */
export async function acquireIngest(layout: Layout, ref: string): Promise<string> {
  const dir = ingestPath(layout, ref);
  const since = held.get(dir);
  if (since !== undefined) throw refLocked(ref, since);
  held.set(dir, Date.now());
  try {
    await lockDir(dir, ref);
    await writeFile(join(dir, 'ref'), ref);
    await writeFile(join(dir, 'startedat'), String(Date.now()));
    return dir;
  } catch (err) {
    held.delete(dir);
    throw err;
  }
}

/** Drops the ingest directory and the ref lock. */
export async function releaseIngest(dir: string): Promise<void> {
  try {
    await retireDir(dir);
  } finally {
    held.delete(dir);
  }
}

async function lockDir(dir: string, ref: string): Promise<void> {
  const lock = join(dir, 'lock');
  const owner = JSON.stringify(await selfOwner());
  for (let attempt = 0; attempt < 8; attempt++) {
    await mkdir(dir, { recursive: true });
    const result = await tryLink(lock, owner);
    if (result === 'locked') return;
    if (result === 'vanished') continue;
    const text = await readFile(lock, 'utf8').catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (text === undefined) continue;
    if (await lockIsLive(text)) throw refLocked(ref);
    // The holder died. Retire its ingest, unless someone took the ref over while we looked.
    const again = await readFile(lock, 'utf8').catch(() => undefined);
    if (again === text) await retireDir(dir);
  }
  throw new FailedPreconditionError(`could not lock ref ${JSON.stringify(ref)}: its ingest keeps changing`);
}

/** Writes the lock beside its final name and hard-links it into place (fails if one is there). */
async function tryLink(lock: string, owner: string): Promise<'locked' | 'exists' | 'vanished'> {
  const temp = tempNameFor(lock);
  try {
    await writeFile(temp, owner, { flag: 'wx' });
    await link(temp, lock);
    return 'locked';
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') return 'exists';
    if (code === 'ENOENT') return 'vanished';
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

async function lockIsLive(text: string): Promise<boolean> {
  const owner = parseOwner(text);
  if (!owner) return false;
  // A live writer of this process is in `held` (checked before we got here): this one leaked.
  if (owner.pid === process.pid) return false;
  return ownerAlive(owner);
}
