/**
 * `tsbuild image load` with archives the real tools write: skopeo's docker-archive and oci-archive of a
 * busybox OCI layout made by umoci, a docker archive with gzip layers (as `docker load` accepts), an
 * untagged one, and an OCI index of two platforms; each loaded into a fresh root, then `tsbuild run`
 * prints the command's output. Refused: a tampered blob, a member that leaves the archive, a truncated
 * archive, a manifest naming a link; each leaves no image behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../index.js';
import { hostPlatform, sha256Digest } from '../../oci/index.js';
import { makeBusyboxRootfs } from '../helpers/engine.js';
import { canRunSuite } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';

const ready = canRunSuite('image load (skopeo, umoci, runc)', {
  root: true,
  runc: true,
  tools: ['skopeo', 'umoci'],
});

const cli = resolve(repoRoot, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-load-'));
const layout = join(work, 'layout');
let roots = 0;

function freshRoot(): string {
  return join(work, `root-${roots++}`);
}

function tsbuild(root: string, args: string[], input?: Buffer) {
  const r = spawnSync('node', [cli, '--root', root, ...args], { input, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sh(script: string): void {
  execFileSync('sh', ['-ec', script], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Unpacks `archive` into a new directory, lets `edit` change it, and tars it again as `out`. */
function rewrite(archive: string, out: string, edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(work, 'x-'));
  execFileSync('tar', ['-xf', join(work, archive), '-C', dir]);
  edit(dir);
  execFileSync('tar', ['-cf', join(work, out), '-C', dir, '.']);
  return join(work, out);
}

/** skopeo's docker archive with its layers gzipped (docker load takes those), made once. */
function gzipArchive(): string {
  const path = join(work, 'gzip.tar');
  if (existsSync(path)) return path;
  return rewrite('docker.tar', 'gzip.tar', (dir) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    for (const layer of manifest[0].Layers as string[]) {
      execFileSync('gzip', ['-n', join(dir, layer)]);
      execFileSync('mv', [join(dir, `${layer}.gz`), join(dir, layer)]);
    }
  });
}

function expectLoadRefused(archive: string, message: RegExp): void {
  const root = freshRoot();
  const r = tsbuild(root, ['image', 'load', '-q', '-i', archive]);
  expect(r.status, r.stderr).not.toBe(0);
  expect(r.stderr).toMatch(message);
  expect(tsbuild(root, ['image', 'ls', '-q']).stdout).toBe('');
}

