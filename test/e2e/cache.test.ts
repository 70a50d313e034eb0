/**
 * Cache behaviour of `tsbuild build`, counted, with real runc and overlay snapshots: an unchanged
 * rebuild starts no container (in-process and through the CLI in a fresh process); a changed context
 * file re-runs only the steps that depend on it (an mtime-only change re-runs nothing); a changed build
 * arg re-runs only what follows the ARG that declares it; COPY --link layers survive a changed base;
 * --no-cache and --no-cache-filter; .dockerignored files; proxy build args kept out of keys and config.
 *
 * Every test uses its own marker in its RUN commands, so the tests share one engine without sharing
 * cache entries.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRootfs, openEngine, withSnapshotDir } from '../../engine/index.js';
import type { BuildRequest, Engine } from '../../engine/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';
import { cliPath, makeContext, recordBuild, runCli, writeFiles } from './helpers/build.js';

const canRun = canRunContainers('e2e cache tests');
const cli = cliPath();
if (canRun && cli === undefined)
  console.warn('e2e cache tests: dist/ is not built (make build): CLI test skipped');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-e2e-cache-'));
const root = join(work, 'root');
let engine: Engine;

describe.skipIf(!canRun)('cache behaviour of tsbuild build', () => {
  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    engine = await openEngine({ root });
    await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  const run = (request: BuildRequest) => recordBuild(engine, request);

  it('an unchanged rebuild starts no container, in-process', async () => {
    const context = makeContext(work, {
      Dockerfile:
        'FROM busybox:latest\nCOPY a.txt /a.txt\nRUN cat /a.txt > /out-unchanged\nRUN echo two > /two\n',
      'a.txt': 'alpha\n',
    });
    const first = await run({ context, tags: ['unchanged:1'] });
    expect(first.result.containers).toBe(2);
    const again = await run({ context, tags: ['unchanged:1'] });
    expect(again.result.containers).toBe(0);
    expect(again.events.started).toEqual([]);
    expect(again.events.cached).toEqual(expect.arrayContaining([expect.stringMatching(/RUN cat \/a.txt/)]));
    expect(again.result.imageID).toBe(first.result.imageID);
  });

  it.skipIf(cli === undefined)(
    'an unchanged rebuild starts no container through the CLI in a fresh process',
    async () => {
      const context = makeContext(work, {
        Dockerfile:
          'FROM busybox:latest\nCOPY a.txt /a.txt\nRUN cat /a.txt > /out-cli\nRUN echo cli > /cli\n',
        'a.txt': 'alpha\n',
      });
      const args = ['build', '--progress', 'rawjson', '-t', 'cli:1', context];
      await engine.close();
      try {
        const first = await runCli(root, args);
        expect(first.code, first.stderr).toBe(0);
        expect(first.events.startedRuns).toHaveLength(2);
        const again = await runCli(root, args);
        expect(again.code, again.stderr).toBe(0);
        expect(again.events.started).toEqual([]);
        expect(again.events.cached.filter((n) => / RUN /.test(n))).toHaveLength(2);
      } finally {
        engine = await openEngine({ root });
      }
      // and in-process after that: the same image, no container
      const inProcess = await run({ context, tags: ['cli:1'] });
      expect(inProcess.result.containers).toBe(0);
      expect((await engine.images.resolve('docker.io/library/cli:1')).manifestDescriptor.digest).toBe(
        inProcess.result.manifestDigest,
      );
    },
    60_000,
  );

  describe('a changed context file', () => {
    const dockerfile = [
      'FROM busybox:latest AS a',
      'COPY a.txt /a.txt',
      'RUN cat /a.txt > /a.out',
      'RUN echo after-a > /a2',
      'FROM busybox:latest AS b',
      'COPY b.txt /b.txt',
      'RUN cat /b.txt > /b.out',
      'FROM busybox:latest',
      'COPY --from=a /a.out /a.out',
      'COPY --from=b /b.out /b.out',
      '',
    ].join('\n');
    let context: string;

    beforeAll(async () => {
      context = makeContext(work, { Dockerfile: dockerfile, 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });
      const first = await run({ context });
      expect(first.result.containers).toBe(3);
    });

    it('a new mtime with the same content re-runs nothing', async () => {
      const later = new Date(Date.now() + 60_000);
      utimesSync(join(context, 'a.txt'), later, later);
      utimesSync(join(context, 'b.txt'), later, later);
      const again = await run({ context });
      expect(again.result.containers).toBe(0);
      expect(again.events.started).toEqual([]);
    });

    it('editing a.txt re-runs exactly the RUN steps after COPY a.txt', async () => {
      writeFileSync(join(context, 'a.txt'), 'alpha, edited\n');
      const again = await run({ context });
      expect(again.result.containers).toBe(2);
      expect(again.events.startedRuns.sort()).toEqual([
        '[a 3/4] RUN cat /a.txt > /a.out',
        '[a 4/4] RUN echo after-a > /a2',
      ]);
      expect(again.events.started).toContain('[a 2/4] COPY a.txt /a.txt');
      expect(again.events.started.filter((n) => n.startsWith('[b '))).toEqual([]);
      expect(again.events.cached).toEqual(
        expect.arrayContaining(['[b 2/3] COPY b.txt /b.txt', '[b 3/3] RUN cat /b.txt > /b.out']),
      );
      const out = await withSnapshotDir(engine, again.result.snapshot ?? '', async (dir) =>
        Promise.resolve(readFileSync(join(dir, 'a.out'), 'utf8')),
      );
      expect(out).toBe('alpha, edited\n');
    });
  });

  it('a changed build arg re-runs only the steps after the ARG that declares it', async () => {
    const context = makeContext(work, {
      Dockerfile: [
        'FROM busybox:latest',
        'RUN echo before > /before-arg',
        'ARG FOO=default',
        'RUN echo "$FOO" > /foo-arg',
        'RUN echo third > /third-arg',
        '',
      ].join('\n'),
    });
    const first = await run({ context, buildArgs: { FOO: 'one' } });
    expect(first.result.containers).toBe(3);
    const changed = await run({ context, buildArgs: { FOO: 'two' } });
    expect(changed.result.containers).toBe(2);
    // vertex names show the expanded command, as BuildKit's do
    expect(changed.events.startedRuns.map((n) => n.replace(/^\[[^\]]*\] /, '')).sort()).toEqual([
      'RUN echo "two" > /foo-arg',
      'RUN echo third > /third-arg',
    ]);
    expect(changed.events.cached).toEqual(expect.arrayContaining([expect.stringMatching(/RUN echo before/)]));
    const foo = await withSnapshotDir(engine, changed.result.snapshot ?? '', async (dir) =>
      Promise.resolve(readFileSync(join(dir, 'foo-arg'), 'utf8')),
    );
    expect(foo).toBe('two\n');
    // a build arg no ARG declares changes nothing
    const undeclared = await run({ context, buildArgs: { FOO: 'two', NOBODY_DECLARES_ME: 'x' } });
    expect(undeclared.result.containers).toBe(0);
    expect(undeclared.events.started).toEqual([]);
  });

  describe('--no-cache and --no-cache-filter', () => {
    const dockerfile = [
      'FROM busybox:latest AS first',
      'RUN echo nocache-first > /first',
      'RUN echo nocache-first-2 > /first2',
      'FROM busybox:latest AS second',
      'RUN echo nocache-second > /second',
      'FROM busybox:latest',
      'COPY --from=first /first /first',
      'COPY --from=second /second /second',
      '',
    ].join('\n');
    let context: string;

    beforeAll(async () => {
      context = makeContext(work, { Dockerfile: dockerfile });
      expect((await run({ context })).result.containers).toBe(3);
    });

    it('--no-cache re-runs every step', async () => {
      const again = await run({ context, noCache: true });
      expect(again.result.containers).toBe(3);
      expect(again.events.startedRuns).toHaveLength(3);
      expect(again.events.cached.filter((n) => / (RUN|COPY) /.test(n))).toEqual([]);
    });

    // An ignoreCache vertex has no fast key that anything downstream could match before it ran
    // (solver/job.ts), as in BuildKit; after it ran, downstream steps may hit by their content keys.
    it("--no-cache-filter <stage> re-runs only that stage's steps", async () => {
      const again = await run({ context, noCacheFilter: ['first'] });
      expect(again.result.containers).toBe(2);
      expect(again.events.startedRuns.sort()).toEqual([
        '[first 2/3] RUN echo nocache-first > /first',
        '[first 3/3] RUN echo nocache-first-2 > /first2',
      ]);
      expect(again.events.cached).toContain('[second 2/2] RUN echo nocache-second > /second');
    });

    // The flag reached nothing through the CLI: commander names `--no-cache-filter` `cacheFilter`.
    it.skipIf(cli === undefined)(
      '--no-cache-filter through the CLI re-runs that stage, and every other step is listed as cached',
      async () => {
        await engine.close();
        try {
          const args = ['build', '--progress', 'rawjson', '--no-cache-filter', 'first', context];
          const again = await runCli(root, args);
          expect(again.code, again.stderr).toBe(0);
          expect(again.events.startedRuns.sort()).toEqual([
            '[first 2/3] RUN echo nocache-first > /first',
            '[first 3/3] RUN echo nocache-first-2 > /first2',
          ]);
          // The steps before the first cache hit are listed too, as BuildKit lists them.
          // (The three stages share one FROM step, named after its first appearance.)
          expect(again.events.cached.sort()).toEqual([
            '[second 2/2] RUN echo nocache-second > /second',
            '[stage-2 1/3] FROM docker.io/library/busybox:latest',
            '[stage-2 2/3] COPY --from=first /first /first',
            '[stage-2 3/3] COPY --from=second /second /second',
          ]);
        } finally {
          engine = await openEngine({ root });
        }
      },
      60_000,
    );
  });

  it('a changed .dockerignored file changes nothing', async () => {
    const context = makeContext(work, {
      Dockerfile: 'FROM busybox:latest\nCOPY . /ctx/\nRUN ls -A /ctx > /ignore-list\n',
      '.dockerignore': 'ignored.txt\nlogs/\n',
      'kept.txt': 'kept\n',
      'ignored.txt': 'one\n',
      'logs/x.log': 'one\n',
    });
    const first = await run({ context });
    expect(first.result.containers).toBe(1);
    const list = await withSnapshotDir(engine, first.result.snapshot ?? '', async (dir) =>
      Promise.resolve(readFileSync(join(dir, 'ignore-list'), 'utf8')),
    );
    expect(list.split('\n').filter(Boolean).sort()).toEqual(['.dockerignore', 'Dockerfile', 'kept.txt']);
    writeFiles(context, { 'ignored.txt': 'two, longer\n', 'logs/x.log': 'two\n', 'logs/y.log': 'new\n' });
    const again = await run({ context });
    expect(again.result.containers).toBe(0);
    expect(again.events.started).toEqual([]);
    writeFiles(context, { 'kept.txt': 'kept, edited\n' });
    expect((await run({ context })).result.containers).toBe(1);
  });

  it('proxy build args change no cache key and stay out of the image, but the RUN sees them', async () => {
    const context = makeContext(work, {
      Dockerfile: 'FROM busybox:latest\nRUN env > /proxy-env.txt\nRUN echo proxy-marker > /marker\n',
    });
    const proxy = 'http://127.0.0.1:3128';
    const first = await run({
      context,
      tags: ['proxy:1'],
      buildArgs: { HTTP_PROXY: proxy, no_proxy: 'example.invalid' },
    });
    expect(first.result.containers).toBe(2);
    const env = await withSnapshotDir(engine, first.result.snapshot ?? '', async (dir) =>
      Promise.resolve(readFileSync(join(dir, 'proxy-env.txt'), 'utf8')),
    );
    expect(env.split('\n')).toContain(`HTTP_PROXY=${proxy}`);
    expect(env.split('\n')).toContain('no_proxy=example.invalid');
    const image = await engine.images.resolve('docker.io/library/proxy:1');
    const configText = JSON.stringify(image.config);
    expect(configText).not.toContain('127.0.0.1:3128');
    expect(configText).not.toContain('example.invalid');
    expect(configText).not.toMatch(/HTTP_PROXY|no_proxy/i);
    // another proxy, and none at all: the same keys
    const other = await run({ context, buildArgs: { HTTP_PROXY: 'http://127.0.0.1:9999' } });
    expect(other.result.containers).toBe(0);
    const none = await run({ context });
    expect(none.result.containers).toBe(0);
    expect(none.events.started).toEqual([]);
  });

  it('COPY --link layers are reused on a changed base', async () => {
    // incompressible, so the layer is clearly not empty
    const big = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`big/file-${i}.bin`, randomBytes(48 * 1024).toString('base64')]),
    );
    const context = makeContext(work, {
      Dockerfile: [
        'ARG BASE=plain',
        'FROM busybox:latest AS plain',
        'FROM busybox:latest AS extra',
        'RUN echo link-extra > /extra',
        'FROM ${BASE}',
        'COPY --link big/ /data/',
        'RUN ls /data > /link-list',
        '',
      ].join('\n'),
      ...big,
    });
    const first = await run({ context, tags: ['link:1'] });
    expect(first.result.containers).toBe(1);
    const second = await run({ context, tags: ['link:2'], buildArgs: { BASE: 'extra' } });
    // the base stage's RUN and the RUN after the COPY
    expect(second.result.containers).toBe(2);
    const linkCopy = (n: string): boolean => /COPY --link big\/ \/data\/$/.test(n);
    expect(second.events.cached.filter(linkCopy)).toHaveLength(1);
    expect(second.events.started.filter(linkCopy)).toEqual([]);
    const one = (await engine.images.resolve('docker.io/library/link:1')).manifest.layers;
    const two = (await engine.images.resolve('docker.io/library/link:2')).manifest.layers;
    expect(one).toHaveLength(3);
    expect(two).toHaveLength(4);
    // [base…, COPY --link, RUN]: the COPY --link layer is the same blob on both bases
    expect(two.at(-2)?.digest).toBe(one.at(-2)?.digest);
    expect(one.at(-2)?.size).toBeGreaterThan(256 * 1024);
    const listed = await withSnapshotDir(engine, second.result.snapshot ?? '', async (dir) =>
      Promise.resolve([
        readFileSync(join(dir, 'link-list'), 'utf8'),
        readFileSync(join(dir, 'extra'), 'utf8'),
      ]),
    );
    expect(listed).toEqual([
      Object.keys(big)
        .map((p) => p.slice(4))
        .join('\n') + '\n',
      'link-extra\n',
    ]);
  });
});
