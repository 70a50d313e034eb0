/**
 * Stage dependencies, as dockerfile2llb builds them: FROM <stage>, COPY --from=<stage|index>,
 * RUN --mount=from=<stage>, and the ONBUILD triggers a stage inherits from its base stage.
 * Also the circular-dependency check and the stages a target needs.
 */
import { DockerfileError } from '../../core/index.js';
import { parseGoAtoi } from './goparse.js';
import { Scope } from './scope.js';
import type { FromInstruction, Instruction, InstructionContext } from './types.js';

/** What the graph needs to know about a stage. */
export interface StageNode {
  readonly name?: string;
  readonly index: number;
  readonly baseStage?: number;
  readonly from: FromInstruction;
  readonly instructions: readonly Instruction[];
}

/** A dependency on another stage and the instruction that creates it. */
export interface StageEdge {
  readonly to: number;
  readonly via: Instruction;
}

/** BuildKit's name for a stage in messages: its name, or `stage-<index>`. */
export function stageLabel(stage: StageNode): string {
  return stage.name ?? `stage-${stage.index}`;
}

/** The last stage with this name (names compare case-insensitively), as BuildKit's lookup finds it. */
export function findStageByName(stages: readonly StageNode[], name: string): StageNode | undefined {
  const wanted = name.toLowerCase();
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i];
    if (stage?.name !== undefined && stage.name === wanted) return stage;
  }
  return undefined;
}

function copyFromDependency(
  stages: readonly StageNode[],
  from: string,
  fail: (message: string) => never,
): number | undefined {
  const index = parseGoAtoi(from);
  if (index === undefined) return findStageByName(stages, from)?.index;
  if (index < 0 || index >= stages.length) fail(`invalid stage index ${index}`);
  return index;
}

/** The stages one instruction reads from (COPY --from, RUN --mount=from). */
function instructionDependencies(
  stages: readonly StageNode[],
  instruction: Instruction,
  context: InstructionContext,
): number[] {
  if (instruction.kind === 'copy' && instruction.from !== undefined) {
    const fail = (message: string): never => {
      const scope = new Scope(context, instruction.node);
      return scope.fail(message, scope.namedFlagRange('from'));
    };
    const index = copyFromDependency(stages, instruction.from, fail);
    return index === undefined ? [] : [index];
  }
  if (instruction.kind === 'run') {
    const out: number[] = [];
    for (const mount of instruction.mounts) {
      const stage = findStageByName(stages, mount.from ?? 'scratch');
      if (stage) out.push(stage.index);
    }
    return out;
  }
  return [];
}

/** Every dependency edge of every stage, in stage order. */
export function dependencyEdges(stages: readonly StageNode[], context: InstructionContext): StageEdge[][] {
  return stages.map((stage) => {
    const edges: StageEdge[] = [];
    if (stage.baseStage !== undefined) edges.push({ to: stage.baseStage, via: stage.from });
    for (const instruction of stage.instructions) {
      for (const to of instructionDependencies(stages, instruction, context)) {
        edges.push({ to, via: instruction });
      }
    }
    const base = stage.baseStage === undefined ? undefined : stages[stage.baseStage];
    for (const instruction of base?.instructions ?? []) {
      if (instruction.kind !== 'onbuild') continue;
      for (const to of instructionDependencies(stages, instruction.trigger, context)) {
        edges.push({ to, via: instruction });
      }
    }
    return edges;
  });
}

interface Frame {
  readonly stage: number;
  next: number;
}

/** Depth-first search from `root`; the path's first edge when a cycle is reachable, else undefined. */
function findCycle(root: number, edges: readonly StageEdge[][], visited: Set<number>): StageEdge | undefined {
  const onPath = new Set<number>([root]);
  const stack: Frame[] = [{ stage: root, next: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const edge = edges[frame.stage]?.[frame.next];
    if (!edge) {
      onPath.delete(frame.stage);
      stack.pop();
      continue;
    }
    frame.next++;
    if (onPath.has(edge.to)) return edges[root]?.[(stack[0]?.next ?? 1) - 1] ?? edge;
    if (visited.has(edge.to)) continue;
    visited.add(edge.to);
    onPath.add(edge.to);
    stack.push({ stage: edge.to, next: 0 });
  }
  return undefined;
}

/** Throws `circular dependency detected on stage: <name>` for the first stage that reaches a cycle. */
export function checkCycles(
  stages: readonly StageNode[],
  edges: readonly StageEdge[][],
  context: InstructionContext,
): void {
  const visited = new Set<number>();
  for (const stage of stages) {
    if (visited.has(stage.index)) continue;
    const edge = findCycle(stage.index, edges, visited);
    if (edge) {
      const scope = new Scope(context, edge.via.node);
      throw new DockerfileError(`circular dependency detected on stage: ${stageLabel(stage)}`, {
        location: scope.location(),
      });
    }
  }
}

/** The indexes of the stages `target` needs (itself included), in ascending order. */
export function reachableFrom(target: number, edges: readonly StageEdge[][]): number[] {
  const seen = new Set<number>([target]);
  const queue = [target];
  while (queue.length > 0) {
    const stage = queue.pop() as number;
    for (const edge of edges[stage] ?? []) {
      if (seen.has(edge.to)) continue;
      seen.add(edge.to);
      queue.push(edge.to);
    }
  }
  return [...seen].sort((a, b) => a - b);
}
