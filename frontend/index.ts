/** frontend/: what other folders may import. */
export type { CheckWarning } from './checks/linter.js';
export type {
  BuildNetwork,
  ConvertOptions,
  ConvertResult,
  ImageSpec,
  NamedContext,
  ResolvedImage,
} from './dockerfile2llb/types.js';
export type { Stage, StagesOptions, StagesResult } from './instructions/stages.js';
export type * from './instructions/types.js';
export { convertDockerfile } from './dockerfile2llb/convert.js';
export { parseChmod } from './instructions/chmod.js';
export { hostPlatform } from './instructions/meta-args.js';
export { parseMount } from './instructions/mount.js';
export { parseGoDuration, ramInBytes } from './instructions/goparse.js';
export { parseInstruction, parseInstructions } from './instructions/parse.js';
export { parseStages } from './instructions/stages.js';
