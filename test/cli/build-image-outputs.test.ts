/**
 * `tsbuild build` with the image outputs that leave the store, end to end with bin/tsbuild on a temp
 * root (a FROM scratch build: no base image, no container): `-o type=oci,dest=FILE` (zstd when asked),
 * `-o type=oci,tar=false` (a directory), `-o type=docker,dest=-` to a pipe, `--push` and
 * `-o type=registry` to docker-registry on 127.0.0.1; skopeo reads each; an archive's image is not in the
 * store; a refused attribute exits non-zero before anything is built or written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';
import { serveRegistry } from '../helpers/registry-serve.js';
import type { ServedRegistry } from '../helpers/registry-serve.js';

const ready =
  canRunSuite('build image outputs (CLI)', { root: true }) &&
  hasCommand('docker-registry') &&
  hasCommand('skopeo');

const bin = resolve(repoRoot, 'bin/tsbuild');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-build-outputs-'));
const root = join(work, 'root');
const context = join(work, 'ctx');
let reg: ServedRegistry;

function build(args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(bin, ['--root', root, 'build', '--progress', 'plain', ...args, context], {
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
    maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

interface Inspected {
  Digest: string;
  Layers: string[];
}

function skopeo(...args: string[]): Inspected {
  return JSON.parse(execFileSync('skopeo', ['inspect', ...args], { encoding: 'utf8' })) as Inspected;
}

/** The first layer's media type, from the manifest as stored (this skopeo has no LayersData). */
function layerType(transport: string): string | undefined {
  const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', transport], { encoding: 'utf8' })) as {
    layers: { mediaType: string }[];
  };
  return raw.layers[0]?.mediaType;
}

function storeNames(): string {
  return spawnSync(bin, ['--root', root, 'image', 'ls'], { encoding: 'utf8' }).stdout;
}

