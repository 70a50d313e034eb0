/**
 * Typed instructions → build stages, with dockerfile2llb's rules: ARGs before the first FROM are the
 * global (meta) ARGs, each FROM starts a stage whose base name is expanded with them, `--target` picks a
 * stage by name (case-insensitively), and the target needs the stages it reaches through FROM,
 * COPY --from and RUN --mount=from. Circular dependencies are errors.
 */
import { DockerfileError } from '../../core/index.js';
import type { SourceRange } from '../../core/index.js';
import type { ParseResult } from '../../parser/index.js';
import { lexerFor } from './common.js';
import { checkCycles, dependencyEdges, findStageByName, reachableFrom } from './graph.js';
import { contextOf, parseInstruction } from './parse.js';
import { Scope, toDockerfileError, withSuggestion } from './scope.js';
import type { ArgInstruction, FromInstruction, Instruction, InstructionContext } from './types.js';
import { defaultArgs, expandMetaArgs } from './meta-args.js';

export interface Stage {
  /** The `AS` name, lower-cased. */
  readonly name?: string;
  readonly index: number;
  /** The FROM image (or stage) with the global ARGs expanded. */
  readonly baseName: string;
  /** The earlier stage this one is built on, when `baseName` names one. */
  readonly baseStage?: number;
  /** `--platform` with the global ARGs expanded. */
  readonly platform?: string;
  readonly from: FromInstruction;
  /** The instructions after FROM. */
  readonly instructions: readonly Instruction[];
  readonly docComment: string;
  /** From the FROM line to the end of the stage's last instruction. */
  readonly range: SourceRange;
  /** Indexes of the stages this one needs (base stage, COPY --from, RUN --mount=from, inherited ONBUILD). */
  readonly dependsOn: readonly number[];
}

export interface StagesOptions {
  /** `--build-arg` values; only the ARGs the Dockerfile declares use them. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** The stage to build (`--target`); default the last one. */
  readonly target?: string;
  /** `os/arch[/variant]` for BUILDPLATFORM and friends; default linux on this machine's architecture. */
  readonly buildPlatform?: string;
  /** `os/arch[/variant]` for TARGETPLATFORM and friends; default the build platform. */
  readonly targetPlatform?: string;
}

export interface StagesResult {
  readonly metaArgs: readonly ArgInstruction[];
  readonly stages: readonly Stage[];
  readonly target: Stage;
  /** The stages the target needs, the target included, in Dockerfile order. */
  readonly reachable: readonly Stage[];
  /** The global scope after the meta ARGs: automatic platform ARGs and declared ARGs that have a value. */
  readonly globalArgs: Readonly<Record<string, string>>;
}

interface Group {
  readonly from: FromInstruction;
  readonly instructions: Instruction[];
}

function locationOf(context: InstructionContext, instruction: Instruction): Scope {
  return new Scope(context, instruction.node);
}

/** Parses every instruction and splits them into meta ARGs and stages. */
function groupInstructions(
  result: ParseResult,
  context: InstructionContext,
): { metaArgs: ArgInstruction[]; groups: Group[] } {
  const metaArgs: ArgInstruction[] = [];
  const groups: Group[] = [];
  for (const node of result.instructions) {
    const instruction = parseInstruction(node, context);
    if (instruction.kind === 'from') {
      groups.push({ from: instruction, instructions: [] });
      continue;
    }
    const current = groups[groups.length - 1];
    if (current) current.instructions.push(instruction);
    else if (instruction.kind === 'arg') metaArgs.push(instruction);
    else {
      locationOf(context, instruction).fail(
        'no build stage in current context',
        undefined,
        `${instruction.name.toUpperCase()} must come after a FROM; only ARG may come before the first FROM`,
      );
    }
  }
  return { metaArgs, groups };
}

function expandWord(scope: Scope, word: string, env: ReadonlyMap<string, string>, what?: string): string {
  try {
    return lexerFor(scope.context.escapeToken).processWord(word, env);
  } catch (error) {
    if (what === undefined) return scope.relocate(error);
    return scope.fail(`${what}: ${(error as Error).message}`);
  }
}

