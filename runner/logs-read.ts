/**
 * docker's json-file log driver, the reader (`docker logs`): the rotated files oldest first, then the
 * current one; `tail`, `since`/`until`, `-t` and `-f` as docker's. A last line without its newline (a
 * crashed writer, or one being written) is never shown: when following, it is read once it is whole.
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { InvalidArgumentError, cancelled, throwIfAborted } from '../core/index.js';
import { formatLogTime, nowNs, parseLogTime, secondsToNs } from './log-time.js';
import { rotatedName } from './logs.js';
import type { OutputStream } from './logs.js';

export interface ReadJsonLogOptions {
  /** The last N lines over all the files; default 'all'. */
  readonly tail?: number | 'all';
  /** Unix seconds (fractional): lines written before are skipped. */
  readonly since?: number;
  /** Unix seconds (fractional): reading stops at the first line written after. */
  readonly until?: number;
  /** Each line prefixed with its time (RFC3339Nano, nine digits) and a space, as `docker logs -t`. */
  readonly timestamps?: boolean;
  /** Keep reading what is written, across rotations, until `isDone()` (and all is read) or abort. */
  readonly follow?: boolean;
  /** True once nothing more will be written (the container has exited and its log is closed). */
  readonly isDone?: () => Promise<boolean> | boolean;
  /** How often a follower looks for new lines when the file system sends no event. Default 250 ms. */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  /** Raw bytes of each line (its newline included), per stream. Must not throw. */
  readonly onOutput: (stream: OutputStream, chunk: Uint8Array) => void;
}

interface Entry {
  readonly stream: OutputStream;
  readonly log: string;
  readonly time: bigint;
}

/** One json-file line; undefined for a line that is not one (skipped, as docker skips nothing: it stops). */
function parseEntry(line: string): Entry | undefined {
  try {
    const v = JSON.parse(line) as { log?: unknown; stream?: unknown; time?: unknown };
    if (typeof v.log !== 'string' || typeof v.time !== 'string') return undefined;
    const time = parseLogTime(v.time);
    if (time === undefined) return undefined;
    return { stream: v.stream === 'stderr' ? 'stderr' : 'stdout', log: v.log, time };
  } catch {
    return undefined;
  }
}

/** Whole lines of `buf` as entries; the bytes after the last newline are returned as `rest`. */
function splitEntries(buf: Buffer): { entries: Entry[]; rest: Buffer } {
  const entries: Entry[] = [];
  let start = 0;
  for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
    const entry = parseEntry(buf.toString('utf8', start, nl));
    if (entry !== undefined) entries.push(entry);
    start = nl + 1;
  }
  return { entries, rest: buf.subarray(start) };
}

function checkOptions(options: ReadJsonLogOptions): void {
  const { tail, since, until } = options;
  if (tail !== undefined && tail !== 'all' && (!Number.isSafeInteger(tail) || tail < 0))
    throw new InvalidArgumentError(`invalid tail ${tail}: a number of lines or "all"`);
  for (const [name, value] of [
    ['since', since],
    ['until', until],
  ] as const)
    if (value !== undefined && !Number.isFinite(value))
      throw new InvalidArgumentError(`invalid ${name} ${value}: unix seconds`);
}

/** Reads the json-file log at `path` (and its rotated files) into `onOutput`. */
export async function readJsonLog(path: string, options: ReadJsonLogOptions): Promise<void> {
  checkOptions(options);
  throwIfAborted(options.signal);
  const reader = new LogReader(path, options);
  try {
    await reader.run();
  } finally {
    await reader.dispose();
  }
}

class LogReader {
  private current: { handle: FileHandle; ino: number; offset: number; rest: Buffer } | undefined;
  private watcher: FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly since: bigint | undefined;
  private readonly until: bigint | undefined;

  constructor(
    private readonly path: string,
    private readonly options: ReadJsonLogOptions,
  ) {
    this.since = options.since === undefined ? undefined : secondsToNs(options.since);
    this.until = options.until === undefined ? undefined : secondsToNs(options.until);
  }

