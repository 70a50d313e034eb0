/**
 * Dangling images and `tsbuild image prune` end to end with bin/tsbuild on a temp root: a rebuild that
 * moves a tag leaves the old image as `<none> <none>` in `image ls`; `image prune` prints docker's lines (Deleted Images:, deleted: ID, Total reclaimed
 * space) and frees its snapshot and blobs; `-a` removes every image (untagged: lines); `-f` is accepted,
 * an unknown flag (`--filter`) refused; `tsbuild prune` removes dangling images too.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunSuite } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';

const ready = canRunSuite('image prune (CLI)', { root: true });

const bin = resolve(repoRoot, 'bin/tsbuild');
const work = mkdtempSync(join(tmpdir(), 'tsbuild-image-prune-'));
const root = join(work, 'root');
const context = join(work, 'ctx');

function tsbuild(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, ['--root', root, ...args], {
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Builds `tag` from a FROM scratch Dockerfile whose one file says `text`; returns the image ID. */
function build(tag: string, text: string): string {
  writeFileSync(join(context, 'hello.txt'), text);
  const r = tsbuild(['build', '--progress', 'quiet', '-t', tag, context]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

function snapshots(): number {
  const du = JSON.parse(tsbuild(['du', '--format', 'json']).stdout) as { snapshots: { count: number } };
  return du.snapshots.count;
}

describe.skipIf(!ready)('dangling images and tsbuild image prune', () => {
  beforeAll(() => {
    mkdirSync(context);
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /\n');
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('a moved tag leaves <none> <none>; image prune deletes it and frees its snapshot', () => {
    const first = build('prune-app:1', 'first\n');
    const second = build('prune-app:1', 'second, a little longer\n');
    expect(second).not.toBe(first);
    const ls = tsbuild(['image', 'ls']).stdout;
    expect(ls).toMatch(new RegExp(`^prune-app\\s+1\\s+${second.slice(7, 19)}\\s`, 'm'));
    expect(ls).toMatch(new RegExp(`^<none>\\s+<none>\\s+${first.slice(7, 19)}\\s`, 'm'));
    const before = snapshots();
    const pruned = tsbuild(['image', 'prune', '-f']);
    expect(pruned.status, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(
      new RegExp(`^Deleted Images:\\ndeleted: ${first}\\n\\nTotal reclaimed space: [1-9][0-9.]*k?B\\n$`),
    );
    expect(tsbuild(['image', 'ls']).stdout).not.toMatch(/<none>/);
    expect(snapshots()).toBe(before - 1);
    expect(tsbuild(['image', 'prune']).stdout).toBe('Total reclaimed space: 0B\n');
    // The named image is untouched.
    expect(tsbuild(['image', 'inspect', 'prune-app:1']).status).toBe(0);
  });

  it('an image that keeps another name is not dangling; tsbuild prune removes dangling images too', () => {
    const kept = build('prune-b:1', 'kept\n');
    expect(tsbuild(['image', 'tag', 'prune-b:1', 'prune-b:keep']).status).toBe(0);
    build('prune-b:1', 'moved on\n');
    expect(tsbuild(['image', 'ls']).stdout).not.toMatch(/<none>/);
    expect(tsbuild(['image', 'ls']).stdout).toMatch(
      new RegExp(`^prune-b\\s+keep\\s+${kept.slice(7, 19)}`, 'm'),
    );
    expect(tsbuild(['image', 'rm', 'prune-b:keep']).status).toBe(0);
    build('prune-c:1', 'c one\n');
    build('prune-c:1', 'c two\n');
    expect(tsbuild(['image', 'ls']).stdout).toMatch(/<none>/);
    expect(tsbuild(['prune']).status).toBe(0);
    expect(tsbuild(['image', 'ls']).stdout).not.toMatch(/<none>/);
  });

  it('-a removes every image (untagged: and deleted: lines); --filter is refused', () => {
    const refused = tsbuild(['image', 'prune', '--filter', 'until=24h']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/unknown option '--filter'/);
    const r = tsbuild(['image', 'prune', '-a', '-f']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Deleted Images:\n/);
    expect(r.stdout).toMatch(/^untagged: prune-app:1$/m);
    expect(r.stdout).toMatch(/^deleted: sha256:[0-9a-f]{64}$/m);
    expect(tsbuild(['image', 'ls']).stdout.trim().split('\n')).toHaveLength(1);
    expect(snapshots()).toBe(0);
  });
});
