/**
 * fsutil/: the one Clean, the one Match and the one securejoin every layer uses, and a guard that no
 * copy of them comes back elsewhere in the tree.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clean,
  cleanRel,
  compileMatch,
  dirName,
  hostLookup,
  isValidPattern,
  matchName,
  resolveInRoot,
  resolveRel,
} from '../fsutil/index.js';

describe('clean (Go filepath.Clean)', () => {
  it('matches Go on its own test table', () => {
    const table: [string, string][] = [
      ['', '.'],
      ['abc', 'abc'],
      ['abc/def', 'abc/def'],
      ['a/b/c', 'a/b/c'],
      ['.', '.'],
      ['..', '..'],
      ['../..', '../..'],
      ['../../abc', '../../abc'],
      ['/abc', '/abc'],
      ['/', '/'],
      ['abc/', 'abc'],
      ['abc/def/', 'abc/def'],
      ['/abc/', '/abc'],
      ['abc//def//ghi', 'abc/def/ghi'],
      ['//abc', '/abc'],
      ['///abc', '/abc'],
      ['abc/./def', 'abc/def'],
      ['/./abc/def', '/abc/def'],
      ['abc/.', 'abc'],
      ['abc/def/ghi/../jkl', 'abc/def/jkl'],
      ['abc/def/../ghi/../jkl', 'abc/jkl'],
      ['abc/def/..', 'abc'],
      ['abc/def/../..', '.'],
      ['/abc/def/../..', '/'],
      ['abc/def/../../..', '..'],
      ['/abc/def/../../..', '/'],
      ['abc/def/../../../ghi/jkl/../../../mno', '../../mno'],
      ['/../abc', '/abc'],
      ['abc/./../def', 'def'],
      ['abc//./../def', 'def'],
      ['abc/../../././../def', '../../def'],
    ];
    for (const [path, want] of table) expect(clean(path), path).toBe(want);
  });

  it('cleanRel keeps a name inside its root, dirName is Go filepath.Dir', () => {
    expect(cleanRel('/a/./b//c/')).toBe('a/b/c');
    expect(cleanRel('../../a/b/../c')).toBe('a/c');
    expect(cleanRel('/')).toBe('');
    expect(cleanRel('..')).toBe('');
    expect(dirName('a/b/c')).toBe('a/b');
    expect(dirName('abc')).toBe('.');
    expect(dirName('/abc')).toBe('/');
  });
});

describe('Match (Go filepath.Match, one component)', () => {
  it('matches and refuses like Go', () => {
    expect(matchName('*.txt', 'a.txt')).toBe(true);
    expect(matchName('*.txt', '.txt')).toBe(true);
    expect(matchName('a?c', 'abc')).toBe(true);
    expect(matchName('[a-c]x', 'bx')).toBe(true);
    expect(matchName('[^a-c]x', 'bx')).toBe(false);
    expect(matchName('[^a-c]x', 'dx')).toBe(true);
    expect(matchName('a\\*', 'a*')).toBe(true);
    expect(matchName('a.b', 'aXb')).toBe(false);
    expect(matchName('[\\]a]', ']')).toBe(true);
    expect(matchName('a-(b)|$', 'a-(b)|$')).toBe(true);
    for (const bad of ['[a', '[]', '[]a]', '[a-]', '[^]', 'a\\', '[\\']) {
      expect(isValidPattern(bad), bad).toBe(false);
      expect(() => compileMatch(bad)).toThrow(/syntax error in pattern/u);
    }
  });

  it('takes one character as one code point, as Go takes one rune', () => {
    // The content hasher's own copy of Match read UTF-16 units: `?` did not match an emoji there.
    expect(matchName('?', '😀')).toBe(true);
    expect(matchName('[😀]x', '😀x')).toBe(true);
    expect(isValidPattern('[😀-😂]')).toBe(true);
  });

  it('accepts a reversed range as Go does in the syntax check, and refuses it when compiling', () => {
    expect(isValidPattern('[z-a]')).toBe(true);
    expect(() => compileMatch('[z-a]')).toThrow(/syntax error in pattern/u);
  });
});

describe('securejoin', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-fsutil-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'a/b'), { recursive: true });
  writeFileSync(join(root, 'f'), '');
  symlinkSync('/a', join(root, 'abs'));
  symlinkSync('../../..', join(root, 'a/up'));
  symlinkSync('/etc', join(root, 'etc-link'));
  symlinkSync('loop', join(root, 'loop'));

  it('keeps every symlink inside the root', () => {
    expect(resolveInRoot(root, '/abs/b')).toBe(join(root, 'a/b'));
    expect(resolveInRoot(root, 'a/up/f')).toBe(join(root, 'f'));
    expect(resolveInRoot(root, '../../etc-link/passwd')).toBe(join(root, 'etc/passwd'));
    expect(() => resolveInRoot(root, 'loop/x')).toThrow(/too many levels of symbolic links/u);
    expect(resolveRel(hostLookup(root), 'abs', false)).toBe('abs');
    expect(resolveRel(hostLookup(root), 'abs', true)).toBe('a');
  });

  it('follows a symlink met after `..` past a missing directory', () => {
    // The executor's own copy stopped looking once a component was missing, even after a `..` took
    // it back to an existing directory: it returned the host path of the symlink itself, which a
    // bind mount's source then follows on the host.
    expect(resolveInRoot(root, 'missing/../etc-link')).toBe(join(root, 'etc'));
    expect(resolveInRoot(root, 'missing/../abs/b')).toBe(join(root, 'a/b'));
  });
});

describe('one copy of each', () => {
  const folders = [
    'core',
    'oci',
    'patternmatcher',
    'content',
    'mount',
    'diff',
    'gc',
    'parser',
    'llb',
    'frontend',
    'solver',
    'snapshotter',
    'executor',
    'worker',
  ];
  const more = ['image', 'runner', 'engine', 'daemon', 'cli'];
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );

  it('has no Clean, Match, securejoin or lstat-or-undefined outside fsutil/', () => {
    const copies =
      /posix\.normalize\(|function (cleanPath|cleanName|cleanInRoot|compileComponent|isValidGlob|compileClass|translateClass|resolveInRoot|withDirInRoot|resolveRel|hostLookup|lstatOrUndefined|lstatSyncOrUndefined|fileKind)\b/u;
    const root = join(import.meta.dirname, '..');
    const found = [...folders, ...more]
      .flatMap((f) => sources(join(root, f)))
      .filter((file) => copies.test(readFileSync(file, 'utf8')));
    expect(found).toEqual([]);
  });
});
