/**
 * What `tsbuild build` and `tsbuild daemon` exchange over the daemon's socket (HTTP/1.1 on a unix
 * socket, root-only, `<root>/tsbuild.sock`): one POST /v1/build with a JSON body, answered by a stream
 * of JSON lines (progress events, then one result or one error). The body is the engine's build request
 * as it is (engine/request.ts), checked field by field against that same type, with the secrets beside
 * it as base64 (they are never echoed); errors keep their code, hint, location and exec details, so the
 * client prints and exits exactly as an in-process build would. Both halves are here: the client's
 * (`wireRequest`, `errorFromWire`) and the daemon's (`parseBuildRequest`, `errorToWire`); this module
 * loads no engine, so the daemon client's bundle stays small.
 */
import { join, resolve } from 'node:path';
import type { ErrorCode, ProgressEvent, SourceLocation } from '../core/index.js';
import { ExecError, InvalidArgumentError, TsbuildError, remoteContextKind } from '../core/index.js';
import type { BuildOptions, BuildOutput, BuildRequest, CacheExport, CacheImport } from '../engine/index.js';
import type { Check, Shape } from './schema.js';
import {
  arrayOf,
  boolean,
  fail,
  object,
  oneOf,
  optional,
  recordOf,
  string,
  stringWhere,
  variants,
} from './schema.js';

/** The protocol's version: 2 sends the engine's request as it is, with the secrets beside it. */
export const WIRE_VERSION = 2;

/** The unix socket of `tsbuild daemon` for a root: one daemon per root, found without configuration. */
export function daemonSocketPath(root: string): string {
  return join(root, 'tsbuild.sock');
}

/** A build request on the wire. Paths are absolute (the daemon does not share the client's directory). */
export interface WireBuildRequest {
  readonly version: number;
  readonly request: BuildRequest;
  /** Secret bytes by id, base64 (kept out of the request, as `BuildOptions.secrets` is). */
  readonly secrets: Readonly<Record<string, string>>;
}

const absolutePath = stringWhere((p) => p.startsWith('/'), 'an absolute path');
const strings = arrayOf(string, 'an array of strings');
const stringMap = recordOf(string, 'an object of strings');
/** A secret's bytes: a value that is not base64 is not quoted in the error. */
const secretBytes = stringWhere(
  (s) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0,
  'base64',
  true,
);

/** A daemon writes a tar to a file: one for the client's stdout is built in the client. */
const fileOutput = object<{ type: 'local' | 'tar'; dest: string }>({
  type: oneOf('local', 'tar'),
  dest: absolutePath,
});
const integer: Check<number> = (value, path) =>
  typeof value === 'number' && Number.isInteger(value) ? value : fail(path, 'an integer', value);
const compression = {
  compression: optional(oneOf('gzip', 'zstd', 'uncompressed')),
  compressionLevel: optional(integer),
  forceCompression: optional(boolean),
  rewriteTimestamp: optional(boolean),
};
/** The manifest's form: docker media types, annotations. */
const manifestForm = { ociMediaTypes: optional(boolean), annotations: optional(stringMap) };
type Out<T extends BuildOutput['type']> = Extract<BuildOutput, { type: T }>;
/** An archive for the client's stdout is written in the client: a daemon's has a file or directory. */
const output = variants<BuildOutput>('type', {
  image: object<Out<'image'>>({
    type: oneOf('image'),
    push: optional(boolean),
    ...compression,
    ...manifestForm,
  }),
  local: fileOutput,
  tar: fileOutput,
  oci: object<Out<'oci'>>({
    type: oneOf('oci'),
    dest: absolutePath,
    tar: optional(boolean),
    ...compression,
    ...manifestForm,
  }),
  docker: object<Out<'docker'>>({
    type: oneOf('docker'),
    dest: absolutePath,
    ...compression,
    ...manifestForm,
  }),
});

