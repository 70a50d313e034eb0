/**
 * `tsbuild image pull` end to end with bin/tsbuild: a built image (busybox below, a lazy layer on top)
 * pushed to docker-registry on 127.0.0.1, then pulled into fresh roots by tag and by digest with docker's
 * lines (Pull complete, Already exists, Digest, Status, the reference last; -q the reference only);
 * the pulled image runs and carries its RepoDigests; a platform it is not for and an unknown tag are
 * refused with a non-zero exit; engine.images.pull and images.prune through the Node API.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunSuite, hasCommand } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';
import { serveRegistry } from '../helpers/registry-serve.js';
import type { ServedRegistry } from '../helpers/registry-serve.js';
import { exportFixture } from '../engine/image-export-fixture.js';
import { createEngine } from '../../engine/index.js';
import type { EngineProgressEvent } from '../../engine/index.js';

const ready = canRunSuite('image pull (CLI)', { root: true }) && hasCommand('docker-registry');

const bin = resolve(repoRoot, 'bin/tsbuild');
let work = '';
let reg: ServedRegistry;
let pushedDigest = '';

function tsbuild(root: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, ['--root', join(work, root), ...args], {
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!ready)('tsbuild image pull', () => {
  beforeAll(async () => {
    reg = await serveRegistry();
    const fx = await exportFixture('tsbuild-cli-pull-', `${reg.host}/pull-base:1`, [`${reg.host}/pull:1`]);
    await fx.engine.close();
    work = fx.work;
    const pushed = tsbuild('root', ['image', 'push', '--progress', 'quiet', `${reg.host}/pull:1`]);
    expect(pushed.status, pushed.stderr).toBe(0);
    pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1] ?? '';
  }, 60_000);

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await reg?.stop();
  });

  it("pulls by tag into a fresh root with docker's lines; the image runs and has its RepoDigests", () => {
    const r = tsbuild('fresh', ['image', 'pull', '--progress', 'quiet', `${reg.host}/pull:1`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      '1: Pulling from pull',
      expect.stringMatching(/^[0-9a-f]{12}: Pull complete$/),
      expect.stringMatching(/^[0-9a-f]{12}: Pull complete$/),
      `Digest: ${pushedDigest}`,
      `Status: Downloaded newer image for ${reg.host}/pull:1`,
      `${reg.host}/pull:1`,
    ]);
    const run = tsbuild('fresh', ['run', `${reg.host}/pull:1`]);
    expect(run.stdout).toBe('hello from the export suite\n');
    const inspect = JSON.parse(tsbuild('fresh', ['image', 'inspect', `${reg.host}/pull:1`]).stdout) as {
      Digest: string;
      RepoDigests: string[];
    }[];
    expect(inspect[0]?.Digest).toBe(pushedDigest);
    expect(inspect[0]?.RepoDigests).toEqual([`${reg.host}/pull@${pushedDigest}`]);
  }, 60_000);

  it('a second pull is up to date and lists no layers', () => {
    const r = tsbuild('fresh', ['image', 'pull', '--progress', 'quiet', `${reg.host}/pull:1`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `1: Pulling from pull\nDigest: ${pushedDigest}\n` +
        `Status: Image is up to date for ${reg.host}/pull:1\n${reg.host}/pull:1\n`,
    );
  });

  it('pulls by digest (-q: the reference only); the tag then finds every layer there', () => {
    const byDigest = `${reg.host}/pull@${pushedDigest}`;
    const q = tsbuild('other', ['image', 'pull', '-q', byDigest]);
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toBe(`${byDigest}\n`);
    // A new name for an image whose layers are unpacked: the name is new, the layers are not.
    const tag = tsbuild('other', ['image', 'pull', '--progress', 'quiet', `${reg.host}/pull:1`]);
    expect(tag.status, tag.stderr).toBe(0);
    expect(tag.stdout.split('\n').slice(1, 4)).toEqual([
      expect.stringMatching(/^[0-9a-f]{12}: Already exists$/),
      expect.stringMatching(/^[0-9a-f]{12}: Already exists$/),
      `Digest: ${pushedDigest}`,
    ]);
    expect(tag.stdout).toMatch(`Status: Downloaded newer image for ${reg.host}/pull:1\n`);
  });

  it('refuses a platform the image is not for, and a tag the registry does not have', () => {
    const arm = tsbuild('other', ['image', 'pull', '--platform', 'linux/arm64', `${reg.host}/pull:1`]);
    expect(arm.status).not.toBe(0);
    expect(arm.stderr).toMatch(/does not match the specified platform: wanted linux\/arm64/);
    // No tag: docker's default, said first; the registry has no `latest`.
    const missing = tsbuild('other', ['image', 'pull', '--progress', 'quiet', `${reg.host}/pull`]);
    expect(missing.status).not.toBe(0);
    expect(missing.stdout).toBe('Using default tag: latest\nlatest: Pulling from pull\n');
    expect(missing.stderr).toMatch(/manifests latest: HTTP 404/);
  });

  it('engine.images.pull reports progress under one vertex, honours its signal; a moved name leaves the pulled image to images.prune', async () => {
    const engine = await createEngine({ root: join(work, 'api') });
    try {
      const events: EngineProgressEvent[] = [];
      const result = await engine.images.pull(`${reg.host}/pull:1`, { onProgress: (e) => events.push(e) });
      expect(result).toMatchObject({ name: `${reg.host}/pull:1`, digest: pushedDigest, status: 'updated' });
      expect(result.layers.map((l) => l.result)).toEqual(['pulled', 'pulled']);
      const vertex = `pull:${reg.host}/pull:1`;
      expect(events.find((e) => e.type === 'vertex.done')).toMatchObject({ digest: vertex });
      expect(
        events.filter((e) => e.type === 'progress').every((e) => 'digest' in e && e.digest === vertex),
      ).toBe(true);
      const aborted = AbortSignal.abort();
      await expect(engine.images.pull(`${reg.host}/pull:1`, { signal: aborted })).rejects.toMatchObject({
        code: 'CANCELLED',
      });
      // The name moves to another image: the pulled one is dangling; prune removes it and GC its layers.
      const pulledId = (await engine.images.inspect(`${reg.host}/pull:1`)).Id;
      await engine.images.import(join(work, 'rootfs'), 'other:1');
      await engine.images.tag('other:1', `${reg.host}/pull:1`);
      expect((await engine.images.list()).map((i) => i.Name)).toContain('<none>:<none>');
      const pruned = await engine.images.prune();
      expect(pruned.deleted).toEqual([pulledId]);
      expect(pruned.reclaimed).toBeGreaterThan(0);
      const again = await engine.images.pull(`${reg.host}/pull:1`);
      expect(again.status).toBe('updated');
      // Its busybox layer is other:1's (the same rootfs, imported): only the top layer comes again.
      expect(again.layers.map((l) => l.result)).toEqual(['exists', 'pulled']);
    } finally {
      await engine.close();
    }
  }, 60_000);
});
