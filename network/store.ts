/**
 * The network store: one JSON record per network in `<root>/networks/` (0700), every change made under
 * one flock (`<root>/networks/.lock`) so that processes creating networks, handing out addresses and
 * removing them see one another's work. The records are the whole state: nothing is kept in memory.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  KeyedMutex,
  NotFoundError,
  SharedFileLock,
  atomicWriteFile,
  readJsonRecords,
} from '../core/index.js';
import {
  firstHost,
  formatCidr,
  formatIPv4,
  isHostAddress,
  overlaps,
  parseIPv4,
  parseSubnet,
  subnetsOf,
  tryParseCidr,
} from './cidr.js';
import type { Cidr } from './cidr.js';
import { hostPrefixes, linkExists } from './tools.js';
import type { CreateNetworkOptions, NetworkRecord } from './types.js';

/** docker's default network, made on first use. */
export const DEFAULT_NETWORK = 'bridge';
/** Names that are not networks of the store: docker's predefined ones. */
export const PREDEFINED_NETWORKS: readonly string[] = ['bridge', 'host', 'none'];
/** Where subnets come from when none is given: its /24s, the first that overlaps nothing. */
export const SUBNET_POOL = '172.30.0.0/16';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function networksDir(root: string): string {
  return join(root, 'networks');
}

/** The directory of a network's own files (its containers' hosts files). */
export function networkFilesDir(root: string, id: string): string {
  return join(networksDir(root), id);
}

const inProcess = new KeyedMutex();

/** The host-wide lock of whoever makes bridges (every root's networks share the host's addresses). */
export const HOST_LOCK = '/run/tsbuild/networks.lock';

/**
 * Runs `fn` holding the store's lock, with every record read fresh. With `bridges`, the host-wide lock
 * is taken first: a subnet is checked free and its bridge made with no other root's store doing the
 * same, so two roots cannot both take a range that looked free to each.
 */
export async function withNetworks<T>(
  root: string,
  fn: (records: NetworkRecord[]) => Promise<T>,
  options: { readonly signal?: AbortSignal | undefined; readonly bridges?: boolean } = {},
): Promise<T> {
  const { signal } = options;
  if (options.bridges === true)
    return inProcess.run(HOST_LOCK, () =>
      new SharedFileLock(HOST_LOCK).exclusive(() => withNetworks(root, fn, { signal }), signal),
    );
  const dir = networksDir(root);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Callers in this process queue here, without polling the flock (which waits up to 50 ms between tries).
  return inProcess.run(dir, () =>
    new SharedFileLock(join(dir, '.lock')).exclusive(
      async () => fn(await readJsonRecords<NetworkRecord>(dir, { signal })),
      signal,
    ),
  );
}

export async function writeRecord(root: string, record: NetworkRecord): Promise<void> {
  await atomicWriteFile(join(networksDir(root), `${record.id}.json`), JSON.stringify(record, null, 2), {
    mode: 0o600,
  });
}

export async function deleteRecord(root: string, id: string): Promise<void> {
  await rm(join(networksDir(root), `${id}.json`), { force: true });
  await rm(networkFilesDir(root, id), { recursive: true, force: true });
}

/** A network by exact name, exact id or unambiguous id prefix (as docker). */
export function findNetwork(records: readonly NetworkRecord[], ref: string): NetworkRecord | undefined {
  const byName = records.find((r) => r.name === ref) ?? records.find((r) => r.id === ref);
  if (byName !== undefined || ref === '') return byName;
  const matches = records.filter((r) => r.id.startsWith(ref));
  if (matches.length > 1)
    throw new InvalidArgumentError(
      `network id prefix ${ref} is ambiguous: it matches ${matches.length} networks`,
    );
  return matches[0];
}

export function mustFindNetwork(records: readonly NetworkRecord[], ref: string): NetworkRecord {
  const found = findNetwork(records, ref);
  if (found === undefined) throw new NotFoundError(`network ${ref} not found`);
  return found;
}

async function chooseSubnet(records: readonly NetworkRecord[], signal?: AbortSignal): Promise<Cidr> {
  const taken = [...(await hostPrefixes(signal)), ...records.map(recordSubnet)];
  const pool = tryParseCidr(SUBNET_POOL) as Cidr;
  for (const candidate of subnetsOf(pool, 24))
    if (!taken.some((t) => overlaps(t, candidate))) return candidate;
  throw new FailedPreconditionError(`every /24 of ${SUBNET_POOL} is in use on this host`, {
    hint: 'remove unused networks (tsbuild network prune) or give --subnet',
  });
}

