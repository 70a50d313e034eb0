/**
 * `tsbuild volume …`: docker's output (ls table, -q, --format templates and json, inspect's JSON, prune's
 * report) as functions, then end to end through bin/tsbuild on a temp root: create, ls with filters,
 * inspect, rm (each reported, exit 1 if any failed), prune (anonymous only, then --all; asks without -f).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatVolumes } from '../../cli/commands/volume-format.js';
import {
  keyValues,
  pruneWarning,
  volumeInspectOutput,
  volumeLsOutput,
  volumePruneReport,
} from '../../cli/commands/volume.js';
import type { VolumeInfo } from '../../runner/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';

const vol = (name: string, labels: Record<string, string> = {}): VolumeInfo => ({
  Name: name,
  Driver: 'local',
  Mountpoint: `/r/volumes/${name}/_data`,
  CreatedAt: '2026-12-06T18:00:00Z',
  Labels: labels,
  Options: {},
  Scope: 'local',
});

describe('volume output', () => {
  const volumes = [vol('data', { team: 'web', tier: 'front' }), vol('cache')];

  it("prints docker's DRIVER / VOLUME NAME table, and names alone with -q", () => {
    // docker's tabwriter: cells padded by 3, at least 10 wide
    expect(volumeLsOutput(volumes, {})).toBe('DRIVER    VOLUME NAME\nlocal     data\nlocal     cache\n');
    expect(volumeLsOutput(volumes, { quiet: true, format: '{{.Driver}}' })).toBe('data\ncache\n');
    expect(volumeLsOutput([], {})).toBe('DRIVER    VOLUME NAME\n');
    expect(volumeLsOutput(volumes, { format: 'table' })).toBe(volumeLsOutput(volumes, {}));
  });

  it('formats Go templates of the volume fields, with table headers, and json lines', () => {
    expect(formatVolumes(volumes, '{{.Name}}:{{.Labels}}')).toBe('data:team=web,tier=front\ncache:\n');
    // a label's header is its key's last dot-separated part, as docker's
    expect(formatVolumes(volumes, 'table {{.Name}}\\t{{.Label "team"}}\\t{{.Scope}}')).toBe(
      'VOLUME NAME   team      SCOPE\ndata          web       local\ncache                   local\n',
    );
    expect(formatVolumes([volumes[1] as VolumeInfo], 'json')).toBe(
      '{"Driver":"local","Labels":"","Links":"N/A","Mountpoint":"/r/volumes/cache/_data","Name":"cache","Scope":"local","Size":"N/A"}\n',
    );
    expect(formatVolumes([volumes[1] as VolumeInfo], '{{json .}}')).toBe(
      formatVolumes([volumes[1] as VolumeInfo], 'json'),
    );
    expect(formatVolumes(volumes, '{{range split .Labels ","}}[{{.}}]{{end}}')).toBe(
      '[team=web][tier=front]\n[]\n',
    );
    expect(() => formatVolumes(volumes, '{{.CreatedAt}}')).toThrow("can't evaluate field CreatedAt");
    expect(() => formatVolumes(volumes, '{{.Label}}')).toThrow('wrong number of args for Label');
    expect(() => formatVolumes([], '{{.Name')).toThrow('unclosed action');
  });

  it("prints inspect as docker's JSON array and prune's report", () => {
    expect(volumeInspectOutput([vol('a')])).toBe(
      '[\n    {\n        "Name": "a",\n        "Driver": "local",\n        "Mountpoint": "/r/volumes/a/_data",\n' +
        '        "CreatedAt": "2026-12-06T18:00:00Z",\n        "Labels": {},\n        "Options": {},\n' +
        '        "Scope": "local"\n    }\n]\n',
    );
    expect(volumePruneReport({ removed: ['a', 'b'], spaceReclaimed: 36 })).toBe(
      'Deleted Volumes:\na\nb\n\nTotal reclaimed space: 36B\n',
    );
    expect(volumePruneReport({ removed: [], spaceReclaimed: 0 })).toBe('Total reclaimed space: 0B\n');
    expect(pruneWarning(false)).toMatch(/^WARNING! This will remove anonymous local volumes not used/);
    expect(pruneWarning(true)).toMatch(/^WARNING! This will remove all local volumes not used/);
  });

  it('reads --label and --opt pairs; --opt needs a value', () => {
    expect(keyValues(['a=1', 'b', 'c=x=y'], '--label', true)).toEqual({ a: '1', b: '', c: 'x=y' });
    expect(() => keyValues(['type'], '--opt', false)).toThrow('--opt "type": expected KEY=VALUE');
  });
});

const ready = canRunSuite('volume commands (CLI)', { root: true, built: true });

describe.skipIf(!ready)('tsbuild volume end to end', () => {
  const bin = resolve(repoRoot, 'bin/tsbuild');
  const work = mkdtempSync(join(tmpdir(), 'tsbuild-volume-cli-'));
  const root = join(work, 'root');
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function tsbuild(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(bin, ['--root', root, ...args], { encoding: 'utf8', input });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('creates, lists, inspects, removes and prunes volumes as docker does', () => {
    expect(tsbuild(['volume', 'create', '--label', 'team=web', 'data'])).toMatchObject({
      status: 0,
      stdout: 'data\n',
    });
    const anon = tsbuild(['volume', 'create']).stdout.trim();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    // By name, as docker lists them (the anonymous volume's random name may sort either side of `data`).
    const listed = [anon, 'data']
      .sort()
      .map((n) => `local     ${n}\n`)
      .join('');
    expect(tsbuild(['volume', 'ls']).stdout).toBe(`DRIVER    VOLUME NAME\n${listed}`);
    expect(tsbuild(['volume', 'ls', '-q', '--filter', 'label=team=web']).stdout).toBe('data\n');
    expect(tsbuild(['volume', 'ls', '--filter', 'until=1h'])).toMatchObject({ status: 2 });
    const inspect = tsbuild(['volume', 'inspect', 'data', 'nope']);
    expect(inspect.status).toBe(1);
    expect(JSON.parse(inspect.stdout)).toMatchObject([
      { Name: 'data', Labels: { team: 'web' }, Mountpoint: join(root, 'volumes/data/_data') },
    ]);
    expect(inspect.stderr).toContain('no such volume: nope');
    expect(tsbuild(['volume', 'create', '-o', 'type=tmpfs', 'x'])).toMatchObject({ status: 2 });
    expect(
      tsbuild(['volume', 'inspect', '-f', '{{.Name}} {{.Labels.team}} {{.Labels.x}}', 'data']).stdout,
    ).toBe('data web <no value>\n');
    expect(tsbuild(['volume', 'create', '--name', 'named', 'other'])).toMatchObject({ status: 2 });
    expect(tsbuild(['volume', 'create', '--name', 'named']).stdout).toBe('named\n');
    expect(tsbuild(['volume', 'rm', 'named']).stdout).toBe('named\n');

    // Without -f, prune asks; no answer is no.
    const declined = tsbuild(['volume', 'prune']);
    expect(declined).toMatchObject({ status: 1, stderr: 'volume prune has been cancelled\n' });
    expect(declined.stdout).toContain('Are you sure you want to continue? [y/N]');
    expect(tsbuild(['volume', 'prune'], 'y\n').stdout).toMatch(
      `Deleted Volumes:\n${anon}\n\nTotal reclaimed space: `,
    );
    expect(tsbuild(['volume', 'prune', '-f']).stdout).toBe('Total reclaimed space: 0B\n');

    const rm = tsbuild(['volume', 'rm', 'data', 'nope']);
    expect(rm).toMatchObject({ status: 1, stdout: 'data\n' });
    expect(rm.stderr).toContain('no such volume: nope');
    expect(tsbuild(['volume', 'rm', '-f', 'nope'])).toMatchObject({ status: 0, stdout: 'nope\n' });
    expect(existsSync(join(root, 'volumes', 'data'))).toBe(false);
    expect(tsbuild(['volume', 'ls', '-q'])).toMatchObject({ status: 0, stdout: '' });
  });

  it('SIGKILLed creates leave whole volumes or none; prune sweeps what they left', async () => {
    for (let i = 0; i < 12; i++) {
      const child = spawn(bin, ['--root', root, 'volume', 'create', `killed-${i}`], { stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, 20 + i * 25));
      child.kill('SIGKILL');
      await exited;
    }
    const listed = tsbuild(['volume', 'ls', '-q'])
      .stdout.split('\n')
      .filter((n) => n !== '');
    for (const name of listed) {
      expect(name).toMatch(/^killed-\d+$/);
      expect(existsSync(join(root, 'volumes', name, '_data'))).toBe(true);
      expect(JSON.parse(tsbuild(['volume', 'inspect', name]).stdout)).toMatchObject([{ Name: name }]);
    }
    expect(tsbuild(['volume', 'prune', '-f', '--all'])).toMatchObject({ status: 0 });
    expect(readdirSync(join(root, 'volumes'))).toEqual(['.lock']);
  });

  it('shows volumes in `du`', () => {
    tsbuild(['volume', 'create', 'counted']);
    expect(tsbuild(['du']).stdout).toMatch(/^volumes\s+1\s+\d+(\.\d+)?k?B\s+\d+(\.\d+)?k?B$/m);
  });
});
