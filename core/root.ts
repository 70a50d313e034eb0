/** Where tsbuild keeps its state, and where a daemon serving that state listens. */
import { join, resolve } from 'node:path';

export const DEFAULT_ROOT = '/var/lib/tsbuild';

/** The state directory: `root`, else `TSBUILD_ROOT`, else /var/lib/tsbuild (absolute). */
export function resolveRoot(root?: string): string {
  return resolve(root ?? process.env.TSBUILD_ROOT ?? DEFAULT_ROOT);
}

/** The unix socket of `tsbuild daemon` for a root: one daemon per root, found without configuration. */
export function daemonSocketPath(root: string): string {
  return join(root, 'tsbuild.sock');
}
