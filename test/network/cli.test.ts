/**
 * `tsbuild network create|ls|inspect|rm` end to end (the built CLI on a temporary root): docker's
 * columns and JSON shape, docker's refusals and exit codes, and nothing left on the host after rm; then
 * the same through createEngine().networks.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engine/index.js';
import { canRunSuite } from '../helpers/prereq.js';
import { repoRoot } from '../helpers/shared.js';
import { cleanupRoot, firewall, links } from './helpers.js';

const canRun = canRunSuite('network CLI', { root: true, built: true, tools: ['ip', 'iptables-save'] });
const cli = resolve(repoRoot, 'dist/cli/main.js');
const root = mkdtempSync(join(tmpdir(), 'tsbuild-net-cli-'));

function tsbuild(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [cli, '--root', root, ...args], { encoding: 'utf8', input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(async () => {
  if (canRun) await cleanupRoot(root);
  rmSync(root, { recursive: true, force: true });
});

interface Inspected {
  Name: string;
  Id: string;
  Driver: string;
  Scope: string;
  Internal: boolean;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
  Labels: Record<string, string>;
  Options: Record<string, string>;
}

describe.skipIf(!canRun)('tsbuild network', () => {
  it('creates, lists, inspects and removes a network as docker does', () => {
    const created = tsbuild([
      'network',
      'create',
      '--subnet',
      '172.31.220.0/24',
      '--gateway',
      '172.31.220.254',
      '--label',
      'team=web',
      '--label',
      'bare',
      'clinet',
    ]);
    expect(created.status, created.stderr).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const ls = tsbuild(['network', 'ls']).stdout.split('\n');
    expect(ls[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(ls[1]).toMatch(/^[0-9a-f]{12}\s+bridge\s+bridge\s+local$/);
    expect(ls[2]).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+clinet\\s+bridge\\s+local$`));
    expect(tsbuild(['network', 'ls', '-q']).stdout).toContain(`${id.slice(0, 12)}\n`);
    expect(tsbuild(['network', 'ls', '--format', '{{.Name}} {{.Internal}} {{.Label "team"}}']).stdout).toBe(
      'bridge false \nclinet false web\n',
    );
    expect(tsbuild(['network', 'ls', '--format', 'table {{.Name}}\t{{.Driver}}']).stdout).toBe(
      'NAME      DRIVER\nbridge    bridge\nclinet    bridge\n',
    );
    expect(tsbuild(['network', 'ls', '--format', '{{.Nope}}'])).toMatchObject({ status: 2 });
    const lines = tsbuild(['network', 'ls', '--format', 'json']).stdout.trim().split('\n');
    expect(lines.map((l) => JSON.parse(l) as Record<string, string>)[1]).toMatchObject({
      ID: id.slice(0, 12),
      Name: 'clinet',
      Driver: 'bridge',
      Internal: 'false',
      Labels: 'team=web,bare=',
    });
    const subnet = '{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Labels.team}} {{.Labels.nope}}';
    expect(tsbuild(['network', 'inspect', '-f', subnet, 'clinet']).stdout).toBe(
      '172.31.220.0/24 web <no value>\n',
    );

    const inspect = tsbuild(['network', 'inspect', id.slice(0, 8)]);
    const [info] = JSON.parse(inspect.stdout) as Inspected[];
    expect(info).toMatchObject({
      Name: 'clinet',
      Id: id,
      Driver: 'bridge',
      Scope: 'local',
      Internal: false,
      IPAM: { Config: [{ Subnet: '172.31.220.0/24', Gateway: '172.31.220.254' }] },
      Labels: { team: 'web', bare: '' },
    });
    const bridge = info?.Options['com.docker.network.bridge.name'] ?? '';
    expect(links()).toContain(bridge);

    const missing = tsbuild(['network', 'inspect', 'clinet', 'nope']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('network nope not found');
    expect((JSON.parse(missing.stdout) as Inspected[]).map((n) => n.Name)).toEqual(['clinet']);

    const predefined = tsbuild(['network', 'rm', 'bridge']);
    expect(predefined.status).toBe(1);
    expect(predefined.stderr).toContain('bridge is a pre-defined network and cannot be removed');
    const driver = tsbuild(['network', 'create', '-d', 'macvlan', 'other']);
    expect(driver.status).not.toBe(0);
    expect(driver.stderr).toContain('--driver macvlan');

    const rm = tsbuild(['network', 'rm', 'clinet']);
    expect(rm.status, rm.stderr).toBe(0);
    expect(rm.stdout).toBe('clinet\n');
    expect(links()).not.toContain(bridge);
    expect(firewall()).not.toContain(id);
  });

  it('prune asks (a piped answer counts), then removes the unused user networks', () => {
    for (const name of ['p1', 'p2']) expect(tsbuild(['network', 'create', name]).status).toBe(0);
    const declined = tsbuild(['network', 'prune'], 'n\n');
    expect(declined).toMatchObject({ status: 1, stderr: 'network prune has been cancelled\n' });
    expect(declined.stdout).toBe(
      'WARNING! This will remove all custom networks not used by at least one container.\n' +
        'Are you sure you want to continue? [y/N] ',
    );
    const pruned = tsbuild(['network', 'prune'], 'y\n');
    expect(pruned.status, pruned.stderr).toBe(0);
    const deleted = pruned.stdout.slice(pruned.stdout.indexOf('Deleted Networks:\n') + 18);
    expect(deleted.split('\n').sort()).toEqual(['', 'p1', 'p2']);
    expect(tsbuild(['network', 'ls', '--format', '{{.Name}}']).stdout).toBe('bridge\n');
    expect(tsbuild(['network', 'prune', '-f'])).toMatchObject({ status: 0, stdout: '' });
  });

  it('is engine.networks in the Node API', async () => {
    const engine = await createEngine({ root });
    try {
      const made = await engine.networks.create({ name: 'apinet', internal: true });
      expect(made.Internal).toBe(true);
      expect(made.IPAM.Config[0]?.Subnet).toMatch(/^172\.30\.\d+\.0\/24$/);
      expect((await engine.networks.list()).map((n) => n.Name)).toEqual(['bridge', 'apinet']);
      expect((await engine.networks.inspect('apinet')).Id).toBe(made.Id);
      await engine.networks.remove('apinet');
      await expect(engine.networks.inspect('apinet')).rejects.toThrow('network apinet not found');
    } finally {
      await engine.close();
    }
  });
});
