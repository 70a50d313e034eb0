/**
 * The storage stack end to end with the real parts: `tsbuild image import` of a directory and of tar
 * streams (plain, gzip, zstd, stdin) into a temporary root, the unpacked snapshot compared with the
 * source, ls/inspect/rm/prune/du, and crash safety: imports SIGKILLed at 50 random moments leave a root
 * that `tsbuild debug fsck` finds clean and where the next import succeeds.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../../bench/mutate.js';
import { fsck, gc, importRootfs, inspectImage, openEngine } from '../../engine/index.js';
import type { Engine } from '../../engine/index.js';
import { withReadonlyTempMount } from '../../mount/index.js';
import { MemoryProgressWriter } from '../../core/progress.js';
import { formatBytes } from '../../cli/progress/format.js';
import { repoRoot } from '../helpers/shared.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('image import (real snapshotter)', { root: true });

const cli = resolve(repoRoot, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-import-'));
const rootfs = join(work, 'rootfs');
const root = join(work, 'root');
let engine: Engine;

function run(args: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [cli, '--root', root, ...args], { input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  execFileSync('bash', [resolve(repoRoot, 'scripts/busybox-rootfs.sh'), rootfs]);
  execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'rootfs.tar'), '.']);
  execFileSync('sh', [
    '-c',
    `gzip -c ${work}/rootfs.tar > ${work}/rootfs.tar.gz && zstd -q -c ${work}/rootfs.tar > ${work}/rootfs.tar.zst`,
  ]);
  engine = await openEngine({ root });
});

afterAll(async () => {
  await engine?.close();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!rootReady)('image import (real snapshotter, content store, applier)', () => {
  it('imports a directory and unpacks it into a snapshot identical to the source', async () => {
    expect(existsSync(cli), `${cli} is missing: run \`make build\` first`).toBe(true);
    const result = await importRootfs(engine, rootfs, 'busybox:latest');
    expect(result.record.name).toBe('docker.io/library/busybox:latest');
    const info = await inspectImage(engine, 'busybox');
    expect(info.RootFS.Layers).toEqual([result.diffID]);
    expect(info.Snapshot).toBe(result.snapshot);
    await engine.snapshotter.view('check', result.snapshot);
    await withReadonlyTempMount(await engine.snapshotter.mounts('check'), async (dir) => {
      expect(readFileSync(join(dir, 'bin/busybox')).equals(readFileSync(join(rootfs, 'bin/busybox')))).toBe(
        true,
      );
      expect(readlinkSync(join(dir, 'bin/sh'))).toBe('busybox');
      expect(statSync(join(dir, 'tmp')).mode & 0o7777).toBe(0o1777);
      expect(readFileSync(join(dir, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
    });
    await engine.snapshotter.remove('check');
  });

  it.each([['rootfs.tar'], ['rootfs.tar.gz'], ['rootfs.tar.zst']])(
    'imports %s to the same layer',
    async (file) => {
      const r = run(['image', 'import', join(work, file), `bb:${file.replace(/\./g, '-')}`]);
      expect(r.stderr).toMatch(/imported bb:/);
      expect(r.status).toBe(0);
      // Progress (plain, as stderr is no terminal): one step, the bytes read of the file's size, the unpacking.
      const path = join(work, file);
      const size = formatBytes(statSync(path).size);
      expect(r.stderr).toContain(`#1 importing ${path} as bb:`);
      expect(r.stderr).toMatch(new RegExp(`#1 importing ${path} ${size} / ${size}( [0-9.]+s)? done\n`));
      expect(r.stderr).toMatch(/#1 extracting sha256:[0-9a-f]{64}( [0-9.]+s)? done\n#1 DONE [0-9.]+s\n/);
      const plain = await inspectImage(engine, 'bb:rootfs-tar').catch(() => undefined);
      const info = await inspectImage(engine, `bb:${file.replace(/\./g, '-')}`);
      if (plain) expect(info.RootFS.Layers).toEqual(plain.RootFS.Layers);
    },
  );

  it('reports the bytes it reads and the unpacking as status lines', async () => {
    const events = new MemoryProgressWriter();
    const path = join(work, 'rootfs.tar.gz');
    const result = await importRootfs(engine, path, 'progress:1', { progress: events });
    const reads = events.ofType('progress').filter((e) => e.id === `importing ${path}`);
    expect(reads.at(-1)).toMatchObject({ current: statSync(path).size, total: statSync(path).size });
    expect(reads.at(-1)?.completed).toBeTypeOf('number');
    const extracting = events.ofType('progress').filter((e) => e.id === `extracting ${result.layer.digest}`);
    expect(extracting.map((e) => e.completed !== undefined)).toEqual([false, true]);
    await engine.images.delete('progress:1'); // the prune test below counts what images reference
  });

  it('imports from standard input and lists, inspects and removes images', () => {
    const r = run(['image', 'import', '-', 'stdin:1'], readFileSync(join(work, 'rootfs.tar.gz')));
    expect(r.status).toBe(0);
    const ls = run(['image', 'ls']);
    expect(ls.stdout).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/m);
    expect(ls.stdout).toMatch(/^busybox\s+latest\s+[0-9a-f]{12}\s/m);
    expect(ls.stdout).toMatch(/^stdin\s+1\s/m);
    const inspect = JSON.parse(run(['image', 'inspect', 'stdin:1']).stdout) as { RepoTags: string[] }[];
    expect(inspect[0]?.RepoTags).toEqual(['stdin:1']);
    expect(run(['image', 'rm', 'stdin:1']).stdout).toBe('Untagged: stdin:1\n');
    const missing = run(['image', 'inspect', 'stdin:1']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND: No such image: stdin:1/);
  });

  it('prunes what no image references, and fsck finds the root clean', async () => {
    for (const name of ['bb:rootfs-tar', 'bb:rootfs-tar-gz', 'bb:rootfs-tar-zst'])
      await engine.images.delete(name);
    const removed = await gc(engine);
    expect(removed.snapshots).toBe(1);
    expect(removed.blobs).toBeGreaterThanOrEqual(2);
    const report = await fsck(engine);
    expect(report.problems).toEqual([]);
    expect(report.images).toBe(1);
    const du = JSON.parse(run(['du', '--format', 'json']).stdout) as Record<
      string,
      { count: number; reclaimable: number }
    >;
    expect(du.images?.count).toBe(1);
    expect(du.snapshots?.reclaimable).toBe(0);
  });

  it('survives imports killed at 50 random moments', async () => {
    const rand = prng(4817);
    const tarball = join(work, 'rootfs.tar.gz');
    for (let i = 0; i < 50; i++) {
      const child = spawn('node', [cli, '--root', root, 'image', 'import', tarball, `killed:${i}`], {
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.once('exit', r));
      const delay = 40 + Math.floor(rand() * 400);
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;
      const check = run(['debug', 'fsck']);
      expect(check.stdout, `after a kill at ${delay} ms`).toMatch(/no problems/);
      expect(check.status).toBe(0);
    }
    const next = run(['image', 'import', join(work, 'rootfs.tar'), 'after:kills']);
    expect(next.status).toBe(0);
    expect(run(['debug', 'fsck']).status).toBe(0);
    expect(execFileSync('sh', ['-c', 'mount | grep -c tsbuild-import || true']).toString().trim()).toBe('0');
  }, 180_000);
});