  async run(): Promise<void> {
    if (this.options.follow) this.startWatching();
    this.current = await this.openCurrent();
    const tail = this.options.tail ?? 'all';
    // With a tail, only the last N entries are kept while reading; without, each file is emitted as read.
    let kept: Entry[] = [];
    const take = (batch: Entry[]): void => {
      if (tail === 'all') return this.emit(batch);
      kept = kept.concat(batch);
      if (kept.length > tail) kept = kept.slice(kept.length - tail);
    };
    for (const file of await this.olderFiles(this.current?.ino))
      take(splitEntries(await readFile(file)).entries);
    take(await this.readCurrent());
    this.emit(kept);
    if (!this.options.follow) return;
    for (;;) {
      const done = this.stopped || (await this.options.isDone?.()) === true;
      await this.drain();
      if (done || this.stopped || (this.until !== undefined && nowNs() > this.until)) return;
      await this.waitForChange();
    }
  }

  async dispose(): Promise<void> {
    this.watcher?.close();
    await this.current?.handle.close();
    this.current = undefined;
  }

  /** The current file, opened; undefined when there is none yet. */
  private async openCurrent(): Promise<LogReader['current']> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const { ino } = await handle.stat();
    return { handle, ino, offset: 0, rest: Buffer.alloc(0) };
  }

  /** The rotated files, oldest first, from `<path>.1` up to (not including) one of the inodes `stop`. */
  private async olderFiles(...stop: (number | undefined)[]): Promise<string[]> {
    const files: string[] = [];
    for (let i = 1; ; i++) {
      const name = rotatedName(this.path, i);
      const ino = await stat(name).then(
        (st) => st.ino,
        () => undefined,
      );
      if (ino === undefined || stop.includes(ino)) break;
      files.unshift(name);
    }
    return files;
  }

  /** The whole lines added to the current file since the last read. */
  private async readCurrent(): Promise<Entry[]> {
    const cur = this.current;
    if (cur === undefined) return [];
    const chunks: Buffer[] = [cur.rest];
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      const { bytesRead } = await cur.handle.read(buf, 0, buf.length, cur.offset);
      if (bytesRead === 0) break;
      cur.offset += bytesRead;
      chunks.push(buf.subarray(0, bytesRead));
    }
    const { entries, rest } = splitEntries(Buffer.concat(chunks));
    cur.rest = Buffer.from(rest);
    return entries;
  }

  /** Emits what is new, following a rotation: the rest of the old file, the ones between, the new one. */
  private async drain(): Promise<void> {
    this.emit(await this.readCurrent());
    const now = await stat(this.path).then(
      (st) => st.ino,
      () => undefined,
    );
    if (now === undefined || now === this.current?.ino) return;
    const old = this.current;
    if (old !== undefined) {
      this.emit(await this.readCurrent()); // what was written before it was renamed
      await old.handle.close();
    }
    this.current = await this.openCurrent();
    // The old file is now `<path>.k` (or dropped): the ones rotated after it are `<path>.k-1` … `<path>.1`.
    const files = old === undefined ? [] : await this.olderFiles(old.ino, this.current?.ino);
    for (const file of files) this.emit(splitEntries(await readFile(file)).entries);
    this.emit(await this.readCurrent());
  }

  private emit(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (this.stopped) return;
      if (this.since !== undefined && entry.time < this.since) continue;
      if (this.until !== undefined && entry.time > this.until) {
        this.stopped = true;
        return;
      }
      const text = this.options.timestamps ? `${formatLogTime(entry.time, true)} ${entry.log}` : entry.log;
      this.options.onOutput(entry.stream, Buffer.from(text, 'utf8'));
    }
  }

  private startWatching(): void {
    try {
      const name = basename(this.path);
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file.startsWith(name)) this.wake?.();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No inotify (or the directory is not there yet): the poll alone.
    }
  }

  private waitForChange(): Promise<void> {
    const signal = this.options.signal;
    throwIfAborted(signal);
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
      };
      const onAbort = (): void => {
        done();
        reject(cancelled(signal as AbortSignal));
      };
      const timer = setTimeout(() => (done(), resolve()), this.options.pollMs ?? 250);
      this.wake = () => (done(), resolve());
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
