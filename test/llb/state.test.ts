/** The State builder: graph shapes of runs, mounts, file chains and merges; env/cwd/user values. */
import { describe, expect, it } from 'vitest';
import { TsbuildError } from '../../core/errors.js';
import {
  copy,
  DEFAULT_PATH,
  image,
  local,
  merge,
  mkdir,
  mkfile,
  rm,
  scratch,
  symlink,
} from '../../llb/index.js';
import type { Definition, DefinitionOp, ExecOp, FileOp } from '../../llb/index.js';

const last = (def: Definition): DefinitionOp => def.ops.at(-1) as DefinitionOp;
const execOf = (def: Definition): ExecOp => last(def).op as ExecOp;
const fileOf = (def: Definition): FileOp => last(def).op as FileOp;

describe('the brief example', () => {
  it("image('busybox').run(...).file(copy(local('ctx'), ...)) has four ops and the expected edges", () => {
    const def = image('busybox')
      .run('echo hi > /a')
      .file(copy(local('ctx'), '/src', '/app'))
      .toDefinition();
    expect(def.ops.map((o) => o.op.kind)).toEqual(['source', 'exec', 'source', 'file']);
    const [busybox, run, ctx, file] = def.ops as [DefinitionOp, DefinitionOp, DefinitionOp, DefinitionOp];
    expect(busybox.op).toEqual({ kind: 'source', identifier: 'image:busybox' });
    expect(ctx.op).toEqual({ kind: 'source', identifier: 'local:ctx', local: { include: [], exclude: [] } });
    expect(run.inputs).toEqual([{ digest: busybox.digest, index: 0 }]);
    expect(file.inputs).toEqual([
      { digest: run.digest, index: 0 },
      { digest: ctx.digest, index: 0 },
    ]);
    expect(file.op).toMatchObject({
      base: 0,
      actions: [{ action: 'copy', src: 1, srcPath: '/src', dest: '/app' }],
    });
    expect(def.root).toEqual({ digest: file.digest, index: 0 });
  });
});

