/**
 * The checks that need only the Dockerfile: per instruction as it is parsed (MAINTAINER, FROM casing,
 * definition comments), then over the stages (names, instruction casing, FROM with default ARGs, FROM
 * arguments and platforms). They run before the stages are resolved, in BuildKit's order, and stop
 * where BuildKit's conversion would stop with an error (the conversion then reports that error).
 */
import { parsePlatform } from '../../oci/index.js';
import type { InstructionNode, ParseResult } from '../../parser/index.js';
import { lexerFor } from '../instructions/common.js';
import { defaultArgs, expandMetaArgs } from '../instructions/meta-args.js';
import { contextOf, parseInstruction } from '../instructions/parse.js';
import { suggestion } from '../instructions/scope.js';
import type {
  ArgInstruction,
  FromInstruction,
  Instruction,
  InstructionContext,
} from '../instructions/types.js';
import type { Linter } from './linter.js';
import { isValidReference } from './reference.js';
import { MESSAGES } from './rules.js';

export interface StaticCheckOptions {
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly target?: string;
}

interface StageDecl {
  readonly from: FromInstruction;
  readonly commands: Instruction[];
}

const RESERVED_STAGE_NAMES = new Set(['context', 'scratch']);

function isLower(s: string): boolean {
  return s === s.toLowerCase();
}

function isSelfConsistent(s: string): boolean {
  return s === s.toLowerCase() || s === s.toUpperCase();
}

/** BuildKit's doesFromCaseMatchAsCase and isLowerCaseStageName, before FROM is parsed. */
function fromNodeChecks(node: InstructionNode, lint: Linter): void {
  const args = node.args.map((a) => a.value);
  if (args.length === 3 && !isLower(args[2] ?? '')) {
    lint.run('StageNameCasing', node.range, MESSAGES.StageNameCasing(args[2] ?? ''));
  }
  if (args.length >= 3 && isSelfConsistent(node.value)) {
    const as = args[1] ?? '';
    const matches = isLower(node.value) ? as === as.toLowerCase() : as === as.toUpperCase();
    if (!matches) lint.run('FromAsCasing', node.range, MESSAGES.FromAsCasing(node.value, as));
  }
}

/** InvalidDefinitionDescription: the last comment line should start with the name it describes. */
function definitionDescription(
  what: string,
  keys: readonly string[],
  node: InstructionNode,
  lint: Linter,
): void {
  const last = node.comments[node.comments.length - 1];
  if (last === undefined || keys.length === 0) return;
  if (keys.includes(last.split(' ')[0] ?? '')) return;
  const example = keys.length > 1 ? '<arg_key>' : (keys[0] ?? '');
  lint.run('InvalidDefinitionDescription', node.range, MESSAGES.InvalidDefinitionDescription(what, example));
}

/** Parses each instruction with its checks; undefined when one fails to parse (conversion reports it). */
function instructionChecks(
  parsed: ParseResult,
  context: InstructionContext,
  base: Linter,
): Instruction[] | undefined {
  const out: Instruction[] = [];
  let stage = false;
  for (const node of parsed.instructions) {
    const lint = base.withComments(node.comments);
    if (node.keyword === 'maintainer')
      lint.run('MaintainerDeprecated', node.range, MESSAGES.MaintainerDeprecated());
    if (node.keyword === 'from') fromNodeChecks(node, lint);
    let instruction: Instruction;
    try {
      instruction = parseInstruction(node, context);
    } catch {
      return undefined;
    }
    if (instruction.kind === 'from' && instruction.stageName !== undefined) {
      definitionDescription('FROM', [instruction.stageName], node, lint);
    }
    if (instruction.kind === 'arg') {
      definitionDescription(
        'ARG',
        instruction.args.map((a) => a.key),
        node,
        lint,
      );
    }
    out.push(instruction);
    // BuildKit stops parsing at an instruction other than ARG before the first FROM (no build stage).
    stage ||= instruction.kind === 'from';
    if (!stage && instruction.kind !== 'arg') return undefined;
  }
  return out;
}

/** Meta ARGs and stages; undefined when there is no stage or something other than ARG precedes it. */
function groupStages(
  instructions: readonly Instruction[],
): { metaArgs: ArgInstruction[]; stages: StageDecl[] } | undefined {
  const metaArgs: ArgInstruction[] = [];
  const stages: StageDecl[] = [];
  for (const instruction of instructions) {
    const current = stages[stages.length - 1];
    if (instruction.kind === 'from') stages.push({ from: instruction, commands: [] });
    else if (current) current.commands.push(instruction);
    else if (instruction.kind === 'arg') metaArgs.push(instruction);
    else return undefined;
  }
  return stages.length > 0 ? { metaArgs, stages } : undefined;
}

function stageNameChecks(stages: readonly StageDecl[], lint: Linter): void {
  const seen = new Set<string>();
  for (const { from } of stages) {
    const name = from.stageName;
    if (name === undefined) continue;
    if (RESERVED_STAGE_NAMES.has(name))
      lint.run('ReservedStageName', from.range, MESSAGES.ReservedStageName(name));
    if (seen.has(name)) lint.run('DuplicateStageName', from.range, MESSAGES.DuplicateStageName(name));
    seen.add(name);
  }
}