const cacheExportOptions = {
  mode: optional(oneOf('min', 'max')),
  compression: optional(oneOf('gzip', 'zstd', 'uncompressed')),
  compressionLevel: optional(integer),
  forceCompression: optional(boolean),
  ignoreError: optional(boolean),
  cacheMounts: optional(boolean),
};
type CacheTo<T extends CacheExport['type']> = Extract<CacheExport, { type: T }>;
const cacheExport = variants<CacheExport>('type', {
  registry: object<CacheTo<'registry'>>({ type: oneOf('registry'), ref: string, ...cacheExportOptions }),
  local: object<CacheTo<'local'>>({
    type: oneOf('local'),
    dest: absolutePath,
    tag: optional(string),
    ...cacheExportOptions,
  }),
  inline: object<CacheTo<'inline'>>({ type: oneOf('inline') }),
});
type CacheFrom<T extends CacheImport['type']> = Extract<CacheImport, { type: T }>;
const cacheImport = variants<CacheImport>('type', {
  registry: object<CacheFrom<'registry'>>({ type: oneOf('registry'), ref: string }),
  local: object<CacheFrom<'local'>>({ type: oneOf('local'), src: absolutePath, tag: optional(string) }),
});

/** `--check` runs in the client, which prints its report: a daemon refuses it rather than ignore it. */
const notCheck: Check<false | undefined> = (value, path) =>
  value === undefined || value === false
    ? value
    : fail(path, 'false (a --check build runs in the client)', value);

/** One check per field of BuildRequest: a field added to the request without one does not compile. */
const requestShape: Shape<BuildRequest> = {
  context: optional(absolutePath),
  dockerfile: optional(absolutePath),
  dockerfileText: optional(string),
  tags: optional(strings),
  target: optional(string),
  buildArgs: optional(stringMap),
  labels: optional(stringMap),
  noCache: optional(boolean),
  noCacheFilter: optional(strings),
  pull: optional(boolean),
  ssh: optional(recordOf(absolutePath, 'an object of absolute socket paths')),
  buildContexts: optional(
    recordOf(
      stringWhere((v) => v.startsWith('/') || v.includes('://'), 'an absolute path or a URL'),
      'an object of absolute paths or URLs',
    ),
  ),
  contextNormalize: optional(boolean),
  network: optional(oneOf('default', 'none', 'host')),
  platform: optional(string),
  allowInsecure: optional(boolean),
  insecureRegistries: optional(strings),
  output: optional(output),
  cacheTo: optional(arrayOf(cacheExport, 'an array of cache exports')),
  cacheFrom: optional(arrayOf(cacheImport, 'an array of cache imports')),
  check: notCheck,
};

const wireShape: Shape<WireBuildRequest> = {
  version: (value) => value as number, // checked first, by parseBuildRequest
  request: object(requestShape),
  secrets: recordOf(secretBytes, 'an object of base64 strings'),
};

/**
 * A build request read from JSON, every field checked: a mistyped or unknown field is an
 * InvalidArgumentError naming it (the daemon answers 400); an absent optional field is absent, as it
 * is for `build()`.
 */
export function parseBuildRequest(value: unknown): WireBuildRequest {
  if (
    typeof value !== 'object' ||
    value === null ||
    (value as { version?: unknown }).version !== WIRE_VERSION
  ) {
    throw new InvalidArgumentError(`unsupported build request (this daemon speaks version ${WIRE_VERSION})`, {
      hint: 'the client and the daemon come from different tsbuild versions: restart the daemon',
    });
  }
  try {
    return object(wireShape)(value, '');
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    throw new InvalidArgumentError(`invalid build request: ${err.message}`);
  }
}

/**
 * A build as a daemon request: relative paths resolved here, secrets as base64. Undefined for a build
 * that stays in this process: `--check`, a tar or an archive to a stream, a context archive, a remote context (made
 * a directory here).
 */
