/** tsbuild mounts overlay filesystems, runs runc and owns its root's files: it runs as root. */
import { TsbuildError } from '../core/index.js';

/**
 * Refuses, once and before anything is read or created, a command that needs the engine when this
 * process is not root (the alternative is an EACCES or EPERM from wherever it first fails).
 */
export function requireRoot(uid: number | undefined = process.getuid?.()): void {
  if (uid === undefined || uid === 0) return;
  throw new TsbuildError(
    'PERMISSION_DENIED',
    `tsbuild needs root (it mounts overlay filesystems and runs containers with runc); this is uid ${uid}`,
    { hint: 'run it as root, e.g. sudo tsbuild …' },
  );
}
