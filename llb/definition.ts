/**
 * A Definition is the whole graph of one build request: every op once, in topological order (an
 * op's inputs come before it), with its digest and metadata, and the root result.
 *
 * The JSON form (marshal) is canonical JSON (digest.ts) of `{ version, ops, root }`, so the same
 * graph always marshals to the same bytes. unmarshal trusts nothing: it checks every op's shape,
 * rejects duplicate ops, dangling inputs, cycles and output indices an op does not have, and
 * recomputes every digest.
 */
import { InvalidArgumentError } from '../core/index.js';
import { canonicalJson, opDigest } from './digest.js';
import { outputCount } from './ops.js';
import type { Op, OpInput, OpMetadata } from './ops.js';
import { OpChecker } from './validate.js';

export const DEFINITION_VERSION = 1;

export interface DefinitionOp {
  readonly digest: string;
  readonly op: Op;
  readonly inputs: readonly OpInput[];
  readonly metadata: OpMetadata;
}

export interface Definition {
  readonly ops: readonly DefinitionOp[];
  /** The result of the build; null for an empty file system (scratch). */
  readonly root: OpInput | null;
}

/** Serialises a definition to its canonical JSON form. */
export function marshal(definition: Definition): string {
  return canonicalJson({ version: DEFINITION_VERSION, ops: definition.ops, root: definition.root });
}

/** The op of a definition with the given digest, if any. */
export function findOp(definition: Definition, digest: string): DefinitionOp | undefined {
  return definition.ops.find((o) => o.digest === digest);
}

interface Entry extends DefinitionOp {
  readonly position: number;
}

/** Parses and verifies a marshalled definition; every failure is an INVALID_ARGUMENT TsbuildError. */
export function unmarshal(json: string): Definition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (cause) {
    throw new InvalidArgumentError('LLB definition is not valid JSON', { cause });
  }
  const top = new OpChecker('LLB definition').object(parsed, 'definition');
  if (top.version !== DEFINITION_VERSION) {
    throw new InvalidArgumentError(`unsupported LLB definition version ${JSON.stringify(top.version)}`);
  }
  if (!Array.isArray(top.ops)) throw new InvalidArgumentError('LLB definition has no ops list');
  const entries = top.ops.map((raw: unknown, position: number) => readEntry(raw, position));
  const byDigest = indexEntries(entries);
  const ordered = topologicalOrder(entries, byDigest);
  for (const entry of ordered) verifyEntry(entry, byDigest);
  const root = readRoot(top.root, byDigest);
  return { ops: ordered.map(({ digest, op, inputs, metadata }) => ({ digest, op, inputs, metadata })), root };
}

function readEntry(raw: unknown, position: number): Entry {
  const check = new OpChecker(`op ${position}`);
  const e = check.object(raw, 'entry');
  const digest = check.string(e.digest, 'digest');
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) check.fail(`malformed digest ${JSON.stringify(digest)}`);
  const inputs = check.inputs(e.inputs);
  const op = check.op(e.op, inputs.length);
  return { position, digest, op, inputs, metadata: check.metadata(e.metadata) };
}

function indexEntries(entries: readonly Entry[]): Map<string, Entry> {
  const byDigest = new Map<string, Entry>();
  for (const entry of entries) {
    const earlier = byDigest.get(entry.digest);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(
        `op ${entry.position}: duplicate of op ${earlier.position} (${entry.digest})`,
      );
    }
    byDigest.set(entry.digest, entry);
  }
  for (const entry of entries) {
    entry.inputs.forEach((input, i) => {
      if (!byDigest.has(input.digest)) {
        throw new InvalidArgumentError(
          `op ${entry.position}: input ${i} refers to missing op ${input.digest}`,
        );
      }
    });
  }
  return byDigest;
}

/**
 * Inputs first, keeping the given order where it already is topological; rejects cycles. Iterative
 * (a depth-first walk with an explicit stack), so long chains do not exhaust the call stack.
 */
function topologicalOrder(entries: readonly Entry[], byDigest: ReadonlyMap<string, Entry>): Entry[] {
  const state = new Map<string, 'visiting' | 'done'>();
  const out: Entry[] = [];
  for (const start of entries) {
    if (state.has(start.digest)) continue;
    state.set(start.digest, 'visiting');
    const stack: { entry: Entry; next: number }[] = [{ entry: start, next: 0 }];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as { entry: Entry; next: number };
      const input = frame.entry.inputs[frame.next++];
      if (input === undefined) {
        state.set(frame.entry.digest, 'done');
        out.push(frame.entry);
        stack.pop();
        continue;
      }
      const from = byDigest.get(input.digest) as Entry;
      const seen = state.get(from.digest);
      if (seen === 'visiting') throw new InvalidArgumentError(`op ${from.position}: is part of a cycle`);
      if (seen === undefined) {
        state.set(from.digest, 'visiting');
        stack.push({ entry: from, next: 0 });
      }
    }
  }
  return out;
}

function verifyEntry(entry: Entry, byDigest: ReadonlyMap<string, Entry>): void {
  entry.inputs.forEach((input, i) => {
    const from = byDigest.get(input.digest) as Entry;
    if (input.index >= outputCount(from.op)) {
      throw new InvalidArgumentError(
        `op ${entry.position}: input ${i} reads output ${input.index} of op ${from.position}, which has ${outputCount(from.op)}`,
      );
    }
  });
  const actual = opDigest(entry.op, entry.inputs);
  if (actual !== entry.digest) {
    throw new InvalidArgumentError(
      `op ${entry.position}: digest mismatch: recorded ${entry.digest}, computed ${actual}`,
      {
        hint: 'the definition was changed after it was marshalled',
      },
    );
  }
}

function readRoot(raw: unknown, byDigest: ReadonlyMap<string, Entry>): OpInput | null {
  if (raw === null) return null;
  const check = new OpChecker('LLB definition root');
  const root = check.object(raw, 'root');
  const digest = check.string(root.digest, 'digest');
  const index = check.int(root.index, 'index');
  const entry = byDigest.get(digest);
  if (entry === undefined) return check.fail(`refers to missing op ${digest}`);
  if (index >= outputCount(entry.op)) check.fail(`reads output ${index} of op ${entry.position}`);
  return { digest, index };
}
