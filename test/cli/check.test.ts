/**
 * `tsbuild build --check` through the real CLI: buildx's report on stdout and exit status 1 when a
 * check warns, `Check complete, no warnings found.` and 0 otherwise, error=true and refused flags; and
 * a plain build that streams `#N WARN:` lines and ends with buildx's summary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/shared.js';
import { canRunSuite } from '../helpers/prereq.js';

const rootReady = canRunSuite('tsbuild build --check', { root: true });

const cli = resolve(repoRoot, 'dist/tsbuild.cjs');
const built = existsSync(cli);
if (!built) console.warn('dist/tsbuild.cjs is not built (make build): tsbuild build --check tests skipped');

const work = mkdtempSync(join(tmpdir(), 'tsbuild-check-'));
const root = join(work, 'root');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tsbuild(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [cli, '--root', root, ...args], {
    encoding: 'utf8',
    cwd: work,
    env: { ...process.env, TSBUILD_NO_DAEMON: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function context(name: string, dockerfile: string): string {
  mkdirSync(join(work, name), { recursive: true });
  writeFileSync(join(work, name, 'Dockerfile'), dockerfile);
  return name;
}

describe.skipIf(!built || !rootReady)('tsbuild build --check', () => {
  it("prints buildx's report with the rules, URLs and lines, and exits 1", () => {
    const dir = context('two', '\nFROM scratch as base\ncopy Dockerfile .\n');
    const r = tsbuild(['build', '--check', '--progress=plain', dir]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(
      [
        'Check complete, 2 warnings have been found!',
        '',
        'WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/',
        "'as' and 'FROM' keywords' casing do not match",
        'two/Dockerfile:2',
        '--------------------',
        '   1 |     ',
        '   2 | >>> FROM scratch as base',
        '   3 |     copy Dockerfile .',
        '   4 |     ',
        '--------------------',
        '',
        'WARNING: ConsistentInstructionCasing - https://docs.docker.com/go/dockerfile/rule/consistent-instruction-casing/',
        "Command 'copy' should match the case of the command majority (uppercase)",
        'two/Dockerfile:3',
        '--------------------',
        '   1 |     ',
        '   2 |     FROM scratch as base',
        '   3 | >>> copy Dockerfile .',
        '   4 |     ',
        '--------------------',
        '',
      ].join('\n'),
    );
    // Nothing was built: no step past loading the Dockerfile and .dockerignore.
    expect(r.stderr).not.toMatch(/COPY|exporting/);
    const named = tsbuild(['build', '--check', '-f', join(work, 'two', 'Dockerfile'), dir]);
    expect(named.stdout).toContain(`${join(work, 'two', 'Dockerfile')}:2\n`);
  });

  it('exits 0 with "Check complete, no warnings found." for a clean Dockerfile', () => {
    const r = tsbuild(['build', '--check', context('clean', 'FROM scratch\nCOPY Dockerfile /\n')]);
    expect(r.stdout).toBe('Check complete, no warnings found.\n');
    expect(r.status).toBe(0);
  });

  it('error=true: the warnings, then the lint violation as the error', () => {
    const r = tsbuild(['build', '--check', context('strict', '# check=error=true\nFROM scratch as base\n')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^Check complete, 1 warning has been found!\n\nWARNING: FromAsCasing/);
    expect(r.stderr).toContain('lint violation found for rules: FromAsCasing');
    const building = tsbuild(['build', '--progress=plain', 'strict']);
    expect(building.status).toBe(1);
    expect(building.stderr).toContain('lint violation found for rules: FromAsCasing');
  });

  it('refuses the flags that would write something', () => {
    const r = tsbuild(['build', '--check', '-t', 'x', '--iidfile', 'id.txt', 'clean']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--check builds nothing: --tag, --iidfile cannot be used with it');
  });

  it('a build streams #N WARN: under the Dockerfile step and ends with the summary', () => {
    const dir = context('warn', 'FROM scratch AS base\nMAINTAINER me\n');
    const r = tsbuild(['build', '--progress=plain', '-o', `type=local,dest=${join(work, 'out')}`, dir]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /#1 \[internal\] load build definition from Dockerfile\n#1 WARN: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label \(line 2\)\n/,
    );
    expect(r.stderr).toMatch(
      / 1 warning found \(use --check to expand\):\n - MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label \(line 2\)\n$/,
    );
    const raw = tsbuild(['build', '--progress=rawjson', '-o', `type=local,dest=${join(work, 'out2')}`, dir]);
    const event = raw.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string })
      .find((e) => e.type === 'warning');
    expect(event).toMatchObject({
      message: 'MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 2)',
      detail: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
      url: 'https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/',
      level: 1,
      location: { file: 'Dockerfile', range: { start: { line: 2, column: 1 } } },
    });
  });
});
