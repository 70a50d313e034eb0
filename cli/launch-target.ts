/** What the launcher (launch.ts) decides from the words alone: which bundle runs, what starts early. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The socket of the daemon that would serve this command: a `build` (not its help) with no option that
 * keeps it in-process, on the root given by `--root`, TSBUILD_ROOT or the default (core/root.ts's
 * rule, restated here so that this choice loads nothing). Undefined: run the full CLI.
 */
export function daemonSocketFor(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  if (env.TSBUILD_NO_DAEMON) return undefined;
  const { root, command, rest } = commandLine(argv, env);
  if (command !== 'build') return undefined;
  const toStdout = rest.some((a, j) => {
    const value =
      a === '-o' || a === '--output' ? rest[j + 1] : a.startsWith('--output=') ? a.slice(9) : undefined;
    return value !== undefined && (value === '-' || /(^|,)dest=-($|,)/.test(value));
  });
  if (toStdout || rest.includes('-h') || rest.includes('--help')) return undefined;
  const socket = join(resolve(root), 'tsbuild.sock');
  return existsSync(socket) ? socket : undefined;
}

/** The command word (`build`, `run`, `image` …; `container run` is `run`), or undefined. */
export function commandOf(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  return commandLine(argv, env).command;
}

/** The root (`--root`, TSBUILD_ROOT or the default), the command and what follows it. */
function commandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { root: string; command: string | undefined; rest: string[] } {
  const args = argv.slice(2);
  let root = env.TSBUILD_ROOT ?? '/var/lib/tsbuild';
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--root' && i + 1 < args.length) root = args[++i] as string;
    else if (arg.startsWith('--root=')) root = arg.slice('--root='.length);
    else break; // the command, or an option (--snapshotter, --help …) the full CLI handles
  }
  let command = args[i];
  let rest = args.slice(i + 1);
  if (command === 'container') [command, rest] = [rest[0], rest.slice(1)];
  return { root, command, rest };
}

/**
 * The root whose containers this command starts detached (`run -d`, `start`, `restart`): the launcher
 * starts their supervisor before it loads the CLI, so that it boots meanwhile. A guess from the words
 * alone (a `-d` among `run`'s flags); a wrong one costs a supervisor that ends when its stdin does.
 */
export function supervisorRootFor(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  const { root, command, rest } = commandLine(argv, env);
  if (rest.includes('-h') || rest.includes('--help')) return undefined;
  if (command === 'start' || command === 'restart') return resolve(root);
  if (command !== 'run') return undefined;
  const detached = rest.some((a) => a === '--detach' || /^-[a-zA-Z]*d[a-zA-Z]*$/.test(a));
  return detached ? resolve(root) : undefined;
}
