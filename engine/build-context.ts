/**
 * Build contexts that are not a local directory, as buildx hands them to BuildKit and BuildKit's
 * Dockerfile frontend (dockerui) takes them:
 *
 * - a tar archive (`tsbuild build -` with an archive on stdin: plain, gzip, bzip2, xz or zstd) is
 *   unpacked as the context; its Dockerfile is `dockerfile` inside it (default `Dockerfile`);
 * - a git URL (core/remote-context.ts says which are; `#ref:dir`) is checked out, and the checkout of
 *   `dir` is the context; the Dockerfile is read from it;
 * - another http(s) URL is downloaded: an archive is unpacked as the context; anything else is the
 *   Dockerfile itself, named `context`, and that one file is the context (BuildKit's rule).
 *
 * With a git or http context, an absolute `dockerfile` is a local file and `dockerfileText` (`-f -`)
 * wins, as in buildx; a relative one is a path inside the context, resolved inside it (a symlink in
 * the context cannot lead the read outside).
 *
 * Each is made by a solve of source ops, BuildKit's way: the git and http sources ADD uses (so a
 * remote context is cached by commit or by content like any source) and the file op's unpack (so
 * every member is resolved inside the destination); a tar from stdin is a local source of a temp
 * directory holding it, removed after the solve. The build then reads the result through a read-only
 * view of its snapshot, unmounted and released when the build settles. As in BuildKit, no
 * .dockerignore applies to a remote context: it filters what a client sends, and here nothing is sent.
 */
import { constants } from 'node:fs';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { isArchiveHead } from '../core/index.js';
import { InvalidArgumentError, NotFoundError } from '../core/index.js';
import type { ProgressWriter } from '../core/index.js';
import type { TlsOptions } from '../http/index.js';
import { remoteContextKind } from '../core/index.js';
import { hasCode } from '../core/index.js';
import { decodeUtf8Escaped } from '../core/index.js';
import { withSnapshotView } from '../snapshotter/index.js';
import * as llb from '../llb/index.js';
import { resolveIn } from '../worker/index.js';
import type { WorkerResult } from '../worker/index.js';
import { parseRemote, redactRemote } from '../worker/index.js';
import type { Engine } from './open.js';

/** The context fields of the build options (engine/build.ts). */
export interface ContextOptions {
  readonly context?: string;
  readonly contextArchive?: Uint8Array;
  readonly dockerfile?: string;
  readonly dockerfileText?: string;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressWriter;
  /** The registry options: their `caFile` and `certsDir` apply to an http(s) context's download. */
  readonly registry?: TlsOptions;
}

export type RemoteContext =
  | { readonly kind: 'git'; readonly remote: string }
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'archive'; readonly bytes: Uint8Array };

/** A remote context made a directory: where it is, and the Dockerfile for it. */
export interface ResolvedContext {
  readonly context: string;
  /** The Dockerfile's text, read from the context (or given). */
  readonly dockerfileText?: string;
  /** A local Dockerfile (an absolute `dockerfile` with a git or http context). */
  readonly dockerfile?: string;
  /** The Dockerfile's name in messages and error locations. */
  readonly dockerfileName: string;
}

/** The build's remote context, or undefined for a local directory (or none). */
export async function remoteContextOf(options: ContextOptions): Promise<RemoteContext | undefined> {
  if (options.contextArchive !== undefined) {
    if (options.context !== undefined) {
      throw new InvalidArgumentError('a build has one context: both context and contextArchive were given');
    }
    return { kind: 'archive', bytes: options.contextArchive };
  }
  const context = options.context;
  if (context === undefined) return undefined;
  const kind = remoteContextKind(context);
  if (kind === undefined) return undefined;
  // A local directory of that name wins, as in buildx.
  if ((await stat(context).catch(() => undefined))?.isDirectory() === true) return undefined;
  return kind === 'git' ? { kind, remote: context } : { kind, url: context };
}

type SolveOptions = Pick<ContextOptions, 'signal' | 'progress' | 'registry'> & {
  readonly locals?: Readonly<Record<string, string>>;
};

async function solveState(engine: Engine, state: llb.State, options: SolveOptions): Promise<WorkerResult> {
  const result = await engine.worker.solve(state.toDefinition(), {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.locals ? { locals: options.locals } : {}),
    ...(options.registry ? { tls: options.registry } : {}),
  });
  if (result === undefined) throw new InvalidArgumentError('the build context is empty');
  return result;
}

/** The git source of a git context; a query (`?ref=…`) is refused, not dropped. */
function gitState(context: string): llb.State {
  const remote = parseRemote(context.startsWith('github.com/') ? `https://${context}` : context);
  if (/^https?:/iu.test(remote.url) && new URL(remote.url).search !== '') {
    throw new InvalidArgumentError(
      `git context ${redactRemote(remote.url)}: query options are not supported`,
      { hint: 'name the ref and the directory in the fragment: <url>.git#<ref>:<dir>' },
    );
  }
  const attrs = {
    ...(remote.ref !== undefined ? { ref: remote.ref } : {}),
    ...(remote.subdir !== undefined ? { subdir: remote.subdir } : {}),
  };
  return llb.remote(`git:${remote.url}`, attrs, {
    customName: `[internal] load git source ${redactRemote(context)}`,
  });
}

/** `/context` of `from` unpacked at the root of a new file system. */
function unpacked(from: llb.State): llb.State {
  return llb.scratch().file(llb.copy(from, '/context', '/', { attemptUnpack: true }), {
    customName: '[internal] unpack the build context',
  });
}

