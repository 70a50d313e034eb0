/**
 * A process that could not be started, told apart from one that ran and failed, as `docker run` does
 * (127 not found, 126 not executable), and the output of such a run without runc's own report of it.
 * Shared by `tsbuild run`'s throwaway run (run.ts), the container supervisor and `exec`.
 */
import { TsbuildError } from '../core/index.js';
import type { LogStream } from '../executor/index.js';

/** The exit status docker records for a start failure: 127 not found, 126 not executable, else 128. */
export function startFailureExitCode(err: unknown): number {
  const code = err instanceof TsbuildError ? err.code : undefined;
  return code === 'COMMAND_NOT_FOUND' ? 127 : code === 'COMMAND_NOT_EXECUTABLE' ? 126 : 128;
}

/**
 * The command could not be started, as `docker run` reports it: not found (127: runc's `executable
 * file not found in $PATH`, `no such file or directory`) or found but not executable (126:
 * `permission denied`, `is a directory`, `exec format error`). runc says which only in words, so
 * this reads them, as the docker CLI does; any other error is not a start failure.
 */
export function startFailure(err: unknown): TsbuildError | undefined {
  if (!(err instanceof TsbuildError) || err.code !== 'FAILED_PRECONDITION') return undefined;
  const message = err.message.replace(/^.*unable to start container process: /s, '');
  if (!/^exec:? /.test(message)) return undefined;
  if (/executable file not found|no such file or directory/.test(message))
    return new TsbuildError('COMMAND_NOT_FOUND', message, { cause: err });
  if (/permission denied|is a directory|exec format error/.test(message))
    return new TsbuildError('COMMAND_NOT_EXECUTABLE', message, { cause: err });
  return undefined;
}

/**
 * The container's output, except runc's own report of a failed start (`runc run failed: …`, or runc
 * 1.1's late `exec <path>: …`), which is all the process's stderr when it happens: that first chunk is
 * held back, dropped when the run turns out to be a start failure (the error says it once), passed on
 * as soon as anything else is printed, or when the run ends.
 */
export class StartFailureOutput {
  private held: Uint8Array | undefined;
  private passing = false;

  constructor(private readonly onOutput: ((stream: LogStream, chunk: Uint8Array) => void) | undefined) {}

  write(stream: LogStream, chunk: Uint8Array): void {
    if (!this.passing && stream === 'stderr' && this.held === undefined && looksLikeRunc(chunk)) {
      this.held = chunk;
      return;
    }
    this.passing = true;
    this.release();
    this.onOutput?.(stream, chunk);
  }

  drop(): void {
    this.held = undefined;
  }

  release(): void {
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) this.onOutput?.('stderr', held);
  }
}

function looksLikeRunc(chunk: Uint8Array): boolean {
  return /^(runc run failed: |exec )/.test(
    Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.length, 32)).toString('latin1'),
  );
}
