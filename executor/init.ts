/**
 * `--init`: the host's docker-init (tini) bind-mounted read-only at /sbin/docker-init as the
 * container's pid 1, the process its child (`/sbin/docker-init -- <args>`), as docker runs it. It
 * reaps the zombies the process leaves and forwards signals to it.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { FailedPreconditionError } from '../core/index.js';

export const INIT_PATH = '/sbin/docker-init';

/** Where an init binary is looked for first (docker's packages, tini's), static builds first. */
const INIT_CANDIDATES: readonly string[] = [
  '/usr/bin/docker-init',
  '/usr/local/bin/docker-init',
  '/usr/libexec/docker/docker-init',
  '/usr/sbin/docker-init',
  '/usr/bin/tini-static',
  '/usr/local/bin/tini-static',
  '/usr/bin/tini',
  '/usr/local/bin/tini',
  '/usr/sbin/tini',
];

function executableFile(path: string): string | undefined {
  try {
    const real = realpathSync(path);
    if (!statSync(real).isFile()) return undefined;
    accessSync(real, constants.X_OK);
    return real;
  } catch {
    return undefined;
  }
}

export interface FindInitOptions {
  /** The fixed places to look in first; default docker's and tini's usual paths. */
  readonly candidates?: readonly string[];
  /** The PATH searched next; default this process's. */
  readonly path?: string;
}

/** The host's init binary (its real path): the fixed places, then docker-init and tini on PATH. */
export function findInit(options: FindInitOptions = {}): string {
  const candidates = options.candidates ?? INIT_CANDIDATES;
  for (const candidate of candidates) {
    const found = executableFile(candidate);
    if (found !== undefined) return found;
  }
  const dirs = (options.path ?? process.env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/'));
  for (const name of ['docker-init', 'tini'])
    for (const dir of dirs) {
      const found = executableFile(join(dir, name));
      if (found !== undefined) return found;
    }
  throw new FailedPreconditionError('--init: no docker-init or tini on this host', {
    hint: `install tini (a static build, e.g. Debian's tini package's tini-static), or run without --init; looked in ${[...candidates, 'PATH'].join(', ')}`,
  });
}
