/**
 * The process of `runc exec --process <file>` (`docker exec`): the OCI `process` object for a command
 * run in a running container, with the container's rootfs for users and HOME, its environment under
 * the exec's own (`-e` wins), its capabilities (the same `capAdd`/`capDrop` as the container) and its
 * rlimits, as docker runs an exec with the container's settings.
 */
import { posix } from 'node:path';
import { InvalidArgumentError } from '../core/index.js';
import { processCapabilities } from './container-extras.js';
import { grantableRlimits, mergeRlimits, processEnv } from './spec.js';
import type { Rlimit } from './types.js';
import { resolveUser } from './user.js';

export interface ExecProcessInput {
  /** The running container's root directory (users are resolved from its /etc/passwd and /etc/group). */
  readonly rootfs: string;
  readonly args: readonly string[];
  /** The container's environment, then the exec's `-e` entries (a later KEY wins). */
  readonly env?: readonly string[];
  /** Default '/'; must exist (an exec does not create it). */
  readonly cwd?: string;
  /** Default root. */
  readonly user?: string;
  /** A terminal (`-t`): runc then needs `--console-socket`. */
  readonly terminal?: boolean;
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  readonly rlimits?: readonly Rlimit[];
}

/** `KEY=value` entries with later keys replacing earlier ones, first position kept. */
function mergeEnv(env: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const entry of env) byKey.set(entry.split('=', 1)[0] ?? entry, entry);
  return [...byKey.values()];
}

/** The `process` object for runc exec (JSON it as the file `--process` reads). */
export async function execProcess(input: ExecProcessInput): Promise<Record<string, unknown>> {
  if (input.args.length === 0) throw new InvalidArgumentError('exec needs a command');
  const cwd = posix.resolve('/', input.cwd ?? '/');
  const user = await resolveUser(input.rootfs, input.user);
  return {
    terminal: input.terminal ?? false,
    user: { uid: user.uid, gid: user.gid, additionalGids: [...user.additionalGids] },
    args: [...input.args],
    env: processEnv(mergeEnv(input.env ?? []), user.home),
    cwd,
    capabilities: processCapabilities(input.capAdd, input.capDrop),
    rlimits: mergeRlimits(await grantableRlimits(), input.rlimits).map((r) => ({ ...r })),
    noNewPrivileges: false,
  };
}
