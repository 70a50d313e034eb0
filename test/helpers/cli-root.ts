/**
 * The built CLI (bin/tsbuild) on one root, for end-to-end tests: `tsbuild(args)` gives the status and
 * output, `ok(args)` expects status 0 (the command and its stderr in the failure message). In-process
 * only (no daemon serves the root). `until` polls a probe.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { repoRoot } from './shared.js';

export const TSBUILD_BIN = resolve(repoRoot, 'bin/tsbuild');

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  /** Written to stdin (otherwise stdin is /dev/null). */
  readonly input?: string;
  readonly cwd?: string;
}

export interface CliOnRoot {
  tsbuild(args: readonly string[], options?: CliRunOptions): CliResult;
  ok(args: readonly string[], options?: CliRunOptions): string;
}

export function cliOnRoot(root: string, env: NodeJS.ProcessEnv = {}): CliOnRoot {
  const tsbuild = (args: readonly string[], options: CliRunOptions = {}): CliResult => {
    const r = spawnSync(TSBUILD_BIN, ['--root', root, ...args], {
      env: { ...process.env, TSBUILD_NO_DAEMON: '1', ...env },
      encoding: 'utf8',
      timeout: 60_000,
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.input !== undefined ? { input: options.input } : { stdio: ['ignore', 'pipe', 'pipe'] }),
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (args: readonly string[], options: CliRunOptions = {}): string => {
    const r = tsbuild(args, options);
    expect(r.status, `tsbuild ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  return { tsbuild, ok };
}

/** `probe()` until it gives a value (polled every 50 ms); fails naming `what` after `ms`. */
export async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
