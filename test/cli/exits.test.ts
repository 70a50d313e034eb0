/**
 * The real CLI's exit statuses and messages for what goes wrong around a build: a closed output pipe,
 * refused flags, and users' mistakes that must never be reported as INTERNAL.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunContainers, makeBusyboxRootfs } from '../helpers/engine.js';
import { repoRoot } from '../helpers/shared.js';

const cli = resolve(repoRoot, 'dist/tsbuild.cjs');
const built = existsSync(cli);
if (!built) console.warn('dist/tsbuild.cjs is not built (make build): CLI exit tests skipped');
const ready = built && canRunContainers('CLI exit tests');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-exits-'));
const root = join(work, 'root');
// No daemon serves this root: every build runs in the CLI process.
const env = { ...process.env, TSBUILD_NO_DAEMON: '1' };

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function tsbuild(args: readonly string[], options: { cwd?: string } = {}): Run {
  const r = spawnSync('node', [cli, '--root', root, ...args], {
    encoding: 'utf8',
    cwd: options.cwd ?? work,
    env,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `tsbuild … | reader`: the CLI's exit status (PIPESTATUS[0]) and what the reader printed. */
function piped(args: readonly string[], reader: string): { status: number; out: string } {
  const quoted = [cli, '--root', root, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = execFileSync(
    'bash',
    ['-c', `node ${quoted} 2>&1 | ${reader}; echo "status=\${PIPESTATUS[0]}"`],
    {
      encoding: 'utf8',
      env,
    },
  );
  const status = /status=(\d+)\n$/.exec(out)?.[1];
  if (status === undefined) throw new Error(`no status in ${out}`);
  return { status: Number(status), out };
}

function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  return dir;
}

beforeAll(() => {
  if (!ready) return;
  makeBusyboxRootfs(join(work, 'rootfs'));
  expect(tsbuild(['image', 'import', join(work, 'rootfs'), 'busybox:latest']).status).toBe(0);
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!ready)('a closed output pipe', () => {
  const steps = 'RUN for i in $(seq 1 50); do echo line $i; sleep 0.02; done\nRUN sleep 0.5 && echo done\n';

  it('never turns a successful build into exit 0', () => {
    const dir = context('pipe-ok', `FROM busybox\n${steps}`);
    const run = piped(['build', '--no-cache', '--progress', 'plain', dir], 'head -1');
    expect(run.status).toBe(141);
  }, 60_000);

  it('never turns a failing build into exit 0', () => {
    const dir = context('pipe-fail', `FROM busybox\n${steps}RUN exit 3\n`);
    const run = piped(['build', '--no-cache', '--progress', 'plain', dir], 'head -1');
    expect(run.status).toBe(141);
  }, 60_000);

  it('exits 141 when the image ID cannot be written', () => {
    const dir = context('pipe-quiet', 'FROM busybox\nRUN sleep 0.3\n');
    const run = piped(['build', '-q', '--no-cache', dir], 'true');
    expect(run.status).toBe(141);
  }, 60_000);
});
