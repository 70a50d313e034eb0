/**
 * A container on a network: its own network namespace, `/run/netns/tsbuild-<container id>` (made by
 * `ip netns add`, a bind-mounted nsfs file: no process is left to hold it, and `ip -n` reaches it by
 * name), a veth pair (the host end `tsbv<id 11>` on the bridge, the other end eth0 inside with docker's
 * MAC for its address), an address from the network's subnet, `lo` up and a default route through the
 * gateway. Two `ip -batch` processes make all of it. Every name is derived from the container's id, and
 * the endpoint is written to the network's record before any device is made, so that `cleanupContainer`
 * finds and removes everything after a crash with nothing but the id.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../core/index.js';
import { extraHostLines } from '../executor/index.js';
import { ensureBridge } from './bridge.js';
import { formatIPv4, freeHost, macForAddress, parseIPv4 } from './cidr.js';
import { hostsPath, removeHostsFile, writeHostsFiles } from './hosts.js';
import {
  DEFAULT_NETWORK,
  ensureDefaultRecord,
  movedDefaultRecord,
  mustFindNetwork,
  recordSubnet,
  withNetworks,
  writeRecord,
} from './store.js';
import { NETNS_DIR, ipBatch, linkExists } from './tools.js';
import type { ConnectOptions, ConnectResult, ContainerRef, Endpoint, NetworkRecord } from './types.js';

const CONTAINER_ID = /^[0-9a-f]{64}$/;
const HOST_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function checkContainerId(id: string): void {
  if (!CONTAINER_ID.test(id))
    throw new InvalidArgumentError(`invalid container id ${JSON.stringify(id)}: want 64 hex digits`);
}

export function netnsName(containerId: string): string {
  return `tsbuild-${containerId}`;
}

export function netnsPath(containerId: string): string {
  return join(NETNS_DIR, netnsName(containerId));
}

export function hostVethName(containerId: string): string {
  return `tsbv${containerId.slice(0, 11)}`;
}

function allocate(record: NetworkRecord): number {
  const taken = new Set(
    [record.gateway, ...Object.values(record.endpoints).map((e) => e.ipAddress)].map(parseIPv4),
  );
  const address = freeHost(recordSubnet(record), taken as Set<number>);
  if (address === undefined)
    throw new FailedPreconditionError(`network ${record.name} has no free address left in ${record.subnet}`);
  return address;
}

function checkConnect(
  options: ConnectOptions,
  records: readonly NetworkRecord[],
  record: NetworkRecord,
): void {
  if ((options.aliases ?? []).length > 0 && record.name === DEFAULT_NETWORK)
    throw new InvalidArgumentError(
      '--network-alias is only supported on user-defined networks, not on bridge',
    );
  for (const alias of options.aliases ?? [])
    if (!HOST_NAME.test(alias))
      throw new InvalidArgumentError(`invalid --network-alias ${JSON.stringify(alias)}: not a host name`);
  const attached = records.find((r) => r.endpoints[options.containerId] !== undefined);
  if (attached !== undefined)
    throw new FailedPreconditionError(
      `container ${options.containerName} is already connected to network ${attached.name}`,
      { hint: 'a container is on one network; disconnect it (or clean it up) first' },
    );
}

/** The container's end: its namespace, the veth pair, its address, lo, the default route. */
async function plumb(record: NetworkRecord, endpoint: Endpoint, signal?: AbortSignal): Promise<void> {
  const ns = netnsName(endpoint.containerId);
  const veth = hostVethName(endpoint.containerId);
  await ipBatch(
    [
      `netns add ${ns}`,
      `link add ${veth} type veth peer name eth0 netns ${ns}`,
      `link set ${veth} master ${record.bridge} up`,
    ],
    { signal },
  );
  const prefixLen = recordSubnet(record).prefixLen;
  const inside = [
    'link set lo up',
    `link set eth0 address ${endpoint.macAddress}`,
    `addr add ${endpoint.ipAddress}/${prefixLen} dev eth0`,
    'link set eth0 up',
  ];
  if (!record.internal) inside.push(`route add default via ${record.gateway} dev eth0`);
  await ipBatch(inside, { netns: ns, signal });
}