function casingChecks(stages: readonly StageDecl[], lint: Linter): void {
  const all = stages.flatMap((s) => [s.from, ...s.commands]);
  let lower = 0;
  let upper = 0;
  for (const c of all) {
    if (!isSelfConsistent(c.name)) continue;
    if (isLower(c.name)) lower++;
    else upper++;
  }
  const majorityLower = lower > upper;
  for (const c of all) {
    let casing = '';
    if (majorityLower && c.name.toLowerCase() !== c.name) casing = 'lowercase';
    else if (!majorityLower && c.name.toUpperCase() !== c.name) casing = 'uppercase';
    if (casing)
      lint.run('ConsistentInstructionCasing', c.range, MESSAGES.ConsistentInstructionCasing(c.name, casing));
  }
}

/** InvalidDefaultArgInFrom: each FROM with the meta ARGs' defaults (no build args) must name an image. */
function defaultArgChecks(
  stages: readonly StageDecl[],
  metaArgs: readonly ArgInstruction[],
  context: InstructionContext,
  options: StaticCheckOptions,
  target: string,
  lint: Linter,
): void {
  const env = defaultArgs({ buildArgs: options.buildArgs ?? {} }, target);
  try {
    expandMetaArgs(env, metaArgs, {}, context);
  } catch {
    return;
  }
  const lex = lexerFor(context.escapeToken);
  for (const { from } of stages) {
    let result: string;
    try {
      result = lex.processWord(from.image, env);
    } catch {
      return;
    }
    if (!isValidReference(result)) {
      lint.run('InvalidDefaultArgInFrom', from.range, MESSAGES.InvalidDefaultArgInFrom(from.image));
    }
  }
}

interface FromScope {
  readonly env: ReadonlyMap<string, string>;
  /** Declared meta ARGs and global names: what a FROM may use. */
  readonly keys: readonly string[];
  readonly context: InstructionContext;
}

function undefinedArgs(
  unmatched: ReadonlySet<string>,
  scope: FromScope,
  from: FromInstruction,
  lint: Linter,
): void {
  for (const name of unmatched) {
    if (scope.keys.includes(name)) continue;
    lint.run(
      'UndefinedArgInFrom',
      from.range,
      MESSAGES.UndefinedArgInFrom(name, suggestion(name, scope.keys, true)),
    );
  }
}

/** The per-stage FROM checks; false where BuildKit stops with an error. */
function fromChecks(from: FromInstruction, scope: FromScope, base: Linter): boolean {
  const lint = base.withComments(from.comments);
  const lex = lexerFor(scope.context.escapeToken);
  try {
    const name = lex.processWordWithMatches(from.image, scope.env);
    undefinedArgs(name.unmatched, scope, from, lint);
    if (name.result === '') return false;
    if (from.platform === undefined) return true;
    const platform = lex.processWordWithMatches(from.platform, scope.env);
    undefinedArgs(platform.unmatched, scope, from, lint);
    const only = platform.matched.size === 1 && platform.unmatched.size === 0;
    if (
      only &&
      platform.matched.has('TARGETPLATFORM') &&
      platform.result === scope.env.get('TARGETPLATFORM')
    ) {
      lint.run('RedundantTargetPlatform', from.range, MESSAGES.RedundantTargetPlatform(from.platform));
    }
    if (platform.matched.size === 0 && platform.unmatched.size === 0)
      constPlatform(from, platform.result, lint);
    return platform.result !== '';
  } catch {
    return false;
  }
}

function constPlatform(from: FromInstruction, value: string, lint: Linter): void {
  const p = parsePlatform(value);
  if (p === undefined) return;
  const stage = from.stageName ?? '';
  if (stage.includes(p.os) || stage.includes(p.architecture)) return;
  lint.run('FromPlatformFlagConstDisallowed', from.range, MESSAGES.FromPlatformFlagConstDisallowed(value));
}

/** NoEmptyContinuation: the parser's warnings, as rule runs. */
function parserWarnings(parsed: ParseResult, lint: Linter): void {
  for (const w of parsed.warnings) {
    if (w.code === 'NoEmptyContinuation')
      lint.run('NoEmptyContinuation', w.range, MESSAGES.NoEmptyContinuation());
  }
}

/** Runs every check that needs only the Dockerfile, in BuildKit's order. */
export function staticChecks(parsed: ParseResult, lint: Linter, options: StaticCheckOptions = {}): void {
  parserWarnings(parsed, lint);
  const context = contextOf(parsed);
  const instructions = instructionChecks(parsed, context, lint);
  if (instructions === undefined) return;
  const grouped = groupStages(instructions);
  if (grouped === undefined) return;
  const { metaArgs, stages } = grouped;
  stageNameChecks(stages, lint);
  casingChecks(stages, lint);
  const target = options.target || (stages[stages.length - 1]?.from.stageName ?? '');
  defaultArgChecks(stages, metaArgs, context, options, target, lint);
  const env = defaultArgs({ buildArgs: options.buildArgs ?? {} }, target);
  try {
    expandMetaArgs(env, metaArgs, options.buildArgs ?? {}, context);
  } catch {
    return;
  }
  const keys = [...new Set([...metaArgs.flatMap((m) => m.args.map((a) => a.key)), ...env.keys()])];
  for (const { from } of stages) {
    if (!fromChecks(from, { env, keys, context }, lint)) return;
  }
}
