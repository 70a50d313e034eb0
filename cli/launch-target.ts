/** Which bundle the launcher (launch.ts) runs: the daemon client, or the full CLI. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The socket of the daemon that would serve this command: a `build` (not its help) with no option that
 * keeps it in-process, on the root given by `--root`, TSBUILD_ROOT or the default (core/root.ts's
 * rule, restated here so that this choice loads nothing). Undefined: run the full CLI.
 */
export function daemonSocketFor(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  if (env.TSBUILD_NO_DAEMON) return undefined;
  const args = argv.slice(2);
  let root = env.TSBUILD_ROOT ?? '/var/lib/tsbuild';
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--root' && i + 1 < args.length) root = args[++i] as string;
    else if (arg.startsWith('--root=')) root = arg.slice('--root='.length);
    else break; // the command, or an option (--snapshotter, --help …) the full CLI handles
  }
  if (args[i] !== 'build') return undefined;
  const rest = args.slice(i + 1);
  const toStdout = rest.some((a, j) => {
    const value =
      a === '-o' || a === '--output' ? rest[j + 1] : a.startsWith('--output=') ? a.slice(9) : undefined;
    return value !== undefined && (value === '-' || /(^|,)dest=-($|,)/.test(value));
  });
  if (toStdout || rest.includes('-h') || rest.includes('--help')) return undefined;
  const socket = join(resolve(root), 'tsbuild.sock');
  return existsSync(socket) ? socket : undefined;
}
