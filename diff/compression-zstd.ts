/**
 * zstd through the `zstd` command (Node 20's zlib has none), streaming over its stdin and stdout:
 * spawning the child, turning its exit into a result, and the compression codec. Decompression
 * (openLayer in compression.ts) uses the same helpers.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { TsbuildError } from '../core/index.js';
import { StreamCodec } from './compression-codec.js';

export function spawnZstd(args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr.resume();
  return child;
}

export function zstdFailure(err: unknown, what: string): TsbuildError {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new TsbuildError('FAILED_PRECONDITION', `${what}: the zstd command is not installed`, {
      hint: 'install zstd (apt-get install zstd)',
      cause: err,
    });
  }
  return new TsbuildError('INTERNAL', `${what}: ${(err as Error).message}`, { cause: err });
}

/** Waits for a zstd child to exit 0 (or rejects with what went wrong). */
export function zstdExit(child: ChildProcessWithoutNullStreams, what: string): Promise<void> {
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(zstdFailure(err, what)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new TsbuildError(
            'INTERNAL',
            `${what}: zstd exited with ${signal ?? code}${stderr ? `: ${stderr.trim()}` : ''}`,
          ),
        );
    });
  });
}

export class ZstdCodec extends StreamCodec {
  protected readonly input: NodeJS.WritableStream;
  protected readonly output: NodeJS.ReadableStream;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<void>;

  constructor(level: number, emit: (chunk: Buffer) => Promise<void>) {
    super(emit);
    // Single-threaded on purpose: the output must not depend on the machine.
    this.child = spawnZstd(['-c', '-q', `-${level}`, '--no-progress']);
    this.exited = zstdExit(this.child, 'zstd compression');
    this.exited.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.child.stdin.on('error', (err) => {
      this.failure ??= zstdFailure(err, 'zstd compression');
    });
    this.input = this.child.stdin;
    this.output = this.child.stdout;
    this.start();
  }

  override async end(): Promise<void> {
    await super.end();
    await this.exited;
  }

  abort(): void {
    this.child.kill('SIGKILL');
  }
}
