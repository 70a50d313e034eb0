/**
 * What the op builders (exec.ts, file.ts) read of a state: its result and the values a run applies.
 * State (state.ts) implements it; it is a module of its own so that the builders State calls need not
 * import State.
 */
import type { Output } from './graph.js';
import type { NetworkMode } from './ops.js';

export interface StateView {
  /** The result the state stands for; null for scratch. */
  readonly output: Output | null;
  readonly isScratch: boolean;
  /** The environment in the order it was set. */
  readonly env: readonly (readonly [string, string])[];
  readonly cwd: string;
  readonly user: string;
  readonly network: NetworkMode;
}
