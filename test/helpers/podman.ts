/**
 * podman for interop tests, on storage of its own under a test's temp directory (vfs, no events, cgroupfs),
 * so the host's containers and images are never touched.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The global flags that keep podman inside `dir` (made here). */
export function podmanSandbox(dir: string): string[] {
  for (const sub of ['root', 'runroot', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
  return [
    ...['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--tmpdir', join(dir, 'tmp')],
    ...['--storage-driver', 'vfs', '--events-backend', 'none', '--cgroup-manager', 'cgroupfs'],
  ];
}
