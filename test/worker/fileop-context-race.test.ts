/**
 * A build context that changes while a COPY reads it: a directory (or a file, or an archive) checked by
 * lstat is swapped for a symlink to a directory outside the context before the copy reads it. The swap
 * happens at a fixed point, right after the copy's lstat of the entry returns (node:fs/promises' lstat
 * is wrapped here), so the interleaving is deterministic. Nothing from outside may reach the result.
 * A copy of an unchanged context through the same careful reader gives what a plain copy gives.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { lgetxattr, lsetxattr } from '../../core/sys.js';
import type { FileAction } from '../../llb/ops.js';
import { applyFileActions } from '../../worker/fileop/index.js';
import { copyAction, listTree } from './helpers/fileop.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('context changed while copied', { root: true });

/**
 * Runs once, after the first lstat of a path `match` accepts has returned (`on: 'lstat'`), or after the
 * first listing of a directory whose path and one of whose names `match` accepts (`on: 'readdir'`).
 */
const hooks: { on: 'lstat' | 'readdir'; match: (path: string) => boolean; run: () => void }[] = [];

function fire(on: 'lstat' | 'readdir', paths: readonly string[]): void {
  const i = hooks.findIndex((h) => h.on === on && paths.some((p) => h.match(p)));
  if (i >= 0) hooks.splice(i, 1)[0]?.run();
}

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof FsPromises>();
  const lstat = (async (path: string, options?: object) => {
    const result = await real.lstat(path, options);
    fire('lstat', [String(path)]);
    return result;
  }) as typeof real.lstat;
  const readdir = (async (path: string, options?: object) => {
    const result = (await real.readdir(path, options as never)) as unknown[];
    const names = result.map((e) => (typeof e === 'string' ? e : (e as { name: string }).name));
    fire(
      'readdir',
      names.map((n) => `${String(path)}/${n}`),
    );
    return result;
  }) as typeof real.readdir;
  return { ...real, lstat, readdir, default: { ...real, lstat, readdir } };
});

const SECRET = 'TOP SECRET outside the context';
let base: string;
let ctx: string;
let dest: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'fileop-race-'));
  ctx = join(base, 'ctx');
  dest = join(base, 'dest');
  outside = join(base, 'outside');
  for (const d of [ctx, dest, outside]) mkdirSync(d);
  mkdirSync(join(outside, 'b'));
  writeFileSync(join(outside, 'secret.txt'), SECRET);
  writeFileSync(join(outside, 'b', 'f.txt'), SECRET);
  hooks.length = 0;
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

function put(rel: string, data: string): void {
  mkdirSync(join(ctx, rel, '..'), { recursive: true });
  writeFileSync(join(ctx, rel), data);
}

/** After the first source-side lstat of a path ending in `/name`, `rel` in the context becomes a symlink to `target`. */
function swapAfterLstat(name: string, rel: string, target: string, on: 'lstat' | 'readdir' = 'lstat'): void {
  hooks.push({
    on,
    match: (p) => p.endsWith(`/${name}`) && !p.startsWith(dest),
    run: () => {
      renameSync(join(ctx, rel), join(ctx, `.${rel.replaceAll('/', '-')}-away`));
      symlinkSync(target, join(ctx, rel));
    },
  });
}

function run(actions: FileAction[], hostSource = true): Promise<void> {
  return applyFileActions(actions, {
    dest,
    inputs: (i) => (i === 0 ? ctx : undefined),
    hostSource: () => (hostSource ? {} : undefined),
  });
}

/** Every regular file under `root` whose content holds the secret. */
function leaked(root: string): string[] {
  return listTree(root).filter(
    (p) => lstatSync(join(root, p)).isFile() && readFileSync(join(root, p), 'utf8').includes(SECRET),
  );
}

async function expectRefused(actions: FileAction[]): Promise<void> {
  const err = await run(actions).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TsbuildError);
  expect((err as TsbuildError).code).toBe('FAILED_PRECONDITION');
  expect((err as Error).message).toMatch(/changed while the build was reading it/);
  expect((err as Error).message).not.toContain(base); // host paths stay hidden
}

