/**
 * AST node → typed instruction, with the semantics of BuildKit's instructions.ParseInstruction.
 * Whatever the node holds, the only exception that leaves is a located DockerfileError.
 */
import type { SourceRange } from '../../core/index.js';
import { replaceEscapes } from '../../core/index.js';
import type { InstructionNode, ParseResult } from '../../parser/index.js';
import { goQuote, trimSpace } from '../../parser/index.js';
import { BFlags } from './bflag.js';
import { argValues, baseOf, docComment, parseFlags } from './common.js';
import { parseAdd, parseCopy } from './copy.js';
import { parseHealthcheck } from './healthcheck.js';
import { parseRun } from './run.js';
import { findWordAfter, Scope, toDockerfileError, withSuggestion } from './scope.js';
import {
  errAtLeastOneArgument,
  parseArg,
  parseCmd,
  parseEntrypoint,
  parseEnv,
  parseExpose,
  parseLabel,
  parseMaintainer,
  parseShell,
  parseStopSignal,
  parseUser,
  parseVolume,
  parseWorkdir,
} from './simple.js';
import type { FromInstruction, Instruction, InstructionContext, OnbuildInstruction } from './types.js';

/** Stage names BuildKit accepts (after lower-casing). */
export const STAGE_NAME = /^[a-z][a-z0-9\-_.]*$/;

export function parseFrom(scope: Scope): FromInstruction {
  const args = argValues(scope);
  let stageName: string | undefined;
  if (args.length === 3 && (args[1] ?? '').toLowerCase() === 'as') {
    const written = args[2] ?? '';
    stageName = written.toLowerCase();
    if (!STAGE_NAME.test(stageName)) {
      scope.fail(
        `invalid name for build stage: ${goQuote(written)}, name can't start with a number or contain symbols`,
        scope.argRange(2),
      );
    }
  } else if (args.length !== 1) {
    scope.fail('FROM requires either one or three arguments');
  }
  const flags = new BFlags(scope.node.flags);
  const platform = flags.addString('platform');
  parseFlags(scope, flags);
  return {
    ...baseOf(scope, 'from', flags),
    image: args[0] ?? '',
    ...(stageName !== undefined ? { stageName } : {}),
    ...(platform.value !== '' ? { platform: platform.value } : {}),
    docComment: docComment(scope.node.comments, stageName ?? ''),
  };
}

/** ONBUILD's text without the keyword, with the heredoc bodies it opens appended. */
function onbuildExpression(node: InstructionNode): string {
  let expression = node.original.replace(/^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*/i, '');
  // The trigger is image config text: a byte that was not UTF-8 is U+FFFD there (see core/utf8.ts).
  for (const heredoc of node.heredocs) expression += `\n${replaceEscapes(heredoc.content)}${heredoc.name}`;
  return expression;
}

/**
 * BuildKit only parses an ONBUILD trigger when a later build uses the image; here the trigger is
 * parsed right away, so a trigger that could never run is reported where it is written.
 */
function parseOnbuild(scope: Scope): OnbuildInstruction {
  const { node } = scope;
  const child = node.child;
  if (!child) scope.fail(errAtLeastOneArgument('ONBUILD'));
  const flags = new BFlags(node.flags);
  parseFlags(scope, flags);
  const trigger = trimSpace(child.value).toUpperCase();
  if (trigger === 'ONBUILD') scope.fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger === 'MAINTAINER' || trigger === 'FROM') {
    scope.fail(`${trigger} isn't allowed as an ONBUILD trigger`);
  }
  const { start, end } = node.range;
  const after = { line: start.line, column: start.column + node.value.length };
  const at = findWordAfter(scope.context.source, node.range, child.value, after) ?? start;
  const triggerNode: InstructionNode = {
    ...child,
    range: { start: at, end },
    heredocs: node.heredocs,
    comments: [],
  };
  return {
    ...baseOf(scope, 'onbuild', flags),
    expression: onbuildExpression(node),
    trigger: parseInstruction(triggerNode, scope.context),
  };
}

const PARSERS = new Map<string, (scope: Scope) => Instruction>([
  ['add', parseAdd],
  ['arg', parseArg],
  ['cmd', parseCmd],
  ['copy', parseCopy],
  ['entrypoint', parseEntrypoint],
  ['env', parseEnv],
  ['expose', parseExpose],
  ['from', parseFrom],
  ['healthcheck', parseHealthcheck],
  ['label', parseLabel],
  ['maintainer', parseMaintainer],
  ['onbuild', parseOnbuild],
  ['run', parseRun],
  ['shell', parseShell],
  ['stopsignal', parseStopSignal],
  ['user', parseUser],
  ['volume', parseVolume],
  ['workdir', parseWorkdir],
]);

/** Every instruction keyword, upper case. */
export const INSTRUCTION_NAMES: readonly string[] = [...PARSERS.keys()].map((k) => k.toUpperCase());

function keywordRange(node: InstructionNode): SourceRange {
  const { start } = node.range;
  return { start, end: { line: start.line, column: start.column + node.value.length } };
}

/** One AST node → its typed instruction. Throws a located DockerfileError, nothing else. */
export function parseInstruction(node: InstructionNode, context: InstructionContext): Instruction {
  const scope = new Scope(context, node);
  try {
    const parse = PARSERS.get(node.value.toLowerCase());
    if (!parse) {
      const message = withSuggestion(
        `unknown instruction: ${node.value}`,
        node.value,
        INSTRUCTION_NAMES,
        false,
      );
      return scope.fail(message, keywordRange(node));
    }
    return parse(scope);
  } catch (error) {
    throw toDockerfileError(error, scope.location());
  }
}

/** The context for a parse result's instructions. */
export function contextOf(result: ParseResult): InstructionContext {
  return { file: result.file, source: result.source, escapeToken: result.escapeToken };
}

/** Every instruction of a parse result, in order; the first bad one throws. */
export function parseInstructions(result: ParseResult): Instruction[] {
  const context = contextOf(result);
  return result.instructions.map((node) => parseInstruction(node, context));
}
