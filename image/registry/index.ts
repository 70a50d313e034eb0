/** The registry client (distribution API v2) and its helpers. */
export { RegistryClient, MANIFEST_ACCEPT, MANIFEST_LIMIT, apiHost } from './client.js';
export type { CallOptions, ManifestResult } from './client.js';
export { Authenticator, lookupCredentials, parseChallenges } from './auth.js';
export type { Challenge } from './auth.js';
export { RegistryError, codeForStatus, isRetryableStatus, redactURL } from './errors.js';
export type { RegistryErrorOptions } from './errors.js';
export { downloadBlob, fetchSmallBlob, hasBlob } from './download.js';
export type { DownloadOptions } from './download.js';
export { RetryBudget, blobDeadlineMs, transferLimits } from './limits.js';
export type { TransferLimits } from './limits.js';
export { matchPlatform, normalizePlatform, selectManifest } from './platform.js';
export type { PlatformSpec } from './platform.js';
export { Transport, dockerConfigDir, isLoopbackHost, retryAfterMs } from './transport.js';
export type { Credentials, HttpResponse, RegistryOptions, SendOptions } from './transport.js';
