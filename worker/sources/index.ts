/** Remote sources: `http:<url>` (one downloaded file) and `git:<remote>` (a checkout). */
export { httpSourceOp, parseHttpAttrs } from './http.js';
export { dispositionFileName, httpGet, safeFileName, urlFileName } from './http-fetch.js';
export type { Downloaded, HttpGetOptions, HttpGetResult } from './http-fetch.js';
export { gitSourceOp, gitSpec } from './git.js';
export { checkRef, checkSubdir, isCommit, parseRemote, redactRemote, resolveRef, runGit } from './git-cli.js';
export type { GitRemote, GitRunOptions, ResolvedRef } from './git-cli.js';
export type { SourceDeps } from './types.js';
export { imageSourceOp } from './image.js';
export type { ImageSourceDeps, PendingImages } from './image.js';
