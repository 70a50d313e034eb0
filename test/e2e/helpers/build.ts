/**
 * Helpers for the end-to-end build suites: a context directory from a file map, an in-process build
 * that records its progress events, and the `tsbuild` CLI run in a fresh process with `--progress
 * rawjson` (its events parsed back).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from '../../../engine/index.js';
import type { BuildRequest, BuildResult, Engine } from '../../../engine/index.js';
import type { ProgressEvent } from '../../../core/index.js';
import { repoRoot } from '../../helpers/shared.js';

/** Writes `files` (relative path → content) under a new directory below `parent`; returns its path. */
export function makeContext(parent: string, files: Readonly<Record<string, string>>): string {
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, 'ctx-'));
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/** What a build reported, sorted into the questions the cache suites ask. */
export class BuildEvents {
  constructor(readonly events: readonly ProgressEvent[]) {}

  /** Names of the graph's vertices that executed (internal steps, the context and export excluded). */
  get started(): string[] {
    return this.events
      .filter((e) => e.type === 'vertex.started' && e.digest.startsWith('sha256:'))
      .map((e) => (e as { name: string }).name)
      .filter((name) => !name.startsWith('[internal]'));
  }

  /** Names of the executed vertices that are RUN steps (each one starts a container). */
  get startedRuns(): string[] {
    return this.started.filter((name) => / RUN /.test(name));
  }

  get cached(): string[] {
    return this.events.filter((e) => e.type === 'vertex.cached').map((e) => (e as { name: string }).name);
  }

  /** Byte progress events (layer downloads), not the phases of a step (`extracting …`, `exporting layers`). */
  get bytes(): Extract<ProgressEvent, { type: 'progress' }>[] {
    return this.statuses.filter((e) => e.total !== undefined);
  }

  /** Every status line under a step: transfers and phases. */
  get statuses(): Extract<ProgressEvent, { type: 'progress' }>[] {
    return this.events.filter(
      (e): e is Extract<ProgressEvent, { type: 'progress' }> => e.type === 'progress',
    );
  }
}

export interface RecordedBuild {
  readonly result: BuildResult;
  readonly events: BuildEvents;
}

/** `build()` with a progress writer that keeps every event. */
export async function recordBuild(engine: Engine, request: BuildRequest): Promise<RecordedBuild> {
  const events: ProgressEvent[] = [];
  const result = await build(engine, request, { progress: { write: (e) => events.push(e) } });
  return { result, events: new BuildEvents(events) };
}

/** The same, for a build expected to fail: the error and what was reported before it. */
export async function recordFailure(
  engine: Engine,
  request: BuildRequest,
): Promise<{ error: unknown; events: BuildEvents }> {
  const events: ProgressEvent[] = [];
  try {
    await build(engine, request, { progress: { write: (e) => events.push(e) } });
  } catch (error) {
    return { error, events: new BuildEvents(events) };
  }
  throw new Error('the build was expected to fail');
}

/** The bundled CLI (`make build`), or undefined when dist/ has not been built. */
export function cliPath(): string | undefined {
  for (const candidate of ['dist/tsbuild.cjs', 'dist/cli/main.js']) {
    const path = resolve(repoRoot, candidate);
    if (existsSync(path)) return path;
  }
  return undefined;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly events: BuildEvents;
}

/** Runs `tsbuild --root <root> <args…> --progress rawjson` in a fresh node process. */
export function runCli(
  root: string,
  args: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<CliRun> {
  const cli = cliPath();
  if (cli === undefined) throw new Error('dist/ is not built (make build)');
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [cli, '--root', root, ...args],
      { maxBuffer: 64 << 20, ...(options.signal ? { signal: options.signal } : {}) },
      (error, stdout, stderr) => {
        const events: ProgressEvent[] = [];
        for (const line of stderr.split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            events.push(JSON.parse(line) as ProgressEvent);
          } catch {
            // not an event line
          }
        }
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolveRun({ code, stdout, stderr, events: new BuildEvents(events) });
      },
    );
  });
}
