/**
 * containerd's TestBreakouts (34 hostile or odd streams, conformance data), applied with our applier
 * onto a target that sits inside a sentinel directory. Each case must pass its validator (or fail with
 * "invalid archive" where containerd does), and nothing outside the target may change: the sentinel
 * tree, the host's /etc/passwd, /tmp.
 *
 * Run twice: native ('delete' whiteouts, the case's `apply` ops in the target) and overlay (the ops in
 * a lower directory, the layer written into an empty upper directory; the validators then run on the
 * mounted overlay, when this machine can mount one).
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import { applyLayer } from '../../diff/applier.js';
import type { ApplyTarget } from '../../diff/types.js';
import { cleanRel, hostLookup, resolveRel } from '../../fsutil/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { conformance } from '../helpers/shared.js';
import {
  applyOps,
  buildTar,
  canMountOverlay,
  contentBytes,
  exists,
  mountOverlay,
  parseMode,
  snapshotTree,
  tempDir,
  umount,
} from './helpers/layers.js';
import type { Content, FsOp, TarSpec } from './helpers/layers.js';

const hasConformance = canRunSuite('containerd TestBreakouts', { conformance: true });

type Token = string | number[] | { ident: string } | { concat: Token[] };
type Validator = Token | [string, ...unknown[]];

interface BreakoutCase {
  name: string;
  w: unknown;
  apply?: [string, ...FsOp[]];
  validator?: unknown;
  err?: { ident: string };
}

const data: { count: number; cases: BreakoutCase[] } = hasConformance
  ? JSON.parse(readFileSync(conformance('layers/containerd-breakouts-cases.json'), 'utf8'))
  : { count: 0, cases: [] };

const GO_LITERAL = /^<Go func literal/;

/** Per case: the sentinel parent, the target inside it, the token values. */
interface Env {
  sentinel: string;
  root: string;
  tname: string;
}

function value(t: Token, env: Env): string | Buffer {
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return Buffer.from(t);
  if ('ident' in t) {
    if (t.ident === 'expected') return 'unbroken';
    if (t.ident === 'tname') return env.tname;
    throw new Error(`unknown ident ${t.ident}`);
  }
  return t.concat.map((x) => value(x, env).toString()).join('');
}

function specs(w: unknown, env: Env): TarSpec[] {
  const list = w as [string, ...[string, ...Token[]][]];
  expect(list[0]).toBe('TarAll');
  return list.slice(1).map((e) => {
    const [kind, ...args] = e as [string, ...Token[]];
    switch (kind) {
      case 'Dir':
        return {
          kind: 'Dir',
          name: value(args[0] as Token, env).toString(),
          mode: parseMode(args[1] as string),
        };
      case 'File':
        return {
          kind: 'File',
          name: value(args[0] as Token, env).toString(),
          content: contentBytes(value(args[1] as Token, env) as Content),
          mode: parseMode(args[2] as string),
        };
      case 'Symlink':
        return {
          kind: 'Symlink',
          target: value(args[0] as Token, env).toString(),
          name: value(args[1] as Token, env).toString(),
        };
      case 'Link':
        return {
          kind: 'Link',
          target: value(args[0] as Token, env).toString(),
          name: value(args[1] as Token, env).toString(),
        };
      default:
        throw new Error(`unknown tar entry ${kind}`);
    }
  });
}

/** fs.RootPath + os.Stat: the inode a path names inside root, symlinks followed within root. */
function rootStat(root: string, p: string): { dev: number; ino: number } {
  const rel = resolveRel(hostLookup(root), cleanRel(p), true);
  return statSync(rel === '' ? root : join(root, rel));
}

class FileDiff extends Error {}

function check(v: unknown, root: string, env: Env): void {
  if (typeof v === 'object' && v !== null && 'ident' in v) {
    expect((v as { ident: string }).ident).toBe('unbrokenCheck');
    expect(readFileSync(join(root, 'etc', 'unbroken'), 'utf8')).toBe('unbroken');
    return;
  }
  const [kind, ...args] = v as [string, ...unknown[]];
  switch (kind) {
    case 'all':
      for (const x of args) if (typeof x !== 'string' || !GO_LITERAL.test(x)) check(x, root, env);
      return;
    case 'sameFile': {
      const a = rootStat(root, args[0] as string);
      const b = rootStat(root, args[1] as string);
      expect([a.dev, a.ino]).toEqual([b.dev, b.ino]);
      return;
    }
    case 'notSameFile': {
      const a = rootStat(root, args[0] as string);
      const b = rootStat(root, args[1] as string);
      if (a.dev === b.dev && a.ino === b.ino) throw new FileDiff('files are the same, expected different');
      return;
    }
    case 'sameSymlinkFile': {
      const p1 = join(root, args[0] as string);
      const p2 = join(root, args[1] as string);
      expect(lstatSync(p1).isSymbolicLink()).toBe(true);
      expect(lstatSync(p2).isSymbolicLink()).toBe(true);
      expect(readlinkSync(p1)).toBe(readlinkSync(p2));
      return;
    }
    case 'fileValue':
      expect(readFileSync(join(root, value(args[0] as Token, env).toString()))).toEqual(
        contentBytes(value(args[1] as Token, env) as Content),
      );
      return;
    case 'fileNotExists':
      expect(exists(join(root, args[0] as string))).toBe(false);
      return;
    default:
      throw new Error(`unknown validator ${kind}`);
  }
}

