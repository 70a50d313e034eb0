/**
 * The runner rows (`--only run`, or `BENCH_ONLY=run make bench-peers`): how long a container takes to
 * start, for tsbuild, `docker run` (the bench's dockerd) and `podman run` (run-tools.ts has the command
 * lines and stores). The image is the bench's busybox base, pulled from the local registry into each
 * tool's store before anything is timed; every tool runs it on its default network (docker and podman:
 * their bridge; tsbuild: whatever its `run` does without `--network`).
 *   - `run-rm`: `<cli> run --rm IMAGE true`, timed from the command's start to its exit, the container
 *     gone by then as the CLI says it is.
 *   - `run-d`: `<cli> run -d IMAGE sleep 1000`, timed until the CLI returns (and its stdout closes) with
 *     the container running; then, untimed, `<cli> inspect ID` must not say otherwise (`State.Running`;
 *     a CLI without that inspect is taken at its word) and `<cli> rm -f ID` removes it.
 * Before each row, one untimed run of it per tool pays the one-off costs (code caches, the bridge, the
 * first container of a store). Runs alternate between the tools (run i of each tool, then run i + 1),
 * the disk synced before each. After every run, and after every clean-up, the bench waits (untimed) until
 * no process is left that names the scratch directory on its command line besides the ones that ran
 * before the rows (the registry, dockerd and its containerd): docker's containerd shim and podman's conmon
 * and `container cleanup` name it (seen here), as a tsbuild supervisor started with the CLI's `--root`
 * does, so the next timed run does not share the machine with the last one's tail. Each command gets 60 s; a tool that fails a row (tsbuild before `--rm`, `-d`
 * and `rm` exist: commander's error) has that row's cell say why, and the bench goes on.
 * At the end every container left in the tools' stores is removed (`ps -aq`, `rm -f`), and any process
 * that still names the scratch directory is listed.
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { delay } from '../../core/abort.js';
import type { Infra } from './infra.js';
import { commandFailure, run } from './proc.js';
import type { RunResult } from './proc.js';
import type { RowId } from './report.js';
import type { RunCli } from './run-tools.js';

export const RUN_ROWS = ['run-rm', 'run-d'] as const;
export type RunRowId = (typeof RUN_ROWS)[number];

const COMMAND_TIMEOUT_MS = 60_000;
const QUIET_TIMEOUT_MS = 20_000;

export interface RunRowsInput {
  readonly infra: Infra;
  readonly clis: readonly RunCli[];
  readonly runs: number;
  readonly signal: AbortSignal;
  readonly record: (row: RowId, tool: { readonly id: string }, value: number[] | string) => void;
  readonly settleDisk: () => void;
  readonly note: (line: string) => void;
}

/** The processes (pid → command line) whose command line names `dir`. */
export function processesNaming(dir: string): Map<number, string> {
  const found = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (cmdline.includes(dir)) found.set(Number(entry), cmdline);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The processes in `now` that are not in `before` (pids reused by another command count as new). */
export function newProcesses(
  before: ReadonlyMap<number, string>,
  now: ReadonlyMap<number, string>,
): string[] {
  return [...now].filter(([pid, cmd]) => before.get(pid) !== cmd).map(([pid, cmd]) => `${pid} ${cmd}`);
}

/**
 * `State.Running` of docker's `inspect` output (a JSON array of one container), as text; `true` when the
 * output is not that shape (a CLI whose inspect differs is taken at its word).
 */
export function stateRunning(inspectOutput: string): string {
  try {
    const parsed = JSON.parse(inspectOutput) as { State?: { Running?: unknown } }[];
    const running = Array.isArray(parsed) ? parsed[0]?.State?.Running : undefined;
    return running === undefined ? 'true' : String(running);
  } catch {
    return 'true';
  }
}

class Rows {
  private readonly baseline: Map<number, string>;
  private readonly logDir: string;

  constructor(private readonly input: RunRowsInput) {
    this.baseline = processesNaming(input.infra.scratch);
    this.logDir = join(input.infra.scratch, 'logs');
    mkdirSync(this.logDir, { recursive: true });
  }

  /**
   * One command of `cli`, its output appended to the row's log, at most COMMAND_TIMEOUT_MS; `cleanUp`
   * commands run even once the bench is interrupted.
   */
  command(cli: RunCli, row: string, args: readonly string[], cleanUp = false): Promise<RunResult> {
    const timeout = AbortSignal.timeout(COMMAND_TIMEOUT_MS);
    const signal = cleanUp ? timeout : AbortSignal.any([this.input.signal, timeout]);
    const log = join(this.logDir, `${cli.id}-${row}.log`);
    return run([...cli.argv, ...args], { env: cli.env, signal, log });
  }

  /** Untimed: until only the baseline's processes name the scratch directory (or QUIET_TIMEOUT_MS). */
  async quiet(): Promise<void> {
    const deadline = Date.now() + QUIET_TIMEOUT_MS;
    for (;;) {
      const left = newProcesses(this.baseline, processesNaming(this.input.infra.scratch));
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        this.input.note(`  still running after ${QUIET_TIMEOUT_MS / 1000} s: ${left.join('; ')}`);
        return;
      }
      await delay(20, this.input.signal);
    }
  }

  /** One run of `row` by `cli` (its clean-up included, untimed); the timed part's seconds. */
  async once(cli: RunCli, row: RunRowId): Promise<number> {
    if (row === 'run-rm') {
      const { seconds } = await this.command(cli, row, ['run', '--rm', cli.image, 'true']);
      await this.quiet();
      return seconds;
    }
    const { seconds, stdout } = await this.command(cli, row, ['run', '-d', cli.image, 'sleep', '1000']);
    const id = stdout.trim().split('\n').at(-1)?.trim() ?? '';
    if (id === '') throw new Error('`run -d` printed no container ID');
    const running = await this.command(cli, row, ['inspect', id]).then(
      (r) => stateRunning(r.stdout),
      () => 'true', // no inspect yet: taken at its word
    );
    await this.command(cli, row, ['rm', '-f', id]);
    await this.quiet();
    if (running !== 'true')
      throw new Error(`the container was not running when \`run -d\` returned (${running})`);
    return seconds;
  }

  /** Why a run failed, for the cell (a timeout named as one; the bench's own abort passes through). */
  failure(err: unknown): string {
    if (this.input.signal.aborted) throw err;
    const timedOut = (err as { cause?: { name?: string } }).cause?.name === 'TimeoutError';
    if (!timedOut) return commandFailure(err);
    return `no exit within ${COMMAND_TIMEOUT_MS / 1000} s (or what it started kept its stdout or stderr open)`;
  }

  /** One row: a warm-up per tool, then the timed runs, alternating between the tools. */
  async row(row: RunRowId, clis: readonly RunCli[]): Promise<void> {
    const { runs, note, record } = this.input;
    const times = new Map<RunCli, number[]>();
    const fail = (cli: RunCli, phase: string, err: unknown): void => {
      const text = `${phase}: ${this.failure(err)}`;
      note(`  ${cli.id} ${row} FAILED: ${text}`);
      record(row, cli, `failed: ${text}`);
      times.delete(cli);
    };
    for (const cli of clis) {
      await this.once(cli, row).then(
        () => times.set(cli, []),
        (err: unknown) => fail(cli, 'warm-up', err),
      );
    }
    for (let i = 0; i < runs; i++) {
      for (const [cli, done] of [...times]) {
        this.input.settleDisk();
        await this.once(cli, row).then(
          (s) => done.push(s),
          (err: unknown) => fail(cli, `run ${i + 1}`, err),
        );
      }
    }
    for (const [cli, done] of times) {
      note(`  ${cli.id} ${row}: ${done.map((t) => t.toFixed(3)).join(' ')}`);
      record(row, cli, done);
    }
  }

  /**
   * Every container left in the tools' stores removed (also after an interruption), then the processes
   * still naming the scratch directory listed.
   */
  async cleanUp(clis: readonly RunCli[]): Promise<void> {
    for (const cli of clis) {
      try {
        const listed = await this.command(cli, 'cleanup', ['ps', '-aq'], true);
        const ids = listed.stdout.split('\n').filter((id) => id.trim() !== '');
        if (ids.length > 0) await this.command(cli, 'cleanup', ['rm', '-f', ...ids], true);
      } catch (err) {
        this.input.note(`  ${cli.id}: removing its containers: ${commandFailure(err)}`);
      }
    }
    if (!this.input.signal.aborted) await this.quiet();
  }
}

/** The runner rows for the tools of `input.clis` (each prepared first; one that cannot be is reported). */
export async function runRunRows(input: RunRowsInput): Promise<void> {
  const rows = new Rows(input);
  const ready: RunCli[] = [];
  for (const cli of input.clis) {
    try {
      await cli.prepare(input.signal);
      ready.push(cli);
    } catch (err) {
      const text = `failed: image pull: ${rows.failure(err)}`;
      input.note(`  ${cli.id} ${text}`);
      for (const row of RUN_ROWS) input.record(row, cli, text);
    }
  }
  try {
    for (const row of RUN_ROWS) await rows.row(row, ready);
  } finally {
    await rows.cleanUp(ready);
  }
}