export function recordSubnet(record: NetworkRecord): Cidr {
  return tryParseCidr(record.subnet) as Cidr;
}

async function checkGivenSubnet(cidr: Cidr, records: readonly NetworkRecord[], signal?: AbortSignal) {
  const ours = records.find((r) => overlaps(recordSubnet(r), cidr));
  if (ours !== undefined)
    throw new InvalidArgumentError(
      `--subnet ${formatCidr(cidr)} overlaps network ${ours.name}'s ${ours.subnet}`,
    );
  const host = (await hostPrefixes(signal)).find((p) => overlaps(p, cidr));
  if (host !== undefined)
    throw new InvalidArgumentError(
      `--subnet ${formatCidr(cidr)} overlaps ${formatCidr(host)}, which this host already routes or has an address in`,
    );
}

function gatewayFor(cidr: Cidr, gateway: string | undefined): string {
  if (gateway === undefined) return formatIPv4(firstHost(cidr));
  const address = parseIPv4(gateway);
  if (address === undefined || !isHostAddress(cidr, address))
    throw new InvalidArgumentError(
      `--gateway ${gateway} is not a host address of the subnet ${formatCidr(cidr)}`,
    );
  return gateway;
}

function checkName(name: string, records: readonly NetworkRecord[]): void {
  if (!NAME.test(name))
    throw new InvalidArgumentError(
      `invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  if (name !== DEFAULT_NETWORK && PREDEFINED_NETWORKS.includes(name))
    throw new InvalidArgumentError(`network ${name} is predefined: it cannot be created`);
  if (records.some((r) => r.name === name))
    throw new AlreadyExistsError(`network with name ${name} already exists`);
}

/** A new network's record (not written): its subnet checked or chosen, its gateway, its bridge's name. */
export async function newRecord(
  options: Omit<CreateNetworkOptions, 'root'>,
  records: readonly NetworkRecord[],
): Promise<NetworkRecord> {
  checkName(options.name, records);
  if (options.subnet === undefined && options.gateway !== undefined)
    throw new InvalidArgumentError('--gateway needs --subnet');
  let cidr: Cidr;
  if (options.subnet === undefined) cidr = await chooseSubnet(records, options.signal);
  else {
    cidr = parseSubnet(options.subnet, '--subnet');
    await checkGivenSubnet(cidr, records, options.signal);
  }
  const id = randomBytes(32).toString('hex');
  return {
    name: options.name,
    id,
    driver: 'bridge',
    subnet: formatCidr(cidr),
    gateway: gatewayFor(cidr, options.gateway),
    bridge: `tsb-${id.slice(0, 10)}`,
    created: new Date().toISOString(),
    labels: { ...(options.labels ?? {}) },
    internal: options.internal ?? false,
    endpoints: {},
  };
}

/**
 * The default network's record before its first container: when its bridge is down its subnet may have
 * been taken meanwhile (by another root's default network, say); then it moves to a free one.
 */
export async function movedDefaultRecord(
  root: string,
  records: readonly NetworkRecord[],
  record: NetworkRecord,
  signal?: AbortSignal,
): Promise<NetworkRecord> {
  if (record.name !== DEFAULT_NETWORK || Object.keys(record.endpoints).length > 0) return record;
  if (linkExists(record.bridge)) return record;
  const subnet = recordSubnet(record);
  if (!(await hostPrefixes(signal)).some((p) => overlaps(p, subnet))) return record;
  const cidr = await chooseSubnet(
    records.filter((r) => r.id !== record.id),
    signal,
  );
  const moved = { ...record, subnet: formatCidr(cidr), gateway: formatIPv4(firstHost(cidr)) };
  await writeRecord(root, moved);
  return moved;
}

/** The default network's record, made (record only, no device) when it does not exist yet. */
export async function ensureDefaultRecord(root: string, records: NetworkRecord[]): Promise<NetworkRecord> {
  const found = records.find((r) => r.name === DEFAULT_NETWORK);
  if (found !== undefined) return found;
  const record = await newRecord({ name: DEFAULT_NETWORK }, records);
  await writeRecord(root, record);
  records.push(record);
  return record;
}
