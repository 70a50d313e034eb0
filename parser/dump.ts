/** BuildKit's AST dump format: one `(instruction ["--flags"] "arg" ...)` line per instruction. */
import type { InstructionNode, ParseResult } from './ast.js';
import { goQuote } from './text.js';

/** One instruction as BuildKit's Node.Dump prints it (without the surrounding parentheses). */
export function dumpInstruction(node: InstructionNode): string {
  let out = node.keyword;
  if (node.flags.length > 0) out += ` [${node.flags.map(goQuote).join(' ')}]`;
  for (const arg of node.args) out += ` ${goQuote(arg.value)}`;
  if (node.child) out += ` (${dumpInstruction(node.child)})`;
  return out.trim();
}

/** The whole file, as BuildKit's parser test compares it (`AST.Dump() + "\n"`). */
export function dumpAst(result: ParseResult): string {
  return result.instructions.map((n) => `(${dumpInstruction(n)})`).join('\n') + '\n';
}
