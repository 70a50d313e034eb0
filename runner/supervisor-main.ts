/**
 * The detached supervisor's entry (`node dist/tsbuild-supervisor.cjs <root>`, spawned by detached.ts in
 * a session of its own, before the caller knows the container: it boots meanwhile): waits for the
 * caller's `go <id>` (the container made, its rootfs mounted, its bundle written), takes the container's
 * supervisor lock, starts the process, reports its pid (or the start
 * error) on stdout, and then supervises it until it stops for good. Kept small: it loads neither the
 * engine nor the stores, only runc, the container store and the hooks of supervisorHooks().
 */
import { join } from 'node:path';
import { closeSync, openSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { refuseInspectorSignal, TsbuildError, tryLockExclusive, unlockFile } from '../core/index.js';
import type { ErrorCode } from '../core/index.js';
import { RuncContainers } from '../executor/index.js';
import type { RuncAttach } from '../executor/index.js';
import type { SupervisorReport } from './detached.js';
import { runnerHooks } from './wiring.js';
import { takeApart } from './reconcile.js';
import { createSnapshotter } from '../snapshotter/index.js';
import type { ContainerRecord } from './types.js';
import { containersRuncDir } from './paths.js';
import { ContainerStore } from './store.js';
import { holdLock } from './supervisor-lock.js';
import { hookedSupervision, superviseContainer } from './supervisor.js';

let reported = false;

/** The one line the caller reads; later reports (an error after the start) are not sent. */
function report(answer: SupervisorReport): void {
  if (reported) return;
  reported = true;
  try {
    process.stdout.write(`${JSON.stringify(answer)}\n`);
    process.stdout.end();
  } catch {
    // The caller went away: nothing to tell.
  }
}

function errorReport(err: unknown): SupervisorReport {
  const code: ErrorCode = err instanceof TsbuildError ? err.code : 'INTERNAL';
  return { ok: false, code, message: err instanceof Error ? err.message : String(err) };
}

/** The container id of the caller's `go <id>`; undefined when its stdin ends first. */
function waitForGo(): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) {
        process.stdin.destroy();
        resolve(/^go ([0-9a-f]{64})\n/.exec(text)?.[1]);
      }
    });
    process.stdin.on('end', () => resolve(undefined));
    process.stdin.on('error', () => resolve(undefined));
  });
}

/** `run -d --rm`: the container goes once it has stopped for good (the snapshot store opened only now). */
async function removeAfterExit(
  root: string,
  store: ContainerStore,
  runc: RuncContainers,
  record: ContainerRecord,
) {
  const snapshotter = await createSnapshotter({ root: join(root, 'snapshots') });
  try {
    await store.remove(record.id, (dir) => takeApart({ runc, snapshotter }, dir, record.id, record.snapshot));
  } finally {
    await snapshotter.close();
  }
}

/**
 * A detached container's pty (`-dt`: its output to the log) and stdin (`-di`: open and never written,
 * as docker keeps it for an attach that may come; a shell waits on it instead of ending).
 */
function detachedIO(record: ContainerRecord): RuncAttach {
  return {
    ...(record.spec.tty === true ? { terminal: true } : {}),
    ...(record.spec.openStdin === true ? { stdin: new PassThrough() } : {}),
  };
}

/** Loads libc's bindings (koffi: ~5 ms) while the caller prepares, not after its `go`. */
function warmUp(): void {
  try {
    const fd = openSync('/dev/null', 'r');
    if (tryLockExclusive(fd)) unlockFile(fd);
    closeSync(fd);
  } catch {
    // only an accelerator
  }
}

async function main(root: string): Promise<void> {
  refuseInspectorSignal(); // a root process: SIGUSR1 must not open Node's inspector
  for (const sig of ['SIGINT', 'SIGHUP', 'SIGPIPE'] as const) process.on(sig, () => undefined);
  const store = new ContainerStore(root);
  const runc = new RuncContainers({ stateDir: containersRuncDir(root) });
  warmUp();
  const id = await waitForGo();
  if (id === undefined) return;
  const lock = await holdLock(store.supervisorLock(id), 2000);
  if (lock === undefined) {
    report({ ok: false, code: 'FAILED_PRECONDITION', message: `container ${id} is already running` });
    return;
  }
  try {
    const record = store.readRecord(id);
    const hooks = runnerHooks(root);
    await superviseContainer({
      ...hookedSupervision(hooks, { store, runc }, record),
      attach: detachedIO(record),
      onStart: (result) =>
        report('pid' in result ? { ok: true, pid: result.pid } : errorReport(result.error)),
    });
    // A restart stops a `--rm` container to start it again: it stays (docker's restart).
    if (record.spec.autoRemove === true && store.readState(id).keepOnExit !== true) {
      await removeAfterExit(root, store, runc, record);
      await hooks.removeVolumes?.(record); // docker's --rm takes the anonymous volumes along
    }
  } catch (err) {
    report(errorReport(err));
  } finally {
    lock.release();
  }
}

const [root] = process.argv.slice(2);
if (root === undefined) {
  report({
    ok: false,
    code: 'INVALID_ARGUMENT',
    message: 'usage: tsbuild-supervisor <root>, then `go <id>` on stdin',
  });
  process.exitCode = 2;
} else {
  void main(root).then(() => process.exit(0));
}
