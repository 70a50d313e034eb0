/**
 * A disk that fills during an export (issue 12, acceptance 5): `tsbuild image save -o` and
 * `tsbuild build -o type=oci|docker,dest=` onto a 256 KiB tmpfs, with an image whose layer is bigger.
 * The command exits non-zero with a disk-full error that names the file system's free space, never
 * INTERNAL, and leaves nothing behind at the destination: no archive, no temp file, no directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunSuite } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';
import { exportFixture } from '../engine/image-export-fixture.js';

const ready = canRunSuite('export onto a full disk (CLI)', { root: true });

const bin = resolve(repoRoot, 'bin/tsbuild');
let work = '';
let root = '';
let small = '';

function tsbuild(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, ['--root', root, ...args], {
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Non-zero, LIMIT_EXCEEDED, and the hint names the small file system's free space, not the root's. */
function expectDiskFull(r: { status: number | null; stderr: string }): void {
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/error: LIMIT_EXCEEDED: .*(ENOSPC|no space left)/i);
  expect(r.stderr).toContain(`hint: no space left on ${small}: `);
  expect(r.stderr).not.toContain(`on ${root}:`);
  expect(r.stderr).not.toMatch(/INTERNAL/);
}

describe.skipIf(!ready)('an export onto a full disk', () => {
  beforeAll(async () => {
    const fx = await exportFixture('tsbuild-cli-full-', 'base:1', ['app:1']);
    await fx.engine.close();
    work = fx.work;
    root = join(work, 'root');
    small = join(work, 'small');
    mkdirSync(small);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small]);
    expect(mounted.status).toBe(0);
  }, 60_000);

  afterAll(() => {
    if (small) spawnSync('umount', [small]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('image save -o: a disk-full error and nothing at dest', () => {
    for (const format of ['docker', 'oci']) {
      const dest = join(small, `app-${format}.tar`);
      const r = tsbuild(['image', 'save', '--progress', 'plain', '--format', format, '-o', dest, 'app:1']);
      expectDiskFull(r);
      expect(readdirSync(small)).toEqual([]);
    }
  });

  it('build -o type=docker|oci,dest=…: a disk-full error and nothing at dest', () => {
    const ctx = join(work, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM base:1\nCOPY big.bin /big.bin\n');
    // Random bytes: compressed, the layer is still ~1 MiB, four times the file system.
    writeFileSync(
      join(ctx, 'big.bin'),
      Buffer.from(Array.from({ length: 1 << 20 }, () => (Math.random() * 256) | 0)),
    );
    for (const output of [
      `type=docker,dest=${join(small, 'b.tar')}`,
      `type=oci,dest=${join(small, 'b.oci.tar')}`,
      `type=oci,tar=false,dest=${join(small, 'layout')}`,
    ]) {
      const r = tsbuild(['build', '--progress', 'plain', '-o', output, ctx]);
      expectDiskFull(r);
      expect(readdirSync(small)).toEqual([]);
    }
  }, 120_000);
});
