/**
 * Name resolution on a network: every attached container's /etc/hosts is a file of ours,
 * `<root>/networks/<network id>/hosts/<container id>`, bind-mounted read-only into the container. On a
 * user network it names every other container of the network (name, aliases, hostname), as docker's
 * embedded DNS answers them; on the default bridge only the container itself (docker's bridge has no
 * name resolution). A file is rewritten in place (truncate and write, the same inode) under the store's
 * lock whenever a container connects or disconnects: a bind mount keeps the inode it was made with, so a
 * file replaced by rename would not be seen by the container.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extraHostLines } from '../executor/index.js';
import { DEFAULT_NETWORK, networkFilesDir } from './store.js';
import type { Endpoint, NetworkRecord } from './types.js';

export function hostsPath(root: string, networkId: string, containerId: string): string {
  return join(networkFilesDir(root, networkId), 'hosts', containerId);
}

function line(ip: string, names: readonly string[]): string {
  return `${ip}\t${[...new Set(names.filter((n) => n !== ''))].join(' ')}\n`;
}

/** The hosts file of `self` on `record`. */
export function hostsFor(record: NetworkRecord, self: Endpoint): string {
  let text = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';
  text += line(self.ipAddress, [self.hostname, self.containerName, ...self.aliases]);
  if (record.name !== DEFAULT_NETWORK)
    for (const other of Object.values(record.endpoints))
      if (other.containerId !== self.containerId)
        text += line(other.ipAddress, [other.containerName, ...other.aliases, other.hostname]);
  return text + extraHostLines(self.extraHosts);
}

/** Writes every endpoint's hosts file on `record` (in place), or only `only`'s on the default bridge. */
export async function writeHostsFiles(root: string, record: NetworkRecord, only?: string): Promise<void> {
  await mkdir(join(networkFilesDir(root, record.id), 'hosts'), { recursive: true, mode: 0o700 });
  const everyone = record.name !== DEFAULT_NETWORK;
  for (const endpoint of Object.values(record.endpoints)) {
    if (!everyone && endpoint.containerId !== only) continue;
    // 'w' truncates the existing file: the inode a container has bind-mounted stays the same.
    await writeFile(hostsPath(root, record.id, endpoint.containerId), hostsFor(record, endpoint), {
      mode: 0o644,
    });
  }
}

export async function removeHostsFile(root: string, networkId: string, containerId: string): Promise<void> {
  await rm(hostsPath(root, networkId, containerId), { force: true });
}
