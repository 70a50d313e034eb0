/**
 * The immutable, chainable builder over the op graph, in the manner of BuildKit's client State:
 *
 *   image('busybox').run('echo hi > /a').file(copy(local('ctx'), '/src', '/app')).toDefinition()
 *
 * A State is one result (or scratch) plus values that later calls read: the environment, working
 * directory, user and network mode that `run()` applies. Every method returns a new State; nothing is
 * ever changed in place, so a State can be shared and branched freely. Equal subgraphs have equal
 * digests and appear once in a definition.
 */
import { InvalidArgumentError } from '../core/index.js';
import { marshal } from './definition.js';
import type { Definition } from './definition.js';
import { execOp } from './exec.js';
import type { RunOptions } from './exec.js';
import { fileOp, resolvePath } from './file.js';
import type { FileChain } from './file.js';
import { buildDefinition, InputList, Vertex } from './graph.js';
import type { Output } from './graph.js';
import type { NetworkMode, OpInput, OpMetadata } from './ops.js';
import type { StateView } from './state-view.js';

interface StateValues {
  readonly env: readonly (readonly [string, string])[];
  readonly cwd: string;
  readonly user: string;
  readonly network: NetworkMode;
}

const DEFAULT_VALUES: StateValues = { env: [], cwd: '/', user: '', network: 'sandbox' };

export class State implements StateView {
  constructor(
    /** The result this state stands for; null for scratch. */
    readonly output: Output | null,
    protected readonly values: StateValues = DEFAULT_VALUES,
  ) {}

  get isScratch(): boolean {
    return this.output === null;
  }

  /** The environment in the order it was set. */
  get env(): readonly (readonly [string, string])[] {
    return this.values.env;
  }

  get cwd(): string {
    return this.values.cwd;
  }

  get user(): string {
    return this.values.user;
  }

  get network(): NetworkMode {
    return this.values.network;
  }

  getEnv(key: string): string | undefined {
    return this.values.env.find(([k]) => k === key)?.[1];
  }

  /** Sets a variable; an existing one keeps its place in the order. */
  withEnv(key: string, value: string): State {
    if (key === '' || key.includes('='))
      throw new InvalidArgumentError(`invalid environment variable name ${key}`);
    const env = this.values.env.some(([k]) => k === key)
      ? this.values.env.map(([k, v]) => [k, k === key ? value : v] as const)
      : [...this.values.env, [key, value] as const];
    return this.with({ env });
  }

  withoutEnv(key: string): State {
    return this.with({ env: this.values.env.filter(([k]) => k !== key) });
  }

  /** Changes the working directory; a relative one is taken from the current one. */
  withCwd(dir: string): State {
    return this.with({ cwd: resolvePath(this.values.cwd, dir).replace(/(.)\/+$/, '$1') });
  }

  withUser(user: string): State {
    return this.with({ user });
  }

  withNetwork(network: NetworkMode): State {
    return this.with({ network });
  }

  /** Runs a command over this state as the root file system. */
  run(command: string | readonly string[] | RunOptions): ExecState {
    const options: RunOptions = typeof command === 'string' || isArgs(command) ? { args: command } : command;
    const inputs = new InputList();
    const op = execOp(this, options, inputs);
    const vertex = new Vertex(op, inputs.outputs, options.metadata ?? {});
    const outputs = new Map<string, number>();
    for (const m of op.mounts) if (m.type === 'bind' && m.output !== undefined) outputs.set(m.dest, m.output);
    return new ExecState(vertex, this.values, outputs);
  }

  /** Applies a chain of file actions (one file op). */
  file(chain: FileChain, metadata: OpMetadata = {}): State {
    if (chain.pending.length === 0) return this;
    const inputs = new InputList();
    const op = fileOp(this, chain, inputs);
    return new State({ vertex: new Vertex(op, inputs.outputs, metadata), index: 0 }, this.values);
  }

  /** The digest and output index of this state's result; null for scratch. */
  ref(): OpInput | null {
    return this.output === null ? null : { digest: this.output.vertex.digest, index: this.output.index };
  }