async function readHead(path: string, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

interface Solved {
  readonly result: WorkerResult;
  /** The download is the Dockerfile, by this name in the context. */
  readonly dockerfile?: string;
}

/** An http(s) context: the download, unpacked when it is an archive (BuildKit reads 1024 bytes). */
async function solveHttp(engine: Engine, url: string, options: SolveOptions): Promise<Solved> {
  const download = llb.remote(
    `http:${url}`,
    { filename: 'context' },
    { customName: '[internal] load remote build context' },
  );
  const first = await solveState(engine, download, options);
  try {
    const archive =
      first.kind === 'snapshot' &&
      (await withSnapshotView(
        engine.snapshotter,
        first.ref,
        async (dir) => isArchiveHead(await readHead(join(dir, 'context'), 1024)),
        { signal: options.signal },
      ));
    if (!archive) return { result: first, dockerfile: 'context' };
    const result = await solveState(engine, unpacked(download), options);
    await first.release();
    return { result };
  } catch (err) {
    await first.release();
    throw err;
  }
}

/** A tar from stdin: written to a temp directory read as a local source, and unpacked. */
async function solveArchive(engine: Engine, bytes: Uint8Array, options: SolveOptions): Promise<Solved> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-stdin-context-'));
  try {
    await writeFile(join(dir, 'context'), bytes, { mode: 0o600 });
    // Named as BuildKit names it (the tar is the "remote" context the client sent).
    const name = { 'llb.customname': '[internal] load remote build context' };
    const source = llb.local('stdin-context', { metadata: { description: name } });
    const result = await solveState(engine, unpacked(source), {
      ...options,
      locals: { 'stdin-context': dir },
    });
    return { result };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function solveContext(engine: Engine, remote: RemoteContext, options: SolveOptions): Promise<Solved> {
  switch (remote.kind) {
    case 'git':
      return solveState(engine, gitState(remote.remote), options).then((result) => ({ result }));
    case 'http':
      return solveHttp(engine, remote.url, options);
    case 'archive':
      return solveArchive(engine, remote.bytes, options);
  }
}

/**
 * The bytes of the regular file at `path`. An archive may hold a FIFO or a device by the Dockerfile's
 * name: it is opened without blocking and refused (a FIFO's read would wait for a writer forever, a
 * device's could read without end).
 */
async function readRegularFile(path: string, name: string, shown: string): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) {
      throw new InvalidArgumentError(
        `the Dockerfile ${name} in the build context ${shown} is not a regular file`,
      );
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The Dockerfile `name` inside the context `dir` (BuildKit also tries `dockerfile` for `Dockerfile`). */
async function readContextDockerfile(dir: string, name: string, shown: string): Promise<string> {
  const names = basename(name) === 'Dockerfile' ? [name, join(dirname(name), 'dockerfile')] : [name];
  let failure: unknown;
  for (const candidate of names) {
    try {
      return decodeUtf8Escaped(await readRegularFile(resolveIn(dir, candidate, true).abs, candidate, shown));
    } catch (err) {
      failure ??= err;
      if (!hasCode(err, 'ENOENT', 'ENOTDIR')) break;
    }
  }
  if (failure instanceof InvalidArgumentError) throw failure;
  const reason = hasCode(failure, 'ENOENT', 'ENOTDIR') ? 'no such file' : (failure as Error).message;
  throw new NotFoundError(`cannot read the Dockerfile ${name} in the build context ${shown}: ${reason}`, {
    cause: failure,
  });
}

function describe(remote: RemoteContext): string {
  if (remote.kind === 'archive') return 'from stdin';
  return redactRemote(remote.kind === 'git' ? remote.remote : remote.url);
}

async function dockerfileFor(
  dir: string,
  remote: RemoteContext,
  solved: Solved,
  options: ContextOptions,
): Promise<ResolvedContext> {
  const given = options.dockerfile;
  if (options.dockerfileText !== undefined) {
    return { context: dir, dockerfileText: options.dockerfileText, dockerfileName: 'Dockerfile' };
  }
  if (remote.kind !== 'archive' && given !== undefined && isAbsolute(given)) {
    return { context: dir, dockerfile: given, dockerfileName: given };
  }
  const name = solved.dockerfile ?? given ?? 'Dockerfile';
  const text = await readContextDockerfile(dir, name, describe(remote));
  return { context: dir, dockerfileText: text, dockerfileName: name };
}

/**
 * Runs `fn` with the remote context made a directory (see the top of this file). The caller holds the
 * GC lock's shared side.
 */
export async function withRemoteContext<T>(
  engine: Engine,
  remote: RemoteContext,
  options: ContextOptions,
  fn: (resolved: ResolvedContext) => Promise<T>,
): Promise<T> {
  const solveOptions = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
  };
  const solved = await solveContext(engine, remote, solveOptions);
  try {
    const withDir = async (dir: string): Promise<T> => fn(await dockerfileFor(dir, remote, solved, options));
    if (solved.result.kind === 'snapshot') {
      return await withSnapshotView(engine.snapshotter, solved.result.ref, withDir, {
        signal: options.signal,
      });
    }
    return await withEmptyContext(withDir); // nothing in it (an empty archive)
  } finally {
    await solved.result.release();
  }
}

/**
 * Runs `fn` with an empty directory, removed after: the context of a build whose Dockerfile comes
 * from stdin (buildx gives it an empty directory), or of an empty archive.
 */
export async function withEmptyContext<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const empty = await mkdtemp(join(tmpdir(), 'tsbuild-empty-context-'));
  try {
    return await fn(empty);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}