function stageRange(group: Group): SourceRange {
  const last = group.instructions[group.instructions.length - 1] ?? group.from;
  return { start: group.from.range.start, end: last.range.end };
}

type StageDraft = Omit<Stage, 'dependsOn'>;

function buildStage(
  group: Group,
  index: number,
  earlier: readonly StageDraft[],
  env: ReadonlyMap<string, string>,
  context: InstructionContext,
): StageDraft {
  const { from } = group;
  const scope = locationOf(context, from);
  const baseName = expandWord(scope, from.image, env);
  if (baseName === '') scope.fail(`base name (${from.image}) should not be blank`, scope.argRange(0));
  let platform: string | undefined;
  if (from.platform !== undefined) {
    platform = expandWord(scope, from.platform, env, 'failed to process arguments for platform');
    if (platform === '') {
      scope.fail(`empty platform value from expression ${from.platform}`, scope.namedFlagRange('platform'));
    }
  }
  // Like BuildKit: the latest earlier stage whose (lower-cased) name equals the expanded base name.
  const baseStage = earlier.findLast((stage) => stage.name !== undefined && stage.name === baseName)?.index;
  return {
    ...(from.stageName !== undefined ? { name: from.stageName } : {}),
    index,
    baseName,
    ...(baseStage !== undefined ? { baseStage } : {}),
    ...(platform !== undefined ? { platform } : {}),
    from,
    instructions: group.instructions,
    docComment: from.docComment,
    range: stageRange(group),
  };
}

function resolveTarget(stages: readonly StageDraft[], target: string | undefined): StageDraft {
  if (target === undefined || target === '') return stages[stages.length - 1] as StageDraft;
  const found = findStageByName(stages, target);
  if (found) return found as StageDraft;
  const names = stages.flatMap((stage) => (stage.name !== undefined ? [stage.name] : []));
  const message = withSuggestion(`target stage ${JSON.stringify(target)} could not be found`, target, names);
  const list = names.length > 0 ? `the Dockerfile's stages are: ${names.join(', ')}` : 'no stage has a name';
  throw new DockerfileError(`${message}; ${list}`, {
    hint: names.length > 0 ? `use one of: ${names.join(', ')}` : 'name a stage with FROM <image> AS <name>',
  });
}

function stagesOf(result: ParseResult, options: StagesOptions, context: InstructionContext): StagesResult {
  const { metaArgs, groups } = groupInstructions(result, context);
  if (groups.length === 0) {
    throw new DockerfileError('dockerfile contains no stages to build', {
      location: { file: context.file, source: context.source, range: result.range },
      hint: 'add a FROM instruction',
    });
  }
  const buildArgs = options.buildArgs ?? {};
  const lastName = groups[groups.length - 1]?.from.stageName ?? '';
  const env = defaultArgs(options, options.target || lastName);
  expandMetaArgs(env, metaArgs, buildArgs, context);
  const drafts: StageDraft[] = [];
  for (const group of groups) drafts.push(buildStage(group, drafts.length, drafts, env, context));
  const targetDraft = resolveTarget(drafts, options.target);
  const edges = dependencyEdges(drafts, context);
  checkCycles(drafts, edges, context);
  const stages: Stage[] = drafts.map((draft, i) => ({
    ...draft,
    dependsOn: [...new Set((edges[i] ?? []).map((e) => e.to))].sort((a, b) => a - b),
  }));
  const reachable = reachableFrom(targetDraft.index, edges).map((i) => stages[i] as Stage);
  return {
    metaArgs,
    stages,
    target: stages[targetDraft.index] as Stage,
    reachable,
    globalArgs: Object.fromEntries(env),
  };
}

/**
 * A parse result → its meta ARGs and stages, the target stage and the stages it needs.
 * Throws a DockerfileError (located at the instruction at fault when there is one), nothing else.
 */
export function parseStages(result: ParseResult, options: StagesOptions = {}): StagesResult {
  const context = contextOf(result);
  try {
    return stagesOf(result, options, context);
  } catch (error) {
    if (error instanceof DockerfileError) throw error;
    throw toDockerfileError(error, { file: context.file, source: context.source, range: result.range });
  }
}
