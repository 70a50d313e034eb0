/** Flag words, mount and device values, chmod modes, durations and sizes, and robustness on mutated input. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../core/errors.js';
import { parseDockerfile } from '../../parser/index.js';
import {
  BFlags,
  csvFields,
  isSymbolicMode,
  parseChmod,
  parseGoDuration,
  parseMount,
  parseStages,
  ramInBytes,
  remoteKind,
} from '../../frontend/instructions/index.js';
import { prng } from '../../bench/mutate.js';
import { failure } from '../helpers/instructions.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';

const hasConformance = canRunSuite('robustness on mutated Dockerfiles', { conformance: true });

describe('BFlags (bflag_test.go)', () => {
  it('no words, and a bare `--`', () => {
    expect(() => new BFlags([]).parse()).not.toThrow();
    expect(() => new BFlags(['--']).parse()).not.toThrow();
  });

  it('defaults, not used', () => {
    const bf = new BFlags([]);
    const str = bf.addString('str1', 'HI');
    const bool = bf.addBool('bool1', false);
    bf.parse();
    expect([str.value, bool.isTrue, str.used, bool.used]).toEqual(['HI', false, false, false]);
  });

  it('a string flag needs `=`', () => {
    const bf = new BFlags(['--str1']);
    bf.addString('str1', 'HI');
    expect(failure(() => bf.parse()).message).toBe('missing a value on flag: --str1');
    expect(bf.errorIndex).toBe(0);
  });

  it.each([
    ['--str1=', ''],
    ['--str1=BYE', 'BYE'],
  ])('%s sets %j', (word, value) => {
    const bf = new BFlags([word]);
    const str = bf.addString('str1', 'HI');
    bf.parse();
    expect(str.value).toBe(value);
  });

  it.each([
    ['--bool1', true],
    ['--bool1=true', true],
    ['--bool1=false', false],
    ['--bool1=FALSE', false],
  ])('%s is %s', (word, value) => {
    const bf = new BFlags([word]);
    const bool = bf.addBool('bool1');
    bf.parse();
    expect(bool.isTrue).toBe(value);
  });

  it('bad bool value and unknown flag', () => {
    const bad = new BFlags(['--bool1=false1']);
    bad.addBool('bool1');
    expect(failure(() => bad.parse()).message).toBe('expecting boolean value for flag --bool1, not: false1');
    const unknown = new BFlags(['--bool2']);
    unknown.addBool('bool1');
    expect(failure(() => unknown.parse()).message).toBe('unknown flag: --bool2 (did you mean bool1?)');
  });

  it('several flags', () => {
    const bf = new BFlags(['--bool1', '--str1=BYE']);
    const str = bf.addString('str1', 'HI');
    const bool = bf.addBool('bool1');
    bf.parse();
    expect([str.value, bool.isTrue]).toEqual(['BYE', true]);
  });

  it('used() lists flags set even to their default', () => {
    const bf = new BFlags(['--bool2=false', '--bool3', '--bool4=true', '--bool5', '--str2= ', '--str3=def3']);
    for (const name of ['bool1', 'bool2', 'bool3']) bf.addBool(name, false);
    for (const name of ['bool4', 'bool5']) bf.addBool(name, true);
    bf.addString('str1');
    bf.addString('str2');
    bf.addString('str3', 'def3');
    bf.parse();
    expect(bf.used()).toEqual(['bool2', 'bool3', 'bool4', 'bool5', 'str2', 'str3']);
    expect(bf.isUsed('bool1')).toBe(false);
  });

  it('repeatable string-list flags, and words after `--` are ignored', () => {
    const bf = new BFlags(['--exclude=a', '--exclude=b', '--', '--nope']);
    const exclude = bf.addStrings('exclude');
    bf.parse();
    expect(exclude.values).toEqual(['a', 'b']);
    expect(exclude.positions).toEqual([0, 1]);
  });

  it('words must start with --', () => {
    expect(failure(() => new BFlags(['-x']).parse()).message).toBe('arg should start with -- : -x');
  });
});

describe('--mount values', () => {
  it.each([
    ['target=/x', { type: 'bind', target: '/x', readOnly: true }],
    ['type=bind,target=.,rw', { type: 'bind', target: '.', readOnly: false }],
    ['type=bind,src=a,dst=/b,rw=false', { source: 'a', target: '/b', readOnly: true }],
    ['type=bind,source=a,destination=/b,readwrite', { source: 'a', target: '/b', readOnly: false }],
    ['from=build,source=/out,target=/in,ro', { from: 'build', source: '/out', readOnly: true }],
    ['type=cache,target=/root/.cache', { type: 'cache', readOnly: false, deferred: [] }],
    ['type=cache,target=/c,readonly=true', { type: 'cache', readOnly: true }],
    [
      'type=cache,id=go,sharing=locked,mode=0700,uid=1000,gid=1001,target=/c',
      { id: 'go', sharing: 'locked', mode: 0o700, uid: 1000, gid: 1001 },
    ],
    ['type=tmpfs,target=/t,size=64m', { type: 'tmpfs', sizeLimit: 64 * 1024 * 1024, readOnly: false }],
    [
      'type=secret,id=npmrc,target=/root/.npmrc',
      { type: 'secret', id: 'npmrc', required: false, readOnly: true },
    ],
    ['type=secret,id=tok,env=TOKEN,required', { env: 'TOKEN', required: true }],
    ['type=secret,id=tok,env=', { env: '' }],
    ['type=secret,source=tok,required=false', { source: 'tok', required: false }],
    ['type=ssh,required=true', { type: 'ssh', required: true }],
    ['type=ssh,id=default,mode=0600', { type: 'ssh', mode: 0o600 }],
    ['TYPE=CACHE,Target=/x,SHARING=Private', { type: 'cache', target: '/x', sharing: 'private' }],
    ['"target=/a,b",type=bind', { target: '/a,b' }],
    ['from=stage$,target=/x', { from: 'stage$' }],
  ])('%s', (raw, expected) => {
    expect(parseMount(raw)).toMatchObject({ raw, ...expected });
  });

  it.each([
    ['type=cach', 'unsupported mount type "cach" (did you mean cache?)'],
    ['type=volume', 'unsupported mount type "volume"'],
    ['type=cache,sharing=lokced', 'unsupported sharing value "lokced" (did you mean locked?)'],
    ['type=bind,sharing=shared', 'invalid cache sharing set for bind mount'],
    ['type=bind,size=1', "unexpected key 'size' for mount type 'bind'"],
    ['type=tmpfs,size=abc', 'invalid value for size: abc'],
    ['type=bind,ro=maybe', 'invalid value for ro: maybe'],
    ['type=bind,rw=2', 'invalid value for rw: 2'],
    ['type=secret', 'invalid secret mount. one of source, target required'],
    ['type=secret,source=a,id=b', "both source and id can't be set"],
    ['type=secret,id=a,from=x', 'secret mount should not have a from'],
    ['type=secret,id=a,sharing=shared', 'secret mount should not define sharing'],
    ['required,type=secret,id=a', "unexpected key 'required' for mount type 'bind'"],
    ['type=cache,required=true', "unexpected key 'required' for mount type 'cache'"],
    ['type=secret,id=a,required=yes', 'invalid value for required: yes'],
    ['type=bind,mode=0755', 'mode not allowed for "bind" type mounts'],
    ['type=tmpfs,gid=1', 'gid not allowed for "tmpfs" type mounts'],
    ['type=cache,mode=999', 'invalid value 999 for mode'],
    ['type=cache,uid=-1', 'invalid value -1 for uid'],
    ['type=cache,uid=4294967296', 'invalid value 4294967296 for uid'],
    ['foo', "invalid field 'foo' must be a key=value pair"],
    ['targt=/x', "unexpected key 'targt' in 'targt=/x' (did you mean target?)"],
    ['from=$STAGE', "'from' doesn't support variable expansion, define alias stage instead"],
    [
      'target=/a"b',
      'failed to parse csv mounts: parse error on line 1, column 10: bare " in non-quoted-field',
    ],
    [
      '"target=/a"b',
      'failed to parse csv mounts: parse error on line 1, column 11: extraneous or missing " in quoted-field',
    ],
    ['', 'failed to parse csv mounts: EOF'],
  ])('%j fails: %s', (raw, message) => {
    expect(failure(() => parseMount(raw)).message).toBe(message);
  });

  it('options with variables are deferred', () => {
    const mount = parseMount('type=cache,id=go-$TARGETPLATFORM,target=/c,uid=$UID');
    expect(mount).toMatchObject({ type: 'cache', target: '/c' });
    expect(mount.id).toBeUndefined();
    expect(mount.deferred).toEqual([
      { key: 'id', value: 'go-$TARGETPLATFORM' },
      { key: 'uid', value: '$UID' },
    ]);
  });

  it('a deferred type skips the checks that depend on it', () => {
    const mount = parseMount('type=$KIND,size=1g,required,target=/x');
    expect(mount.deferred).toEqual([{ key: 'type', value: '$KIND' }]);
    expect(mount).toMatchObject({ sizeLimit: 1024 ** 3, required: true });
  });

  it('a deferred key must still be a known key', () => {
    expect(failure(() => parseMount('tagret=$X')).message).toContain("unexpected key 'tagret'");
  });

  it('with an expander everything is expanded and checked (dispatch time)', () => {
    const env: Record<string, string> = { $X: 'abc', $T: 'nope' };
    const expand = (w: string): string => env[w] ?? w;
    expect(parseMount('type=cache,id=$X,target=/c', expand)).toMatchObject({ id: 'abc', deferred: [] });
    expect(failure(() => parseMount('type=$T', expand)).message).toBe('unsupported mount type "nope"');
  });
});

describe('--chmod forms', () => {
  it.each([
    ['0', 0],
    ['755', 0o755],
    ['0644', 0o644],
    ['7777', 0o7777],
    ['000000755', 0o755],
  ])('octal %s', (raw, mode) => {
    expect(parseChmod(raw)).toEqual({ raw, mode });
  });

  it.each(['u+x', 'g-w', 'u+x,g-w', 'a=rwx', 'go=', '=rw,+X', 'u=rwx,go=u-w', '+t', 'o+s', 'ug+rw-x', '-x'])(
    'symbolic %s',
    (raw) => {
      expect(isSymbolicMode(raw)).toBe(true);
      expect(parseChmod(raw)).toEqual({ raw });
    },
  );

  it.each(['8', '07778', '10000', '0x1ff', '9u+x'])('non-octal %s', (raw) => {
    expect(failure(() => parseChmod(raw)).message).toBe(
      `invalid chmod parameter: '${raw}'. it should be octal string and between 0 and 07777`,
    );
  });

  it.each(['u', 'x', 'u+x,', 'u+x,,g+w', 'U+x', '+q', 'a+r g', '-1', 'rwx'])('bad symbolic %s', (raw) => {
    expect(failure(() => parseChmod(raw)).message).toBe(`invalid chmod parameter: '${raw}': invalid syntax`);
  });
});

describe('Go value parsers', () => {
  it.each([
    ['0', 0n],
    ['1h2m3s4ms5us6ns', 3_723_004_005_006n],
    ['1.5h', 5_400_000_000_000n],
    ['.5s', 500_000_000n],
    ['1.s', 1_000_000_000n],
    ['-1.5s', -1_500_000_000n],
    ['+5m', 300_000_000_000n],
    ['3\u00b5s', 3000n],
    ['3\u03bcs', 3000n],
    ['2562047h', 9_223_369_200_000_000_000n],
  ])('duration %s', (input, ns) => {
    expect(parseGoDuration(input)).toBe(ns);
  });

  it.each([
    ['', 'time: invalid duration ""'],
    ['.', 'time: invalid duration "."'],
    ['1', 'time: missing unit in duration "1"'],
    ['1e3s', 'time: unknown unit "e" in duration "1e3s"'],
    ['2562048h', 'time: invalid duration "2562048h"'],
    ['1s x', 'time: unknown unit "s x" in duration "1s x"'],
  ])('bad duration %j', (input, message) => {
    expect(failure(() => parseGoDuration(input)).message).toBe(message);
  });

  it.each([
    ['64m', 64 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['512 kb', 512 * 1024],
    ['100', 100],
    ['100b', 100],
    ['1e3', 1000],
  ])('size %s', (input, bytes) => {
    expect(ramInBytes(input)).toBe(bytes);
  });

  it.each(['1x', '-1', '1kbb', 'm', 'abc', ''])('bad size %j', (input) => {
    expect(ramInBytes(input)).toBeUndefined();
  });

  it('csv fields', () => {
    expect(csvFields('a,"b,c",""')).toEqual(['a', 'b,c', '']);
    expect(csvFields('a,')).toEqual(['a', '']);
    expect(csvFields('"say ""hi"""')).toEqual(['say "hi"']);
  });

  it.each([
    ['http://example.com/a', 'http'],
    ['https://example.com/a?x=1', 'http'],
    ['https://github.com/moby/buildkit.git#v0.1', 'git'],
    ['git://example.com/repo', 'git'],
    ['git@github.com:moby/buildkit.git', 'git'],
    ['HTTP://example.com/a', undefined],
    ['github.com/moby/buildkit', undefined],
    ['./http://x', undefined],
    ['ftp://example.com/a', undefined],
    ['a/b.txt', undefined],
  ])('remote kind of %s', (src, kind) => {
    expect(remoteKind(src)).toBe(kind);
  });
});

const random = prng;

const PIECES = [
  '-',
  '=',
  '$',
  '"',
  "'",
  '\\',
  '[',
  ']',
  '{',
  '}',
  ',',
  '\n',
  '<<',
  '#',
  ' ',
  '--mount=',
  'type=',
  'AS ',
];
PIECES.push('--from=', '--chmod=', '--platform=', 'ONBUILD ', 'FROM ', 'COPY ', 'RUN ', '${', '0', 'x', '\t');

function mutate(source: string, next: () => number): string {
  let text = source;
  const edits = 1 + Math.floor(next() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(next() * (text.length + 1));
    const choice = next();
    if (choice < 0.4) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 8));
    else text = text.slice(0, at) + (PIECES[Math.floor(next() * PIECES.length)] ?? '') + text.slice(at);
  }
  return text;
}

describe.skipIf(!hasConformance)('robustness on mutated Dockerfiles', () => {
  it('only DockerfileErrors (never internal ones) escape parseStages', () => {
    const dir = conformance('realworld');
    const sources = readdirSync(dir)
      .filter((d) => statSync(conformance('realworld', d)).isDirectory())
      .sort()
      .map((d) => readFileSync(conformance('realworld', d, 'Dockerfile'), 'utf8'));
    const next = random(42);
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const source = mutate(sources[i % sources.length] ?? '', next);
      let result;
      try {
        result = parseDockerfile(source, { file: 'Dockerfile' });
      } catch {
        continue;
      }
      checked++;
      try {
        parseStages(result, { target: next() < 0.1 ? 'build' : undefined });
      } catch (error) {
        if (!(error instanceof DockerfileError) || error.message.startsWith('internal error')) {
          throw new Error(`unexpected ${String(error)} for:\n${source}`, { cause: error });
        }
        if (error.location) expect(error.location.range.start.line).toBeGreaterThanOrEqual(1);
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
