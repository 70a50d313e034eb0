/**
 * `tsbuild network create|ls|inspect|rm|prune`. A user network's bridge and rules are made at create
 * (as docker's) and again by a connect that finds them gone (after a reboot); they go at `rm`. The
 * default network `bridge` is made on first use and cannot be removed; its bridge device and rules are
 * made by its first connect and then stay, as docker0 does (making and removing them costs 50 to 150 ms,
 * which every `run --rm` would pay); `network prune` takes them down while no container is attached, so
 * that nothing of ours is left in the host's network stack.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../core/index.js';
import { ensureBridge, removeBridge } from './bridge.js';
import {
  DEFAULT_NETWORK,
  PREDEFINED_NETWORKS,
  deleteRecord,
  ensureDefaultRecord,
  mustFindNetwork,
  newRecord,
  withNetworks,
  writeRecord,
} from './store.js';
import type { CreateNetworkOptions, NetworkRecord } from './types.js';

interface StoreOptions {
  readonly root: string;
  readonly signal?: AbortSignal;
}

export function createNetwork(options: CreateNetworkOptions): Promise<NetworkRecord> {
  return withNetworks(
    options.root,
    async (records) => {
      if (options.name === DEFAULT_NETWORK)
        throw new InvalidArgumentError(
          `network with name ${DEFAULT_NETWORK} already exists (the default network)`,
        );
      const record = await newRecord(options, records);
      await writeRecord(options.root, record);
      try {
        await ensureBridge(options.root, record, options.signal);
      } catch (err) {
        await deleteRecord(options.root, record.id);
        throw err;
      }
      return record;
    },
    { signal: options.signal, bridges: true },
  );
}

/** Every network, the default one first (made when missing), then by name. */
export function listNetworks(options: StoreOptions): Promise<NetworkRecord[]> {
  return withNetworks(
    options.root,
    async (records) => {
      await ensureDefaultRecord(options.root, records);
      return records.sort((a, b) =>
        a.name === DEFAULT_NETWORK ? -1 : b.name === DEFAULT_NETWORK ? 1 : a.name.localeCompare(b.name),
      );
    },
    { signal: options.signal },
  );
}

/** A network by name, id or unambiguous id prefix. */
export function inspectNetwork(options: StoreOptions & { readonly ref: string }): Promise<NetworkRecord> {
  return withNetworks(
    options.root,
    async (records) => {
      if (options.ref === DEFAULT_NETWORK) return ensureDefaultRecord(options.root, records);
      return mustFindNetwork(records, options.ref);
    },
    { signal: options.signal },
  );
}

function checkRemovable(record: NetworkRecord): void {
  if (record.name === DEFAULT_NETWORK)
    throw new FailedPreconditionError(`${DEFAULT_NETWORK} is a pre-defined network and cannot be removed`);
  const names = Object.values(record.endpoints).map((e) => e.containerName);
  if (names.length > 0)
    throw new FailedPreconditionError(
      `error while removing network: network ${record.name} id ${record.id} has active endpoints`,
      { hint: `stop or remove its containers first: ${names.join(', ')}` },
    );
}

/** Removes a user network: its bridge, its rules, its record and its files. */
export function removeNetwork(options: StoreOptions & { readonly ref: string }): Promise<NetworkRecord> {
  return withNetworks(
    options.root,
    async (records) => {
      if (PREDEFINED_NETWORKS.includes(options.ref) && options.ref !== DEFAULT_NETWORK)
        throw new FailedPreconditionError(`${options.ref} is a pre-defined network and cannot be removed`);
      const record = mustFindNetwork(records, options.ref);
      checkRemovable(record);
      await removeBridge(record);
      await deleteRecord(options.root, record.id);
      return record;
    },
    { signal: options.signal },
  );
}

/** Removes every user network without containers (and the default bridge's device); the names removed. */
export function pruneNetworks(options: StoreOptions): Promise<string[]> {
  return withNetworks(
    options.root,
    async (records) => {
      const removed: string[] = [];
      for (const record of records) {
        if (Object.keys(record.endpoints).length > 0) continue;
        await removeBridge(record);
        if (record.name === DEFAULT_NETWORK) continue;
        await deleteRecord(options.root, record.id);
        removed.push(record.name);
      }
      return removed;
    },
    { signal: options.signal },
  );
}
