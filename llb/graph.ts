/**
 * The in-memory graph behind State: vertices that know their op, the results they read and their
 * digest (computed once, when the vertex is made, from its inputs' digests), and the walk that turns
 * a result into a Definition.
 */
import { TsbuildError } from '../core/index.js';
import { canonicalJson, opDigest } from './digest.js';
import { SCRATCH } from './ops.js';
import type { Op, OpInput, OpMetadata } from './ops.js';
import type { Definition, DefinitionOp } from './definition.js';

/**
 * The most a definition may hold, in characters of its ops' JSON (Vertex.size). BuildKit's gateway
 * frontends hand their definition over gRPC, whose messages BuildKit bounds at 16 MiB of protobuf; the
 * same graph is larger as JSON (field names, escapes), so this allows four times that. Without a
 * bound, a RUN carries the whole environment (up to 8 MiB), and a thousand RUNs after a large ENV
 * hold gigabytes of ops before anything is marshalled.
 */
export const MAX_DEFINITION_SIZE = 64 << 20;

/** What an entry of a marshalled definition adds besides its op and metadata: keys, its digest. */
const ENTRY_OVERHEAD = 128;
/** What one input adds: its digest and index. */
const INPUT_SIZE = 96;

export class Vertex {
  readonly digest: string;
  readonly inputRefs: readonly OpInput[];
  /** The op exactly as digested: keys sorted, undefined fields gone. */
  readonly op: Op;
  /** About how many characters this op takes in a marshalled definition (op, metadata, inputs). */
  readonly size: number;

  constructor(
    op: Op,
    readonly inputs: readonly Output[],
    readonly metadata: OpMetadata,
  ) {
    const json = canonicalJson(op);
    this.op = JSON.parse(json) as Op;
    this.inputRefs = inputs.map((o) => ({ digest: o.vertex.digest, index: o.index }));
    this.digest = opDigest(this.op, this.inputRefs);
    this.size = json.length + metadataSize(metadata) + ENTRY_OVERHEAD + INPUT_SIZE * inputs.length;
  }
}

/** About the length of `metadata` as JSON: its texts and room for its keys and numbers (no stringify). */
function metadataSize(metadata: OpMetadata): number {
  let size = 200;
  for (const [key, value] of Object.entries(metadata.description ?? {}))
    size += key.length + value.length + 6;
  size += metadata.location?.file.length ?? 0;
  size += (metadata.progressGroup?.id.length ?? 0) + (metadata.progressGroup?.name.length ?? 0);
  return size + (metadata.customName?.length ?? 0);
}

/**
 * The size of the definition of everything it has been given so far: each distinct op (by digest)
 * counted once. Adding a result walks only the ops not counted yet, so a caller can add its state
 * after every step and learn early, at the step that does it, that the graph grows too large.
 */
export class DefinitionSize {
  private readonly counted = new Set<string>();
  private size = 0;

  get total(): number {
    return this.size;
  }

  /** Counts the ops `output` reads that are not counted yet; returns the new total. */
  add(output: Output | null): number {
    if (output === null) return this.size;
    const stack: Vertex[] = [output.vertex];
    while (stack.length > 0) {
      const vertex = stack.pop() as Vertex;
      if (this.counted.has(vertex.digest)) continue;
      this.counted.add(vertex.digest);
      this.size += vertex.size;
      for (const input of vertex.inputs) stack.push(input.vertex);
    }
    return this.size;
  }
}

/** The error for a definition past MAX_DEFINITION_SIZE. */
export function definitionTooLarge(): TsbuildError {
  return new TsbuildError(
    'LIMIT_EXCEEDED',
    `the build's definition would be larger than ${MAX_DEFINITION_SIZE} characters`,
    {
      hint: 'every RUN carries the whole environment: a large ENV or ARG is repeated in each RUN after it',
    },
  );
}

/** One output of a vertex. A State whose output is null is scratch. */
export interface Output {
  readonly vertex: Vertex;
  readonly index: number;
}

/** Collects the distinct outputs an op reads and hands out their positions (SCRATCH for none). */
export class InputList {
  readonly outputs: Output[] = [];
  private readonly positions = new Map<string, number>();

  add(output: Output | null): number {
    if (output === null) return SCRATCH;
    const key = `${output.vertex.digest}#${output.index}`;
    let position = this.positions.get(key);
    if (position === undefined) {
      position = this.outputs.length;
      this.outputs.push(output);
      this.positions.set(key, position);
    }
    return position;
  }
}

/** Combines the metadata of equal ops met more than once: first value wins, ignoreCache if any. */
function mergeMetadata(a: OpMetadata, b: OpMetadata): OpMetadata {
  const merged: OpMetadata = { ...b, ...a, description: { ...b.description, ...a.description } };
  const ignoreCache = a.ignoreCache === true || b.ignoreCache === true ? true : undefined;
  const description = Object.keys(merged.description ?? {}).length > 0 ? merged.description : undefined;
  return stripUndefined({ ...merged, ignoreCache, description });
}

function stripUndefined(meta: OpMetadata): OpMetadata {
  return Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)) as OpMetadata;
}

/**
 * Every op reachable from `root` once (by digest), inputs before the ops that read them. Every
 * vertex object is visited, so the metadata of equal ops built apart is merged. The walk is
 * iterative, so long chains do not exhaust the stack.
 */
export function buildDefinition(root: Output | null): Definition {
  if (root === null) return { ops: [], root: null };
  const entries = new Map<string, DefinitionOp>();
  let size = 0;
  const visited = new Set<Vertex>();
  const stack: { vertex: Vertex; expanded: boolean }[] = [{ vertex: root.vertex, expanded: false }];
  while (stack.length > 0) {
    const { vertex, expanded } = stack.pop() as { vertex: Vertex; expanded: boolean };
    if (expanded) {
      const existing = entries.get(vertex.digest);
      if (existing === undefined) {
        entries.set(vertex.digest, toEntry(vertex));
        size += vertex.size;
        if (size > MAX_DEFINITION_SIZE) throw definitionTooLarge();
      } else
        entries.set(vertex.digest, {
          ...existing,
          metadata: mergeMetadata(existing.metadata, vertex.metadata),
        });
      continue;
    }
    if (visited.has(vertex)) continue;
    visited.add(vertex);
    stack.push({ vertex, expanded: true });
    for (let i = vertex.inputs.length - 1; i >= 0; i--) {
      const input = (vertex.inputs[i] as Output).vertex;
      if (!visited.has(input)) stack.push({ vertex: input, expanded: false });
    }
  }
  return { ops: [...entries.values()], root: { digest: root.vertex.digest, index: root.index } };
}

function toEntry(vertex: Vertex): DefinitionOp {
  return {
    digest: vertex.digest,
    op: vertex.op,
    inputs: vertex.inputRefs,
    metadata: stripUndefined(vertex.metadata),
  };
}