/** The validators written as Go closures, by case (their intent, from the upstream source). */
function checkLiteral(name: string, root: string, env: Env): void {
  switch (name) {
    case 'SymlinkEmptyFile':
      expect(readFileSync(join(root, 'etc', 'emptied')).length).toBe(0);
      return;
    case 'SymlinkOverridePath': {
      const outside = `/tmp/breakout-${env.tname}`;
      if (exists(outside)) expect(readFileSync(outside)).not.toEqual(Buffer.from([3, 4, 5]));
      return;
    }
    case 'HardlinkSymlinkChmod':
      expect(lstatSync(join(env.sentinel, 'perm400')).mode & 0o7777).toBe(0o400);
      return;
    default:
      throw new Error(`no implementation of the Go validator of ${name}`);
  }
}

function hostPasswd(): string {
  const st = statSync('/etc/passwd');
  return `${st.mode}:${st.mtimeMs}:${createHash('sha256').update(readFileSync('/etc/passwd')).digest('hex')}`;
}

function runSuite(mode: 'delete' | 'overlay'): void {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir(`tsbuild-breakouts-${mode}-`);
  });
  afterAll(() => tmp.cleanup());

  it.each(data.cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
    const sentinel = join(tmp.path, name);
    mkdirSync(join(sentinel, 'etc'), { recursive: true });
    writeFileSync(join(sentinel, 'etc', 'passwd'), 'outside');
    writeFileSync(join(sentinel, 'perm400'), '...');
    chmodSync(join(sentinel, 'perm400'), 0o400);
    writeFileSync(join(sentinel, 'also-exists-outside-root'), '...');
    chmodSync(join(sentinel, 'also-exists-outside-root'), 0o640);
    const root = join(sentinel, 'root');
    mkdirSync(root);
    const lower = join(sentinel, 'lower');
    const work = join(sentinel, 'work');
    const merged = join(sentinel, 'merged');
    if (mode === 'overlay') for (const d of [lower, work, merged]) mkdirSync(d);
    const env: Env = { sentinel, root, tname: sentinel.replaceAll('/', '_').replace(/^_+|_+$/g, '') };

    if (c.apply !== undefined) {
      expect(c.apply[0]).toBe('fstest.Apply');
      applyOps(mode === 'overlay' ? lower : root, c.apply.slice(1) as FsOp[]);
    }
    let tarSpecs: TarSpec[];
    if (typeof c.w === 'string' && GO_LITERAL.test(c.w)) {
      expect(name).toBe('HardlinkSymlinkChmod');
      tarSpecs = [
        {
          kind: 'Symlink',
          target: join(sentinel, 'perm400'),
          name: join(sentinel, 'also-exists-outside-root'),
        },
        { kind: 'Link', target: join(sentinel, 'also-exists-outside-root'), name: 'sketchylink' },
      ];
    } else {
      tarSpecs = specs(c.w, env);
    }
    const tar = await buildTar(tarSpecs, process.getuid?.() ?? 0, process.getgid?.() ?? 0);

    const outside = (): unknown => {
      const s = snapshotTree(sentinel, { mtimes: true });
      for (const k of Object.keys(s)) {
        if (['root', 'lower', 'work', 'merged'].some((d) => k === d || k.startsWith(`${d}/`))) delete s[k];
      }
      return s;
    };
    const before = outside();
    const passwd = hostPasswd();
    const breakoutFile = `/tmp/breakout-${env.tname}`;
    const breakoutBefore = exists(breakoutFile);

    const target: ApplyTarget =
      mode === 'delete' ? { root, whiteouts: 'delete' } : { root, whiteouts: 'overlay', lowers: [lower] };
    const applying = applyLayer(Readable.from([tar]), target);
    if (c.err !== undefined) {
      expect(c.err.ident).toBe('errInvalidArchive');
      const err = await applying.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TsbuildError);
      expect((err as TsbuildError).code).toBe('INVALID_ARGUMENT');
      expect((err as TsbuildError).message).toMatch(/invalid archive/);
    } else {
      await applying;
      const validate = (at: string): void => {
        if (typeof c.validator === 'string' && GO_LITERAL.test(c.validator)) checkLiteral(name, at, env);
        else {
          check(c.validator as Validator, at, env);
          if (
            Array.isArray(c.validator) &&
            c.validator.some((x) => typeof x === 'string' && GO_LITERAL.test(x))
          ) {
            checkLiteral(name, at, env);
          }
        }
      };
      if (mode === 'delete') validate(root);
      else if (canMountOverlay()) {
        mountOverlay([lower], root, work, merged);
        try {
          validate(merged);
        } finally {
          umount(merged);
        }
      }
    }

    // Nothing outside the target changed.
    expect(outside()).toEqual(before);
    expect(hostPasswd()).toBe(passwd);
    expect(exists(breakoutFile)).toBe(breakoutBefore);
  });
}

describe.skipIf(!hasConformance)('containerd TestBreakouts', () => {
  it('has the 34 cases', () => {
    expect(data.cases).toHaveLength(34);
    expect(data.count).toBe(34);
  });
  describe('native (delete whiteouts)', () => runSuite('delete'));
  describe('overlay upper', () => runSuite('overlay'));
});