describe('run', () => {
  it('runs a string through /bin/sh -c and an array as given, with a default PATH', () => {
    const op = execOf(image('alpine').run('echo hi').toDefinition());
    expect(op).toMatchObject({
      args: ['/bin/sh', '-c', 'echo hi'],
      env: [`PATH=${DEFAULT_PATH}`],
      cwd: '/',
      user: '',
    });
    expect(op.network).toBe('sandbox');
    expect(op.security).toBe('sandbox');
    expect(execOf(image('alpine').run(['ls', '-l']).toDefinition()).args).toEqual(['ls', '-l']);
  });

  it('gives every mount kind its fields and writable binds their outputs', () => {
    const ctx = local('ctx');
    const cacheBase = scratch().file(mkdir('/c'));
    const exec = image('alpine')
      .withCwd('/work')
      .run({
        args: 'make',
        network: 'none',
        security: 'insecure',
        mounts: [
          { type: 'bind', dest: 'src', from: ctx, selector: '/app', readonly: true },
          { type: 'bind', dest: '/out', from: scratch() },
          {
            type: 'cache',
            dest: '/var/cache',
            id: 'apk',
            sharing: 'locked',
            from: cacheBase,
            uid: 1,
            mode: 0o700,
          },
          { type: 'tmpfs', dest: '/tmp', size: 64 },
          { type: 'secret', id: 'npmrc' },
          { type: 'secret', id: 'token', env: 'TOKEN', required: true },
          { type: 'ssh', required: true },
          { type: 'bind', dest: '/out2', from: ctx },
        ],
      });
    const def = exec.toDefinition();
    const op = execOf(def);
    expect(op.network).toBe('none');
    expect(op.security).toBe('insecure');
    expect(last(def).inputs).toHaveLength(3); // alpine, ctx, cacheBase; scratch is no input
    expect(op.mounts).toEqual([
      { type: 'bind', dest: '/', input: 0, selector: '/', readonly: false, output: 0 },
      { type: 'bind', dest: '/work/src', input: 1, selector: '/app', readonly: true },
      { type: 'bind', dest: '/out', input: -1, selector: '/', readonly: false, output: 1 },
      {
        type: 'cache',
        dest: '/var/cache',
        id: 'apk',
        sharing: 'locked',
        input: 2,
        uid: 1,
        gid: 0,
        mode: 0o700,
      },
      { type: 'tmpfs', dest: '/tmp', size: 64 },
      {
        type: 'secret',
        id: 'npmrc',
        dest: '/run/secrets/npmrc',
        uid: 0,
        gid: 0,
        mode: 0o400,
        required: false,
      },
      { type: 'secret', id: 'token', env: 'TOKEN', uid: 0, gid: 0, mode: 0o400, required: true },
      {
        type: 'ssh',
        id: 'default',
        dest: '/run/tsbuild/ssh_agent.6',
        uid: 0,
        gid: 0,
        mode: 0o600,
        required: true,
      },
      { type: 'bind', dest: '/out2', input: 1, selector: '/', readonly: false, output: 2 },
    ]);
    expect(exec.root().ref()).toEqual({ digest: last(def).digest, index: 0 });
    expect(exec.getMount('/out').ref()).toEqual({ digest: last(def).digest, index: 1 });
    expect(exec.getMount('/out2/').ref()?.index).toBe(2);
    expect(() => exec.getMount('/work/src')).toThrow(/no writable mount/);
  });

  it('a later op reading a mount output depends on that output index', () => {
    const exec = image('alpine').run({
      args: 'make',
      mounts: [{ type: 'bind', dest: '/out', from: scratch() }],
    });
    const def = scratch()
      .file(copy(exec.getMount('/out'), '/bin', '/bin'))
      .toDefinition();
    expect(last(def).inputs).toEqual([{ digest: def.ops[1]?.digest, index: 1 }]);
  });

  it('rejects two mounts at one path, a secret that is both file and env, and an empty command', () => {
    const base = image('alpine');
    const tmp = { type: 'tmpfs', dest: '/tmp' } as const;
    expect(() => base.run({ args: 'x', mounts: [tmp, { ...tmp, dest: '/tmp/' }] })).toThrow(
      /two mounts at \/tmp/,
    );
    expect(() =>
      base.run({ args: 'x', mounts: [{ type: 'secret', id: 's', dest: '/s', env: 'S' }] }),
    ).toThrow(TsbuildError);
    expect(() => base.run([])).toThrow(/needs a command/);
  });
});

describe('state values', () => {
  it('env, cwd and user apply to later runs and not earlier ones', () => {
    const a = image('alpine').withEnv('A', '1').withEnv('B', '2');
    const first = a.run('one');
    const b = first.withEnv('A', '3').withCwd('/srv').withCwd('app').withUser('nobody');
    const second = b.run({ args: 'two', env: { C: '4' } });
    expect(execOf(first.toDefinition())).toMatchObject({
      env: ['A=1', 'B=2', `PATH=${DEFAULT_PATH}`],
      cwd: '/',
      user: '',
    });
    expect(execOf(second.toDefinition())).toMatchObject({
      env: ['A=3', 'B=2', 'C=4', `PATH=${DEFAULT_PATH}`],
      cwd: '/srv/app',
      user: 'nobody',
    });
    expect(b.getEnv('A')).toBe('3');
    expect(b.withoutEnv('A').getEnv('A')).toBeUndefined();
    expect(a.getEnv('A')).toBe('1');
  });

  it('values survive run, file and root, and are not part of a state digest', () => {
    const s = image('alpine').withEnv('PATH', '/bin').withUser('app').withCwd('/w');
    expect(s.ref()).toEqual(image('alpine').ref());
    const after = s.run('x').root().file(mkdir('d'));
    expect([after.getEnv('PATH'), after.user, after.cwd]).toEqual(['/bin', 'app', '/w']);
    expect(execOf(after.run('y').toDefinition()).env).toEqual(['PATH=/bin']);
  });

  it('run options override the state for one run only', () => {
    const s = image('alpine').withUser('app').withNetwork('host');
    const op = execOf(s.run({ args: 'x', user: 'root', cwd: 'sub' }).toDefinition());
    expect(op).toMatchObject({ user: 'root', cwd: '/sub', network: 'host' });
  });

  it('rejects invalid env names', () => {
    expect(() => scratch().withEnv('A=B', 'x')).toThrow(/invalid environment variable/);
  });
});

