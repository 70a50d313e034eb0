/**
 * A file op whose copy source is its own base input (`FROM base` then `COPY --from=base`, or two
 * identical stages whose digests collapse into one input): the source is the base's committed result,
 * read as it was before any action of the op changed the destination.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRootfs, openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('file op with its base as the copy source');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-fileop-own-base-'));
let engine: Engine;

/** Solves `state` and reads each of `paths` in the result ('' when absent). */
async function readAll(state: llb.State, paths: readonly string[]): Promise<string[]> {
  const result = await solve(engine, state.toDefinition());
  return withSnapshotDir(engine, result.snapshot ?? '', async (dir) =>
    paths.map((p) => (existsSync(join(dir, p)) ? readFileSync(join(dir, p), 'utf8') : '')),
  );
}

describe.skipIf(!canRun)('file op copying from its own base input', () => {
  let base: llb.State;

  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
    base = llb.image('busybox:latest').run('mkdir /s && echo x > /s/f').root();
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('copies a path, and the whole root, of the base into the base', async () => {
    const out = base.file(llb.copy(base, '/s', '/t').copy(base, '.', '/whole/', { copyDirContents: true }));
    expect(await readAll(out, ['t/f', 'whole/s/f', 's/f'])).toEqual(['x\n', 'x\n', 'x\n']);
  });

  it('reads the base as it was before the op: an earlier action of the op does not change the source', async () => {
    const out = base.file(llb.rm('/s').copy(base, '/s/f', '/kept'));
    expect(await readAll(out, ['kept', 's/f'])).toEqual(['x\n', '']);
  });
});