describe.skipIf(!ready)('tsbuild build -o type=oci|docker|registry, --push', () => {
  beforeAll(async () => {
    mkdirSync(context);
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /\nCMD ["/hello"]\n');
    writeFileSync(join(context, 'hello.txt'), 'hello from the outputs suite\n');
    reg = await serveRegistry();
  }, 30_000);

  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await reg?.stop();
  });

  it('-o type=oci,dest=FILE writes an OCI archive skopeo reads; its image is not kept in the store', () => {
    const file = join(work, 'out.oci.tar');
    const meta = join(work, 'oci-meta.json');
    const r = build(['-t', 'outputs-oci:1', '-o', `type=oci,dest=${file}`, '--metadata-file', meta]);
    expect(r.stderr).toMatch(/exporting to an OCI archive/);
    expect(r.status).toBe(0);
    const info = skopeo(`oci-archive:${file}`);
    // buildx's keys: the manifest written (digest and descriptor), its config, the name given.
    const raw = execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${file}`]);
    const config = (JSON.parse(raw.toString('utf8')) as { config: { digest: string } }).config.digest;
    expect(JSON.parse(readFileSync(meta, 'utf8'))).toEqual({
      'containerimage.config.digest': config,
      'containerimage.descriptor': {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: info.Digest,
        size: raw.length,
      },
      'containerimage.digest': info.Digest,
      'image.name': 'docker.io/library/outputs-oci:1',
    });
    expect(info.Layers).toHaveLength(1);
    expect(layerType(`oci-archive:${file}`)).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(storeNames()).not.toMatch(/outputs-oci/);
  });

  it('compression=zstd; tar=false writes an OCI layout directory', () => {
    const dir = join(work, 'layout');
    const r = build(['-o', `type=oci,dest=${dir},tar=false,compression=zstd`]);
    expect(r.status, r.stderr).toBe(0);
    expect(skopeo(`oci:${dir}`).Layers).toHaveLength(1);
    expect(layerType(`oci:${dir}`)).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
  });

  it('-o type=docker,dest=- writes a docker archive to the pipe', () => {
    const r = build(['-t', 'outputs-docker:1', '-o', 'type=docker,dest=-']);
    expect(r.status, r.stderr).toBe(0);
    const file = join(work, 'piped.tar');
    writeFileSync(file, r.stdout);
    expect(skopeo(`docker-archive:${file}:outputs-docker:1`).Layers).toHaveLength(1);
  });

  it('--push and -o type=registry push to the registry; --metadata-file has the pushed digest', () => {
    const meta = join(work, 'meta.json');
    const r = build(['-t', `${reg.host}/outputs:1`, '--push', '--metadata-file', meta]);
    expect(r.stderr).toMatch(new RegExp(`pushing ${reg.host}/outputs:1`));
    expect(r.status).toBe(0);
    const pushed = skopeo('--tls-verify=false', `docker://${reg.host}/outputs:1`);
    expect(execFileSync('cat', [meta], { encoding: 'utf8' })).toContain(pushed.Digest);
    expect(storeNames()).toMatch(/outputs/);
    const inspect = spawnSync(bin, ['--root', root, 'image', 'inspect', `${reg.host}/outputs:1`], {
      encoding: 'utf8',
    });
    expect((JSON.parse(inspect.stdout) as { RepoDigests: string[] }[])[0]?.RepoDigests).toEqual([
      `${reg.host}/outputs@${pushed.Digest}`,
    ]);
    const again = build(['-o', `type=registry,name=${reg.host}/outputs:2`]);
    expect(again.status, again.stderr).toBe(0);
    expect(skopeo('--tls-verify=false', `docker://${reg.host}/outputs:2`).Digest).toBe(pushed.Digest);
  });

  it('oci-mediatypes=false writes and pushes docker media types (the same blobs), skopeo reads them raw', () => {
    const file = join(work, 'docker-types.oci.tar');
    const r = build(['-o', `type=oci,dest=${file},oci-mediatypes=false`]);
    expect(r.status, r.stderr).toBe(0);
    const raw = (...args: string[]) =>
      JSON.parse(execFileSync('skopeo', ['inspect', '--raw', ...args], { encoding: 'utf8' })) as {
        mediaType: string;
        config: { mediaType: string };
        layers: { mediaType: string }[];
        annotations?: Record<string, string>;
      };
    const docker = {
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: expect.objectContaining({ mediaType: 'application/vnd.docker.container.image.v1+json' }),
      layers: [expect.objectContaining({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' })],
    };
    expect(raw(`oci-archive:${file}`)).toMatchObject(docker);
    const ref = `${reg.host}/docker-types:1`;
    const pushed = build(['-o', `type=registry,name=${ref},oci-mediatypes=false`]);
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(raw('--tls-verify=false', `docker://${ref}`)).toMatchObject(docker);
    expect(skopeo('--tls-verify=false', `docker://${ref}`).Layers).toHaveLength(1);
  });

  it('annotation.K=V, annotation-manifest.K=V and --annotation are set on the manifest, keys as given', () => {
    const file = join(work, 'annotated.oci.tar');
    const r = build([
      '-o',
      `type=oci,dest=${file},annotation.org.opencontainers.image.title=Hello,annotation-manifest.Mixed.Case=x`,
      '--annotation',
      'manifest:com.example.k=v=w',
      '--annotation',
      'com.example.plain=p',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const raw = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${file}`], { encoding: 'utf8' }),
    );
    expect((raw as { annotations: Record<string, string> }).annotations).toEqual({
      'org.opencontainers.image.title': 'Hello',
      'Mixed.Case': 'x',
      'com.example.k': 'v=w',
      'com.example.plain': 'p',
    });
  });

  it('--load puts the image in the store (alone, with -o type=docker, with --push); --help says so', () => {
    for (const [tag, extra] of [
      ['outputs-load:1', []],
      ['outputs-load:2', ['-o', 'type=docker']],
    ] as const) {
      const r = build(['--load', '-t', tag, ...extra]);
      expect(r.status, r.stderr).toBe(0);
      expect(storeNames()).toMatch(new RegExp(`outputs-load\\s+${tag.slice(-1)}`));
    }
    const pushed = build(['--load', '--push', '-t', `${reg.host}/outputs-load:3`]);
    expect(pushed.status, pushed.stderr).toBe(0);
    expect(storeNames()).toMatch(/outputs-load\s+3/);
    const help = spawnSync(bin, ['build', '--help'], { encoding: 'utf8' }).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--load .*the store is the runner's/);
  });

  it('refuses what it cannot do, naming it, before anything is built or written', () => {
    const file = join(work, 'refused.tar');
    const cases: [string[], RegExp][] = [
      [
        ['-o', `type=oci,dest=${file},annotation-index.a=b`],
        /annotation-index annotations are not supported/,
      ],
      [
        ['-o', `type=oci,dest=${file},annotation-manifest-descriptor.a=b`],
        /annotation-manifest-descriptor annotations are not supported/,
      ],
      [['-o', `type=oci,dest=${file}`, '--annotation', 'index:a=b'], /index annotations are not supported/],
      [
        ['-o', `type=local,dest=${join(work, 'ann')}`, '--annotation', 'a=b'],
        /type=local output has no manifest/,
      ],
      [
        ['-t', 'a', '-o', 'type=image,oci-mediatypes=false'],
        /oci-mediatypes=false applies to a push or an archive/,
      ],
      [['-t', 'a', '--annotation', 'a=b'], /annotations applies to a push or an archive/],
      [
        ['-o', `type=oci,dest=${file},oci-mediatypes=false,compression=zstd`],
        /compression=zstd needs oci-mediatypes=true/,
      ],
      [
        ['-o', `type=oci,dest=${file},oci-mediatypes=false,annotation.a=b`],
        /annotations need OCI media types/,
      ],
      [['-o', `type=tar,dest=${file},annotation.a=b`], /unknown attribute "annotation.a"/],
      [['-t', 'a', '-o', 'type=image,compression=zstd'], /compression applies to a push or an archive/],
      [['--push'], /a push needs a name/],
      [['--load', '-o', `type=local,dest=${join(work, 'loaded')}`], /--load cannot be used with --output/],
      [['--load', '-o', `type=oci,dest=${file}`], /--load cannot be used with --output/],
      [['-o', `type=oci,dest=${join(work, 'missing', 'x.tar')}`], /does not exist/],
    ];
    for (const [args, message] of cases) {
      const r = build(args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(file)).toBe(false);
  });
});
