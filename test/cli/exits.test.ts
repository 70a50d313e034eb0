/**
 * The real CLI's exit statuses and messages for what goes wrong around a build: a closed output pipe,
 * refused flags, and users' mistakes that must never be reported as INTERNAL.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describe.skipIf(!built)('usage mistakes', () => {
  it('an unknown option prints one line and where help is, not the help', () => {
    const top = tsbuild(['--bogus']);
    expect(top.status).toBe(2);
    expect(top.stderr).toBe("error: unknown option '--bogus'\n(see 'tsbuild --help')\n");
    const sub = tsbuild(['build', '--bogus', '.']);
    expect(sub.status).toBe(2);
    expect(sub.stderr).toBe("error: unknown option '--bogus'\n(see 'tsbuild build --help')\n");
    const nested = tsbuild(['image', 'import']);
    expect(nested.status).toBe(2);
    expect(nested.stderr).toBe(
      "error: missing required argument 'source'\n(see 'tsbuild image import --help')\n",
    );
  });

  it('an output that would do nothing is refused before anything is built or written', () => {
    const dir = context('outputs', 'FROM busybox\n');
    const docker = tsbuild(['build', '-o', 'type=docker,dest=x.tar,annotation-index.a=b', dir]);
    expect(docker.stderr).toMatch(
      /^error: INVALID_ARGUMENT: --output type=docker,dest=x\.tar,annotation-index\.a=b: annotation-index\.a: annotation-index annotations are not supported/,
    );
    expect(docker.status).toBe(2);
    expect(existsSync(join(work, 'x.tar'))).toBe(false);
    const push = tsbuild(['build', '-o', 'type=image,push=true', dir]);
    expect(push.stderr).toMatch(/^error: INVALID_ARGUMENT: a push needs a name/);
    expect(push.status).toBe(2);
  });

  it('a missing --secret file names the flag; a malformed --secret gets its own hint', () => {
    const dir = context('secret', 'FROM busybox\n');
    const missing = tsbuild(['build', '--secret', 'id=s,src=/nonexistent/secret', dir]);
    expect(missing.stderr).toMatch(
      /^error: INVALID_ARGUMENT: --secret id=s,src=\/nonexistent\/secret: cannot read/m,
    );
    expect(missing.stderr).not.toMatch(/INTERNAL/);
    expect(missing.status).toBe(2);
    const malformed = tsbuild(['build', '--secret', 'foo', dir]);
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toMatch(/hint: use --secret id=ID,src=FILE or --secret id=ID,env=VAR/);
  });

  it('without root: one line saying tsbuild needs root, before touching anything', () => {
    const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups', 'node', cli];
    const fresh = join(work, 'not-created');
    for (const args of [
      ['--root', fresh, 'image', 'ls'],
      ['--root', fresh, 'build', '.'],
      ['image', 'ls'],
    ]) {
      const r = spawnSync('setpriv', [...nobody, ...args], { encoding: 'utf8', cwd: '/', env });
      expect(r.stderr).toMatch(/^error: PERMISSION_DENIED: tsbuild needs root\b.*\n(hint: .*\n)?$/);
      expect(r.status).toBe(77);
    }
    expect(existsSync(fresh)).toBe(false);
  });
});

describe.skipIf(!ready)("the user's data, not tsbuild, at fault", () => {
  /** A gzip tar of `size` random bytes, cut to `keep` bytes. */
  function truncatedTarGz(path: string, keep: number): void {
    const src = join(work, 'archive-src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'data'), randomBytes(300_000));
    execFileSync('tar', ['-czf', `${path}.full`, '-C', src, '.']);
    writeFileSync(path, readFileSync(`${path}.full`).subarray(0, keep));
  }

  it('ADD of a truncated .tar.gz is a user error naming the archive', () => {
    const dir = context('add-truncated', 'FROM busybox\nADD cut.tar.gz /x/\n');
    truncatedTarGz(join(dir, 'cut.tar.gz'), 20_000);
    const run = tsbuild(['build', '--progress', 'quiet', dir]);
    expect(run.stderr).toMatch(/INVALID_ARGUMENT: .*ADD cut\.tar\.gz.*truncated or corrupt/);
    expect(run.stderr).not.toMatch(/INTERNAL/);
    expect(run.status).toBe(2);
  });

  it('image import of a truncated archive is a user error, and leaves no image', () => {
    const file = join(work, 'cut-import.tar.gz');
    truncatedTarGz(file, 20_000);
    const gz = tsbuild(['image', 'import', file, 'cut:gz']);
    expect(gz.stderr).toMatch(/^error: INVALID_ARGUMENT: .*truncated or corrupt/m);
    expect(gz.status).toBe(2);
    execFileSync('bash', ['-c', `gzip -dc '${file}.full' | head -c 100000 > '${work}/cut-import.tar'`]);
    const plain = tsbuild(['image', 'import', join(work, 'cut-import.tar'), 'cut:tar']);
    expect(plain.stderr).toMatch(/^error: INVALID_ARGUMENT: .*truncated/m);
    expect(plain.status).toBe(2);
    expect(tsbuild(['image', 'ls']).stdout).not.toMatch(/cut/);
  });

  it('a full disk during an import or an export names the filesystem and its free space', () => {
    const small = join(work, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    try {
      const src = join(work, 'big-rootfs');
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, 'big'), randomBytes(3_000_000));
      execFileSync('tar', ['-cf', join(work, 'big.tar'), '-C', src, '.']);
      const smallRoot = join(small, 'root');
      const r = spawnSync(
        'node',
        [cli, '--root', smallRoot, 'image', 'import', join(work, 'big.tar'), 'big'],
        {
          encoding: 'utf8',
          env,
        },
      );
      expect(r.stderr).toMatch(/^error: LIMIT_EXCEEDED: .*no space left on device/m);
      expect(r.stderr).toMatch(
        new RegExp(`hint: no space left on ${smallRoot}: [\\d.]+[kM]?B free of 1\\.049MB`),
      );
      expect(r.stderr).not.toMatch(/INTERNAL/);
      expect(r.status).toBe(1);
      // An export to the small filesystem: its free space, not the (roomy) root's.
      const dir = context('export-big', 'FROM busybox\nCOPY big /big\n');
      writeFileSync(join(dir, 'big'), randomBytes(3_000_000));
      for (const output of [`type=tar,dest=${small}/out.tar`, `type=local,dest=${small}/out`]) {
        const e = tsbuild(['build', '--progress', 'quiet', '-o', output, dir]);
        expect(e.stderr).toMatch(/^error: LIMIT_EXCEEDED: .*no space left on device/m);
        expect(e.stderr).toMatch(
          new RegExp(`hint: no space left on ${small}: [\\d.]+[kM]?B free of 1\\.049MB: `),
        );
        expect(e.status).toBe(1);
      }
    } finally {
      execFileSync('umount', [small]);
    }
  });

  it('tsbuild run: a missing command exits 127, one that cannot run 126, each said once', () => {
    const missing = tsbuild(['run', 'busybox', 'nosuch']);
    expect(missing.stderr).toBe(
      'error: COMMAND_NOT_FOUND: exec: "nosuch": executable file not found in $PATH\n',
    );
    expect(missing.status).toBe(127);
    const absent = tsbuild(['run', 'busybox', '/no/such']);
    expect(absent.stderr).toMatch(
      /^error: COMMAND_NOT_FOUND: exec: "\/no\/such": .*no such file or directory\n$/,
    );
    expect(absent.status).toBe(127);
    const notExecutable = tsbuild(['run', 'busybox', '/etc/passwd']);
    expect(notExecutable.stderr).toMatch(
      /^error: COMMAND_NOT_EXECUTABLE: exec: "\/etc\/passwd": permission denied\n$/,
    );
    expect(notExecutable.status).toBe(126);
    // The command's own output, even when it looks like runc's, is passed on.
    const own = tsbuild(['run', 'busybox', 'sh', '-c', 'echo "exec x: it is me" >&2; echo out; exit 3']);
    expect(own.stderr).toBe('exec x: it is me\n');
    expect(own.stdout).toBe('out\n');
    expect(own.status).toBe(3);
  });
});
