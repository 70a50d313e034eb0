/**
 * The overlayfs snapshotter, after containerd's: every snapshot has a directory `snapshots/<id>` with
 * `fs` (its upper dir: exactly its own changes, with overlay whiteouts) and, while active, `work`.
 *
 * - active, no parent: a read-write bind of its `fs`;
 * - active with parents: overlay, `upperdir` its `fs`, `lowerdir` the parents' `fs`, nearest first;
 * - view, no parent: a read-only bind of its (empty) `fs`; view of one layer: a read-only bind of that
 *   layer's `fs`; view of several: an overlay of lowerdirs only, which the kernel mounts read-only.
 *
 * Ids are short decimal numbers so that a 128-layer lowerdir list stays small; when the list with
 * absolute paths would not fit in a page, it is given relative to `snapshots/` with `Mount.cwd` set
 * (mount/ mounts such an overlay from a child process started there).
 */
import { chmodSync, chownSync, existsSync, lstatSync, utimesSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '../../core/index.js';
import type { Mount } from '../../mount/index.js';
import type { DirectorySnapshotterOptions } from '../metadata/base.js';
import { DirectorySnapshotter, mkdirMode } from '../metadata/base.js';
import { ancestorIds, getRecord } from '../metadata/snapshots.js';
import { mountAll, removeAll, unmount } from '../../mount/index.js';
import { OPTIONS_LIMIT, optionsLength } from '../../mount/index.js';

/**
 * Overlay features turned off where the kernel has them: the inode index (it ties an upper dir to one
 * set of lowers), metacopy (an upper file without its data) and redirect_dir (a renamed directory as an
 * xattr pointing into a lower): with them off an upper dir is a self-contained diff, which the differ's
 * fast path relies on.
 */
let defaultOptions: readonly string[] | undefined;
export function overlayDefaultOptions(): readonly string[] {
  defaultOptions ??= ['index', 'metacopy', 'redirect_dir']
    .filter((name) => existsSync(`/sys/module/overlay/parameters/${name}`))
    .map((name) => `${name}=off`);
  return defaultOptions;
}

export interface OverlaySnapshotterOptions extends DirectorySnapshotterOptions {
  /** More overlay options for every overlay mount (e.g. `userxattr`). */
  readonly mountOptions?: readonly string[];
}

export class OverlaySnapshotter extends DirectorySnapshotter {
  readonly name = 'overlayfs';
  private readonly mountOptions: readonly string[];

  private constructor(root: string, options: OverlaySnapshotterOptions) {
    super(root, options);
    this.mountOptions = [...overlayDefaultOptions(), ...(options.mountOptions ?? [])];
  }

  static async open(root: string, options: OverlaySnapshotterOptions = {}): Promise<OverlaySnapshotter> {
    if (/[,:]/.test(resolve(root))) {
      throw new InvalidArgumentError(`overlay snapshotter root ${root} must not contain ',' or ':'`);
    }
    const snapshotter = new OverlaySnapshotter(root, options);
    await snapshotter.init();
    return snapshotter;
  }

  protected async populate(
    dir: string,
    kind: 'active' | 'view',
    parentIds: readonly string[],
  ): Promise<void> {
    const fs = join(dir, 'fs');
    mkdirMode(fs, 0o755);
    if (kind !== 'active') return;
    mkdirMode(join(dir, 'work'), 0o711);
    // The merged root takes the upper root's attributes: start from the parent's.
    const parent = parentIds[0];
    if (parent !== undefined) {
      const st = lstatSync(this.fsPath(parent));
      chownSync(fs, st.uid, st.gid);
      chmodSync(fs, st.mode & 0o7777);
      utimesSync(fs, st.atime, st.mtime);
    }
  }

  protected mountsFor(kind: 'active' | 'view', id: string, parentIds: readonly string[]): Mount[] {
    if (parentIds.length === 0) {
      return [{ type: 'bind', source: this.fsPath(id), options: [kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
    }
    const [only] = parentIds;
    if (kind === 'view' && parentIds.length === 1 && only !== undefined) {
      return [{ type: 'bind', source: this.fsPath(only), options: ['ro', 'rbind'] }];
    }
    const options: string[] =
      kind === 'active' ? [`workdir=${this.workPath(id)}`, `upperdir=${this.fsPath(id)}`] : [];
    const absolute = [
      ...options,
      `lowerdir=${parentIds.map((p) => this.fsPath(p)).join(':')}`,
      ...this.mountOptions,
    ];
    if (optionsLength(absolute) <= OPTIONS_LIMIT)
      return [{ type: 'overlay', source: 'overlay', options: absolute }];
    const relative = [
      ...options,
      `lowerdir=${parentIds.map((p) => `${p}/fs`).join(':')}`,
      ...this.mountOptions,
    ];
    return [{ type: 'overlay', source: 'overlay', options: relative, cwd: this.snapshotsDir }];
  }

  /** A view's mounts of committed `name`, with no view recorded (nothing is written). */
  async committedMounts(name: string, options: { signal?: AbortSignal } = {}): Promise<Mount[] | undefined> {
    this.check(options.signal);
    const table = await this.store.read();
    const record = getRecord(table, name);
    if (record.kind !== 'committed') return undefined;
    return this.mountsFor('view', '', ancestorIds(table, name));
  }
}

const probes = new Map<string, Promise<boolean>>();

/**
 * Whether overlayfs works on the file system of `root` (mounts a two-layer overlay in a temp dir there,
 * writes a file and deletes a lower one, which needs a whiteout). Probed once per root per process.
 */
export function supportsOverlay(root: string): Promise<boolean> {
  const key = resolve(root);
  let probe = probes.get(key);
  if (probe === undefined) {
    probe = probeOverlay(key);
    probes.set(key, probe);
  }
  return probe;
}

async function probeOverlay(root: string): Promise<boolean> {
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, '.overlay-probe-'));
  try {
    for (const sub of ['l1', 'l2', 'upper', 'work', 'merged']) await mkdir(join(dir, sub));
    await writeFile(join(dir, 'l1', 'a'), 'a');
    const options = [
      `lowerdir=${join(dir, 'l2')}:${join(dir, 'l1')}`,
      `upperdir=${join(dir, 'upper')}`,
      `workdir=${join(dir, 'work')}`,
      ...overlayDefaultOptions(),
    ];
    const merged = join(dir, 'merged');
    await mountAll([{ type: 'overlay', source: 'overlay', options }], merged);
    try {
      await writeFile(join(merged, 'b'), 'b');
      await rm(join(merged, 'a'));
    } finally {
      await unmount(merged);
    }
    const whiteout = await lstat(join(dir, 'upper', 'a'));
    return whiteout.isCharacterDevice();
  } catch {
    return false;
  } finally {
    await removeAll(dir).catch(() => undefined);
  }
}
