/**
 * File-system helpers every store uses: crash-safe writes (temp name, fsync, rename, fsync of the
 * directory), unique temp names, and a per-path async mutex for writers in one process.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A name beside `path` that no other writer will pick: `.<base>.tmp-<pid>-<random>`. */
/**
 * A small file's text, read synchronously, or undefined when it does not exist. For the stores'
 * records (a few hundred bytes, read on every build): from the page cache a synchronous read costs
 * microseconds, fs/promises' open, stat, read and close a thread-pool round trip each (~0.3 ms in
 * all), and a cached build reads dozens of them one after another.
 */
export function readSmallFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * Every `*.json` record in `dir` (written with atomicWriteFile), parsed; temp files are skipped, and so
 * is a record removed while it is read. A missing `dir` has none.
 */
export async function readJsonRecords<T>(dir: string, options: { signal?: AbortSignal } = {}): Promise<T[]> {
  options.signal?.throwIfAborted();
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: T[] = [];
  for (const file of files) {
    if (!file.endsWith('.json') || isTempName(file)) continue;
    try {
      out.push(JSON.parse(await readFile(join(dir, file), 'utf8')) as T);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return out;
}

/** True for names made by `tempNameFor` (what a crash may leave behind; safe to delete when found). */
export function isTempName(name: string): boolean {
  return /^\..*\.tmp-\d+-[0-9a-f]{12}$/.test(name);
}

/** fsync a directory so that a rename into it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface AtomicWriteOptions {
  /** fsync the file and its directory (default true). */
  readonly durable?: boolean;
  readonly mode?: number;
  readonly signal?: AbortSignal;
}

/** Writes `data` to `path` so that readers see the old content or the new, never a part. */
export async function atomicWriteFile(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  options.signal?.throwIfAborted();
  const durable = options.durable ?? true;
  await mkdir(dirname(path), { recursive: true });
  const temp = tempNameFor(path);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    options.signal?.throwIfAborted();
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (durable) await fsyncDir(dirname(path));
}

/**
 * `atomicWriteFile` with synchronous calls, for small documents written on every build step (the
 * snapshot table): open, write, rename and the fsyncs cost a thread-pool round trip each through
 * fs/promises, which is most of what preparing or committing a snapshot costs. The fsyncs block the
 * event loop for their duration (a fraction of a millisecond on a quiet disk), as a database's commit
 * does.
 */
export function atomicWriteFileSync(
  path: string,
  data: string | Uint8Array,
  options: Omit<AtomicWriteOptions, 'signal'> = {},
): void {
  const durable = options.durable ?? true;
  mkdirSync(dirname(path), { recursive: true });
  const temp = tempNameFor(path);
  try {
    const fd = openSync(temp, 'wx', options.mode ?? 0o644);
    try {
      writeFileSync(fd, data);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  if (durable) {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

/** Serialises async work per key within this process (one writer per path at a time). */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
