/**
 * ADD of a local archive (CopyAction.attemptUnpack) on real directories: plain, gzip, bzip2, xz and
 * zstd tars extracted by content (not by name), non-archives copied, a chown applied to every entry,
 * and malicious archives (`..`, absolute names, a symlink then a file through it, hardlinks to
 * outside) that must not write or link anything outside the destination. One solve through the
 * engine (local context → overlay snapshot) checks the wiring.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as llb from '../../llb/index.js';
import { openEngine, solve, withSnapshotDir } from '../../engine/index.js';
import type { CopyAction, FileAction } from '../../llb/ops.js';
import { encodeHeader } from '../../diff/tar.js';
import type { TarHeader } from '../../diff/tar.js';
import { applyFileActions } from '../../worker/fileop/index.js';
import { archiveCompression } from '../../worker/fileop/unpack.js';
import { compressionOf, isTarHeader } from '../../core/index.js';
import { copyAction, listTree } from './helpers/fileop.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('attemptUnpack through the engine', { root: true });

const has = (cmd: string): boolean => {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

let base: string;
let src: string;
let dest: string;
let outside: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'fileop-unpack-'));
  src = join(base, 'src');
  dest = join(base, 'dest');
  outside = join(base, 'outside');
  for (const d of [src, dest, outside]) mkdirSync(d);
  writeFileSync(join(outside, 'secret'), 'secret\n');
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

interface Member {
  readonly name: string;
  readonly type?: TarHeader['type'];
  readonly data?: string;
  readonly linkname?: string;
  readonly mode?: number;
}

const MTIME = 1_600_000_000;

/** A tar built member by member (names written as given, nothing cleaned). */
function tarOf(members: readonly Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = Buffer.from(m.data ?? '');
    const type = m.type ?? 'file';
    parts.push(
      encodeHeader({
        name: m.name,
        type,
        mode: m.mode ?? (type === 'dir' ? 0o755 : 0o644),
        uid: 0,
        gid: 0,
        size: type === 'file' ? data.length : 0,
        mtime: MTIME,
        linkname: m.linkname ?? '',
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
      }),
    );
    if (type === 'file' && data.length > 0) {
      parts.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const compressors: Record<string, ((tar: Buffer) => Buffer) | undefined> = {
  tar: (tar) => tar,
  gzip: (tar) => gzipSync(tar),
  zstd: has('zstd') ? (tar) => execFileSync('zstd', ['-c', '-q'], { input: tar }) : undefined,
  xz: has('xz') ? (tar) => execFileSync('xz', ['-c'], { input: tar }) : undefined,
  bzip2: has('bzip2') ? (tar) => execFileSync('bzip2', ['-c'], { input: tar }) : undefined,
};

const SAMPLE: Member[] = [
  { name: 'd/', type: 'dir', mode: 0o750 },
  { name: 'd/f.txt', data: 'hello\n', mode: 0o640 },
  { name: 'd/l', type: 'symlink', linkname: 'f.txt' },
  { name: 'd/h', type: 'link', linkname: 'd/f.txt' },
];

const add = (srcPath: string, destPath: string, extra: Partial<CopyAction> = {}): CopyAction =>
  copyAction(srcPath, destPath, { attemptUnpack: true, ...extra });

const run = (...actions: FileAction[]): Promise<void> =>
  applyFileActions(actions, { dest, inputs: (i) => (i === 0 ? src : undefined) });

const tree = listTree;

describe('attemptUnpack: archives by content', () => {
  for (const [kind, compress] of Object.entries(compressors)) {
    it.skipIf(compress === undefined)(`extracts a ${kind} tar into the destination`, async () => {
      writeFileSync(join(src, 'archive.bin'), (compress as (t: Buffer) => Buffer)(tarOf(SAMPLE)));
      expect(await archiveCompression(join(src, 'archive.bin'))).toBe(kind === 'tar' ? 'none' : kind);
      await run(add('/archive.bin', '/out'));
      expect(tree(join(dest, 'out'))).toEqual(['d/', 'd/f.txt', 'd/h', 'd/l']);
      expect(readFileSync(join(dest, 'out/d/f.txt'), 'utf8')).toBe('hello\n');
      expect(statSync(join(dest, 'out/d/f.txt')).mode & 0o7777).toBe(0o640);
      expect(statSync(join(dest, 'out/d')).mode & 0o7777).toBe(0o750);
      expect(statSync(join(dest, 'out/d/f.txt')).mtimeMs).toBe(MTIME * 1000);
      expect(readlinkSync(join(dest, 'out/d/l'))).toBe('f.txt');
      expect(statSync(join(dest, 'out/d/h')).ino).toBe(statSync(join(dest, 'out/d/f.txt')).ino);
    });
    if (compress === undefined)
      console.warn(`attemptUnpack ${kind}: the ${kind} command is missing: skipped`);
  }

  it('copies what is not a tar: text named .tar.gz, a gzip of text, an empty tar, and any file without attemptUnpack', async () => {
    writeFileSync(join(src, 'x.tar.gz'), 'just text\n');
    writeFileSync(join(src, 'notar.gz'), gzipSync('plain text, no tar\n'.repeat(50)));
    writeFileSync(join(src, 'empty.tar'), Buffer.alloc(1024));
    writeFileSync(join(src, 'real.tar'), tarOf(SAMPLE));
    await run(
      add('/x.tar.gz', '/out/'),
      add('/notar.gz', '/out/'),
      add('/empty.tar', '/out/'),
      add('/real.tar', '/plain/', { attemptUnpack: false }),
    );
    expect(tree(join(dest, 'out'))).toEqual(['empty.tar', 'notar.gz', 'x.tar.gz']);
    expect(tree(join(dest, 'plain'))).toEqual(['real.tar']);
  });

  it('extracts each wildcard match, merging into an existing directory, with a chown on every entry', async () => {
    writeFileSync(join(src, 'one.tar'), tarOf([{ name: 'a.txt', data: 'a' }]));
    writeFileSync(join(src, 'two.tgz'), gzipSync(tarOf([{ name: 'sub/b.txt', data: 'b' }])));
    mkdirSync(join(dest, 'out'));
    writeFileSync(join(dest, 'out/kept'), 'kept');
    await run(add('/*.t*', '/out/', { chown: { user: 1000, group: 1001 } }));
    expect(tree(join(dest, 'out'))).toEqual(['a.txt', 'kept', 'sub/', 'sub/b.txt']);
    for (const p of ['out/a.txt', 'out/sub', 'out/sub/b.txt']) {
      expect(lstatSync(join(dest, p))).toMatchObject({ uid: 1000, gid: 1001 });
    }
    expect(readdirSync(dest)).toEqual(['out']); // no staging directory left behind
  });

  it('recognises magic bytes and tar headers', () => {
    expect(compressionOf(Buffer.from([0x1f, 0x8b, 8]))).toBe('gzip');
    expect(compressionOf(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(compressionOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toBe('xz');
    expect(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(isTarHeader(tarOf(SAMPLE).subarray(0, 512))).toBe(true);
    expect(isTarHeader(Buffer.alloc(512))).toBe(false);
    expect(isTarHeader(Buffer.alloc(512, 0x41))).toBe(false);
  });
});

describe('attemptUnpack: malicious archives stay inside the destination', () => {
  const evil: Record<string, Member[]> = {
    'dot-dot names': [
      { name: '../outside/evil', data: 'x' },
      { name: 'a/../../../outside/evil2', data: 'x' },
    ],
    'absolute names': [{ name: `${'/'}${'OUTSIDE'}/evil`, data: 'x' }],
    'a symlink, then a file through it': [
      { name: 'link', type: 'symlink', linkname: 'OUTSIDE' },
      { name: 'link/evil', data: 'x' },
      { name: 'rel', type: 'symlink', linkname: '../../outside' },
      { name: 'rel/evil', data: 'x' },
    ],
    'hardlinks to outside': [
      { name: 'hl', type: 'link', linkname: 'OUTSIDE/secret' },
      { name: 'hl2', type: 'link', linkname: '../outside/secret' },
    ],
    'a symlink over the secret, then a file written through it': [
      { name: 'target', type: 'symlink', linkname: 'OUTSIDE/secret' },
      { name: 'target', data: 'overwritten' },
    ],
  };
  for (const [what, members] of Object.entries(evil)) {
    it(what, async () => {
      const resolved = members.map((m) => ({
        ...m,
        name: m.name.replace('OUTSIDE', outside),
        ...(m.linkname === undefined ? {} : { linkname: m.linkname.replace('OUTSIDE', outside) }),
      }));
      writeFileSync(join(src, 'evil.tar'), tarOf(resolved));
      await run(add('/evil.tar', '/x/')).catch(() => undefined); // an error is fine; an escape is not
      expect(readdirSync(outside)).toEqual(['secret']);
      expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe('secret\n');
      const secretIno = statSync(join(outside, 'secret')).ino;
      expect(statSync(join(outside, 'secret')).nlink).toBe(1);
      for (const p of existsSync(join(dest, 'x')) ? tree(join(dest, 'x')) : []) {
        const st = lstatSync(join(dest, 'x', p));
        if (!st.isSymbolicLink()) expect(st.ino).not.toBe(secretIno);
      }
      expect(readdirSync(base).sort()).toEqual(['dest', 'outside', 'src']);
    });
  }
});

describe.skipIf(!rootReady)('attemptUnpack through the engine', () => {
  it('extracts a tar.gz from the local context into an overlay snapshot', async () => {
    const context = join(base, 'context');
    mkdirSync(context);
    writeFileSync(join(context, 'app.tgz'), gzipSync(tarOf(SAMPLE)));
    chmodSync(join(context, 'app.tgz'), 0o644);
    const engine = await openEngine({ root: join(base, 'root') });
    try {
      const def = llb
        .scratch()
        .file(
          llb.copy(llb.local('context'), '/app.tgz', '/opt/', { createDestPath: true, attemptUnpack: true }),
        )
        .toDefinition();
      const result = await solve(engine, def, { locals: { context } });
      const files = await withSnapshotDir(engine, result.snapshot ?? '', async (dir) =>
        tree(join(dir, 'opt')),
      );
      expect(files).toEqual(['d/', 'd/f.txt', 'd/h', 'd/l']);
    } finally {
      await engine.close();
    }
  });
});
