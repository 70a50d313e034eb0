/** The runner's "command not found" as the engine reports it (code COMMAND_NOT_FOUND). */
import { TsbuildError } from '../../core/index.js';

export class CommandNotFoundError extends TsbuildError {
  constructor() {
    super('COMMAND_NOT_FOUND', 'exec: "nope": executable file not found in $PATH');
  }
}
