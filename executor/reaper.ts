/**
 * Containers die with the process that started them. runc gives a container no parent-death signal:
 * when a build is SIGKILLed, `runc run` is orphaned and the container's process keeps running (and its
 * bundle and secrets stay on disk). Each executor therefore keeps one small watcher process (`sh`),
 * started with the first run and told over a pipe which containers are live (`+ <id>` before `runc run`
 * starts, `p <id> <pid>` once it has, `- <id>` when the run is over). The pipe's only writer is this
 * process: when it dies for any reason, the watcher reads end-of-file, kills the orphaned `runc run`
 * processes, kills and deletes the containers (twice: a `runc run` killed while creating one may just
 * have made it), and removes their bundles and secrets. On a normal exit the list is empty and the
 * watcher just ends. The orphan sweep at engine open remains the fallback (a watcher killed too).
 *
 * Cost per run: two or three short writes to a pipe; the watcher starts once per process.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

// ids: " a b ", pids: " a:123 b:456 " (a pid is forgotten with its run: it may be reused after that).
// Terminal signals are ignored: an interrupted build cleans up itself, then closes the pipe.
const SCRIPT = `
trap '' INT TERM HUP QUIT
ids=' '
pids=' '
while read -r op id pid; do
  case $op in
    +) ids="$ids$id " ;;
    p) pids="$pids$id:$pid " ;;
    -)
      case $ids in *" $id "*) ids="\${ids%% $id *} \${ids#* $id }" ;; esac
      case $pids in *" $id:"*) rest="\${pids#* $id:}"; pids="\${pids%% $id:*} \${rest#* }" ;; esac ;;
  esac
done
[ "$ids" = ' ' ] && exit 0
for entry in $pids; do kill -KILL "\${entry#*:}" 2>/dev/null; done
for pass in 1 2; do
  for id in $ids; do
    "$TSBUILD_RUNC" --root "$TSBUILD_STATE" kill "$id" KILL >/dev/null 2>&1
    "$TSBUILD_RUNC" --root "$TSBUILD_STATE" delete --force "$id" >/dev/null 2>&1
  done
  sleep 0.2
done
for id in $ids; do rm -rf -- "$TSBUILD_BUNDLES/$id" "$TSBUILD_SECRETS/$id-secrets"; done
`;

export interface ReaperOptions {
  readonly runc: string;
  readonly stateDir: string;
  readonly bundleDir: string;
  readonly secretsDir: string;
}

export class ContainerReaper {
  private watcher: ChildProcess | undefined;

  constructor(private readonly options: ReaperOptions) {}

  /** Before `runc run <id>` is started. */
  starting(id: string): void {
    this.send(`+ ${id}\n`);
  }

  /** Once `runc run <id>` runs as `pid` (killed first should this process die). */
  started(id: string, pid: number | undefined): void {
    if (pid !== undefined) this.send(`p ${id} ${pid}\n`);
  }

  /** After the run is over and cleaned up. */
  done(id: string): void {
    this.send(`- ${id}\n`);
  }

  private send(line: string): void {
    const stdin = this.ensure().stdin;
    // A watcher that died (killed from outside) is replaced at the next run; the sweep covers the gap.
    if (stdin !== null && stdin.writable) stdin.write(line);
  }

  private ensure(): ChildProcess {
    if (this.watcher !== undefined && this.watcher.exitCode === null && this.watcher.signalCode === null)
      return this.watcher;
    const { runc, stateDir, bundleDir, secretsDir } = this.options;
    const watcher = spawn('sh', ['-c', SCRIPT], {
      stdio: ['pipe', 'ignore', 'ignore'],
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        TSBUILD_RUNC: runc,
        TSBUILD_STATE: stateDir,
        TSBUILD_BUNDLES: bundleDir,
        TSBUILD_SECRETS: secretsDir,
      },
    });
    watcher.on('error', () => undefined);
    watcher.stdin?.on('error', () => undefined);
    // Neither the watcher nor its pipe keeps this process alive.
    watcher.unref();
    (watcher.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.watcher = watcher;
    return watcher;
  }
}
