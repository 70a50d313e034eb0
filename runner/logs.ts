/**
 * docker's json-file log driver, the writer: a container's output as one JSON object per line,
 * `{"log":"…\n","stream":"stdout","time":"<RFC3339Nano>"}`, appended to `<path>` and rotated.
 *
 * Lines are cut as docker's copier cuts them: at each newline; a line without one is held until its
 * newline comes, and written as it is (no newline in `log`) once it reaches 16 KiB or the log closes.
 * Bytes that are not UTF-8 become U+FFFD, as docker's encoder writes them. Every entry is one
 * `write(2)` on a file opened for appending, so a reader following the file sees it at once and a
 * crash leaves at most one partial last line (which the reader skips).
 *
 * Rotation (docker's `max-size`/`max-file`): before an entry is written, a file that has reached
 * `maxSize` becomes `<path>.1`, older ones move up to `<path>.<maxFiles-1>` and the oldest is dropped;
 * with `maxFiles` 1 the file is started anew. docker's default is no rotation at all; ours is
 * `DEFAULT_LOG_MAX_SIZE` × `DEFAULT_LOG_MAX_FILES` (10 MiB × 3), because a detached container that
 * talks forever would otherwise fill the disk under the root, which every build shares.
 */
import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { InvalidArgumentError } from '../core/index.js';
import { formatLogTime, nowNs } from './log-time.js';

export type OutputStream = 'stdout' | 'stderr';

/** Where a container's output goes (the supervisor's sink). `write` never throws. */
export interface LogSink {
  write(stream: OutputStream, chunk: Uint8Array): void;
  close(): Promise<void>;
}

export interface JsonLogOptions {
  /** Bytes after which the file is rotated. Default `DEFAULT_LOG_MAX_SIZE`. */
  readonly maxSize?: number;
  /** Files kept, the current one included. Default `DEFAULT_LOG_MAX_FILES`. */
  readonly maxFiles?: number;
  /** Hears of a failed write (the entry is dropped, as docker drops it). Default: a process warning. */
  readonly onError?: (err: Error) => void;
  /** Closes the log (flushing held partial lines) when it aborts. */
  readonly signal?: AbortSignal;
}

export const DEFAULT_LOG_MAX_SIZE = 10 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILES = 3;
/** docker's copier buffer: a line longer than this is written in pieces of this size. */
export const MAX_LINE_BYTES = 16 * 1024;

const NEWLINE = 0x0a;

/** The rotated files of a log, newest first: `<path>`, `<path>.1`, … `<path>.<maxFiles-1>`. */
export function rotatedName(path: string, index: number): string {
  return index === 0 ? path : `${path}.${index}`;
}

/** Opens (appending to) the json-file log at `path`; its directory must exist. */
export function openJsonLog(path: string, options: JsonLogOptions = {}): LogSink {
  return new JsonLogWriter(path, options);
}

class JsonLogWriter implements LogSink {
  private fd: number | undefined;
  private size: number;
  private readonly maxSize: number;
  private readonly maxFiles: number;
  private readonly pending: Record<OutputStream, Buffer> = {
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
  };
  private readonly pieceTime: Record<OutputStream, string | undefined> = {
    stdout: undefined,
    stderr: undefined,
  };
  private warned = false;
  private readonly onAbort = (): void => void this.close();

  constructor(
    private readonly path: string,
    private readonly options: JsonLogOptions,
  ) {
    this.maxSize = checkPositive(options.maxSize ?? DEFAULT_LOG_MAX_SIZE, 'max-size');
    this.maxFiles = checkPositive(options.maxFiles ?? DEFAULT_LOG_MAX_FILES, 'max-file');
    this.fd = openSync(path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (options.signal?.aborted) this.onAbort();
  }

  write(stream: OutputStream, chunk: Uint8Array): void {
    if (this.fd === undefined || chunk.length === 0) return;
    let buf = Buffer.concat([this.pending[stream], chunk]);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl !== -1 && nl - start < MAX_LINE_BYTES) {
        this.entry(stream, buf.subarray(start, nl + 1));
        start = nl + 1;
      } else if (buf.length - start >= MAX_LINE_BYTES) {
        const end = utf8Boundary(buf, start + MAX_LINE_BYTES, start);
        this.entry(stream, buf.subarray(start, end));
        start = end;
      } else break;
    }
    buf = buf.subarray(start);
    this.pending[stream] = Buffer.from(buf);
  }

  close(): Promise<void> {
    if (this.fd === undefined) return Promise.resolve();
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.pending[stream].length > 0) this.entry(stream, this.pending[stream]);
      this.pending[stream] = Buffer.alloc(0);
    }
    this.options.signal?.removeEventListener('abort', this.onAbort);
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
    return Promise.resolve();
  }

  /** One entry; the pieces of a line cut at 16 KiB all carry the time of the first, as docker's. */
  private entry(stream: OutputStream, line: Buffer): void {
    const time = this.pieceTime[stream] ?? formatLogTime(nowNs(), false);
    this.pieceTime[stream] = line[line.length - 1] === NEWLINE ? undefined : time;
    const text = `{"log":${goJsonString(line.toString('utf8'))},"stream":"${stream}","time":"${time}"}\n`;
    const bytes = Buffer.from(text, 'utf8');
    try {
      if (this.size >= this.maxSize) this.rotate();
      if (this.fd === undefined) return;
      writeSync(this.fd, bytes);
      this.size += bytes.length;
    } catch (err) {
      this.failed(err as Error);
    }
  }

  /** Shifts the files up; the log goes on in a new file even when a rename failed (reported). */
  private rotate(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    try {
      if (this.maxFiles > 1) {
        rmSync(rotatedName(this.path, this.maxFiles - 1), { force: true });
        for (let i = this.maxFiles - 2; i >= 0; i--)
          renameIfExists(rotatedName(this.path, i), rotatedName(this.path, i + 1));
      } else {
        rmSync(this.path, { force: true });
      }
    } finally {
      this.fd = openSync(this.path, 'a', 0o640);
      this.size = fstatSync(this.fd).size;
    }
  }

  private failed(err: Error): void {
    if (this.options.onError) this.options.onError(err);
    else if (!this.warned) process.emitWarning(`container log ${this.path}: ${err.message}; output dropped`);
    this.warned = true;
  }
}

function checkPositive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(`invalid ${name} ${value}: it must be a positive integer`);
  return value;
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** `end`, moved back (not past `min`) so that it does not cut a UTF-8 sequence in two. */
function utf8Boundary(buf: Buffer, end: number, min: number): number {
  let i = end;
  while (i > min && i > end - 4 && ((buf[i] ?? 0) & 0xc0) === 0x80) i--;
  return i > min ? i : end;
}

const JSON_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A JSON string as docker's json-file encoder writes it (Go's HTML-safe escapes included). */
export function goJsonString(text: string): string {
  const escaped = text.replace(
    // eslint-disable-next-line no-control-regex -- the control characters are what JSON escapes
    /["\\\u0000-\u001f<>&\u2028\u2029]/g,
    (c) => JSON_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `"${escaped}"`;
}
