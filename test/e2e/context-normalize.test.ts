/**
 * `--context-normalize` end to end, with real runc and overlay snapshots on two roots: two checkouts of
 * the same files, one made with umask 002 and owned by 1000:1000, the other with umask 022 and owned by
 * root (same contents, same times), built from the same Dockerfile (`COPY . /app`, a RUN that lists it,
 * a RUN that bind-mounts the context and lists that).
 *
 * With the flag, the second checkout's build on the root that built the first runs nothing (the COPY's
 * content hash, the RUN after it and the RUN keyed by the bind mount's content hash all hit), the image
 * holds 0644 files and 0755 directories owned by 0:0, and the two roots (root A through the Node API,
 * root B through the CLI) give the same layers and the same image ID. Without it, both RUNs re-run
 * for the other checkout and the images differ (0664 against 0644). A named local context
 * (`--build-context`) is normalised alike: COPY --from it, a stage FROM it and a bind mount of it.
 *
 * The images are compared as OCI layouts written with rewrite-timestamp (SOURCE_DATE_EPOCH): the
 * directories a build creates get its own time otherwise, which differs between any two builds.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRootfs, openEngine, withSnapshotDir } from '../../engine/index.js';
import type { BuildRequest, Engine } from '../../engine/index.js';
import type { Descriptor, ImageConfig, Manifest } from '../../oci/index.js';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';
import { cliPath, recordBuild, runCli } from './helpers/build.js';
import type { CliRun, RecordedBuild } from './helpers/build.js';

const canRun = canRunContainers('e2e --context-normalize tests');
const cli = cliPath();
if (canRun && cli === undefined)
  console.warn('e2e --context-normalize tests: dist/ is not built (make build): CLI half skipped');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-e2e-normalize-'));
const rootA = join(work, 'rootA');
const rootB = join(work, 'rootB');
const loose = join(work, 'loose'); // umask 002, owned by 1000:1000
const tight = join(work, 'tight'); // umask 022, owned by root
const EPOCH = '1700000000';
let engine: Engine;
let layouts = 0;

const DOCKERFILE = [
  'FROM busybox:latest',
  'COPY . /app',
  'RUN ls -lnR /app > /out',
  'RUN --mount=type=bind,target=/ctx ls -lnR /ctx > /mounted',
  '',
].join('\n');

/** The same files, times and links, made by `sh` with `umask`, then owned by `owner`. */
function checkout(dir: string, umask: string, owner: string): void {
  mkdirSync(dir);
  const script = [
    `umask ${umask}`,
    'mkdir -p src/deep bin',
    `printf '%s' "$DOCKERFILE" > Dockerfile`,
    'echo alpha > a.txt',
    'echo y > src/deep/y.txt',
    "printf '#!/bin/sh\\necho hi\\n' > bin/run.sh && chmod +x bin/run.sh",
    'ln -s a.txt link',
    // One time for every entry (the layers hold them), the directories last.
    'find . -exec touch -h -d @1000000000 {} +',
    `chown -hR ${owner} .`,
  ].join('\n');
  execFileSync('sh', ['-c', script], { cwd: dir, env: { ...process.env, DOCKERFILE } });
}

const modeOf = (path: string): number => statSync(path).mode & 0o7777;

/** A build's OCI layout (a directory), with times clamped to the epoch: where it goes. */
function layoutDest(): string {
  return join(work, `layout-${++layouts}`);
}

function request(context: string, contextNormalize: boolean, dest: string): BuildRequest {
  return {
    context,
    buildArgs: { SOURCE_DATE_EPOCH: EPOCH },
    output: { type: 'oci', dest, tar: false, rewriteTimestamp: true },
    ...(contextNormalize ? { contextNormalize: true } : {}),
  };
}

/** The image of an OCI layout directory: its config digest (the image ID) and layer diffIDs. */
function image(dest: string): { id: string; diffIDs: readonly string[] } {
  const blob = (digest: string): Buffer => readFileSync(join(dest, 'blobs', 'sha256', digest.slice(7)));
  const index = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const manifest = JSON.parse(blob(index.manifests[0]?.digest ?? '').toString()) as Manifest;
  const config = JSON.parse(blob(manifest.config.digest).toString()) as ImageConfig;
  return { id: manifest.config.digest, diffIDs: config.rootfs?.diff_ids ?? [] };
}