/** Under the store's lock: the endpoint (its address) recorded, the bridge there, the hosts files written. */
function reserve(options: ConnectOptions): Promise<{ record: NetworkRecord; endpoint: Endpoint }> {
  const { root, containerId, signal } = options;
  return withNetworks(
    root,
    async (loaded) => {
      const records = options.replace === true ? await releaseLocked(root, loaded, containerId) : loaded;
      const found =
        options.networkName === DEFAULT_NETWORK
          ? await movedDefaultRecord(root, records, await ensureDefaultRecord(root, records), signal)
          : mustFindNetwork(records, options.networkName);
      checkConnect(options, records, found);
      const address = allocate(found);
      const endpoint: Endpoint = {
        containerId,
        containerName: options.containerName,
        hostname: options.hostname,
        aliases: [...(options.aliases ?? [])],
        extraHosts: [...(options.extraHosts ?? [])],
        ipAddress: formatIPv4(address),
        macAddress: macForAddress(address),
      };
      const record = { ...found, endpoints: { ...found.endpoints, [containerId]: endpoint } };
      await writeRecord(root, record);
      try {
        await ensureBridge(root, record, signal);
        await writeHostsFiles(root, record, containerId);
      } catch (err) {
        await releaseLocked(root, [record], containerId);
        throw err;
      }
      return { record, endpoint };
    },
    { signal, bridges: true },
  );
}

/**
 * Attaches a container to a network (the default `bridge` is made on first use): its namespace, veth,
 * address and hosts file; the network's bridge and NAT rules when they are not there yet. Undone whole
 * when a step fails. The store's lock is held only while the records and hosts files change: the
 * container's own devices (named after its id, touched by no one else) are made outside it.
 */
export async function connect(options: ConnectOptions): Promise<ConnectResult> {
  const { root, containerId, signal } = options;
  checkContainerId(containerId);
  extraHostLines(options.extraHosts ?? []); // refuses a bad --add-host before anything is made
  if (options.replace === true) await removeDevices(containerId);
  const { record, endpoint } = await reserve(options);
  try {
    await plumb(record, endpoint, signal);
  } catch (err) {
    await cleanupContainer({ root, containerId });
    throw err;
  }
  return {
    netnsPath: netnsPath(containerId),
    hostsPath: hostsPath(root, record.id, containerId),
    attachment: {
      network: record.name,
      networkId: record.id,
      ipAddress: endpoint.ipAddress,
      prefixLen: recordSubnet(record).prefixLen,
      gateway: record.gateway,
      macAddress: endpoint.macAddress,
      aliases: endpoint.aliases,
    },
  };
}

/** Removes the container's veth and namespace, whichever is there. */
async function removeDevices(containerId: string): Promise<void> {
  const veth = hostVethName(containerId);
  const lines = linkExists(veth) ? [`link del ${veth}`] : [];
  if (existsSync(netnsPath(containerId))) lines.push(`netns del ${netnsName(containerId)}`);
  await ipBatch(lines);
}

/**
 * Releases the container's endpoints (its addresses) and hosts files (a network's bridge stays); the
 * records as they are now.
 */
async function releaseLocked(
  root: string,
  records: readonly NetworkRecord[],
  containerId: string,
): Promise<NetworkRecord[]> {
  const now: NetworkRecord[] = [];
  for (const found of records) {
    if (found.endpoints[containerId] === undefined) {
      now.push(found);
      continue;
    }
    const endpoints = { ...found.endpoints };
    delete endpoints[containerId];
    const record = { ...found, endpoints };
    await writeRecord(root, record);
    await removeHostsFile(root, record.id, containerId);
    await writeHostsFiles(root, record);
    now.push(record);
  }
  return now;
}

/**
 * Detaches a container from its network and releases its address; idempotent, and after a crash as
 * well: everything is found from the id and the records on disk. The devices go first (outside the
 * lock: deleting a veth waits for the kernel, 20 to 40 ms), the address after them.
 */
export async function cleanupContainer(options: ContainerRef): Promise<void> {
  checkContainerId(options.containerId);
  await removeDevices(options.containerId);
  await withNetworks(options.root, (records) => releaseLocked(options.root, records, options.containerId), {
    signal: options.signal,
  });
}

/** The same as `cleanupContainer`: the container's network goes when it stops. */
export const disconnect = cleanupContainer;
