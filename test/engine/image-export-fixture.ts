/**
 * The image the save and push suites export: busybox imported as `base`, one snapshot committed on top
 * and written with a lazy layer (as a build does) as `name`, in a temp root with overlay snapshots.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitImage } from '../../image/commit.js';
import type { CommitResult } from '../../image/commit.js';
import { importRootfs, openEngine } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { commitSnapshot } from '../image/tree-helpers.js';

export interface ExportFixture {
  readonly work: string;
  readonly engine: Engine;
  readonly built: CommitResult;
}

export async function exportFixture(prefix: string, base: string, names: string[]): Promise<ExportFixture> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  makeBusyboxRootfs(join(work, 'rootfs'));
  const engine = await openEngine({ root: join(work, 'root'), snapshotter: 'overlayfs' });
  const imported = await importRootfs(engine, join(work, 'rootfs'), base);
  await engine.layers.put(imported.snapshot, { descriptor: imported.layer, diffID: imported.diffID });
  await commitSnapshot(engine, 'step-1', imported.snapshot, (dir) => {
    writeFileSync(join(dir, 'hello.txt'), 'hello from the export suite\n');
  });
  const built = await commitImage(engine, {
    snapshot: 'step-1',
    config: {
      created: '2024-01-02T03:04:05Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['cat', '/hello.txt'] },
    },
    names,
    lazyLayers: true,
  });
  return { work, engine, built };
}
