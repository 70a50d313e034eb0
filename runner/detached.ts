/**
 * A detached start (`run -d`, `start`): the supervisor process (supervisor-main.ts, bundled as
 * dist/tsbuild-supervisor.cjs) is spawned first, in a session of its own with no tie to the caller's
 * terminal, and boots while the caller mounts the rootfs and writes the bundle; then the caller sends
 * `go` on the supervisor's stdin and reads one line back on its stdout: the pid of the running process,
 * or the error that kept it from starting. The supervisor learns the id with `go`, so `run -d` spawns it
 * before the container is even made. Both pipes are closed after that; the supervisor lives on.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FailedPreconditionError, TsbuildError, raceAbort, spawnDetachedNode } from '../core/index.js';
import type { DetachedNode } from '../core/index.js';
import type { ErrorCode } from '../core/index.js';

/** What the supervisor reports on its stdout, one JSON line. */
export type SupervisorReport = { ok: true; pid: number } | { ok: false; code: ErrorCode; message: string };

/** The supervisor bundle beside the running code: the CLI bundle, dist/ (tsc), or the sources (tests). */
export function defaultSupervisorScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    process.env.TSBUILD_SUPERVISOR,
    join(here, 'tsbuild-supervisor.cjs'),
    join(here, '..', 'tsbuild-supervisor.cjs'),
    join(here, '..', 'dist', 'tsbuild-supervisor.cjs'),
  ];
  for (const c of candidates) if (c !== undefined && c !== '' && existsSync(c)) return resolve(c);
  throw new FailedPreconditionError('the container supervisor (dist/tsbuild-supervisor.cjs) is missing', {
    hint: 'build it: make build',
  });
}

export interface DetachedStartOptions {
  readonly script: string;
  readonly root: string;
  /** The caller's part (create, mount, bundle), done while the supervisor boots: the container's id. */
  readonly prepare: () => Promise<string>;
  readonly signal?: AbortSignal;
}

interface Spawned {
  readonly key: string;
  readonly child: DetachedNode;
  readonly report: Promise<SupervisorReport>;
}

/** A supervisor spawned ahead (prespawnSupervisor), taken by the next detached start on its root. */
let ahead: Spawned | undefined;

function spawnSupervisor(script: string, root: string): Spawned {
  return wrap(script, root, spawnDetachedNode(script, [root]));
}

function wrap(script: string, root: string, child: DetachedNode): Spawned {
  const report = readReport(child.stdout);
  report.catch(() => undefined);
  return { key: `${script}\0${root}`, child, report };
}

/**
 * A supervisor the CLI's launcher started before the CLI loaded (supervisor-spawn.ts), kept for the
 * next detached start on `root` as `prespawnSupervisor`'s would be.
 */
export function adoptSupervisor(root: string, script: string, child: DetachedNode): void {
  if (ahead !== undefined) release(ahead);
  ahead = wrap(resolve(script), resolve(root), child);
}

export function prespawnSupervisor(root: string, script: string = defaultSupervisorScript()): void {
  if (ahead !== undefined) release(ahead);
  ahead = spawnSupervisor(resolve(script), resolve(root));
}

function release(spawned: Spawned): void {
  spawned.child.stdin.end();
  spawned.child.stdout.destroy();
}

/** Starts the container under a supervisor (one spawned ahead, or a new one); its pid once it runs. */
export async function startDetached(options: DetachedStartOptions): Promise<number> {
  const key = `${resolve(options.script)}\0${resolve(options.root)}`;
  const spawned =
    ahead?.key === key ? ahead : spawnSupervisor(resolve(options.script), resolve(options.root));
  if (spawned === ahead) ahead = undefined;
  (spawned.child.stdout as unknown as { ref?: () => void }).ref?.();
  try {
    const id = await options.prepare();
    spawned.child.stdin.write(`go ${id}\n`);
    const answer = await raceAbort(spawned.report, options.signal);
    if (!answer.ok) throw new TsbuildError(answer.code, answer.message);
    return answer.pid;
  } finally {
    // Without `go` (prepare failed, abort) the supervisor ends by itself at end of file.
    release(spawned);
  }
}

function readReport(stdout: NodeJS.ReadableStream): Promise<SupervisorReport> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl >= 0) resolvePromise(JSON.parse(text.slice(0, nl)) as SupervisorReport);
    });
    stdout.on('error', reject);
    stdout.on('end', () =>
      reject(new TsbuildError('INTERNAL', 'the container supervisor ended before it started the container')),
    );
  });
}
