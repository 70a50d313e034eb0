/** One instruction dispatched on a stage: the switch over instruction kinds. */
import type { Instruction } from '../instructions/index.js';
import { dispatchArg, dispatchEnv, dispatchUser, dispatchWorkdir } from './dispatch-env.js';
import { dispatchImageConfig } from './dispatch-config.js';
import { dispatchCopy } from './dispatch-copy.js';
import { dispatchRun } from './dispatch-run.js';
import type { StageState } from './stage-state.js';
import type { Dispatcher } from './dispatcher.js';

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
