/**
 * The compatibility check's pieces: tar trees (hardlink groups independent of which path comes first,
 * modes with setuid/sticky, owners, symlinks, ignored /proc contents), the config comparison (empty
 * values, base history removed), docs/compat.md and case.json parsing; and, with the real tools, the
 * private registry with the busybox base (started and stopped by PID) read back by GNU tar and skopeo.
 */
import { execFileSync } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { findCases, prepareContext, readKnownDifferences, skipReason } from '../../bench/compat/cases.js';
import { compareConfigs, fromImageConfig, fromInspect, stripBase } from '../../bench/compat/config.js';
import { compareTrees, normalizePath, readTree } from '../../bench/compat/tree.js';
import { Infra } from '../../bench/peers/infra.js';
import { median } from '../../bench/peers/report.js';
import { canRunSuite } from '../helpers/prereq.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbuild-compat-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Item = tarStream.Header extends infer H ? Partial<H> & { name: string; body?: string } : never;

async function writeTar(name: string, items: Item[]): Promise<string> {
  const file = join(dir, name);
  const pack = tarStream.pack();
  const out = createWriteStream(file);
  pack.pipe(out);
  for (const { body, ...header } of items) pack.entry(header, body ?? '');
  pack.finalize();
  await once(out, 'close');
  return file;
}

const base: Item[] = [
  { name: './', type: 'directory', mode: 0o755 },
  { name: './bin/', type: 'directory', mode: 0o755 },
  { name: './bin/busybox', type: 'file', mode: 0o755, body: 'BB' },
  { name: './bin/sh', type: 'symlink', linkname: 'busybox', mode: 0o777 },
  { name: './tmp/', type: 'directory', mode: 0o1777 },
  { name: './proc/', type: 'directory', mode: 0o555 },
];

describe('tar trees', () => {
  it('normalises paths', () => {
    expect(normalizePath('./a/b/')).toBe('/a/b');
    expect(normalizePath('/a//b')).toBe('/a/b');
    expect(normalizePath('./')).toBe('/');
    expect(normalizePath('a')).toBe('/a');
  });

  it('finds no difference between the same tree written in another order, hardlinks named the other way', async () => {
    const left = await writeTar('l.tar', [
      ...base,
      { name: 'x', type: 'file', mode: 0o644, body: 'same' },
      { name: 'y', type: 'link', linkname: 'x' },
      { name: 'proc/cpuinfo', type: 'file', body: 'ignored' },
    ]);
    const right = await writeTar('r.tar', [
      { name: 'y', type: 'file', mode: 0o644, body: 'same' },
      { name: 'x', type: 'link', linkname: 'y' },
      ...base.reverse(),
    ]);
    base.reverse();
    const [l, r] = await Promise.all([readTree(left), readTree(right)]);
    expect(compareTrees(l, r)).toEqual([]);
    expect(l.get('/x')?.hardlinks).toEqual(['/y']);
    expect(l.has('/proc')).toBe(true);
    expect(l.has('/proc/cpuinfo')).toBe(false);
  });

  it('reports content, mode bits, owners, symlink targets and missing paths', async () => {
    const left = await writeTar('l2.tar', [
      ...base,
      { name: 'f', type: 'file', mode: 0o4755, uid: 0, body: 'one' },
      { name: 'only-left', type: 'file', body: '' },
    ]);
    const right = await writeTar('r2.tar', [
      ...base.filter((e) => e.name !== './bin/sh'),
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'tmp', type: 'directory', mode: 0o777 },
      { name: 'f', type: 'file', mode: 0o755, uid: 1000, gid: 1000, body: 'two' },
    ]);
    const diffs = compareTrees(await readTree(left), await readTree(right));
    const keys = diffs.map((d) => `${d.path} ${d.field}`);
    expect(keys).toEqual([
      '/bin/sh symlink',
      '/f mode',
      '/f uid',
      '/f gid',
      '/f sha256',
      '/only-left missing',
      '/tmp mode',
    ]);
    expect(diffs.find((d) => d.path === '/f' && d.field === 'mode')).toMatchObject({
      left: '4755',
      right: '0755',
    });
    expect(diffs.find((d) => d.path === '/tmp')).toMatchObject({ left: '1777', right: '0777' });
  });
});

describe('image configs', () => {
  const baseHistory = [{ created_by: 'umoci repack' }, { created_by: 'umoci config', empty_layer: true }];
  const docker = fromImageConfig({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: null, Labels: {}, WorkingDir: '/app' },
    rootfs: { diff_ids: ['a', 'b'] },
    history: [
      ...baseHistory,
      { created_by: 'WORKDIR /app', comment: 'buildkit.dockerfile.v0' },
      { created_by: 'ENV PATH=/bin', empty_layer: true },
    ],
  });

  it('treats empty values as absent and strips each side’s base history', () => {
    const ts = fromInspect([
      {
        Architecture: 'amd64',
        Os: 'linux',
        Config: { Env: ['PATH=/bin'], Cmd: [], WorkingDir: '/app' },
        RootFS: { Layers: ['c', 'd'] },
        History: [
          { created_by: 'tsbuild image import' },
          { created_by: 'WORKDIR /app' },
          { created_by: 'ENV PATH=/bin', empty_layer: true },
        ],
      },
    ]);
    const diffs = compareConfigs(docker, ts, {
      leftBase: fromImageConfig({ history: baseHistory }).history,
      rightBase: [{ created_by: 'tsbuild image import', empty_layer: false }],
    });
    expect(diffs).toEqual([]);
  });

  it('reports config fields and history entries that differ', () => {
    const ts = fromInspect({
      Architecture: 'amd64',
      Os: 'linux',
      Config: { Env: ['PATH=/usr/bin'], WorkingDir: '/app', User: 'nobody' },
      History: [{ created_by: 'WORKDIR /app', empty_layer: true }],
    });
    const diffs = compareConfigs(docker, ts, { leftBase: docker.history.slice(0, 2), rightBase: [] });
    expect(diffs.map((d) => d.field)).toEqual(['Config.Env', 'Config.User', 'History[0]', 'History[1]']);
  });

  it('strips a base only when the history starts with it', () => {
    const h = [
      { created_by: 'a', empty_layer: false },
      { created_by: 'b', empty_layer: false },
    ];
    expect(stripBase(h, [{ created_by: 'a', empty_layer: false }])).toEqual([h[1]]);
    expect(stripBase(h, [{ created_by: 'x', empty_layer: false }])).toEqual(h);
  });
});