beforeAll(() => {
  if (!ready) return;
  const rootfs = join(work, 'rootfs');
  makeBusyboxRootfs(rootfs);
  sh(`umoci init --layout ${layout}
umoci new --image ${layout}:latest
umoci unpack --image ${layout}:latest b1
cp -a ${rootfs}/. b1/rootfs
umoci repack --image ${layout}:latest b1
umoci config --image ${layout}:latest --config.cmd sh \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
skopeo copy -q oci:${layout}:latest docker-archive:docker.tar:busybox:docker
skopeo copy -q oci:${layout}:latest oci-archive:oci.tar:busybox:oci
skopeo copy -q oci:${layout}:latest oci-archive:bare.tar:latest`);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!ready)('tsbuild image load', () => {
  it.each([
    ['docker.tar', 'busybox:docker'],
    ['oci.tar', 'busybox:oci'],
  ])('loads skopeo’s %s and runs it', (archive, name) => {
    const root = freshRoot();
    const r = tsbuild(root, ['image', 'load', '-i', join(work, archive)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Loaded image: ${name}\n`);
    const run = tsbuild(root, ['run', name, 'echo', `hello from ${archive}`]);
    expect(run.stdout).toBe(`hello from ${archive}\n`);
    expect(tsbuild(root, ['debug', 'fsck']).status).toBe(0);
  });

  it('reads stdin, and loading the same archive again changes nothing', () => {
    const root = freshRoot();
    const bytes = readFileSync(join(work, 'docker.tar'));
    expect(tsbuild(root, ['image', 'load', '-q'], bytes).stdout).toBe('Loaded image: busybox:docker\n');
    expect(tsbuild(root, ['image', 'load', '-q'], bytes).stdout).toBe('Loaded image: busybox:docker\n');
    const inspect = JSON.parse(tsbuild(root, ['image', 'inspect', 'busybox:docker']).stdout);
    expect(inspect[0].Layers).toHaveLength(1);
  });

  it.each([['gzip'], ['zstd']])('reads a %s-compressed archive, and refuses it truncated', (tool) => {
    const whole = execFileSync(tool, ['-c', join(work, 'docker.tar')], { maxBuffer: 1 << 30 });
    const root = freshRoot();
    expect(tsbuild(root, ['image', 'load', '-q'], whole).stdout).toBe('Loaded image: busybox:docker\n');
    const truncated = join(work, `truncated.tar.${tool}`);
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    expectLoadRefused(truncated, /unexpected end of file|decompression failed/);
  });

  it('loads gzip layers of a docker archive (their diffIDs computed uncompressed)', () => {
    const archive = gzipArchive();
    const root = freshRoot();
    expect(tsbuild(root, ['image', 'load', '-q', '-i', archive]).stdout).toBe(
      'Loaded image: busybox:docker\n',
    );
    const inspect = JSON.parse(tsbuild(root, ['image', 'inspect', 'busybox:docker']).stdout);
    expect(inspect[0].Layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(tsbuild(root, ['run', 'busybox:docker', 'echo', 'gz']).stdout).toBe('gz\n');
  });

  it('tells a gzip layer by its first bytes when they come one at a time (Node API, odd pieces)', async () => {
    const archive = readFileSync(gzipArchive());
    // Pieces of 1 and 511 bytes: every member's content starts with a 1-byte piece.
    const pieces = function* (): Generator<Buffer> {
      for (let o = 0; o < archive.length; o += 512) {
        yield archive.subarray(o, o + 1);
        if (o + 1 < archive.length) yield archive.subarray(o + 1, o + 512);
      }
    };
    const engine = await createEngine({ root: freshRoot() });
    try {
      const result = await engine.images.load(Readable.from(pieces()));
      const info = await engine.images.inspect('busybox:docker');
      expect(info.Digest).toBe(result.images[0]?.manifest.digest);
      expect(info.Layers[0]?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    } finally {
      await engine.close();
    }
  });

  it('names an image only from a full reference: a bare ref.name tag gives the image ID', () => {
    const root = freshRoot();
    const r = tsbuild(root, ['image', 'load', '-q', '-i', join(work, 'bare.tar')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Loaded image ID: sha256:[a-f0-9]{64}\n$/);
    expect(r.stderr).toMatch(/names no image/);
  });

  it('picks this platform’s manifest from an index of two platforms (Node API, a stream)', async () => {
    const archive = rewrite('oci.tar', 'index.tar', (dir) => {
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      const host = index.manifests[0];
      const other = hostPlatform().architecture === 'arm64' ? 'amd64' : 'arm64';
      const child = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          // Another platform's manifest is not in the archive: choosing it would fail.
          { ...host, digest: `sha256:${'0'.repeat(64)}`, platform: { os: 'linux', architecture: other } },
          { ...host, annotations: undefined, platform: hostPlatform() },
        ],
      };
      const bytes = Buffer.from(JSON.stringify(child));
      const digest = sha256Digest(bytes);
      writeFileSync(join(dir, 'blobs/sha256', digest.slice(7)), bytes);
      index.manifests = [
        {
          mediaType: child.mediaType,
          digest,
          size: bytes.length,
          annotations: { 'io.containerd.image.name': 'docker.io/library/busybox:multi' },
        },
      ];
      writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    });
    const engine = await createEngine({ root: freshRoot() });
    try {
      const events: string[] = [];
      const result = await engine.images.load(createReadStream(archive), {
        onProgress: (e) => events.push(e.type),
      });
      expect(result.images.map((i) => i.names)).toEqual([['docker.io/library/busybox:multi']]);
      expect(events).toContain('progress');
      const info = await engine.images.inspect('busybox:multi');
      expect(info.Digest).toBe(result.images[0]?.manifest.digest);
    } finally {
      await engine.close();
    }
  });

  it('an abort while the archive streams ends the load with nothing named and no ingest left', async () => {
    const root = freshRoot();
    const bytes = readFileSync(join(work, 'oci.tar'));
    const stalled = new Readable({ read() {} });
    stalled.push(bytes.subarray(0, 200_000));
    const controller = new AbortController();
    const engine = await createEngine({ root });
    try {
      const load = engine.images.load(stalled, { signal: controller.signal });
      setTimeout(() => controller.abort(), 300);
      await expect(load).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await engine.images.list()).toEqual([]);
    } finally {
      await engine.close();
    }
    expect(readdirSync(join(root, 'content', 'ingest'))).toEqual([]);
  });

  it('refuses a tampered blob of an OCI archive', () => {
    const archive = rewrite('oci.tar', 'tampered-oci.tar', (dir) => {
      const blobs = join(dir, 'blobs/sha256');
      const largest = readdirSync(blobs).sort(
        (a, b) => readFileSync(join(blobs, b)).length - readFileSync(join(blobs, a)).length,
      )[0] as string;
      const bytes = readFileSync(join(blobs, largest));
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 100) ^ 0xff, bytes.length - 100);
      writeFileSync(join(blobs, largest), bytes);
    });
    expectLoadRefused(archive, /blobs\/sha256\/[a-f0-9]{64}: unexpected commit digest/);
  });

  it('refuses a tampered layer of a docker archive (its diffID does not match the config)', () => {
    const archive = rewrite('docker.tar', 'tampered-docker.tar', (dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      const layer = join(dir, manifest[0].Layers[0] as string);
      const bytes = readFileSync(layer);
      bytes.writeUInt8(bytes.readUInt8(2000) ^ 0xff, 2000);
      writeFileSync(layer, bytes);
    });
    expectLoadRefused(archive, /has diffID sha256:[a-f0-9]{64}, the config says/);
  });

  it('refuses a member that leaves the archive or has an absolute name, and writes nothing there', () => {
    for (const [n, name, message] of [
      [0, '../evil-target', /leaves the archive/],
      [1, `${work}/evil-target`, /absolute name/],
    ] as const) {
      const archive = join(work, `evil-${n}.tar`);
      // GNU tar strips `../` and `/` when it writes: Python's tarfile writes the names as given.
      const script = [
        'import io, sys, tarfile',
        'with tarfile.open(sys.argv[1], "w") as t:',
        '    data = b"pwned"',
        '    info = tarfile.TarInfo(sys.argv[2]); info.size = len(data); t.addfile(info, io.BytesIO(data))',
      ].join('\n');
      execFileSync('python3', ['-c', script, archive, name]);
      expectLoadRefused(archive, message);
      expect(() => readFileSync(join(work, 'evil-target'))).toThrow();
    }
  });

  it('refuses a manifest that names a link (skopeo’s legacy <id>/layer.tar symlink)', () => {
    const archive = rewrite('docker.tar', 'link.tar', (dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      const link = readdirSync(dir).find((n) => /^[a-f0-9]{64}$/.test(n)) as string;
      manifest[0].Layers = [`${link}/layer.tar`];
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    });
    expectLoadRefused(archive, /is not a regular file in the archive/);
  });

  it('refuses a truncated archive', () => {
    const bytes = readFileSync(join(work, 'oci.tar'));
    for (const [n, keep] of [
      [0, Math.floor(bytes.length / 2)],
      [1, bytes.length - 1024],
    ] as const) {
      const archive = join(work, `truncated-${n}.tar`);
      writeFileSync(archive, bytes.subarray(0, keep));
      expectLoadRefused(archive, /truncated|unexpected end/);
    }
  });
});