  toDefinition(): Definition {
    return buildDefinition(this.output);
  }

  marshal(): string {
    return marshal(this.toDefinition());
  }

  protected with(change: Partial<StateValues>): State {
    return new State(this.output, { ...this.values, ...change });
  }
}

function isArgs(value: unknown): value is readonly string[] {
  return Array.isArray(value);
}

/** The state after a run: its root file system, with the other writable mounts reachable by path. */
export class ExecState extends State {
  constructor(
    readonly vertex: Vertex,
    values: StateValues,
    private readonly mountOutputs: ReadonlyMap<string, number>,
  ) {
    super({ vertex, index: 0 }, values);
  }

  /** The root file system after the run (the same result as this state). */
  root(): State {
    return new State(this.output, this.values);
  }

  /** The contents of the writable bind mount at `dest` after the run. */
  getMount(dest: string): State {
    const index = this.mountOutputs.get(resolvePath(this.cwd, dest).replace(/(.)\/+$/, '$1'));
    if (index === undefined) throw new InvalidArgumentError(`no writable mount at ${dest}`);
    return new State({ vertex: this.vertex, index }, this.values);
  }
}

/** An empty file system. */
export function scratch(): State {
  return new State(null);
}

/** An image by reference, from the image store or a registry (references are used as given). */
export function image(ref: string, metadata: OpMetadata = {}): State {
  if (ref === '') throw new InvalidArgumentError('image needs a reference');
  return new State({
    vertex: new Vertex({ kind: 'source', identifier: `image:${ref}` }, [], metadata),
    index: 0,
  });
}

/**
 * A remote source other than an image: `http:<url>` (one file) or `git:<remote>` (a checkout), with its
 * scheme's attrs (see SourceOp).
 */
export function remote(
  identifier: `http:${string}` | `git:${string}`,
  attrs: Readonly<Record<string, string>> = {},
  metadata: OpMetadata = {},
): State {
  const op = { kind: 'source' as const, identifier, ...(Object.keys(attrs).length > 0 ? { attrs } : {}) };
  return new State({ vertex: new Vertex(op, [], metadata), index: 0 });
}

export interface LocalOptions {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /** Paths read from the directory: they and the targets of the symlinks on their way are included. */
  readonly followPaths?: readonly string[];
  readonly sharedKey?: string;
  /** Modes without the group and other write bits, as with umask 022 (LocalSourceOptions.normalize). */
  readonly normalize?: boolean;
  /** For session-less builds: the host directory to read. */
  readonly path?: string;
  readonly metadata?: OpMetadata;
}

/** A directory sent by the client (the build context), filtered by include and exclude patterns. */
export function local(name: string, options: LocalOptions = {}): State {
  if (name === '') throw new InvalidArgumentError('local needs a name');
  const op = {
    kind: 'source' as const,
    identifier: `local:${name}`,
    local: {
      include: [...(options.include ?? [])],
      exclude: [...(options.exclude ?? [])],
      ...(options.followPaths !== undefined ? { followPaths: [...options.followPaths] } : {}),
      sharedKey: options.sharedKey,
      path: options.path,
      ...(options.normalize === true ? { normalize: true } : {}),
    },
  };
  return new State({ vertex: new Vertex(op, [], options.metadata ?? {}), index: 0 });
}

/**
 * The states layered in order, later over earlier (COPY --link). Scratch inputs add nothing and are
 * left out; one input left is returned as it is. The result keeps the first state's values.
 */
export function merge(states: readonly State[], metadata: OpMetadata = {}): State {
  const values = states[0]?.['values'] ?? DEFAULT_VALUES;
  const layers = states.filter((s) => !s.isScratch);
  if (layers.length === 0) return new State(null, values);
  if (layers.length === 1) return new State((layers[0] as State).output, values);
  const outputs = layers.map((s) => s.output as Output);
  return new State({ vertex: new Vertex({ kind: 'merge' }, outputs, metadata), index: 0 }, values);
}
