import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuncExecutor } from '../../executor/index.js';
import type { LogStream, RunOptions, RunRequest, RunResult } from '../../executor/index.js';

/** A temp area with one busybox rootfs template, a runc state dir and a bundle dir. */
export class ExecFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'tsbuild-exec-'));
  readonly template = join(this.dir, 'template');
  readonly executor = new RuncExecutor({
    stateDir: join(this.dir, 'state'),
    bundleDir: join(this.dir, 'bundles'),
  });
  /** A rootfs for runs that leave it as they found it. */
  readonly shared: string;
  private count = 0;

  constructor() {
    execFileSync('bash', [join(import.meta.dirname, '../../scripts/busybox-rootfs.sh'), this.template]);
    this.shared = this.rootfs();
  }

  /** A fresh copy of the busybox rootfs (copying takes a while: only for runs that change it). */
  rootfs(): string {
    const dir = join(this.dir, `rootfs-${this.count++}`);
    execFileSync('cp', ['-a', this.template, dir]);
    return dir;
  }

  /** Runs and collects output; `rootfs` defaults to the shared one. */
  async run(
    request: Partial<RunRequest> & { args: readonly string[] },
    options: RunOptions = {},
  ): Promise<RunResult & { stdout: string; stderr: string; chunks: [LogStream, string][] }> {
    const chunks: [LogStream, string][] = [];
    const result = await this.executor.run(
      { rootfs: request.rootfs ?? this.shared, ...request },
      { ...options, onLog: (stream, chunk) => chunks.push([stream, Buffer.from(chunk).toString()]) },
    );
    const text = (s: LogStream): string =>
      chunks
        .filter(([stream]) => stream === s)
        .map(([, c]) => c)
        .join('');
    return { ...result, stdout: text('stdout'), stderr: text('stderr'), chunks };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
