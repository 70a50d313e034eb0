/**
 * The digest rules of the LLB graph.
 *
 * 1. An op's digest is `sha256:` + the hex SHA-256 of the canonical JSON of `{ op, inputs }`, where
 *    `inputs` lists, in order, the digest and output index of every result the op reads.
 * 2. Canonical JSON: object keys sorted by UTF-16 code unit (the order of `Array.prototype.sort`),
 *    recursively; no whitespace; arrays keep their order; properties whose value is `undefined` are
 *    left out (so an absent optional field and an undefined one digest alike); numbers must be
 *    finite; strings are escaped as `JSON.stringify` escapes them.
 * 3. Metadata (description, source location, progress group, ignore-cache, custom name) is never part
 *    of the digest: the same op written on another line, or described differently, is the same op.
 * 4. What must not bust the cache is not in ops at all: secret values, cache-mount contents, the
 *    contents of a local context (the worker keys those by content, the solver's slow key).
 *
 * Because a digest covers its inputs' digests, equal subgraphs have equal digests and a definition
 * holds each of them once; a cycle cannot be given valid digests.
 */
import { InvalidArgumentError } from '../core/index.js';
import { sha256Digest } from '../oci/index.js';
import type { Op, OpInput } from './ops.js';

/** Serialises a JSON-like value canonically (rule 2). */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidArgumentError(`cannot digest the number ${value}`);
      return JSON.stringify(value);
    case 'object':
      return Array.isArray(value) ? canonicalArray(value) : canonicalObject(value as Record<string, unknown>);
    default:
      throw new InvalidArgumentError(`cannot digest a value of type ${typeof value}`);
  }
}

function canonicalArray(values: readonly unknown[]): string {
  const parts = values.map((v) => {
    if (v === undefined) throw new InvalidArgumentError('cannot digest an undefined array element');
    return canonicalJson(v);
  });
  return `[${parts.join(',')}]`;
}

function canonicalObject(value: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The digest of an op reading `inputs` (rule 1). */
export function opDigest(op: Op, inputs: readonly OpInput[]): string {
  return sha256Digest(
    canonicalJson({ op, inputs: inputs.map((i) => ({ digest: i.digest, index: i.index })) }),
  );
}
