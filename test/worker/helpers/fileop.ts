/** Shared by the file-op suites: a copy action with BuildKit's COPY defaults, and a tree listing. */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CopyAction } from '../../../llb/ops.js';

/** A copy from input 0 as `COPY` makes it (wildcards, dir contents, dest created), with overrides. */
export function copyAction(srcPath: string, destPath: string, extra: Partial<CopyAction> = {}): CopyAction {
  return {
    action: 'copy',
    src: 0,
    srcPath,
    dest: destPath,
    followSymlinks: true,
    wildcards: true,
    allowEmptyWildcard: false,
    include: [],
    exclude: [],
    createDestPath: true,
    copyDirContents: true,
    alwaysReplaceExisting: false,
    ...extra,
  };
}

/** Every path under `root`, sorted, directories with a trailing slash. */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(root, r));
      out.push(st.isDirectory() ? `${r}/` : r);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}
