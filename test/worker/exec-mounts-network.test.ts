/**
 * The llb network modes through the worker with real runc: `none` gets a network namespace of its own
 * with only `lo`; `sandbox` (the default, like BuildKit without CNI) and `host` share the host's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRootfs, openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import * as llb from '../../llb/index.js';
import type { Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';

const canRun = canRunContainers('network mode tests');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-netmode-'));
let engine: Engine;

/** Interface names in a /proc/net/dev text. */
const interfaces = (dev: string): string[] =>
  dev
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]?.trim() ?? '')
    .filter(Boolean)
    .sort();

async function interfacesIn(network: llb.RunOptions['network']): Promise<string[]> {
  const def = llb
    .image('busybox:latest')
    .run({ args: `cat /proc/net/dev > /dev.txt # ${String(network)}`, ...(network ? { network } : {}) })
    .toDefinition();
  const result = await solve(engine, def, { noCache: true });
  return withSnapshotDir(engine, result.snapshot ?? '', async (dir) =>
    interfaces(readFileSync(join(dir, 'dev.txt'), 'utf8')),
  );
}

describe.skipIf(!canRun)('network modes', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root: join(work, 'root') });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
  });

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('none: only lo', async () => {
    expect(await interfacesIn('none')).toEqual(['lo']);
  });

  it('sandbox (the default) and host: the host interfaces', async () => {
    // Other work on the machine adds and removes veth pairs: compare the lasting interfaces.
    const lasting = (names: string[]): string[] => names.filter((n) => !n.startsWith('veth'));
    const host = lasting(interfaces(readFileSync('/proc/net/dev', 'utf8')));
    expect(host.length).toBeGreaterThan(1);
    for (const mode of ['sandbox', undefined, 'host'] as const)
      expect(lasting(await interfacesIn(mode))).toEqual(host);
  });
});
