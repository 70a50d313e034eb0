/** The tar codec: encode ↔ parse, what GNU tar and tar-stream make of it, and hostile headers. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { lsetxattr } from '../../core/sys.js';
import { BLOCK, END_OF_ARCHIVE, TarParser, encodeHeader, padding } from '../../diff/tar.js';
import type { TarHeader } from '../../diff/tar.js';
import { readTar, tempDir } from './helpers/layers.js';
import { fileHeader as header } from './helpers/sparse.js';

/** An archive of headers and contents, as our encoder writes it. */
function archive(entries: { h: TarHeader; content?: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { h, content } of entries) {
    parts.push(encodeHeader(h));
    if (content !== undefined) parts.push(content, Buffer.alloc(padding(content.length)));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

interface Parsed {
  header: TarHeader;
  content: Buffer;
}

function parse(data: Buffer, chunk = data.length): Parsed[] {
  const out: Parsed[] = [];
  let current: { header: TarHeader; parts: Buffer[] } | undefined;
  const parser = new TarParser({
    entry: (header) => {
      current = { header, parts: [] };
    },
    data: (c) => current?.parts.push(Buffer.from(c)),
    end: () => {
      if (current) out.push({ header: current.header, content: Buffer.concat(current.parts) });
      current = undefined;
    },
  });
  for (let o = 0; o < data.length; o += chunk) parser.push(data.subarray(o, o + chunk));
  parser.finish();
  return out;
}

const binary = Buffer.from([0x00, 0xff, 0x0a, 0x3d, 0x20, 0x80, 0x01]);

const samples: { h: TarHeader; content?: Buffer }[] = [
  { h: header({ name: 'short', size: 5 }), content: Buffer.from('hello') },
  { h: header({ name: 'dir/', type: 'dir', mode: 0o755 }) },
  { h: header({ name: `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}` }) }, // ustar prefix split
  { h: header({ name: 'x'.repeat(300) }) }, // PAX path
  { h: header({ name: 'dir/héllo/文件', size: 1 }), content: Buffer.from('1') }, // non-ASCII: PAX path
  { h: header({ name: 'sym', type: 'symlink', mode: 0o777, linkname: `/${'t'.repeat(200)}` }) }, // PAX linkpath
  { h: header({ name: 'hard', type: 'link', linkname: 'short' }) },
  { h: header({ name: 'zero-mode', mode: 0 }) },
  { h: header({ name: 'all-bits', mode: 0o7777 }) },
  { h: header({ name: 'big-ids', uid: 3_000_000, gid: 4_294_967_294 }) },
  { h: header({ name: 'epoch', mtime: 0 }) },
  { h: header({ name: 'before-epoch', mtime: -5 }) },
  { h: header({ name: 'after-2038', mtime: 5_000_000_000 }) },
  { h: header({ name: 'far-future', mtime: 9_000_000_000 }) },
  { h: header({ name: 'fraction', mtime: 1_700_000_000.25 }) },
  { h: header({ name: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }) },
  { h: header({ name: 'dev/sda', type: 'block', mode: 0o660, devmajor: 8, devminor: 0 }) },
  { h: header({ name: 'fifo', type: 'fifo', mode: 0o600 }) },
  {
    h: header({
      name: 'xattrs',
      xattrs: new Map([
        ['security.capability', binary],
        ['user.ünïcode', Buffer.from('välue')],
        ['user.empty', Buffer.alloc(0)],
      ]),
    }),
  },
];

describe('tar encoder and parser', () => {
  it('round-trips every kind of header, whatever the chunking', () => {
    const data = archive(samples);
    expect(data.length % BLOCK).toBe(0);
    for (const chunk of [data.length, 512, 7, 1]) {
      const parsed = parse(data, chunk);
      expect(parsed.map((p) => p.header)).toEqual(
        samples.map((s) => ({ ...s.h, size: s.h.type === 'file' ? s.h.size : 0 })),
      );
      expect(parsed[0]?.content.toString()).toBe('hello');
    }
  });

  it('is deterministic, with PAX members named <dir>/PaxHeaders.0/<base>', () => {
    const h = header({
      name: 'a/b/ünï',
      xattrs: new Map([
        ['user.b', Buffer.from('2')],
        ['user.a', Buffer.from('1')],
      ]),
    });
    const one = encodeHeader(h);
    expect(encodeHeader({ ...h, xattrs: new Map([...h.xattrs].reverse()) })).toEqual(one);
    expect(one.toString('utf8', 0, 100).replace(/\0+$/, '')).toBe('a/b/PaxHeaders.0/ünï');
    expect(one[156]).toBe(0x78);
    // records sorted: path first, then the xattrs by name
    const body = one.subarray(BLOCK).toString('utf8');
    expect(body.indexOf('path=')).toBeLessThan(body.indexOf('SCHILY.xattr.user.a'));
    expect(body.indexOf('SCHILY.xattr.user.a')).toBeLessThan(body.indexOf('SCHILY.xattr.user.b'));
    // uname and gname empty, mode 0 written as 0
    const plain = encodeHeader(header({ name: 'f', mode: 0 }));
    expect(plain.toString('latin1', 100, 108)).toBe('0000000\0');
    expect(plain.subarray(265, 329).every((b) => b === 0)).toBe(true);
  });

  it('writes what tar-stream reads back', async () => {
    const simple = samples.filter(
      (s) => !s.h.xattrs.has('security.capability') && s.h.mtime >= 0 && Number.isInteger(s.h.mtime),
    );
    const entries = await readTar(archive(simple));
    expect(entries.map((e) => e.name)).toEqual(simple.map((s) => s.h.name));
    expect(entries.map((e) => e.mode)).toEqual(simple.map((s) => s.h.mode));
    expect(entries.find((e) => e.name === 'sym')?.linkname).toBe(`/${'t'.repeat(200)}`);
    expect(entries.find((e) => e.name === 'big-ids')?.uid).toBe(3_000_000);
  });

  it('reads GNU tar archives (gnu long names, posix with binary xattrs)', () => {
    const t = tempDir();
    try {
      const src = join(t.path, 'src');
      const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
      mkdirSync(join(src, 'd'.repeat(120)), { recursive: true });
      writeFileSync(join(src, long), 'long');
      symlinkSync('x'.repeat(150), join(src, 'longlink'));
      writeFileSync(join(src, 'attrs'), 'x');
      lsetxattr(join(src, 'attrs'), 'user.bin', binary);
      for (const format of ['gnu', 'posix']) {
        const out = join(t.path, `${format}.tar`);
        const xattrs = format === 'posix' ? ['--xattrs'] : [];
        execFileSync('tar', [...xattrs, `--format=${format}`, '-C', src, '-cf', out, '.']);
        const parsed = parse(readFileSync(out), 1000);
        const byName = new Map(parsed.map((p) => [p.header.name.replace(/^\.\//, ''), p]));
        expect(byName.get(long)?.content.toString()).toBe('long');
        expect(byName.get('longlink')?.header.linkname).toBe('x'.repeat(150));
        if (format === 'posix') expect(byName.get('attrs')?.header.xattrs.get('user.bin')).toEqual(binary);
      }
    } finally {
      t.cleanup();
    }
  });

  it('ignores the size field of header-only members and skips global headers', () => {
    const dir = encodeHeader(header({ name: 'd/', type: 'dir' }));
    dir.write('00000001000', 124, 'ascii'); // claims 512 bytes of content
    const sum = [...dir].reduce((s, b, i) => s + (i >= 148 && i < 156 ? 32 : b), 0);
    dir.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const global = encodeHeader(header({ name: 'pax_global_header', size: 512 }));
    global[156] = 0x67;
    const gsum = [...global].reduce((s, b, i) => s + (i >= 148 && i < 156 ? 32 : b), 0);
    global.write(`${gsum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const data = Buffer.concat([
      global,
      Buffer.from('20 comment=ignored\n'.padEnd(512, '\0')),
      dir,
      encodeHeader(header({ name: 'f' })),
      END_OF_ARCHIVE,
    ]);
    expect(parse(data).map((p) => p.header.name)).toEqual(['d/', 'f']);
  });

  it('rejects corrupt and truncated archives', () => {
    const good = archive([{ h: header({ name: 'f', size: 3 }), content: Buffer.from('abc') }]);
    const corrupt = Buffer.from(good);
    corrupt[0] = 0x67;
    expect(() => parse(corrupt)).toThrow(/checksum/);
    expect(() => parse(good.subarray(0, 600))).toThrow(/truncated/);
    const afterZero = Buffer.concat([Buffer.alloc(512), good]);
    expect(() => parse(afterZero)).toThrow(/zero block/);
    const sparse = encodeHeader(header({ name: 's' }));
    sparse[156] = 0x53;
    const ssum = [...sparse].reduce((s, b, i) => s + (i >= 148 && i < 156 ? 32 : b), 0);
    sparse.write(`${ssum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    let err: unknown;
    try {
      parse(Buffer.concat([sparse, END_OF_ARCHIVE]));
    } catch (e) {
      err = e;
    }
    // A sparse member (type S) is read only in GNU format headers (as Go's archive/tar): this is ustar.
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe('INVALID_ARGUMENT');
    // A clean end without the marker, and one zero block, are accepted (as Go's reader does).
    expect(parse(good.subarray(0, 1024))).toHaveLength(1);
    expect(parse(good.subarray(0, 1536))).toHaveLength(1);
  });
});

describe('tar parser on adversarial PAX', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t.cleanup());

  it('rejects malformed records', () => {
    const h = encodeHeader(header({ name: 'x'.repeat(200) }));
    const bad = Buffer.from(h);
    bad.write('99', BLOCK, 'ascii'); // record length past the body
    expect(() => parse(Buffer.concat([bad, END_OF_ARCHIVE]))).toThrow(/PAX/);
  });
});
