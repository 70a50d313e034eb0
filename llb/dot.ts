/**
 * Human views of a definition for `tsbuild debug llb`: Graphviz dot and indented JSON.
 */
import type { Definition, DefinitionOp } from './definition.js';
import { canonicalJson } from './digest.js';

/** The first 12 hex digits of a digest. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A one-line summary of what an op does. */
export function describeOp(entry: DefinitionOp): string {
  if (entry.metadata.customName !== undefined) return entry.metadata.customName;
  const { op } = entry;
  switch (op.kind) {
    case 'source':
      return op.identifier;
    case 'exec':
      return `exec ${op.args.join(' ')}`;
    case 'file':
      return `file ${op.actions.map((a) => a.action).join(', ')}`;
    case 'merge':
      return `merge of ${entry.inputs.length}`;
  }
}

/** A Graphviz digraph: one node per op, one edge per input, labelled with the output it reads. */
export function toDot(definition: Definition): string {
  const lines = ['digraph llb {', '  node [shape=box, fontname="monospace"];'];
  for (const entry of definition.ops) {
    const label = `${shortDigest(entry.digest)}\\n${quote(truncate(describeOp(entry))).slice(1, -1)}`;
    lines.push(`  ${quote(entry.digest)} [label="${label}"];`);
  }
  for (const entry of definition.ops) {
    entry.inputs.forEach((input, i) => {
      lines.push(`  ${quote(input.digest)} -> ${quote(entry.digest)} [label="${i}:${input.index}"];`);
    });
  }
  if (definition.root !== null) {
    lines.push('  "result" [shape=ellipse];');
    lines.push(`  ${quote(definition.root.digest)} -> "result" [label="${definition.root.index}"];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Indented JSON with keys sorted, for reading. */
export function formatDefinition(definition: Definition): string {
  const sorted = JSON.parse(canonicalJson({ ops: definition.ops, root: definition.root })) as unknown;
  return `${JSON.stringify(sorted, null, 2)}\n`;
}
