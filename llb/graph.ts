/**
 * The in-memory graph behind State: vertices that know their op, the results they read and their
 * digest (computed once, when the vertex is made, from its inputs' digests), and the walk that turns
 * a result into a Definition.
 */
import { canonicalJson, opDigest } from './digest.js';
import { SCRATCH } from './ops.js';
import type { Op, OpInput, OpMetadata } from './ops.js';
import type { Definition, DefinitionOp } from './definition.js';

export class Vertex {
  readonly digest: string;
  readonly inputRefs: readonly OpInput[];
  /** The op exactly as digested: keys sorted, undefined fields gone. */
  readonly op: Op;

  constructor(
    op: Op,
    readonly inputs: readonly Output[],
    readonly metadata: OpMetadata,
  ) {
    this.op = JSON.parse(canonicalJson(op)) as Op;
    this.inputRefs = inputs.map((o) => ({ digest: o.vertex.digest, index: o.index }));
    this.digest = opDigest(this.op, this.inputRefs);
  }
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
  const visited = new Set<Vertex>();
  const stack: { vertex: Vertex; expanded: boolean }[] = [{ vertex: root.vertex, expanded: false }];
  while (stack.length > 0) {
    const { vertex, expanded } = stack.pop() as { vertex: Vertex; expanded: boolean };
    if (expanded) {
      const existing = entries.get(vertex.digest);
      if (existing === undefined) entries.set(vertex.digest, toEntry(vertex));
      else
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
