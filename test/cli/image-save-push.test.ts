/**
 * `tsbuild image save` and `tsbuild image push` end to end with bin/tsbuild on a temp root holding a
 * built image with a lazy layer: the archive to a file and to a piped stdout (the same bytes), read by
 * skopeo; --format oci; refusals with a non-zero exit; push to docker-registry on 127.0.0.1 with
 * docker's lines, a second push finding every layer, skopeo reading the pushed digest back.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';
import { serveRegistry } from '../helpers/registry-serve.js';
import type { ServedRegistry } from '../helpers/registry-serve.js';
import { exportFixture } from '../engine/image-export-fixture.js';

const ready =
  canRunSuite('image save and push (CLI)', { root: true }) &&
  hasCommand('docker-registry') &&
  hasCommand('skopeo');

const bin = resolve(repoRoot, 'bin/tsbuild');
let work = '';
let root = '';
let reg: ServedRegistry;

function tsbuild(args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(bin, ['--root', root, ...args], {
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
    maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

function skopeo(args: string[]): { Digest: string; Layers: string[] } {
  return JSON.parse(execFileSync('skopeo', args, { encoding: 'utf8' })) as {
    Digest: string;
    Layers: string[];
  };
}

describe.skipIf(!ready)('tsbuild image save | push', () => {
  beforeAll(async () => {
    reg = await serveRegistry();
    const fx = await exportFixture('tsbuild-cli-export-', `${reg.host}/base:1`, [`${reg.host}/app:1`]);
    await fx.engine.close();
    work = fx.work;
    root = join(work, 'root');
  }, 60_000);

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await reg?.stop();
  });

  it('saves a docker archive to a file and the same bytes to a piped stdout; skopeo reads it', () => {
    const file = join(work, 'app.tar');
    const saved = tsbuild(['image', 'save', '--progress', 'quiet', '-o', file, `${reg.host}/app:1`]);
    expect(saved.stderr).toBe('');
    expect(saved.status).toBe(0);
    const piped = tsbuild(['image', 'save', '--progress', 'quiet', `${reg.host}/app:1`]);
    expect(piped.status).toBe(0);
    expect(piped.stdout.equals(readFileSync(file))).toBe(true);
    expect(skopeo(['inspect', `docker-archive:${file}`]).Layers).toHaveLength(2);
  });

  it('saves an OCI layout tar with --format oci; progress goes to stderr', () => {
    const file = join(work, 'app.oci.tar');
    const r = tsbuild([
      'image',
      'save',
      '--format',
      'oci',
      '--progress',
      'plain',
      '-o',
      file,
      `${reg.host}/app:1`,
    ]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/exporting .*app:1 to an OCI archive/);
    expect(skopeo(['inspect', `oci-archive:${file}`]).Layers).toHaveLength(2);
  });

  it('refuses an unknown format and an unknown image with a non-zero exit', () => {
    const bad = tsbuild(['image', 'save', '--format', 'tar', '-o', join(work, 'x.tar'), `${reg.host}/app:1`]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--format "tar"/);
    const missing = tsbuild(['image', 'save', '-o', join(work, 'y.tar'), 'nope:1']);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/nope/);
  });

  it("pushes with docker's lines; a second push finds every layer; skopeo reads the digest back", () => {
    const first = tsbuild(['image', 'push', '--progress', 'quiet', `${reg.host}/app:1`]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const lines = first.stdout.toString('utf8').trimEnd().split('\n');
    expect(lines[0]).toBe(`The push refers to repository [${reg.host}/app]`);
    expect(lines.slice(1, 3)).toEqual([
      expect.stringMatching(/^[0-9a-f]{12}: Pushed$/),
      expect.stringMatching(/^[0-9a-f]{12}: Pushed$/),
    ]);
    const last = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/.exec(lines[3] ?? '');
    expect(last, lines.join('\n')).not.toBeNull();
    expect(skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/app:1`]).Digest).toBe(last?.[1]);
    // The pushed manifest (its layers made into blobs) is where the registry holds the image.
    const inspect = JSON.parse(
      tsbuild(['image', 'inspect', `${reg.host}/app:1`]).stdout.toString('utf8'),
    ) as {
      RepoDigests: string[];
    }[];
    expect(inspect[0]?.RepoDigests).toEqual([`${reg.host}/app@${last?.[1] ?? ''}`]);
    const ls = tsbuild(['image', 'ls', '--digests']).stdout.toString('utf8');
    expect(ls).toMatch(new RegExp(`${reg.host}/app\\s+1\\s+${last?.[1] ?? ''}`));
    const again = tsbuild(['image', 'push', '--progress', 'quiet', `${reg.host}/app:1`]);
    expect(again.status).toBe(0);
    expect(again.stdout.toString('utf8')).toMatch(
      /: Layer already exists\n[0-9a-f]{12}: Layer already exists\n1: digest/,
    );
  });

  it.skipIf(!hasCommand('script'))('refuses to write the archive to a terminal, as docker does', () => {
    const cmd = `TSBUILD_NO_DAEMON=1 ${bin} --root ${root} image save ${reg.host}/app:1`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/refusing to write an image archive to a terminal/);
  });

  it('--help shows examples for both verbs', () => {
    expect(tsbuild(['image', 'save', '--help']).stdout.toString('utf8')).toMatch(
      /tsbuild image save -o app.tar app:1/,
    );
    expect(tsbuild(['image', 'push', '--help']).stdout.toString('utf8')).toMatch(/--insecure-registry/);
  });
});
