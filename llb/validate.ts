/**
 * Shape checks for ops read from JSON (unmarshal). Every message names the op's index in the
 * definition, so a tampered or hand-written file points at the broken entry.
 */
import { InvalidArgumentError } from '../core/index.js';
import { SCRATCH } from './ops.js';
import type { Chown, FileAction, Mount, Op, OpInput, OpMetadata } from './ops.js';

type Json = Record<string, unknown>;

/** Checks one op's fields against the kinds of ops.ts; `where` prefixes every message. */
export class OpChecker {
  constructor(readonly where: string) {}

  fail(message: string): never {
    throw new InvalidArgumentError(`${this.where}: ${message}`);
  }

  object(value: unknown, what: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(`${what} is not an object`);
    return value as Json;
  }

  string(value: unknown, what: string): string {
    if (typeof value !== 'string') this.fail(`${what} is not a string`);
    return value;
  }

  int(value: unknown, what: string, min = 0): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      this.fail(`${what} is not an integer >= ${min}`);
    }
    return value;
  }

  bool(value: unknown, what: string): boolean {
    if (typeof value !== 'boolean') this.fail(`${what} is not a boolean`);
    return value;
  }

  strings(value: unknown, what: string): readonly string[] {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      this.fail(`${what} is not a string list`);
    return value as string[];
  }

  oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
    if (!allowed.includes(value as T)) this.fail(`${what} is not one of ${allowed.join(', ')}`);
    return value as T;
  }

  /** An input position of this op: SCRATCH or below `count`. */
  inputRef(value: unknown, count: number, what: string): number {
    const n = this.int(value, what, SCRATCH);
    if (n >= count) this.fail(`${what} refers to input ${n}, but the op has ${count} inputs`);
    return n;
  }

  inputs(value: unknown): OpInput[] {
    if (!Array.isArray(value)) this.fail('inputs is not a list');
    return value.map((raw, i) => {
      const input = this.object(raw, `input ${i}`);
      return {
        digest: this.string(input.digest, `input ${i} digest`),
        index: this.int(input.index, `input ${i} index`),
      };
    });
  }

  metadata(value: unknown): OpMetadata {
    return value === undefined ? {} : (this.object(value, 'metadata') as OpMetadata);
  }

  /** Checks an op that reads `inputCount` inputs and returns it typed. */
  op(value: unknown, inputCount: number): Op {
    const op = this.object(value, 'op');
    switch (op.kind) {
      case 'source':
        this.source(op, inputCount);
        break;
      case 'exec':
        this.exec(op, inputCount);
        break;
      case 'file':
        this.inputRef(op.base, inputCount, 'file base');
        if (!Array.isArray(op.actions) || op.actions.length === 0) this.fail('file op has no actions');
        op.actions.forEach((a: unknown, i: number) => this.fileAction(a, inputCount, `action ${i}`));
        break;
      case 'merge':
        if (inputCount < 2) this.fail('merge op needs at least two inputs');
        break;
      default:
        this.fail(`unknown op kind ${JSON.stringify(op.kind)}`);
    }
    return op as unknown as Op;
  }

  private source(op: Json, inputCount: number): void {
    if (inputCount !== 0) this.fail('source op has inputs');
    const id = this.string(op.identifier, 'identifier');
    if (!/^(image|local|http|git):./.test(id))
      this.fail(`unsupported source identifier ${JSON.stringify(id)}`);
    if (op.attrs !== undefined) {
      const attrs = this.object(op.attrs, 'attrs');
      for (const [key, value] of Object.entries(attrs)) this.string(value, `attrs ${key}`);
    }
    if (op.local === undefined) return;
    const local = this.object(op.local, 'local');
    this.strings(local.include, 'local include');
    this.strings(local.exclude, 'local exclude');
    if (local.followPaths !== undefined) this.strings(local.followPaths, 'local followPaths');
    if (local.sharedKey !== undefined) this.string(local.sharedKey, 'local sharedKey');
    if (local.path !== undefined) this.string(local.path, 'local path');
    if (local.normalize !== undefined) this.bool(local.normalize, 'local normalize');
  }

  private exec(op: Json, inputCount: number): void {
    if (this.strings(op.args, 'args').length === 0) this.fail('exec op has no args');
    this.strings(op.env, 'env');
    this.string(op.cwd, 'cwd');
    this.string(op.user, 'user');
    this.oneOf(op.network, ['sandbox', 'none', 'host'], 'network');
    this.oneOf(op.security, ['sandbox', 'insecure'], 'security');
    if (!Array.isArray(op.mounts) || op.mounts.length === 0) this.fail('exec op has no mounts');
    let output = 0;
    op.mounts.forEach((raw: unknown, i: number) => {
      const m = this.mount(raw, inputCount, `mount ${i}`);
      if (i === 0 && (m.type !== 'bind' || m.dest !== '/' || m.output !== 0)) {
        this.fail('mount 0 is not the root bind mount with output 0');
      }
      if (m.type === 'bind' && m.output !== undefined && m.output !== output++) {
        this.fail(`mount ${i} has output ${m.output}, expected ${output - 1}`);
      }
    });
  }

  private mount(raw: unknown, inputCount: number, what: string): Mount {
    const m = this.object(raw, what);
    const type = this.oneOf(m.type, ['bind', 'cache', 'tmpfs', 'secret', 'ssh'], `${what} type`);
    if (type !== 'secret' || m.dest !== undefined) this.string(m.dest, `${what} dest`);
    if (type === 'bind') {
      this.inputRef(m.input, inputCount, `${what} input`);
      this.string(m.selector, `${what} selector`);
      if (this.bool(m.readonly, `${what} readonly`) && m.output !== undefined)
        this.fail(`${what} is read-only`);
      if (m.output !== undefined) this.int(m.output, `${what} output`);
      if (m.noOutput !== undefined && this.bool(m.noOutput, `${what} noOutput`) && m.output !== undefined)
        this.fail(`${what} has noOutput and an output`);
    } else if (type === 'cache') {
      this.string(m.id, `${what} id`);
      this.oneOf(m.sharing, ['shared', 'private', 'locked'], `${what} sharing`);
      this.inputRef(m.input, inputCount, `${what} input`);
      if (m.selector !== undefined) this.string(m.selector, `${what} selector`);
      this.owner(m, what);
    } else if (type === 'tmpfs') {
      this.int(m.size, `${what} size`);
    } else {
      this.string(m.id, `${what} id`);
      this.owner(m, what);
      this.bool(m.required, `${what} required`);
      if (type === 'secret' && (m.dest === undefined) === (m.env === undefined)) {
        this.fail(`${what} needs exactly one of dest and env`);
      }
      if (m.env !== undefined) this.string(m.env, `${what} env`);
    }
    return m as unknown as Mount;
  }

  private owner(m: Json, what: string): void {
    this.int(m.uid, `${what} uid`);
    this.int(m.gid, `${what} gid`);
    this.int(m.mode, `${what} mode`);
  }

  private fileAction(raw: unknown, inputCount: number, what: string): FileAction {
    const a = this.object(raw, what);
    switch (a.action) {
      case 'copy':
        this.inputRef(a.src, inputCount, `${what} src`);
        this.string(a.srcPath, `${what} srcPath`);
        this.string(a.dest, `${what} dest`);
        for (const flag of ['followSymlinks', 'wildcards', 'allowEmptyWildcard', 'createDestPath'] as const) {
          this.bool(a[flag], `${what} ${flag}`);
        }
        this.bool(a.copyDirContents, `${what} copyDirContents`);
        this.bool(a.alwaysReplaceExisting, `${what} alwaysReplaceExisting`);
        if (a.attemptUnpack !== undefined) this.bool(a.attemptUnpack, `${what} attemptUnpack`);
        if (a.parents !== undefined) this.bool(a.parents, `${what} parents`);
        this.strings(a.include, `${what} include`);
        this.strings(a.exclude, `${what} exclude`);
        if (a.chmod !== undefined && typeof a.chmod !== 'string') this.int(a.chmod, `${what} chmod`);
        break;
      case 'mkdir':
      case 'mkfile':
        this.string(a.path, `${what} path`);
        this.int(a.mode, `${what} mode`);
        if (a.action === 'mkdir') {
          this.bool(a.makeParents, `${what} makeParents`);
          if (a.timestamp !== undefined) this.int(a.timestamp, `${what} timestamp`);
        } else this.string(a.data, `${what} data`);
        break;
      case 'rm':
        this.string(a.path, `${what} path`);
        this.bool(a.allowNotFound, `${what} allowNotFound`);
        this.bool(a.allowWildcard, `${what} allowWildcard`);
        break;
      case 'symlink':
        this.string(a.oldPath, `${what} oldPath`);
        this.string(a.newPath, `${what} newPath`);
        break;
      default:
        this.fail(`${what} has unknown action ${JSON.stringify(a.action)}`);
    }
    if (a.chown !== undefined) this.chown(a.chown, what);
    return a as unknown as FileAction;
  }

  private chown(raw: unknown, what: string): Chown {
    const c = this.object(raw, `${what} chown`);
    const id = (v: unknown, which: string) => {
      if (typeof v !== 'string') this.int(v, `${what} chown ${which}`);
    };
    id(c.user, 'user');
    if (c.group !== undefined) id(c.group, 'group');
    return c as unknown as Chown;
  }
}