describe('cases and known differences', () => {
  it('reads the list in docs/compat.md form and the case directories', () => {
    const md = join(dir, 'compat.md');
    writeFileSync(
      md,
      '# Known\n\nSome text `not-a-case`.\n\n- `copy-chown`: tsbuild keeps the owner\n* `x` — y\n',
    );
    expect([...readKnownDifferences(md)]).toEqual([
      ['copy-chown', 'tsbuild keeps the owner'],
      ['x', 'y'],
    ]);
    const cases = join(dir, 'cases');
    mkdirSync(join(cases, 'b-case'), { recursive: true });
    mkdirSync(join(cases, 'a-case'), { recursive: true });
    mkdirSync(join(cases, 'no-dockerfile'), { recursive: true });
    writeFileSync(join(cases, 'a-case/Dockerfile'), 'FROM busybox\n');
    writeFileSync(join(cases, 'b-case/Dockerfile'), 'FROM busybox\n');
    writeFileSync(
      join(cases, 'b-case/case.json'),
      JSON.stringify({ buildArgs: { A: '1' }, target: 't', compat: { skip: 'why' } }),
    );
    const found = findCases(cases);
    expect(found.map((c) => c.name)).toEqual(['a-case', 'b-case']);
    expect(found[1]?.options).toEqual({ buildArgs: { A: '1' }, target: 't', compat: { skip: 'why' } });
    expect(findCases(cases, new Set(['b-case'])).length).toBe(1);
  });

  it('skips what docker build 20.10 cannot run and prepares the context with the setup steps', () => {
    const root = join(dir, 'cases2');
    for (const [name, json] of [
      ['ctx', { buildContexts: { x: 'dir' } }],
      ['ssh', { ssh: ['default'] }],
      ['http', { buildArgs: { PORT: '{{httpPort}}' } }],
      [
        'plain',
        {
          network: 'none',
          setup: [
            ['chmod', '0700', 'priv'],
            ['symlink', 'priv', 'link'],
            ['mkdir', 'empty/sub'],
          ],
        },
      ],
    ] as const) {
      mkdirSync(join(root, name, 'priv'), { recursive: true });
      writeFileSync(join(root, name, 'Dockerfile'), 'FROM busybox\n');
      writeFileSync(join(root, name, 'case.json'), JSON.stringify(json));
    }
    const found = findCases(root);
    expect(found.map((c) => [c.name, skipReason(c)])).toEqual([
      ['ctx', 'named build contexts: docker build 20.10 has no --build-context'],
      ['http', "needs the e2e suite's servers ({{…}} build args)"],
      ['plain', undefined],
      ['ssh', "needs the e2e suite's ssh agent"],
    ]);
    const plain = found[2];
    if (!plain) throw new Error('no case');
    expect(plain.options.network).toBe('none');
    const ctx = prepareContext(plain, join(dir, 'prepared'));
    expect(statSync(join(ctx, 'priv')).mode & 0o7777).toBe(0o700);
    expect(readlinkSync(join(ctx, 'link'))).toBe('priv');
    expect(statSync(join(ctx, 'empty/sub')).isDirectory()).toBe(true);
    expect(statSync(join(root, 'plain/priv')).mode & 0o7777).toBe(0o755);
  });

  it('takes the median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

const tools = ['docker-registry', 'skopeo', 'umoci', 'busybox'];
const missing = tools.filter((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});
const rootReady = canRunSuite('the registry infrastructure test', { root: true });

describe('infrastructure (real registry, umoci, skopeo)', () => {
  if (missing.length > 0) console.warn(`skipping the registry test: missing ${missing.join(', ')}`);
  it.skipIf(missing.length > 0 || !rootReady)(
    'starts a private registry, pushes the busybox base, stops it by PID',
    async () => {
      const controller = new AbortController();
      const infra = await Infra.open({
        baseConfig: 'empty',
        signal: controller.signal,
        log: () => undefined,
      });
      try {
        expect(infra.baseRef).toMatch(/^127\.0\.0\.1:\d+\/busybox:latest$/);
        expect(existsSync(join(infra.baseRootfs, 'bin/busybox'))).toBe(true);
        const config = JSON.parse(
          execFileSync('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${infra.baseRef}`], {
            encoding: 'utf8',
          }),
        ) as { config?: unknown; rootfs: { diff_ids: string[] } };
        expect(config.rootfs.diff_ids.length).toBe(1);
        expect(config.config ?? {}).toEqual({});
      } finally {
        await infra.close();
      }
      expect(infra.daemons.every((d) => d.exited)).toBe(true);
      expect(existsSync(infra.scratch)).toBe(false);
    },
  );
});
