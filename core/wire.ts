/**
 * What `tsbuild build` and `tsbuild daemon` exchange over the daemon's socket (HTTP/1.1 on a unix
 * socket, root-only): one POST /v1/build with a JSON body, answered by a stream of JSON lines (progress
 * events, then one result or one error). Plain data only: secrets travel as base64 inside the
 * request body and are never echoed; errors keep their code, hint, location and exec details, so the
 * client prints and exits exactly as an in-process build would.
 */
import type { ErrorCode, SourceLocation } from './errors.js';
import { ExecError, InvalidArgumentError, TsbuildError } from './errors.js';
import type { ProgressEvent } from './progress.js';
import type { Shape } from './schema.js';
import {
  arrayOf,
  boolean,
  object,
  oneOf,
  optional,
  recordOf,
  string,
  stringWhere,
  variants,
} from './schema.js';

export const WIRE_VERSION = 1;

/** A build request. Paths are absolute (the daemon does not share the client's working directory). */
export interface WireBuildRequest {
  readonly version: number;
  readonly context?: string;
  readonly dockerfile?: string;
  readonly dockerfileText?: string;
  readonly tags: readonly string[];
  readonly target?: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly noCache: boolean;
  readonly noCacheFilter: readonly string[];
  readonly pull: boolean;
  /** Secret bytes by id, base64. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly ssh: Readonly<Record<string, string>>;
  readonly buildContexts: Readonly<Record<string, string>>;
  readonly network?: 'default' | 'none' | 'host';
  readonly platform?: string;
  readonly allowInsecure: boolean;
  readonly insecureRegistries: readonly string[];
  /** Where the result goes (a tar to the client's stdout is never sent to a daemon). */
  readonly output: WireOutput;
}

export type WireOutput =
  { readonly type: 'image' } | { readonly type: 'local' | 'tar'; readonly dest: string };

const absolutePath = stringWhere((p) => p.startsWith('/'), 'an absolute path');
const strings = arrayOf(string, 'an array of strings');
const stringMap = recordOf(string, 'an object of strings');
/** A secret's bytes: a value that is not base64 is not quoted in the error. */
const secretBytes = stringWhere(
  (s) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0,
  'base64',
  true,
);

const fileOutput = object<{ type: 'local' | 'tar'; dest: string }>({
  type: oneOf('local', 'tar'),
  dest: absolutePath,
});
const output = variants<WireOutput>('type', {
  image: object<{ type: 'image' }>({ type: oneOf('image') }),
  local: fileOutput,
  tar: fileOutput,
});

const requestShape: Shape<WireBuildRequest> = {
  version: (value) => value as number, // checked first, by parseBuildRequest
  context: optional(absolutePath),
  dockerfile: optional(absolutePath),
  dockerfileText: optional(string),
  tags: strings,
  target: optional(string),
  buildArgs: stringMap,
  labels: stringMap,
  noCache: boolean,
  noCacheFilter: strings,
  pull: boolean,
  secrets: recordOf(secretBytes, 'an object of base64 strings'),
  ssh: recordOf(absolutePath, 'an object of absolute socket paths'),
  buildContexts: recordOf(
    stringWhere((v) => v.startsWith('/') || v.includes('://'), 'an absolute path or a URL'),
    'an object of absolute paths or URLs',
  ),
  network: optional(oneOf('default', 'none', 'host')),
  platform: optional(string),
  allowInsecure: boolean,
  insecureRegistries: strings,
  output,
};

/**
 * A build request read from JSON, every field checked: a missing, mistyped or unknown field is an
 * InvalidArgumentError naming it (the daemon answers 400), never a default in its place.
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
    return object(requestShape)(value, '');
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    throw new InvalidArgumentError(`invalid build request: ${err.message}`);
  }
}

export interface WireBuildResult {
  readonly imageID?: string;
  readonly manifestDigest?: string;
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
