/**
 * Networks end to end with the real RuncExecutor, ip and iptables: two busybox containers on a user
 * network find each other by name and alias, a port proxy on 127.0.0.1 reaches one from the host, the
 * NAT rule is there while the network is, and nothing is left once the containers are cleaned up and the
 * network removed. `none` has only lo.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupContainer,
  connect,
  createNetwork,
  hostVethName,
  removeNetwork,
  setUpContainerNetwork,
  startPortProxy,
} from '../../network/index.js';
import type { ConnectResult } from '../../network/index.js';
import { ExecFixture } from '../executor/helpers.js';
import { canRunNetworks, cleanupRoot, containerId, firewall, links, ourNetns } from './helpers.js';

const canRun = canRunNetworks('network containers', true);

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    }).on('error', reject);
  });
}

describe.skipIf(!canRun)('containers on networks', () => {
  let fx: ExecFixture;
  let root: string;
  beforeAll(() => {
    fx = new ExecFixture();
    root = mkdtempSync(join(tmpdir(), 'tsbuild-net-root-'));
  });
  afterAll(async () => {
    await cleanupRoot(root);
    fx.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  it('none: a namespace with only lo', async () => {
    const r = await fx.run({ args: ['sh', '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1'], network: 'none' });
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((s) => s.trim()),
    ).toEqual(['lo']);
  });

  it('--add-host entries in the generated /etc/hosts; refused beside a given hosts file', async () => {
    const r = await fx.run({ args: ['cat', '/etc/hosts'], network: 'none', extraHosts: ['db:172.30.9.9'] });
    expect(r.stdout).toContain('172.30.9.9\tdb\n');
    const hostsPath = join(root, 'hosts');
    writeFileSync(hostsPath, '127.0.0.1\tlocalhost\n');
    await expect(fx.run({ args: ['true'], hostsPath, extraHosts: ['db:172.30.9.9'] })).rejects.toThrow(
      /extraHosts cannot be added to a given hostsPath/,
    );
    await expect(fx.run({ args: ['true'], network: { netnsPath: 'relative' } })).rejects.toThrow(
      'netnsPath must be an absolute path: relative',
    );
  });

  it('two containers reach each other by name and alias; a proxy reaches one from the host; nothing is left', async () => {
    const network = await createNetwork({ root, name: `tnet-${containerId().slice(0, 6)}` });
    expect(links()).toContain(network.bridge);
    const nat = firewall()
      .split('\n')
      .filter((l) => l.includes(`tsbuild network ${network.id}`));
    expect(nat.some((l) => l.includes('MASQUERADE') && l.includes(network.subnet))).toBe(true);

    const serverId = containerId();
    const clientId = containerId();
    const attach = (id: string, name: string, aliases: string[] = []): Promise<ConnectResult> =>
      connect({
        root,
        networkName: network.name,
        containerId: id,
        containerName: name,
        hostname: name,
        aliases,
      });
    const server = await attach(serverId, 'web', ['www']);
    const serverHostsInode = statSync(server.hostsPath).ino;
    const client = await attach(clientId, 'client');
    expect(client.attachment.ipAddress).not.toBe(server.attachment.ipAddress);
    expect(server.attachment.macAddress).toMatch(/^02:42:/);
    // The server's hosts file now names the client, rewritten in place (same inode as bind-mounted).
    expect(readFileSync(server.hostsPath, 'utf8')).toContain(`${client.attachment.ipAddress}\tclient`);
    expect(statSync(server.hostsPath).ino).toBe(serverHostsInode);

    const www = fx.rootfs();
    mkdirSync(join(www, 'www'));
    writeFileSync(join(www, 'www/index.html'), 'hello from web\n');
    const stop = new AbortController();
    const serving = fx
      .run(
        {
          rootfs: www,
          args: ['httpd', '-f', '-p', '8080', '-h', '/www'],
          hostname: 'web',
          network: { netnsPath: server.netnsPath },
          hostsPath: server.hostsPath,
        },
        { signal: stop.signal },
      )
      .catch(() => undefined);
    try {
      const fetchBy = (name: string) =>
        `for i in $(seq 100); do wget -qO- http://${name}:8080/ 2>/dev/null && exit 0; sleep 0.1; done; exit 1`;
      const r = await fx.run({
        args: ['sh', '-c', `(${fetchBy('web')}) && (${fetchBy('www')}) && cat /etc/hosts`],
        hostname: 'client',
        network: { netnsPath: client.netnsPath },
        hostsPath: client.hostsPath,
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('hello from web\nhello from web\n');
      expect(r.stdout).toContain(`${server.attachment.ipAddress}\tweb www`);

      const proxy = await startPortProxy({
        bindings: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 8080, protocol: 'tcp' }],
        targetIp: server.attachment.ipAddress,
      });
      try {
        const port = proxy.bound[0]?.hostPort ?? 0;
        expect(port).toBeGreaterThan(0);
        expect(await httpGet(`http://127.0.0.1:${port}/`)).toBe('hello from web\n');
      } finally {
        await proxy.close();
      }
    } finally {
      stop.abort();
      await serving;
    }

    await expect(removeNetwork({ root, ref: network.name })).rejects.toThrow(/has active endpoints/);
    await cleanupContainer({ root, containerId: serverId });
    expect(readFileSync(client.hostsPath, 'utf8')).not.toContain('web');
    await cleanupContainer({ root, containerId: clientId });
    await cleanupContainer({ root, containerId: clientId }); // idempotent
    await removeNetwork({ root, ref: network.name });

    const left = links();
    expect(left).not.toContain(network.bridge);
    expect(left).not.toContain(hostVethName(serverId));
    expect(left).not.toContain(hostVethName(clientId));
    expect(ourNetns().filter((n) => n.includes(serverId) || n.includes(clientId))).toEqual([]);
    expect(firewall()).not.toContain(network.id);
    expect(firewall()).not.toContain(network.bridge);
  });

  it('setUpContainerNetwork: -p on the default bridge reaches the container from the host; release leaves nothing', async () => {
    const id = containerId();
    const base = { root, containerId: id, containerName: 'pub', hostname: 'pub' };
    const ports = [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 8080, protocol: 'tcp' as const }];
    await expect(setUpContainerNetwork({ ...base, network: 'host', ports })).rejects.toThrow(
      '-p cannot publish ports with --network host',
    );
    const none = await setUpContainerNetwork({ ...base, network: 'none', extraHosts: ['gw:10.9.9.9'] });
    expect(none.run).toEqual({ network: 'none', extraHosts: ['gw:10.9.9.9'] });

    const net = await setUpContainerNetwork({ ...base, ports, extraHosts: ['gw:10.9.9.9'] });
    const www = fx.rootfs();
    mkdirSync(join(www, 'www'));
    writeFileSync(join(www, 'www/index.html'), 'published\n');
    const stop = new AbortController();
    const serving = fx
      .run(
        { rootfs: www, args: ['httpd', '-f', '-p', '8080', '-h', '/www'], ...net.run },
        { signal: stop.signal },
      )
      .catch(() => undefined);
    try {
      expect(net.attachments[0]?.network).toBe('bridge');
      expect(readFileSync(net.run.hostsPath ?? '', 'utf8')).toContain('10.9.9.9\tgw\n');
      const port = net.ports[0]?.hostPort ?? 0;
      let body = '';
      for (let i = 0; i < 50 && body === ''; i++)
        body = await httpGet(`http://127.0.0.1:${port}/`).catch(async () => {
          await new Promise((r) => setTimeout(r, 100));
          return '';
        });
      expect(body).toBe('published\n');
    } finally {
      stop.abort();
      await serving;
      await net.release();
      await net.release();
    }
    expect(links()).not.toContain(hostVethName(id));
    expect(ourNetns().filter((n) => n.includes(id))).toEqual([]);
  });
});