describe.skipIf(!rootReady)('a context changed while it is copied', () => {
  it('a directory swapped for a symlink to outside after its lstat lets nothing in', async () => {
    put('swapme/inside.txt', 'inside');
    put('keep.txt', 'keep');
    swapAfterLstat('swapme', 'swapme', outside);
    await expectRefused([copyAction('/', '/app')]);
    expect(leaked(dest)).toEqual([]);
  });

  it('a directory above the one being read swapped for a symlink lets nothing in', async () => {
    put('a/b/f.txt', 'fine');
    swapAfterLstat('b', 'a', outside); // a/b is a directory when looked at; then a leads outside
    await expectRefused([copyAction('/a', '/app')]);
    expect(leaked(dest)).toEqual([]);
  });

  it('a file swapped for a symlink to an outside file after its directory was listed lets nothing in', async () => {
    // A regular file is opened by the name its directory listed (openat, O_NOFOLLOW), never lstat'ed.
    put('dir/f.txt', 'fine');
    swapAfterLstat('f.txt', 'dir/f.txt', join(outside, 'secret.txt'), 'readdir');
    await expectRefused([copyAction('/dir', '/app')]);
    expect(leaked(dest)).toEqual([]);
  });

  it('a file swapped for a fifo after its directory was listed is refused without hanging', async () => {
    put('dir/f.txt', 'fine');
    hooks.push({
      on: 'readdir',
      match: (p) => p.endsWith('/f.txt') && !p.startsWith(dest),
      run: () => {
        renameSync(join(ctx, 'dir/f.txt'), join(ctx, 'dir/.away'));
        execFileSync('mkfifo', [join(ctx, 'dir/f.txt')]);
      },
    });
    await expectRefused([copyAction('/dir', '/app')]);
  });

  it('an archive ADD unpacks swapped for a symlink to an outside archive lets nothing in', async () => {
    writeFileSync(join(base, 'inner.txt'), 'fine');
    execFileSync('tar', ['-cf', join(ctx, 'a.tar'), '-C', base, 'inner.txt']);
    execFileSync('tar', ['-cf', join(outside, 'evil.tar'), '-C', outside, 'secret.txt']);
    swapAfterLstat('a.tar', 'a.tar', join(outside, 'evil.tar'));
    await expectRefused([copyAction('/a.tar', '/app/', { attemptUnpack: true })]);
    expect(leaked(dest)).toEqual([]);
  });

  it('an unchanged context copies as a plain copy does (links, hardlinks, big files, fifos, xattrs, modes)', async () => {
    put('d/small.txt', 'small');
    put('d/sub/deeper/x.txt', 'x');
    writeFileSync(join(ctx, 'd', 'big.bin'), Buffer.alloc(3 << 20, 7));
    linkSync(join(ctx, 'd', 'small.txt'), join(ctx, 'd', 'hard.txt'));
    symlinkSync('../outside-looking/target', join(ctx, 'd', 'link'));
    execFileSync('mkfifo', [join(ctx, 'd', 'fifo')]);
    chmodSync(join(ctx, 'd', 'sub'), 0o750);
    lsetxattr(join(ctx, 'd', 'sub'), 'user.dir', Buffer.from('dv'));
    lsetxattr(join(ctx, 'd', 'small.txt'), 'user.file', Buffer.from('fv'));
    await run([copyAction('/d', '/careful')]);
    await run([copyAction('/d', '/plain')], false);
    const describe = (root: string): string[] =>
      listTree(root).map((p) => {
        const st = lstatSync(join(root, p));
        const data = st.isFile() ? readFileSync(join(root, p)).length : '';
        return `${p} ${(st.mode & 0o7777).toString(8)} ${st.nlink} ${data} ${st.uid}:${st.gid}`;
      });
    expect(describe(join(dest, 'careful'))).toEqual(describe(join(dest, 'plain')));
    expect(readdirSync(join(dest, 'careful')).sort()).toEqual([
      'big.bin',
      'fifo',
      'hard.txt',
      'link',
      'small.txt',
      'sub',
    ]);
    expect(lgetxattr(join(dest, 'careful', 'sub'), 'user.dir')?.toString()).toBe('dv');
    expect(lgetxattr(join(dest, 'careful', 'small.txt'), 'user.file')?.toString()).toBe('fv');
    expect(lstatSync(join(dest, 'careful', 'hard.txt')).ino).toBe(
      lstatSync(join(dest, 'careful', 'small.txt')).ino,
    );
  });
});
