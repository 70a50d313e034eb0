/**
 * containerd's TestDiffTar (8 cases, conformance data): the walking differ must emit exactly the listed
 * tar entries in order. Then the layer, applied onto a copy of the lower tree, must give the upper tree
 * back (sockets aside: layers skip them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WalkingDiffer } from '../../diff/differ.js';
import { applyLayer } from '../../diff/applier.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';
import {
  applyOps,
  contentBytes,
  copyTree,
  parseMode,
  readTar,
  snapshotTree,
  tempDir,
} from './helpers/layers.js';
import type { Content, FsOp } from './helpers/layers.js';
import { TestContentStore } from './helpers/layers-store.js';

const hasConformance = canRunSuite('containerd TestDiffTar', { conformance: true });

interface DiffTarCase {
  name: string;
  lower_ops: FsOp[];
  upper_ops: FsOp[];
  expected_tar_entries: [string, ...unknown[]][];
}

const cases: DiffTarCase[] = hasConformance
  ? (
      JSON.parse(readFileSync(conformance('layers/containerd-difftar-cases.json'), 'utf8')) as {
        cases: DiffTarCase[];
      }
    ).cases
  : [];

describe.skipIf(!hasConformance)('containerd TestDiffTar', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: TestContentStore;
  beforeAll(() => {
    tmp = tempDir();
    store = new TestContentStore(join(tmp.path, 'store'));
  });
  afterAll(() => tmp.cleanup());

  it('has the 8 cases', () => {
    expect(cases).toHaveLength(8);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const dir = join(tmp.path, c.name);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    applyOps(a, [['CreateDir', '/', '0o755'], ...c.lower_ops]);
    copyTree(a, b);
    applyOps(b, c.upper_ops);

    const differ = new WalkingDiffer(store);
    const result = await differ.compare(
      [{ type: 'bind', source: a, options: ['ro'] }],
      [{ type: 'bind', source: b, options: ['ro'] }],
      { compression: 'uncompressed' },
    );
    expect(result.descriptor.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(result.diffID).toBe(result.descriptor.digest);
    const blob = readFileSync(store.path(result.descriptor.digest));
    const entries = await readTar(blob);

    const got = entries.map((e) => {
      switch (e.type) {
        case 'directory':
          return ['dirEntry', e.name, `0o${e.mode.toString(8)}`];
        case 'link':
          return ['linkEntry', e.name, e.linkname];
        case 'file':
          if (e.name.split('/').pop()?.startsWith('.wh.')) {
            const parts = e.name.split('/');
            const base = (parts.pop() as string).slice(4);
            return ['whiteoutEntry', [...parts, base].join('/')];
          }
          return ['fileEntry', e.name, e.content.toString(), `0o${e.mode.toString(8)}`];
        default:
          return [e.type, e.name];
      }
    });
    const expected = c.expected_tar_entries.map((e) =>
      e[0] === 'fileEntry'
        ? [e[0], e[1], contentBytes(e[2] as Content).toString(), `0o${parseMode(e[3] as string).toString(8)}`]
        : e,
    );
    expect(got).toEqual(expected);

    // Whiteouts are empty regular files with mode 0 and the epoch as mtime (containerd ≥ 2.0).
    for (const e of entries.filter((x) => x.name.split('/').pop()?.startsWith('.wh.'))) {
      expect(e.size).toBe(0);
      expect(e.mode).toBe(0);
    }

    // Round trip: lower + layer = upper (sockets are not layer content).
    const c2 = join(dir, 'c');
    copyTree(a, c2);
    const { Readable } = await import('node:stream');
    const applied = await applyLayer(Readable.from([blob]), { root: c2, whiteouts: 'delete' });
    expect(applied.diffID).toBe(result.diffID);
    const want = snapshotTree(b);
    for (const [k, v] of Object.entries(want)) if (v.type === 'socket') delete want[k];
    expect(snapshotTree(c2)).toEqual(want);
  });
});
