/**
 * What a conversion is given, turned into what it needs: the platform check (only the host's platform
 * can be built), the proxy build args (in no key and no history), the check options, and the build
 * context source (only the paths the build reads).
 */
import { InvalidArgumentError } from '../../core/index.js';
import * as llb from '../../llb/index.js';
import type { State } from '../../llb/index.js';
import type { CheckRunOptions } from '../checks/index.js';
import { hostPlatform } from '../instructions/index.js';
import type { ConvertOptions } from './types.js';

/**
 * SOURCE_DATE_EPOCH (BuildKit's built-in build arg): the build arg, else the global ARG's default; empty
 * is unset. A RUN sees it as any build arg, after `ARG SOURCE_DATE_EPOCH` in its stage. Seconds since
 * 1970-01-01 UTC, a whole number: anything else is refused naming it.
 */
export function sourceDateEpochOf(
  buildArgs: Readonly<Record<string, string>>,
  globalArgs: Readonly<Record<string, string>>,
): number | undefined {
  const value = Object.hasOwn(buildArgs, EPOCH_ARG) ? buildArgs[EPOCH_ARG] : globalArgs[EPOCH_ARG];
  if (value === undefined || value === '') return undefined;
  const epoch = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(epoch) || epoch > MAX_EPOCH) {
    throw new InvalidArgumentError(`invalid SOURCE_DATE_EPOCH: ${JSON.stringify(value)}`, {
      hint: 'give a whole number of seconds since 1970-01-01 UTC, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
    });
  }
  return epoch;
}

const EPOCH_ARG = 'SOURCE_DATE_EPOCH';
/** 9999-12-31T23:59:59Z: a time the image config's RFC 3339 `created` can still hold. */
const MAX_EPOCH = 253_402_300_799;

/** Build args that need no ARG and never reach a cache key or the history (BuildKit's proxy args). */
export const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'];

export function proxyEnvOf(buildArgs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(buildArgs)) {
    if (PROXY_ARGS.includes(key.toUpperCase())) out[key] = value;
  }
  return out;
}

export function checkPlatform(platform: string | undefined): void {
  if (platform === undefined || platform === '') return;
  const host = hostPlatform();
  const wanted = platform.split(',').map((p) => p.trim().toLowerCase());
  for (const p of wanted) {
    if (p !== host && !(host.startsWith(p) && p.split('/').length === 2)) {
      throw new InvalidArgumentError(`platform ${p} cannot be built on this ${host} host`, {
        hint: 'tsbuild builds for the host platform only (no emulation yet); drop --platform or use ' + host,
      });
    }
  }
}

export function checkOptions(options: ConvertOptions): CheckRunOptions {
  return {
    buildArgs: options.buildArgs ?? {},
    ...(options.target !== undefined ? { target: options.target } : {}),
    excludes: options.excludes ?? [],
    ...(options.onCheckWarning ? { onWarning: options.onCheckWarning } : {}),
  };
}

/** How every local directory of the build is read: normalised with `contextNormalize`. */
export function localReading(options: ConvertOptions): { normalize?: true } {
  return options.contextNormalize === true ? { normalize: true } : {};
}

export function contextSource(options: ConvertOptions, paths?: readonly string[]): State {
  const include =
    paths === undefined || paths.includes('/')
      ? []
      : paths.map((p) => p.replace(/^\/+/, '')).filter((p) => p !== '');
  return llb.local('context', {
    include,
    // The symlinks among the paths bring their targets (BuildKit sends the context with FollowPaths).
    ...(include.length > 0 ? { followPaths: include } : {}),
    exclude: [...(options.excludes ?? [])],
    sharedKey: 'context',
    ...localReading(options),
    metadata: { description: { 'llb.customname': '[internal] load build context' } },
  });
}
