/**
 * The native snapshotter, for hosts without overlayfs: every active snapshot is a full copy of its
 * parent (`cp -a --reflink=auto`: modes, owners, xattrs, hard links, symlinks, device nodes and times
 * kept; a reflink where the file system can share blocks), mounted with a bind mount. Committing only
 * changes the metadata. A view is a read-only bind of its parent's tree (committed trees never change,
 * so no copy is needed), or of its own empty directory when it has no parent.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { TsbuildError } from '../../core/index.js';
import type { Mount } from '../../mount/index.js';
import type { DirectorySnapshotterOptions } from '../metadata/base.js';
import { DirectorySnapshotter, mkdirMode } from '../metadata/base.js';
import { cancelled } from '../../core/index.js';

export type NativeSnapshotterOptions = DirectorySnapshotterOptions;

/** Copies the tree `source` to the new path `target` with all metadata (`cp -a`). */
export function copyTree(source: string, target: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'cp',
      ['-a', '--reflink=auto', '--', source, target],
      { signal, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (err === null) return resolve();
        if (signal?.aborted) return reject(cancelled(signal));
        reject(
          new TsbuildError(
            'INTERNAL',
            `cannot copy ${source} to ${target}: ${stderr.trim() || err.message}`,
            { cause: err },
          ),
        );
      },
    );
  });
}

export class NativeSnapshotter extends DirectorySnapshotter {
  readonly name = 'native';

  private constructor(root: string, options: NativeSnapshotterOptions) {
    super(root, options);
  }

  static async open(root: string, options: NativeSnapshotterOptions = {}): Promise<NativeSnapshotter> {
    const snapshotter = new NativeSnapshotter(root, options);
    await snapshotter.init();
    return snapshotter;
  }

  protected async populate(
    dir: string,
    kind: 'active' | 'view',
    parentIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    const parent = parentIds[0];
    if (kind === 'active' && parent !== undefined)
      await copyTree(this.fsPath(parent), join(dir, 'fs'), signal);
    else mkdirMode(join(dir, 'fs'), 0o755);
  }

  protected mountsFor(kind: 'active' | 'view', id: string, parentIds: readonly string[]): Mount[] {
    if (kind === 'active') return [{ type: 'bind', source: this.fsPath(id), options: ['rw', 'rbind'] }];
    const parent = parentIds[0];
    return [{ type: 'bind', source: this.fsPath(parent ?? id), options: ['ro', 'rbind'] }];
  }
}
