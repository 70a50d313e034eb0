/** Where the runner keeps its containers' runc state under a root. */
import { join } from 'node:path';

/**
 * runc's state directory for containers (`runc --root`), apart from the build executor's `<root>/runc`,
 * whose orphan sweep kills every container whose owner died.
 */
export function containersRuncDir(root: string): string {
  return join(root, 'runc-containers');
}
