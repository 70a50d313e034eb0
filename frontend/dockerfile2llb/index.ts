/** The Dockerfile frontend: Dockerfile text → llb definition + image config. */
export { convertDockerfile } from './convert.js';
export { PROXY_ARGS } from './convert-inputs.js';
export { emptyImage, HISTORY_COMMENT } from './image.js';
export { goDuration, parsePorts } from './dispatch-config.js';
export { destPath, parseGitRef } from './dispatch-copy.js';
export type * from './types.js';
