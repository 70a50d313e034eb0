/**
 * What an instruction's dispatch (dispatch*.ts) may ask of the conversion as a whole; convert.ts
 * provides it. A module of its own so that the dispatchers need not import dispatch.ts, which imports
 * them.
 */
import type { State } from '../../llb/index.js';
import type { Instruction, InstructionContext } from '../instructions/index.js';
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
