/** The registry client (distribution API v2) and its helpers, on the HTTP stack of http/. */
export { RegistryClient, MANIFEST_ACCEPT, MANIFEST_LIMIT, apiHost } from './client.js';
export type { CallOptions, ManifestResult } from './client.js';
export { Authenticator, lookupCredentials, parseChallenges } from './auth.js';
export type { Challenge } from './auth.js';
export { RegistryError } from './errors.js';
export { downloadBlob, fetchSmallBlob, hasBlob } from './download.js';
export type { DownloadOptions } from './download.js';
export { blobDeadlineMs, transferLimits } from './limits.js';
export type { TransferLimits } from './limits.js';
export { selectManifest } from './platform.js';
export { Transport, dockerConfigDir, isLoopbackHost } from './transport.js';
export type { Credentials, RegistryOptions, SendOptions } from './transport.js';
// What the registry's callers and tests know it by, from http/.
export { RetryBudget, codeForStatus, isRetryableStatus, redactURL, retryAfterMs } from '../../http/index.js';
export type { HttpResponse } from '../../http/index.js';
export { DEFAULT_CHUNK_SIZE, blobExists, pushBlob, pushManifest, pushScope } from './push.js';
export type { BlobPushOptions, BlobPushResult } from './push.js';
export type { RequestOptions } from './client.js';
export { DOCKER_HUB_KEY, resolveCredentials } from './credentials.js';
export { loginServer, removeLogin, saveLogin, verifyLogin } from './login.js';
export type { LoginOptions, LoginServer, RemovedLogin, SavedLogin } from './login.js';
