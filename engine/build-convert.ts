/**
 * The first half of `tsbuild build`: the Dockerfile and its `.dockerignore` read, the base images
 * resolved (the store, else a registry's metadata) and the Dockerfile converted into a definition.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { NotFoundError } from '../core/index.js';
import { decodeUtf8Escaped, reportStep } from '../core/index.js';
import type { ProgressWriter, WarningEvent } from '../core/index.js';
import { convertDockerfile } from '../frontend/index.js';
import type { CheckWarning, ConvertResult, NamedContext } from '../frontend/index.js';
import { readIgnoreFile } from '../patternmatcher/index.js';
import { BaseImages } from './base-images.js';
import type { Engine } from './open.js';
import { registryOptions } from './request.js';
import type { BuildOptions, BuildRequest } from './request.js';

/** The request once a remote context is a directory (engine/build-context.ts). */
export interface ResolvedRequest extends BuildRequest {
  /** The context is remote: no .dockerignore applies (BuildKit's rule). */
  readonly remoteContext?: boolean;
  /** The Dockerfile's name in messages when its text is given. */
  readonly dockerfileName?: string;
}

/** Reports an internal step (`[internal] load build definition`) as a vertex. */
export function step<T>(
  progress: ProgressWriter,
  name: string,
  fn: () => Promise<T>,
  digest?: string,
): Promise<T> {
  return reportStep(progress, { digest: digest ?? `internal:${randomBytes(6).toString('hex')}`, name }, fn);
}

/** A build check warning as BuildKit streams it: on the vertex that loaded the Dockerfile. */
function checkWarningEvent(w: CheckWarning, digest: string, file: string): WarningEvent {
  const location = { file, range: w.range };
  const url = w.url ? { url: w.url } : {};
  return {
    type: 'warning',
    digest,
    message: w.message,
    detail: w.description,
    level: 1,
    ...url,
    location,
    time: Date.now(),
  };
}

async function readDockerfile(
  request: ResolvedRequest,
): Promise<{ text: string; file: string; path?: string }> {
  if (request.dockerfileText !== undefined)
    return { text: request.dockerfileText, file: request.dockerfileName ?? 'Dockerfile' };
  const path = resolve(request.dockerfile ?? join(request.context ?? '.', 'Dockerfile'));
  try {
    // Bytes that are not UTF-8 stay countable (the parser's line limit); see core/utf8.ts.
    return { text: decodeUtf8Escaped(await readFile(path)), file: request.dockerfile ?? 'Dockerfile', path };
  } catch (cause) {
    throw new NotFoundError(`cannot read the Dockerfile ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** `<Dockerfile>.dockerignore` beside the Dockerfile wins over the context's `.dockerignore`. */
async function readExcludes(request: ResolvedRequest, dockerfilePath?: string): Promise<string[]> {
  if (request.remoteContext === true) return [];
  const candidates = [
    ...(dockerfilePath ? [join(dirname(dockerfilePath), `${basename(dockerfilePath)}.dockerignore`)] : []),
    ...(request.context ? [join(request.context, '.dockerignore')] : []),
  ];
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    return readIgnoreFile(text, file);
  }
  return [];
}

function buildContexts(contexts: Readonly<Record<string, string>> = {}): Record<string, NamedContext> {
  const out: Record<string, NamedContext> = {};
  for (const [name, value] of Object.entries(contexts)) {
    if (value.startsWith('docker-image://')) out[name] = { kind: 'image', ref: value.slice(15) };
    else out[name] = { kind: 'local', path: resolve(value) };
  }
  return out;
}

export interface Converted {
  readonly converted: ConvertResult;
  readonly dockerfile: { readonly text: string; readonly file: string };
  /** The base images: resolved before the conversion, pulled by their FROM steps. */
  readonly baseImages: BaseImages;
}

export async function convert(
  engine: Engine,
  request: ResolvedRequest,
  options: BuildOptions,
  progress: ProgressWriter,
  onCheckWarning?: (warning: CheckWarning) => void,
): Promise<Converted> {
  const definitionDigest = `internal:${randomBytes(6).toString('hex')}`;
  const dockerfile = await step(
    progress,
    `[internal] load build definition from ${request.dockerfile ? basename(request.dockerfile) : 'Dockerfile'}`,
    () => readDockerfile(request),
    definitionDigest,
  );
  // --check reports its warnings in its result; a build streams them as BuildKit does.
  const warn =
    onCheckWarning ??
    ((w: CheckWarning) => progress.write(checkWarningEvent(w, definitionDigest, dockerfile.file)));
  const excludes = await step(progress, '[internal] load .dockerignore', () =>
    readExcludes(request, dockerfile.path),
  );
  const registry = registryOptions(request, options);
  const baseImages = new BaseImages(engine, {
    progress,
    ...(request.pull ? { pull: true } : {}),
    ...(registry ? { registry } : {}),
  });
  const converted = await convertDockerfile({
    source: dockerfile.text,
    file: dockerfile.file,
    ...(request.target !== undefined ? { target: request.target } : {}),
    buildArgs: request.buildArgs ?? {},
    labels: request.labels ?? {},
    ...(request.platform !== undefined ? { platform: request.platform } : {}),
    excludes,
    buildContexts: buildContexts(request.buildContexts),
    ...(request.contextNormalize === true ? { contextNormalize: true } : {}),
    noCache: request.noCache ?? false,
    noCacheFilter: request.noCacheFilter ?? [],
    network: request.network ?? 'default',
    allowInsecure: request.allowInsecure ?? false,
    resolveImage: baseImages.resolve,
    ...(options.signal ? { signal: options.signal } : {}),
    onCheckWarning: warn,
    ...(request.check ? { check: true } : {}),
  });
  return { converted, dockerfile, baseImages };
}