export function wireRequest(
  request: BuildRequest,
  options: Pick<BuildOptions, 'secrets' | 'contextArchive'> = {},
): WireBuildRequest | undefined {
  const output = request.output ?? { type: 'image' };
  const toStream = output.type !== 'image' && output.type !== 'local' && output.dest === undefined;
  if (request.check || toStream) return undefined;
  if (options.contextArchive !== undefined) return undefined;
  if (request.context !== undefined && remoteContextKind(request.context) !== undefined) return undefined;
  const secrets: Record<string, string> = {};
  for (const [id, bytes] of Object.entries(options.secrets ?? {}))
    secrets[id] = Buffer.from(bytes).toString('base64');
  return { version: WIRE_VERSION, request: absolutePaths(request), secrets };
}

/** `request` with its paths resolved against this process's directory. */
function absolutePaths(request: BuildRequest): BuildRequest {
  const paths = (map: Readonly<Record<string, string>>, keep: (v: string) => boolean) =>
    Object.fromEntries(Object.entries(map).map(([k, v]) => [k, keep(v) ? v : resolve(v)]));
  const output = request.output;
  return {
    ...request,
    ...(request.context !== undefined ? { context: resolve(request.context) } : {}),
    ...(request.dockerfile !== undefined ? { dockerfile: resolve(request.dockerfile) } : {}),
    ...(request.ssh ? { ssh: paths(request.ssh, () => false) } : {}),
    ...(request.buildContexts
      ? { buildContexts: paths(request.buildContexts, (v) => v.includes('://')) }
      : {}),
    ...(output !== undefined && output.type !== 'image' && output.dest !== undefined
      ? { output: { ...output, dest: resolve(output.dest) } }
      : {}),
    ...(request.cacheTo
      ? { cacheTo: request.cacheTo.map((c) => (c.type === 'local' ? { ...c, dest: resolve(c.dest) } : c)) }
      : {}),
    ...(request.cacheFrom
      ? { cacheFrom: request.cacheFrom.map((c) => (c.type === 'local' ? { ...c, src: resolve(c.src) } : c)) }
      : {}),
  };
}

/** The secrets of a wire request, as bytes. */
export function secretsOf(wire: WireBuildRequest): Record<string, Uint8Array> {
  const secrets: Record<string, Uint8Array> = {};
  for (const [id, value] of Object.entries(wire.secrets)) secrets[id] = Buffer.from(value, 'base64');
  return secrets;
}

export interface WireBuildResult {
  readonly imageID?: string;
  readonly manifestDigest?: string;
  readonly manifest?: { readonly mediaType: string; readonly digest: string; readonly size: number };
  readonly names: readonly string[];
  readonly containers: number;
  readonly warnings: readonly string[];
}

export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint?: string;
  readonly location?: SourceLocation;
  readonly exec?: { readonly exitCode: number; readonly output: readonly string[] };
}

/** One line of the response stream. */
export type WireLine =
  { readonly event: ProgressEvent } | { readonly result: WireBuildResult } | { readonly error: WireError };

/** Any thrown value as a WireError (a non-TsbuildError becomes INTERNAL, message kept). */
export function errorToWire(error: unknown): WireError {
  if (!(error instanceof TsbuildError)) {
    return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
  }
  return {
    code: error.code,
    message: error.message,
    ...(error.hint !== undefined ? { hint: error.hint } : {}),
    ...(error.location !== undefined ? { location: error.location } : {}),
    ...(error instanceof ExecError ? { exec: { exitCode: error.exitCode, output: error.output } } : {}),
  };
}

/** The error a WireError describes, of the class the daemon threw (ExecError for a failed step). */
export function errorFromWire(wire: WireError): TsbuildError {
  const options = {
    ...(wire.hint !== undefined ? { hint: wire.hint } : {}),
    ...(wire.location !== undefined ? { location: wire.location } : {}),
  };
  if (wire.exec !== undefined) return new ExecError(wire.message, wire.exec, options);
  return new TsbuildError(wire.code, wire.message, options);
}
