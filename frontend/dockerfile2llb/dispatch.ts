/** One instruction dispatched on a stage: the switch over instruction kinds. */
import type { State } from '../../llb/index.js';
import type { Instruction, InstructionContext } from '../instructions/index.js';
import { dispatchArg, dispatchEnv, dispatchUser, dispatchWorkdir } from './dispatch-env.js';
import { dispatchImageConfig } from './dispatch-config.js';
import { dispatchCopy } from './dispatch-copy.js';
import { dispatchRun } from './dispatch-run.js';
import type { StageState } from './stage-state.js';
import type { ConvertOptions, ResolvedImage } from './types.js';

/** What an instruction's dispatch may ask of the conversion as a whole. */
export interface Dispatcher {
  readonly options: ConvertOptions;
  /** The main build context. */
  readonly context: State;
  readonly contextPaths: Set<string>;
  readonly warnings: string[];
  readonly buildArgValues: Readonly<Record<string, string>>;
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly instructionContext: InstructionContext;
  resolveImage(ref: string): Promise<ResolvedImage>;
  stageByRef(ref: string): Promise<StageState | undefined>;
  imageState(ref: string): Promise<State>;
  stepName(d: StageState, instruction: Instruction): string;
}

export async function dispatchInstruction(
  dx: Dispatcher,
  d: StageState,
  instruction: Instruction,
): Promise<void> {
  switch (instruction.kind) {
    case 'run':
      return dispatchRun(dx, d, instruction);
    case 'copy':
    case 'add':
      return dispatchCopy(dx, d, instruction);
    case 'env':
      return dispatchEnv(d, instruction);
    case 'arg':
      return dispatchArg(dx, d, instruction);
    case 'workdir':
      return dispatchWorkdir(dx, d, instruction);
    case 'user':
      return dispatchUser(d, instruction);
    case 'from':
      return undefined;
    default:
      return dispatchImageConfig(d, instruction);
  }
}
