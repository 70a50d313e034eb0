/**
 * The progress log file (`--progress-log FILE` style): the plain progress text appended to a file.
 * The file is opened for appending (O_APPEND), so several builds may log to one file without
 * overwriting each other; each event's text goes out in one write. Its directory is created.
 */
import { mkdirSync, openSync, createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FailedPreconditionError } from '../../core/index.js';

export class LogFile {
  readonly path: string;
  private readonly stream: WriteStream;
  private error: Error | undefined;
  private closing: Promise<void> | undefined;

  /** Opens `path` for appending now, so that a bad path fails before the build starts. */
  constructor(path: string) {
    this.path = resolve(path);
    let fd: number;
    try {
      makeDirs(dirname(this.path));
      fd = openSync(this.path, 'a', 0o600); // build output may hold what only its owner should read
    } catch (cause) {
      throw new FailedPreconditionError(
        `cannot open the progress log ${this.path}: ${(cause as Error).message}`,
        {
          cause,
          hint: 'choose a writable path for the log file',
        },
      );
    }
    this.stream = createWriteStream(this.path, { fd, flags: 'a' });
    this.stream.on('error', (err) => {
      this.error ??= err;
    });
  }

  write(chunk: Buffer): void {
    if (this.error === undefined && this.closing === undefined) this.stream.write(chunk);
  }

  /** Flushes and closes the file; rejects (FAILED_PRECONDITION) if any write failed. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolvePromise) => {
      if (this.stream.closed) return resolvePromise();
      this.stream.once('close', () => resolvePromise());
      this.stream.end();
    }).then(() => {
      if (this.error !== undefined)
        throw new FailedPreconditionError(
          `writing the progress log ${this.path} failed: ${this.error.message}`,
          {
            cause: this.error,
          },
        );
    });
    return this.closing;
  }
}

/**
 * `mkdir -p`, by hand: Node's `mkdirSync(…, { recursive: true })` never returns for some paths (it loops
 * under /proc, where mkdir fails with ENOENT although the parent exists).
 */
function makeDirs(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    makeDirs(parent);
    mkdirSync(dir);
  }
}