describe('file', () => {
  it('chains actions into one op, resolving relative paths against the cwd', () => {
    const chain = mkdir('/a', 0o700, { makeParents: true, chown: { user: 1000, group: 'staff' } })
      .mkfile('b', 0o644, 'hello')
      .rm('/c/*', { allowNotFound: true, allowWildcard: true })
      .symlink('/a/b', 'link');
    const def = image('alpine').withCwd('/w').file(chain).toDefinition();
    expect(def.ops).toHaveLength(2);
    expect(fileOf(def)).toEqual({
      kind: 'file',
      base: 0,
      actions: [
        {
          action: 'mkdir',
          path: '/a',
          mode: 0o700,
          makeParents: true,
          chown: { user: 1000, group: 'staff' },
        },
        { action: 'mkfile', path: '/w/b', mode: 0o644, data: 'hello' },
        { action: 'rm', path: '/c/*', allowNotFound: true, allowWildcard: true },
        { action: 'symlink', oldPath: '/a/b', newPath: '/w/link' },
      ],
    });
  });

  it('copy carries every option and keeps a trailing slash', () => {
    const ctx = local('ctx', { include: ['*.go'], exclude: ['vendor'] }).withCwd('/base');
    const def = scratch()
      .withCwd('/app')
      .file(
        copy(ctx, 'src/*.go', 'out/', {
          chown: { user: 'app' },
          chmod: 'u+x',
          followSymlinks: false,
          wildcards: true,
          allowEmptyWildcard: true,
          include: ['a'],
          exclude: ['b'],
          createDestPath: false,
          copyDirContents: true,
          alwaysReplaceExisting: true,
        }),
      )
      .toDefinition();
    expect(def.ops[0]?.op).toMatchObject({ local: { include: ['*.go'], exclude: ['vendor'] } });
    expect(fileOf(def)).toEqual({
      kind: 'file',
      base: -1,
      actions: [
        {
          action: 'copy',
          src: 0,
          srcPath: '/base/src/*.go',
          dest: '/app/out/',
          chown: { user: 'app' },
          chmod: 'u+x',
          followSymlinks: false,
          wildcards: true,
          allowEmptyWildcard: true,
          include: ['a'],
          exclude: ['b'],
          createDestPath: false,
          copyDirContents: true,
          alwaysReplaceExisting: true,
        },
      ],
    });
  });

  it('chains are immutable and an empty chain changes nothing', () => {
    const one = mkfile('/x', 0o600, 'x');
    const two = one.rm('/y');
    expect(one.pending).toHaveLength(1);
    expect(two.pending).toHaveLength(2);
    const s = image('alpine');
    expect(s.file(rm('/y').rm('/z')).ref()).not.toEqual(s.file(rm('/y')).ref());
    expect(symlink('a', 'b').pending).toHaveLength(1);
  });
});

describe('merge', () => {
  it('layers its inputs in order into one op', () => {
    const base = image('alpine').withEnv('A', '1');
    const layer = scratch().file(copy(local('ctx'), '/', '/app'));
    const merged = merge([base, layer]);
    const def = merged.toDefinition();
    expect(last(def).op).toEqual({ kind: 'merge' });
    expect(last(def).inputs.map((i) => i.digest)).toEqual([base.ref()?.digest, layer.ref()?.digest]);
    expect(merged.getEnv('A')).toBe('1');
    expect(merge([layer, base]).ref()).not.toEqual(merged.ref());
  });

  it('drops scratch inputs and collapses to the one input left', () => {
    const base = image('alpine');
    expect(merge([scratch(), base, scratch()]).ref()).toEqual(base.ref());
    expect(merge([scratch()]).isScratch).toBe(true);
    expect(merge([]).toDefinition()).toEqual({ ops: [], root: null });
  });
});
