/**
 * A Node script started in a session of its own, its stdin and stdout piped to the caller (what a
 * detached container's supervisor is: `node tsbuild-supervisor.cjs <root>`, runner/detached.ts). In a
 * module of its own, which imports only node:, so that the CLI's launcher can start one before it even
 * loads the CLI (cli/launch.ts): it then boots while the CLI loads.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export type DetachedNode = ChildProcessByStdio<Writable, Readable, null>;

/** `node script ...args` in its own session; neither it nor its pipes keep this process alive. */
export function spawnDetachedNode(script: string, args: readonly string[]): DetachedNode {
  // `--` ends Node's own options: an argument such as `--env-file` is the script's, never Node's.
  const child = spawn(process.execPath, ['--', script, ...args], {
    detached: true,
    cwd: '/',
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  child.on('error', () => undefined);
  child.stdin.on('error', () => undefined);
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  return child;
}