/** `tsbuild --root rootB build …` in a fresh process (the CLI's flag, the OCI layout to `dest`). */
function cliBuild(context: string, normalize: boolean, dest: string): Promise<CliRun> {
  const flags = normalize ? ['--context-normalize'] : [];
  const output = `type=oci,dest=${dest},tar=false,rewrite-timestamp=true`;
  const args = ['build', '--progress', 'rawjson', ...flags, '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`];
  return runCli(rootB, [...args, '-o', output, context]);
}

describe.skipIf(!canRun)('tsbuild build --context-normalize', () => {
  const built = new Map<string, { run: RecordedBuild; dest: string }>();
  const buildA = async (name: string, context: string, normalize: boolean): Promise<RecordedBuild> => {
    const dest = layoutDest();
    const run = await recordBuild(engine, request(context, normalize, dest));
    built.set(name, { run, dest });
    return run;
  };

  beforeAll(async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    for (const root of [rootB, rootA]) {
      engine = await openEngine({ root });
      await importRootfs(engine, join(work, 'rootfs'), 'busybox:latest');
      if (root === rootB) await engine.close();
    }
    checkout(loose, '002', '1000:1000');
    checkout(tight, '022', '0:0');
  }, 120_000);

  afterAll(async () => {
    await engine?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('the two checkouts differ only in modes and owners', () => {
    expect([
      modeOf(join(loose, 'a.txt')),
      modeOf(join(loose, 'src')),
      modeOf(join(loose, 'bin/run.sh')),
    ]).toEqual([0o664, 0o775, 0o775]);
    expect([
      modeOf(join(tight, 'a.txt')),
      modeOf(join(tight, 'src')),
      modeOf(join(tight, 'bin/run.sh')),
    ]).toEqual([0o644, 0o755, 0o755]);
    expect(statSync(join(loose, 'src/deep/y.txt')).uid).toBe(1000);
    expect(statSync(join(tight, 'src/deep/y.txt')).uid).toBe(0);
    expect(readFileSync(join(loose, 'Dockerfile'), 'utf8')).toBe(DOCKERFILE);
  });

  it('normalised: the other checkout runs nothing on the same root, and gets the same image', async () => {
    const first = await buildA('loose-normalized', loose, true);
    expect(first.result.containers).toBe(2);
    const second = await buildA('tight-normalized', tight, true);
    expect(second.result.containers).toBe(0);
    expect(second.events.startedRuns).toEqual([]);
    expect(second.events.cached.filter((n) => / RUN /.test(n))).toHaveLength(2);
    expect(second.result.snapshot).toBe(first.result.snapshot);
    const [a, b] = [built.get('loose-normalized')?.dest ?? '', built.get('tight-normalized')?.dest ?? ''];
    expect(image(b)).toEqual(image(a));
  });

  it('normalised: 0644 files and 0755 directories owned by 0:0, in the copy and in the mount', async () => {
    const { run } = built.get('loose-normalized') ?? {};
    await withSnapshotDir(engine, run?.result.snapshot ?? '', async (root) => {
      const app = join(root, 'app');
      const modes = ['a.txt', 'src', 'src/deep', 'src/deep/y.txt', 'bin/run.sh', 'Dockerfile'].map((p) =>
        modeOf(join(app, p)),
      );
      expect(modes).toEqual([0o644, 0o755, 0o755, 0o644, 0o755, 0o644]);
      expect(statSync(join(app, 'src/deep/y.txt')).uid).toBe(0);
      const out = readFileSync(join(root, 'out'), 'utf8');
      const mounted = readFileSync(join(root, 'mounted'), 'utf8');
      for (const listing of [out, mounted]) {
        expect(listing).toMatch(/^-rw-r--r-- +1 0 +0 .* a\.txt$/m);
        expect(listing).toMatch(/^drwxr-xr-x +\d+ 0 +0 .* src$/m);
        expect(listing).toMatch(/^-rwxr-xr-x +1 0 +0 .* run\.sh$/m);
        expect(listing).not.toMatch(/^[-d]\S{4}w/m); // no group-writable file or directory
      }
    });
  });

  it('not normalised: both RUNs run for the other checkout, and the images differ', async () => {
    const first = await buildA('loose-plain', loose, false);
    // Its own keys: the normalised builds' cache is not theirs.
    expect(first.result.containers).toBe(2);
    const second = await buildA('tight-plain', tight, false);
    expect(second.result.containers).toBe(2);
    const layout = (name: string) => image(built.get(name)?.dest ?? '');
    expect(layout('tight-plain').id).not.toBe(layout('loose-plain').id);
    expect(layout('loose-plain').id).not.toBe(layout('loose-normalized').id);
    // The umask 022 checkout is already normalised: the same image either way.
    expect(layout('tight-plain')).toEqual(layout('tight-normalized'));
    await withSnapshotDir(engine, first.result.snapshot ?? '', async (root) => {
      expect(modeOf(join(root, 'app', 'a.txt'))).toBe(0o664);
      expect(modeOf(join(root, 'app', 'src'))).toBe(0o775);
      expect(statSync(join(root, 'app', 'a.txt')).uid).toBe(0); // owners are reset either way
      expect(readFileSync(join(root, 'mounted'), 'utf8')).toMatch(/^-rw-rw-r-- +1 0 +0 .* a\.txt$/m);
    });
  });

  it('a named local context is normalised too: COPY --from, FROM and a bind mount of it', async () => {
    const dockerfileText = [
      'FROM extra AS named',
      'FROM busybox:latest',
      'COPY --from=extra / /extra',
      'COPY --from=named /src /from-stage',
      'RUN --mount=type=bind,from=extra,target=/x ls -lnR /x > /x.txt',
      '',
    ].join('\n');
    const build = (normalize: boolean) =>
      recordBuild(engine, {
        context: tight,
        dockerfileText,
        buildContexts: { extra: loose },
        ...(normalize ? { contextNormalize: true } : {}),
      });
    const normalized = await build(true);
    await withSnapshotDir(engine, normalized.result.snapshot ?? '', async (root) => {
      const modes = ['extra/a.txt', 'extra/src', 'extra/bin/run.sh', 'from-stage/deep/y.txt'].map((p) =>
        modeOf(join(root, p)),
      );
      expect(modes).toEqual([0o644, 0o755, 0o755, 0o644]);
      expect(readFileSync(join(root, 'x.txt'), 'utf8')).toMatch(/^-rw-r--r-- +1 0 +0 .* a\.txt$/m);
    });
    const plain = await build(false);
    await withSnapshotDir(engine, plain.result.snapshot ?? '', async (root) => {
      expect(modeOf(join(root, 'extra/a.txt'))).toBe(0o664);
      expect(modeOf(join(root, 'from-stage/deep/y.txt'))).toBe(0o664);
      expect(readFileSync(join(root, 'x.txt'), 'utf8')).toMatch(/^-rw-rw-r-- +1 0 +0 .* a\.txt$/m);
    });
  });

  it.skipIf(cli === undefined)(
    'another root, through the CLI: the same layers and image ID normalised, other ones without',
    async () => {
      const normalized = layoutDest();
      const run = await cliBuild(tight, true, normalized);
      expect(run.code, run.stderr).toBe(0);
      expect(run.events.startedRuns).toHaveLength(2);
      const fromA = image(built.get('loose-normalized')?.dest ?? '');
      expect(image(normalized).diffIDs).toEqual(fromA.diffIDs);
      expect(image(normalized).id).toBe(fromA.id);
      // The loose checkout after it on this root: nothing runs.
      const again = await cliBuild(loose, true, layoutDest());
      expect(again.code, again.stderr).toBe(0);
      expect(again.events.startedRuns).toEqual([]);

      const plain = layoutDest();
      const unflagged = await cliBuild(loose, false, plain);
      expect(unflagged.code, unflagged.stderr).toBe(0);
      expect(unflagged.events.startedRuns).toHaveLength(2);
      expect(image(plain).id).toBe(image(built.get('loose-plain')?.dest ?? '').id);
      expect(image(plain).id).not.toBe(fromA.id);
      expect(image(plain).diffIDs.slice(1)).not.toEqual(fromA.diffIDs.slice(1));
    },
    120_000,
  );
});
