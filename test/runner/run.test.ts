import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../engine/build.js';
import { importRootfs } from '../../engine/images.js';
import { openEngine } from '../../engine/open.js';
import type { Engine } from '../../engine/open.js';
import { openContainers, runImageAsContainer } from '../../engine/containers.js';
import type { RunImageOptions } from '../../runner/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const enabled = canRunContainers('runner');

describe.skipIf(!enabled)('tsbuild run: images start from the store snapshots', () => {
  let dir: string;
  let engine: Engine;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-runner-'));
    engine = await openEngine({ root: join(dir, 'root') });
    makeBusyboxRootfs(join(dir, 'rootfs'));
    await importRootfs(engine, join(dir, 'rootfs'), 'busybox:latest');
    await writeFile(
      join(dir, 'Dockerfile'),
      'FROM busybox\nENV GREETING=hi\nWORKDIR /w\nRUN echo built > f\nCMD ["sh", "-c", "echo $GREETING $(pwd) $(cat f)"]\n',
    );
    await build(engine, { context: dir, tags: ['app'] });
  }, 120_000);

  afterAll(async () => {
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(options: Omit<RunImageOptions, 'onOutput'>): Promise<{ code: number; out: string }> {
    let out = '';
    const code = await runImageAsContainer(openContainers(engine), {
      ...options,
      onOutput: (_s: string, chunk: Uint8Array) => (out += Buffer.from(chunk).toString()),
    });
    return { code, out };
  }

  it('runs the image command with its env, workdir and built files', async () => {
    expect(await run({ image: 'app' })).toEqual({ code: 0, out: 'hi /w built\n' });
  });

  it('runs a given command and reports its exit code; the container filesystem is thrown away', async () => {
    expect((await run({ image: 'app', args: ['sh', '-c', 'echo x > /w/f; exit 3'] })).code).toBe(3);
    expect(await run({ image: 'app', args: ['cat', '/w/f'] })).toEqual({ code: 0, out: 'built\n' });
    const active = [];
    for await (const info of engine.snapshotter.walk()) if (info.kind === 'active') active.push(info.name);
    expect(active).toEqual([]);
  });

  it('fails clearly for an unknown image', async () => {
    await expect(run({ image: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
