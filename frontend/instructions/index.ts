/** The frontend's first part: AST → typed instructions → build stages. */
export type * from './types.js';
export { BFlags, Flag } from './bflag.js';
export type { FlagKind } from './bflag.js';
export { parseInstruction, parseInstructions, contextOf, INSTRUCTION_NAMES, STAGE_NAME } from './parse.js';
export { parseMount, MOUNT_TYPES, MOUNT_SHARING_MODES } from './mount.js';
export type { WordExpander } from './mount.js';
export { parseDevice, NETWORK_MODES, SECURITY_MODES } from './run.js';
export { parseChmod, isSymbolicMode } from './chmod.js';
export { remoteKind } from './copy.js';
export { parseHealthInterval, parseHealthRetries } from './healthcheck.js';
export { parseGoDuration, ramInBytes, csvFields } from './goparse.js';
export { handleJSONArgs, docComment } from './common.js';
export { suggestion, withSuggestion } from './scope.js';
export { parseStages } from './stages.js';
export type { Stage, StagesOptions, StagesResult } from './stages.js';
export { defaultArgs, hostPlatform } from './meta-args.js';
export { findStageByName, stageLabel } from './graph.js';
